//! Report ingestion: sniff, decompress, unwrap MIME, parse, dedupe, filter. DMARC aggregate
//! reports (XML) fold their rows into a bounded aggregate as they stream; SMTP TLS reports
//! (RFC 8460 JSON) arrive at the same mailboxes and are read beside them.

pub mod aggregate;
pub mod align;
pub mod decode;
pub mod inflate;
pub mod mbox;
pub mod model;
pub mod open;
pub mod store;
pub mod tls_model;
pub mod tlsrpt;
pub mod xml;

pub use model::*;
