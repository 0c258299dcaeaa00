//! The monthly job.
