//! DKIM key record parser (RFC 6376, RFC 8301, RFC 8463). OWNED BY the records helper.
