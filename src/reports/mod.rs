//! DMARC aggregate report ingestion: sniff, decompress, unwrap MIME, parse XML, dedupe, filter,
//! and fold rows into a bounded aggregate as they stream.

pub mod aggregate;
pub mod align;
pub mod decode;
pub mod inflate;
pub mod mbox;
pub mod model;
pub mod open;
pub mod store;
pub mod xml;

pub use model::*;
