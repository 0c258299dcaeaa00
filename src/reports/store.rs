//! TODO(agent): see reports/mod.rs
