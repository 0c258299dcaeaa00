//! Assessment: pure checks over collected evidence. Nothing here does I/O; everything it
//! concludes lands in [`crate::evidence::Evidence`].

pub mod catalog;
pub mod controls;
pub mod finding;
pub mod hipaa;
pub mod report_checks;
pub mod risk;
pub mod status;
pub mod vendor_checks;
