//! DMARC record parser (RFC 9989, with RFC 7489 compatibility). OWNED BY the records helper.
