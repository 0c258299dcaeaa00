//! Organizational domains of third parties, by the Public Suffix List.
//!
//! Grouping report sources by provider, telling whether a report destination is outside our
//! organization, and matching a vendor by a shared base all need a third party's registrable
//! domain, and the last two labels are wrong under multi-label suffixes (`co.uk`, `com.au`) and
//! under the private suffixes many mail providers register (one customer per subdomain). The
//! list comes embedded in the `psl` crate, so a run never fetches it; the evidence records
//! which build of the list it used, since the list changes over the years a report is kept.
//!
//! Our own DMARC policy discovery does not use it: it keeps RFC 9989's DNS tree walk.

/// The list's provenance, as the evidence records it. A test keeps it equal to Cargo.lock.
pub const LIST: &str = "Public Suffix List as embedded in psl 2.1.247";

/// The registrable domain of `name` (lower case, no trailing dot): its public suffix plus one
/// label. A name that is itself a public suffix, or that the list cannot read, is returned
/// whole, so a grouping never merges unrelated names under a bare suffix.
pub fn registrable(name: &str) -> &str {
    let trimmed = name.trim_end_matches('.');
    match psl::domain_str(trimmed) {
        Some(d) if d.len() <= trimmed.len() => &trimmed[trimmed.len() - d.len()..],
        _ => trimmed,
    }
}

/// Whether two names have the same registrable domain.
pub fn same_organization(a: &str, b: &str) -> bool {
    registrable(a).eq_ignore_ascii_case(registrable(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_label_and_private_suffixes() {
        assert_eq!(registrable("mail.example.co.uk"), "example.co.uk");
        assert_eq!(registrable("a.b.example.com.au"), "example.com.au");
        assert_eq!(registrable("spf.vendor.example"), "vendor.example");
        assert_eq!(registrable("vendor.example."), "vendor.example");
        // A private suffix: each customer's subdomain is its own organization.
        assert_eq!(registrable("tenant.github.io"), "tenant.github.io");
        assert!(!same_organization("a.github.io", "b.github.io"));
        assert!(!same_organization("example.co.uk", "other.co.uk"));
        assert!(same_organization(
            "bounce.Vendor.example",
            "spf.vendor.example"
        ));
        // A bare suffix stays itself; so does a single label.
        assert_eq!(registrable("co.uk"), "co.uk");
        assert_eq!(registrable("localhost"), "localhost");
    }

    #[test]
    fn the_recorded_list_is_the_one_built_in() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
        let at = lock.find("name = \"psl\"\nversion = \"").unwrap() + 24;
        let version = &lock[at..at + lock[at..].find('"').unwrap()];
        assert_eq!(
            LIST,
            format!("Public Suffix List as embedded in psl {version}")
        );
    }
}
