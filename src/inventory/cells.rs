//! One inventory cell's value, as people type it in a spreadsheet: normalized when the meaning
//! is certain (a URL for a domain, `sel._domainkey` for a selector, an address range for a
//! CIDR list, an Excel date serial), with a note saying what was changed; refused when it is
//! not. Nothing is guessed: `6/30/2027` could be June or the 6th of a 30th month, so it is
//! refused with the forms that are read.

use chrono::{Days, NaiveDate};
use ipnet::{IpNet, Ipv4Net, Ipv4Subnets, Ipv6Subnets};
use std::net::{IpAddr, Ipv4Addr};

/// A value read from a cell, and what was changed to read it (shown as a warning).
pub type Read<T> = Result<(T, Vec<String>), String>;

/// The items of a list cell: separated by `;`, `,`, spaces or line breaks.
pub fn items(cell: &str) -> Vec<&str> {
    cell.split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// A yes/no flag (`phi`): yes, y, true, 1, x; no, n, false, 0; empty is unknown.
pub fn yes_no(cell: &str) -> Result<Option<bool>, String> {
    match cell.trim().trim_end_matches('.').to_lowercase().as_str() {
        "" => Ok(None),
        "yes" | "y" | "true" | "1" | "x" => Ok(Some(true)),
        "no" | "n" | "false" | "0" => Ok(Some(false)),
        other => Err(format!(
            "{other:?} is not yes or no (also read: y/n, true/false, 1/0)"
        )),
    }
}

/// A host name as DNS compares it: lower case, no trailing dot. A URL, an address or
/// `@domain` becomes the domain, with a note; anything that is still not a host name is
/// refused.
pub fn domain(token: &str) -> Read<String> {
    let original = token.trim();
    let mut s = original.to_lowercase();
    let mut notes = Vec::new();
    let mut reshaped = false;
    for scheme in ["https://", "http://", "mailto:"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            s = rest.to_string();
            reshaped = true;
        }
    }
    if let Some(at) = s.rfind('@') {
        s = s[at + 1..].to_string();
        reshaped = true;
    }
    if let Some(end) = s.find(['/', '?', '#']) {
        s.truncate(end);
        reshaped = true;
    }
    if let Some(end) = s.find(':') {
        s.truncate(end);
        reshaped = true;
    }
    let s = s.trim_end_matches('.').to_string();
    if !is_host_name(&s) {
        return Err(format!(
            "{original:?} is not a domain name (write it as vendor.example)"
        ));
    }
    if reshaped {
        notes.push(format!("{original:?} read as the domain {s}"));
    }
    Ok((s, notes))
}

/// Letters, digits, hyphens and underscores in dot-separated labels of 1 to 63 characters,
/// at least two labels, at most 253 characters.
fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A DKIM selector: `sel`, also written `sel._domainkey` or `sel._domainkey.domain`.
pub fn selector(token: &str) -> Read<String> {
    let original = token.trim();
    let lower = original.to_lowercase();
    let (sel, notes) = match lower.find("._domainkey") {
        Some(at) => (
            lower[..at].to_string(),
            vec![format!(
                "{original:?} read as the selector {}",
                &lower[..at]
            )],
        ),
        None => (lower.clone(), Vec::new()),
    };
    let ok = !sel.is_empty()
        && sel.len() <= 63
        && sel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(format!(
            "{original:?} is not a DKIM selector (letters, digits, '-', '_' and '.'; e.g. s1 or s1._domainkey)"
        ));
    }
    Ok((sel, notes))
}

/// The sending ranges of one cell. Besides CIDRs and addresses: a range `a - b` becomes the
/// exact set of CIDRs that covers it, `198.51.100.*` a /24, and `a.b.c.d/255.255.255.0` a
/// /24. A range shorter than /8 (IPv4) or /32 (IPv6) is refused: it would attribute much of
/// the internet's mail, spoofed mail included, to one vendor.
pub fn ip_ranges(cell: &str) -> Read<Vec<IpNet>> {
    // `a - b` written with spaces is one token.
    let dashed = cell.replace('–', "-");
    let joined = dashed
        .split('-')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("-");
    let mut nets = Vec::new();
    let mut notes = Vec::new();
    for tok in items(&joined) {
        let (mut got, note) = ip_token(tok)?;
        for n in &got {
            let too_broad = match n {
                IpNet::V4(n) => n.prefix_len() < 8,
                IpNet::V6(n) => n.prefix_len() < 32,
            };
            if too_broad {
                return Err(format!(
                    "{tok:?} is implausibly broad for one vendor's senders (shorter than /8 for IPv4 or /32 for IPv6)"
                ));
            }
        }
        notes.extend(note);
        nets.append(&mut got);
    }
    Ok((nets, notes))
}

fn ip_token(tok: &str) -> Result<(Vec<IpNet>, Option<String>), String> {
    let bad = || {
        format!(
            "{tok:?} is not an IP address or range (e.g. 198.51.100.0/24, 198.51.100.10-198.51.100.20, 198.51.100.*)"
        )
    };
    if let Ok(n) = tok.parse::<IpNet>() {
        return Ok((vec![n.trunc()], None));
    }
    if let Ok(a) = tok.parse::<IpAddr>() {
        return Ok((vec![IpNet::from(a)], None));
    }
    let cover = |nets: Vec<IpNet>| {
        let list: Vec<String> = nets.iter().map(ToString::to_string).collect();
        let note = format!("{tok:?} read as {}", list.join(" "));
        (nets, Some(note))
    };
    if let Some((a, b)) = tok.split_once('-') {
        let (a, b) = (
            a.parse::<IpAddr>().map_err(|_| bad())?,
            b.parse::<IpAddr>().map_err(|_| bad())?,
        );
        if a > b {
            return Err(format!("{tok:?}: the range ends before it starts"));
        }
        let nets: Vec<IpNet> = match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) => Ipv4Subnets::new(a, b, 0).map(IpNet::V4).collect(),
            (IpAddr::V6(a), IpAddr::V6(b)) => Ipv6Subnets::new(a, b, 0).map(IpNet::V6).collect(),
            _ => return Err(format!("{tok:?} mixes IPv4 and IPv6")),
        };
        return Ok(cover(nets));
    }
    if tok.contains('*') {
        let octets: Vec<&str> = tok.split('.').collect();
        if octets.len() != 4 {
            return Err(bad());
        }
        let fixed = octets.iter().take_while(|o| **o != "*").count();
        if fixed == 0 || octets[fixed..].iter().any(|o| *o != "*") {
            return Err(bad());
        }
        let mut bytes = [0u8; 4];
        for (i, o) in octets[..fixed].iter().enumerate() {
            bytes[i] = o.parse().map_err(|_| bad())?;
        }
        let prefix = u8::try_from(fixed * 8).map_err(|_| bad())?;
        let net = Ipv4Net::new(Ipv4Addr::from(bytes), prefix).map_err(|_| bad())?;
        return Ok(cover(vec![IpNet::V4(net)]));
    }
    if let Some((addr, mask)) = tok.split_once('/') {
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let mask: Ipv4Addr = mask.parse().map_err(|_| bad())?;
        let bits = u32::from(mask);
        if bits.leading_ones() + bits.trailing_zeros() != 32 {
            return Err(format!("{tok:?}: {mask} is not a contiguous netmask"));
        }
        let prefix = u8::try_from(bits.leading_ones()).map_err(|_| bad())?;
        let net = Ipv4Net::new(addr, prefix).map_err(|_| bad())?;
        return Ok(cover(vec![IpNet::V4(net.trunc())]));
    }
    Err(bad())
}

/// Excel's day numbers read as dates: 1990-01-01 to 2099-12-31. Outside that a number is more
/// likely something else (a year, a count) than a contract date.
const SERIALS: std::ops::RangeInclusive<u32> = 32_874..=73_050;

/// A date: `YYYY-MM-DD`, the same with a time (`2027-06-30T00:00:00Z`, `2027-06-30 00:00`),
/// or an Excel day number (the 1900 date system). Day/month orders are refused, never guessed.
pub fn date(cell: &str) -> Read<NaiveDate> {
    let s = cell.trim();
    let refuse = || {
        format!(
            "{s:?} is not a date in a form that can be read without guessing: write YYYY-MM-DD (e.g. 2027-06-30); a date and time, or an Excel date cell, is read too. Dates with slashes or dots (6/30/2027, 30/06/2027, 30.6.2027) are refused, as in many of them the order of day and month cannot be told"
        )
    };
    let day_part = s.get(..10).unwrap_or(s);
    let iso_shaped = day_part.len() == 10
        && day_part.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if iso_shaped && NaiveDate::parse_from_str(day_part, "%Y-%m-%d").is_err() {
        return Err(format!("{s:?} is not a calendar date (no such day)"));
    }
    if let Ok(d) = NaiveDate::parse_from_str(day_part, "%Y-%m-%d") {
        let rest = &s[day_part.len()..];
        let time_ok = rest.is_empty()
            || ((rest.starts_with('T') || rest.starts_with(' '))
                && rest[1..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b':' | b'.' | b'Z' | b'+' | b'-')));
        if time_ok {
            return Ok((d, Vec::new()));
        }
        return Err(refuse());
    }
    let serial = s.strip_suffix(".0").unwrap_or(s);
    if let Ok(n) = serial.parse::<u32>()
        && SERIALS.contains(&n)
    {
        // Day 1 is 1900-01-01 and Excel counts a 29 February 1900 that never was, so from
        // day 61 on the date is day n after 1899-12-30.
        let d = NaiveDate::from_ymd_opt(1899, 12, 30)
            .and_then(|base| base.checked_add_days(Days::new(u64::from(n))))
            .ok_or_else(refuse)?;
        return Ok((d, vec![format!("Excel date number {n} read as {d}")]));
    }
    Err(refuse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_as_people_write_them() {
        for (cell, want) in [
            ("Vendor.Example.", "vendor.example"),
            ("https://vendor.example/", "vendor.example"),
            ("@vendor.example", "vendor.example"),
            ("noreply@mail.vendor.example", "mail.vendor.example"),
            ("http://vendor.example:8080/path?q=1", "vendor.example"),
        ] {
            assert_eq!(domain(cell).map(|d| d.0), Ok(want.to_string()), "{cell}");
        }
        assert!(domain("https://vendor.example/").unwrap().1[0].contains("read as"));
        assert!(domain("vendor.example").unwrap().1.is_empty());
        for bad in ["vendor", "vendor..example", "vendor example", "http://"] {
            assert!(domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn selectors_and_lists() {
        assert_eq!(
            items("mychart,mychart-ed; k3\n k4"),
            ["mychart", "mychart-ed", "k3", "k4"]
        );
        assert_eq!(selector("rmd1._domainkey").unwrap().0, "rmd1");
        assert_eq!(selector("S1._domainkey.vendor.example").unwrap().0, "s1");
        assert!(selector("a b").is_err());
        assert!(selector("._domainkey").is_err());
    }

    #[test]
    fn ranges_become_exact_cidr_covers() {
        let nets = |s: &str| -> Vec<String> {
            ip_ranges(s)
                .unwrap()
                .0
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(nets("198.51.100.0 - 198.51.100.255"), ["198.51.100.0/24"]);
        assert_eq!(
            nets("198.51.100.10-198.51.100.20"),
            [
                "198.51.100.10/31",
                "198.51.100.12/30",
                "198.51.100.16/30",
                "198.51.100.20/32"
            ]
        );
        assert_eq!(nets("198.51.100.*"), ["198.51.100.0/24"]);
        assert_eq!(nets("10.1.*.*"), ["10.1.0.0/16"]);
        assert_eq!(nets("198.51.100.7/255.255.255.0"), ["198.51.100.0/24"]);
        assert_eq!(
            nets("2001:db8::/48, 192.0.2.1"),
            ["2001:db8::/48", "192.0.2.1/32"]
        );
        assert!(ip_ranges("198.51.100.7/255.0.255.0").is_err());
        assert!(ip_ranges("198.*.100.*").is_err());
        assert!(ip_ranges("198.51.100.20-198.51.100.10").is_err());
        assert!(ip_ranges("0.0.0.0/0").is_err());
        assert!(ip_ranges("0.0.0.0-255.255.255.255").is_err());
        assert!(ip_ranges("mail.vendor.example").is_err());
    }

    #[test]
    fn dates_are_read_without_guessing() {
        let d = |s: &str| date(s).map(|x| x.0.to_string());
        assert_eq!(d("2027-06-30"), Ok("2027-06-30".into()));
        assert_eq!(d("2027-06-30T00:00:00Z"), Ok("2027-06-30".into()));
        assert_eq!(d("2027-06-30 00:00"), Ok("2027-06-30".into()));
        assert_eq!(d("46568"), Ok("2027-06-30".into()));
        assert_eq!(d("46568.0"), Ok("2027-06-30".into()));
        assert!(
            date("2026-02-30")
                .unwrap_err()
                .contains("not a calendar date")
        );
        for bad in [
            "6/30/2027",
            "30/06/2027",
            "30.6.2027",
            "2027",
            "June 30, 2027",
            "2027-06-30x",
        ] {
            let e = date(bad).unwrap_err();
            assert!(e.contains("YYYY-MM-DD"), "{bad}: {e}");
        }
    }

    #[test]
    fn flags() {
        assert_eq!(yes_no("Yes."), Ok(Some(true)));
        assert_eq!(yes_no("FALSE"), Ok(Some(false)));
        assert_eq!(yes_no(""), Ok(None));
        assert!(yes_no("maybe").is_err());
    }
}
