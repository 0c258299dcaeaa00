//! DMARC aggregate report ingestion: sniff, decompress, unwrap MIME, parse XML, dedupe, filter.

pub mod model;
pub mod open;
pub mod store;
pub mod xml;

pub use model::*;
