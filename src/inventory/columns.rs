//! Header names as people type them: matched ignoring case, spaces and punctuation, with a
//! documented alias list (README, "Keeping the inventory in a spreadsheet"). A header that is
//! none of them but resembles one is an error, never a silently ignored column: "PHI?" read as
//! an unknown column would drop every BAA finding.

/// The contract's columns (DESIGN.md), each with the other names it is known by, written as
/// [`key`] gives them (lower case letters and digits only).
pub const COLUMNS: &[(&str, &[&str])] = &[
    (
        "vendor",
        &[
            "vendorname",
            "name",
            "company",
            "companyname",
            "supplier",
            "sender",
        ],
    ),
    (
        "service",
        &[
            "services",
            "description",
            "purpose",
            "servicedescription",
            "whatitsends",
        ],
    ),
    (
        "domains",
        &[
            "domain",
            "fromdomain",
            "fromdomains",
            "senderdomains",
            "sendsas",
            "ourdomains",
        ],
    ),
    (
        "spf_includes",
        &["spfinclude", "includes", "spfincludedomains"],
    ),
    ("dkim_selectors", &["dkimselector", "selectors", "selector"]),
    (
        "dkim_domains",
        &["dkimdomain", "signingdomain", "signingdomains", "dkimd"],
    ),
    (
        "ip_ranges",
        &[
            "iprange",
            "ips",
            "ip",
            "ipaddresses",
            "ipaddress",
            "sendingips",
            "cidrs",
            "cidr",
            "networks",
        ],
    ),
    ("ptr_suffixes", &["ptrsuffix", "ptr", "reversedns", "rdns"]),
    (
        "phi",
        &[
            "containsphi",
            "carriesphi",
            "handlesphi",
            "sendsphi",
            "ephi",
        ],
    ),
    (
        "baa",
        &[
            "baastatus",
            "baasigned",
            "businessassociateagreement",
            "hasbaa",
        ],
    ),
    (
        "baa_expires",
        &[
            "baaexpiration",
            "baaexpiry",
            "baaexpirationdate",
            "baaexpirydate",
            "baaenddate",
            "baaends",
            "baavaliduntil",
        ],
    ),
    (
        "owner",
        &[
            "businessowner",
            "internalowner",
            "responsible",
            "owneremail",
            "accountable",
        ],
    ),
    ("status", &["contractstatus", "vendorstatus"]),
    (
        "ended_on",
        &[
            "enddate",
            "contractend",
            "contractended",
            "contractenddate",
            "terminatedon",
            "endedon",
        ],
    ),
    ("notes", &["note", "comments", "comment", "remarks"]),
];

/// Words that mark a header as being about a column even when its name is not one the
/// column is known by ("Expiration" is the BAA's expiry if there is no expiry column; "Sending
/// IP Ranges" is the ranges). Short ones must be a whole word; longer ones may start a word.
const STEMS: &[(&str, &[&str])] = &[
    ("vendor", &["vendor", "supplier"]),
    ("domains", &["domain"]),
    ("spf_includes", &["spf"]),
    ("dkim_selectors", &["selector"]),
    ("ip_ranges", &["ip", "ips", "cidr", "subnet", "netblock"]),
    ("ptr_suffixes", &["ptr", "rdns"]),
    ("phi", &["phi", "ephi"]),
    ("baa", &["baa"]),
    ("baa_expires", &["expir", "expires", "renew", "exp"]),
    ("ended_on", &["terminat"]),
];

/// A header as it is compared: lower case letters and digits only ("PHI?" → "phi",
/// "BAA Expiration" → "baaexpiration", "ip_ranges" → "ipranges").
pub fn key(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The contract column a header names, if any.
pub fn column(header: &str) -> Option<&'static str> {
    let k = key(header);
    if k.is_empty() {
        return None;
    }
    COLUMNS
        .iter()
        .find(|(name, aliases)| key(name) == k || aliases.contains(&k.as_str()))
        .map(|(name, _)| *name)
}

/// The contract column an unknown header resembles: one of its words is a column's name or
/// alias ("Carries PHI data"), or it is within two edits of one ("Vendr", "BAA Expirs").
/// Columns in `present` are not offered: "Vendor ID" beside "Vendor" is another column.
pub fn resembles(header: &str, present: &[&str]) -> Option<&'static str> {
    let words: Vec<String> = header
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(key)
        .filter(|w| w.len() >= 3)
        .collect();
    let k = key(header);
    let candidates = || {
        COLUMNS
            .iter()
            .filter(|(n, _)| !present.contains(n))
            .flat_map(|(name, aliases)| {
                std::iter::once((*name, key(name)))
                    .chain(aliases.iter().map(|a| (*name, a.to_string())))
            })
    };
    // Words of the header, short ones included ("IP"), for the stems.
    let all_words: Vec<String> = header
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(key)
        .filter(|w| !w.is_empty())
        .collect();
    let stem = || {
        STEMS
            .iter()
            .filter(|(n, _)| !present.contains(n))
            .find(|(_, stems)| {
                stems.iter().any(|st| {
                    all_words
                        .iter()
                        .any(|w| w == st || (st.len() >= 4 && w.starts_with(st)))
                })
            })
            .map(|(n, _)| *n)
    };
    // A misspelling of a whole name first ("BAA Expirs" is baa_expires, not baa), then a
    // header one of whose words is a name, then one with a word that marks a column.
    candidates()
        .find(|(_, n)| k.len() >= 4 && n.len() >= 4 && edits(&k, n) <= 2)
        .or_else(|| candidates().find(|(_, n)| words.contains(n)))
        .map(|(name, _)| name)
        .or_else(stem)
}

/// Levenshtein distance, for short header keys.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_as_people_type_them() {
        for (h, want) in [
            ("Vendor Name", "vendor"),
            ("PHI?", "phi"),
            ("BAA Expires", "baa_expires"),
            ("BAA Expiration", "baa_expires"),
            ("IP Ranges", "ip_ranges"),
            ("DKIM Selectors", "dkim_selectors"),
            ("SPF Includes", "spf_includes"),
            ("ip_ranges", "ip_ranges"),
            ("  Owner ", "owner"),
            ("Ended On", "ended_on"),
        ] {
            assert_eq!(column(h), Some(want), "{h}");
        }
        assert_eq!(column(""), None);
        assert_eq!(column("Region"), None);
    }

    #[test]
    fn near_misses_are_named() {
        assert_eq!(resembles("Carries PHI data", &[]), Some("phi"));
        assert_eq!(resembles("Vendr", &[]), Some("vendor"));
        assert_eq!(resembles("BAA Expirs", &[]), Some("baa_expires"));
        assert_eq!(resembles("Region", &[]), None);
        assert_eq!(resembles("Graphic design", &[]), None);
        assert_eq!(resembles("Contract", &[]), None);
        // A column already read is not what another header meant.
        assert_eq!(resembles("Vendor ID", &["vendor"]), None);
        assert_eq!(resembles("Vendor ID", &[]), Some("vendor"));
        // Words that mark a column, when that column is not there.
        assert_eq!(
            resembles("Expiration", &["vendor", "baa"]),
            Some("baa_expires")
        );
        assert_eq!(
            resembles("Renewal Date", &["vendor", "baa"]),
            Some("baa_expires")
        );
        assert_eq!(
            resembles("Sending IP Ranges", &["vendor"]),
            Some("ip_ranges")
        );
        assert_eq!(resembles("Expiration", &["baa_expires"]), None);
        assert_eq!(resembles("Vendor Address", &["vendor"]), None);
        assert_eq!(resembles("Region", &[]), None);
    }
}
