//! mailproof: a monthly, HIPAA-mapped assessment of an organization's email authentication.
//!
//! The pipeline (see `DESIGN.md` in the shared folder) is split into collect stages that do all
//! I/O and never judge (`dns`, `reports`, `inventory`), a pure `assess` stage that turns that
//! evidence into findings, and publish stages (`render`) that only present what `assess` decided.

pub mod assess;
pub mod attribution;
pub mod config;
pub mod decisions;
pub mod dns;
pub mod evidence;
pub mod fuzzing;
pub mod inventory;
pub mod late_reports;
pub mod local_file;
pub mod period;
pub mod records;
pub mod render;
pub mod reports;
pub mod run;
pub mod snapshot;
pub mod suffix;
pub mod terminal;
pub mod text;
pub mod transport;
pub mod verify;

/// Name and version stamped into every artifact so an auditor can tell which rules produced it.
pub const TOOL_NAME: &str = "mailproof";
/// See [`TOOL_NAME`].
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
