//! The vendor-sender inventory CSV (contract in DESIGN.md): who sends as our domains, whether
//! they handle PHI, and whether a business associate agreement covers them.
//!
//! A bad row never stops a run: it is rejected with its line and column and listed in the PDF.

use chrono::NaiveDate;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read vendor inventory {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "{path}: line 1: header row has no `vendor` column (columns found: {found}); the header must name at least `vendor`"
    )]
    NoVendorColumn { path: PathBuf, found: String },
    #[error(
        "{path}: line 1: column `{column}` appears twice in the header; keep one (columns are matched by name)"
    )]
    DuplicateColumn { path: PathBuf, column: String },
    #[error("{path}: line 1: cannot read the header row: {message}")]
    Header { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baa {
    Signed,
    None,
    NotRequired,
}

impl Baa {
    pub fn label(self) -> &'static str {
        match self {
            Baa::Signed => "signed",
            Baa::None => "none",
            Baa::NotRequired => "not-required",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vendor {
    /// 1-based line in the CSV, for evidence.
    pub line: u64,
    pub vendor: String,
    pub service: String,
    pub domains: Vec<String>,
    pub spf_includes: Vec<String>,
    pub dkim_selectors: Vec<String>,
    pub dkim_domains: Vec<String>,
    pub ip_ranges: Vec<IpNet>,
    pub ptr_suffixes: Vec<String>,
    /// `None` when the cell is empty: unknown is not the same as "no".
    pub phi: Option<bool>,
    pub baa: Option<Baa>,
    pub baa_expires: Option<NaiveDate>,
    pub owner: String,
    /// `ended`: the contract ended, nothing should send as us any more (DESIGN.md contract).
    #[serde(default)]
    pub ended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<NaiveDate>,
    pub notes: String,
    /// Non-fatal gaps (e.g. `phi` left empty), reported under INV-001.
    pub incomplete: Vec<String>,
}

impl Vendor {
    /// Whether this vendor signs with the DKIM key `<selector>._domainkey.<domain>`: the key's
    /// findings then belong to whoever answers for the vendor, and appear in its row.
    pub fn signs_with(&self, selector: &str, domain: &str) -> bool {
        let domains = if self.dkim_domains.is_empty() {
            &self.domains
        } else {
            &self.dkim_domains
        };
        self.dkim_selectors
            .iter()
            .any(|s| s.eq_ignore_ascii_case(selector))
            && domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// Whether the contract had ended by `day` (an end without a date counts as ended).
    pub fn ended_by(&self, day: NaiveDate) -> bool {
        self.ended && self.ended_on.is_none_or(|d| d <= day)
    }

    /// Whether a signed business associate agreement is in force on `day`.
    pub fn baa_current(&self, day: NaiveDate) -> bool {
        self.baa == Some(Baa::Signed) && self.baa_expires.is_none_or(|e| e >= day)
    }
}

/// A row that could not be used. It keeps the vendor's name and the flags that could be
/// read, so a rejected PHI vendor is named and weighed, never silently dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phi: Option<bool>,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.vendor {
            Some(v) => write!(
                f,
                "line {} ({v}), column `{}`: {}",
                self.line, self.column, self.message
            ),
            None => write!(
                f,
                "line {}, column `{}`: {}",
                self.line, self.column, self.message
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub source: Option<String>,
    pub vendors: Vec<Vendor>,
    pub rejected: Vec<RowError>,
    /// Header columns we do not know; kept so the summary can warn about typos.
    pub unknown_columns: Vec<String>,
}

const COLUMNS: &[&str] = &[
    "vendor",
    "service",
    "domains",
    "spf_includes",
    "dkim_selectors",
    "dkim_domains",
    "ip_ranges",
    "ptr_suffixes",
    "phi",
    "baa",
    "baa_expires",
    "owner",
    "status",
    "ended_on",
    "notes",
];

impl Inventory {
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let bytes = crate::local_file::read(path, MAX_INVENTORY_BYTES, "vendor inventory")
            .map_err(|cause| InventoryError::Read {
                path: path.into(),
                cause,
            })?;
        let mut inv = Self::parse(&bytes, path)?;
        inv.source = Some(path.display().to_string());
        Ok(inv)
    }

    pub fn parse(bytes: &[u8], path: &Path) -> Result<Inventory, InventoryError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let lines = Lines::of(bytes);
        // A quote opened and never closed would make the rest of the file one cell, and every
        // vendor after it would vanish: read up to its line, and name what was left out.
        let unclosed = unclosed_quote(bytes);
        let (bytes, tail) = match unclosed {
            Some(at) => {
                let start = lines.line_start(at);
                (&bytes[..start], Some(lines.line_of(at)))
            }
            None => (bytes, None),
        };
        // The csv crate starts a record after a CR at the LF that follows it: skip line breaks
        // to the record's first byte before counting lines.
        let record_line = |at: u64| {
            let mut at = usize::try_from(at).unwrap_or(usize::MAX);
            while matches!(bytes.get(at), Some(b'\r' | b'\n')) {
                at += 1;
            }
            lines.line_of(at)
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| InventoryError::Header {
                path: path.into(),
                message: e.to_string(),
            })?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        if !headers.iter().any(|h| h == "vendor") {
            return Err(InventoryError::NoVendorColumn {
                path: path.into(),
                found: headers.join(", "),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for h in &headers {
            if !h.is_empty() && !seen.insert(h.as_str()) {
                return Err(InventoryError::DuplicateColumn {
                    path: path.into(),
                    column: h.clone(),
                });
            }
        }
        let unknown_columns = headers
            .iter()
            .filter(|h| !COLUMNS.contains(&h.as_str()))
            .cloned()
            .collect();
        let mut inv = Inventory {
            unknown_columns,
            ..Default::default()
        };
        for rec in rdr.records() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| record_line(p.byte()));
                    inv.rejected.push(RowError {
                        line,
                        column: "-".into(),
                        message: format!("unreadable CSV row: {e}"),
                        vendor: None,
                        phi: None,
                    });
                    continue;
                }
            };
            // Lines counted from the record's byte offset: the csv crate's own count is one
            // short in files with CRLF line ends, as spreadsheet exports have.
            let line = rec.position().map_or(0, |p| record_line(p.byte()));
            if rec.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if inv.vendors.len() + inv.rejected.len() >= MAX_INVENTORY_ROWS {
                inv.rejected.push(RowError {
                    line,
                    column: "-".into(),
                    message: format!(
                        "the inventory has more than {MAX_INVENTORY_ROWS} rows: this row and those after it (to line {}) are not read",
                        lines.count()
                    ),
                    vendor: None,
                    phi: None,
                });
                break;
            }
            if let Some((i, long)) = rec
                .iter()
                .enumerate()
                .find(|(_, c)| c.chars().count() > MAX_INVENTORY_CELL)
            {
                inv.rejected.push(RowError {
                    line,
                    column: headers
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("#{}", i + 1)),
                    message: format!(
                        "{} characters long; a cell may hold at most {MAX_INVENTORY_CELL}",
                        long.chars().count()
                    ),
                    vendor: None,
                    phi: None,
                });
                continue;
            }
            let cells: std::collections::HashMap<&str, &str> = headers
                .iter()
                .enumerate()
                .map(|(i, h)| (h.as_str(), rec.get(i).unwrap_or("").trim()))
                .collect();
            match parse_row(line, &cells) {
                Ok(v) => inv.vendors.push(v),
                Err(mut e) => {
                    // What could still be read: the name and the PHI flag.
                    let name = cells.get("vendor").copied().unwrap_or("");
                    if !name.is_empty() && !name.chars().any(char::is_control) {
                        e.vendor = Some(name.chars().take(200).collect());
                    }
                    e.phi = match cells
                        .get("phi")
                        .copied()
                        .unwrap_or("")
                        .to_ascii_lowercase()
                        .as_str()
                    {
                        "yes" | "y" | "true" => Some(true),
                        "no" | "n" | "false" => Some(false),
                        _ => None,
                    };
                    inv.rejected.push(e)
                }
            }
        }
        if let Some(line) = tail {
            inv.rejected.push(RowError {
                line,
                column: "-".into(),
                message: format!(
                    "a quoted cell opens on this line and is never closed, so lines {line} to {} are not read; close the quote (a quote inside a cell is written \"\")",
                    lines.count()
                ),
                vendor: None,
                phi: None,
            });
        }
        Ok(inv)
    }

    /// Vendors that send as `domain` (or all vendors, when a vendor names no domain).
    pub fn for_domain<'a>(&'a self, domain: &'a str) -> impl Iterator<Item = &'a Vendor> + 'a {
        self.vendors
            .iter()
            .filter(move |v| v.domains.is_empty() || v.domains.iter().any(|d| d == domain))
    }
}

/// Largest inventory file read: a spreadsheet of thousands of vendors is well under 1 MB.
pub const MAX_INVENTORY_BYTES: u64 = 8 << 20;
/// Vendor rows read; the rest are named as not read.
pub const MAX_INVENTORY_ROWS: usize = 10_000;
/// Longest cell, in characters. Notes are the longest real cells, a few hundred characters.
pub const MAX_INVENTORY_CELL: usize = 2_000;

/// Line numbers by byte offset (1-based), for CR, LF and CRLF files alike.
struct Lines {
    /// Byte offset where each line after the first starts.
    starts: Vec<usize>,
    len: usize,
}

impl Lines {
    fn of(bytes: &[u8]) -> Lines {
        let mut starts = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    starts.push(i + 2);
                    i += 2;
                    continue;
                }
                b'\r' | b'\n' => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        Lines {
            starts,
            len: bytes.len(),
        }
    }

    /// The line holding byte `at`.
    fn line_of(&self, at: usize) -> u64 {
        (self.starts.partition_point(|&s| s <= at) + 1) as u64
    }

    /// The offset where the line holding byte `at` starts.
    fn line_start(&self, at: usize) -> usize {
        match self.starts.partition_point(|&s| s <= at) {
            0 => 0,
            n => self.starts[n - 1],
        }
    }

    /// Lines in the file (a final line break starts no new line).
    fn count(&self) -> u64 {
        let trailing = self.starts.last().is_some_and(|&s| s >= self.len);
        (self.starts.len() + 1 - usize::from(trailing)) as u64
    }
}

/// The offset of a quote that opens a cell and is never closed, if there is one. Quotes count
/// only at the start of a cell; `""` inside a quoted cell is an escaped quote.
fn unclosed_quote(bytes: &[u8]) -> Option<usize> {
    let mut open: Option<usize> = None;
    let mut cell_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match open {
            Some(_) if b == b'"' && bytes.get(i + 1) == Some(&b'"') => i += 1,
            Some(_) if b == b'"' => {
                open = None;
                cell_start = false;
            }
            Some(_) => {}
            None if b == b'"' && cell_start => open = Some(i),
            None => cell_start = matches!(b, b',' | b'\n' | b'\r'),
        }
        i += 1;
    }
    open
}

fn multi(s: &str) -> Vec<String> {
    s.split(|c: char| c == ';' || c.is_whitespace())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn names(s: &str) -> Vec<String> {
    multi(s)
        .into_iter()
        .map(|n| crate::snapshot::normalize_name(&n))
        .collect()
}

fn parse_row(line: u64, cells: &std::collections::HashMap<&str, &str>) -> Result<Vendor, RowError> {
    let cell = |name: &str| -> &str { cells.get(name).copied().unwrap_or("") };
    let err = |column: &str, message: String| RowError {
        line,
        column: column.into(),
        message,
        vendor: None,
        phi: None,
    };
    let vendor = cell("vendor").to_string();
    if vendor.is_empty() {
        return Err(err(
            "vendor",
            "empty: every row must name the vendor".into(),
        ));
    }
    for name in COLUMNS {
        if cell(name).chars().any(char::is_control) {
            return Err(err(
                name,
                "contains control characters (line breaks, tabs or escapes); remove them".into(),
            ));
        }
    }
    let mut ip_ranges = Vec::new();
    for tok in multi(cell("ip_ranges")) {
        let net = tok
            .parse::<IpNet>()
            .or_else(|_| tok.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| {
                err(
                    "ip_ranges",
                    format!("{tok:?} is not a CIDR range or IP address (e.g. 198.51.100.0/24)"),
                )
            })?;
        // A range this broad would attribute the whole internet's mail (spoofing included) to
        // this vendor.
        let too_broad = match net {
            IpNet::V4(n) => n.prefix_len() < 8,
            IpNet::V6(n) => n.prefix_len() < 32,
        };
        if too_broad {
            return Err(err(
                "ip_ranges",
                format!(
                    "{tok:?} is implausibly broad for one vendor's senders (shorter than /8 for IPv4 or /32 for IPv6)"
                ),
            ));
        }
        ip_ranges.push(net.trunc());
    }
    let mut incomplete = Vec::new();
    let phi = match cell("phi").to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Some(true),
        "no" | "n" | "false" => Some(false),
        "" => {
            incomplete
                .push("`phi` is empty: whether this vendor carries PHI is unknown".to_string());
            None
        }
        other => return Err(err("phi", format!("{other:?} is not `yes` or `no`"))),
    };
    let baa = match cell("baa").to_ascii_lowercase().as_str() {
        "signed" => Some(Baa::Signed),
        "none" | "no" => Some(Baa::None),
        "not-required" | "not_required" | "n/a" => Some(Baa::NotRequired),
        "" => {
            incomplete.push("`baa` is empty: BAA status unknown".to_string());
            None
        }
        other => {
            return Err(err(
                "baa",
                format!("{other:?} is not `signed`, `none` or `not-required`"),
            ));
        }
    };
    let baa_expires = match cell("baa_expires") {
        "" => None,
        s => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            err(
                "baa_expires",
                format!("{s:?} is not a date in YYYY-MM-DD form"),
            )
        })?),
    };
    let ended = match cell("status").to_ascii_lowercase().as_str() {
        "" | "active" => false,
        "ended" | "inactive" | "terminated" => true,
        other => {
            return Err(err(
                "status",
                format!("{other:?} is not `active` or `ended`"),
            ));
        }
    };
    let ended_on = match cell("ended_on") {
        "" => None,
        s => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            err(
                "ended_on",
                format!("{s:?} is not a date in YYYY-MM-DD form"),
            )
        })?),
    };
    if ended_on.is_some() && !ended {
        return Err(err(
            "ended_on",
            "is set but `status` is not `ended`: say whether the contract ended".into(),
        ));
    }
    if ended && ended_on.is_none() {
        incomplete.push("`status = ended` without `ended_on`: the end date is unknown".to_string());
    }
    let domains = names(cell("domains"));
    if domains.is_empty() {
        incomplete
            .push("`domains` is empty: assumed to send as every configured domain".to_string());
    }
    Ok(Vendor {
        line,
        vendor,
        service: cell("service").to_string(),
        domains,
        spf_includes: names(cell("spf_includes")),
        dkim_selectors: multi(cell("dkim_selectors"))
            .into_iter()
            .map(|s| s.to_ascii_lowercase())
            .collect(),
        dkim_domains: names(cell("dkim_domains")),
        ip_ranges,
        ptr_suffixes: names(cell("ptr_suffixes")),
        phi,
        baa,
        baa_expires,
        owner: cell("owner").to_string(),
        ended,
        ended_on,
        notes: cell("notes").to_string(),
        incomplete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\u{feff}vendor,domains,ip_ranges,phi,baa,baa_expires,dkim_selectors\n\
Mailchimp,news.example,198.51.100.0/24;203.0.113.7,no,not-required,,k1 k2\n\
Epic MyChart,portal.example,192.0.2.0/25,yes,signed,2027-01-31,epic\n\
,x.example,,no,none,,\n\
Broken,x.example,10.0.0.0/33,no,none,,\n\
BadPhi,x.example,,maybe,none,,\n\
Late,x.example,,yes,signed,31/01/2027,\n\
\n\
Unknown,,,,,,\n";

    #[test]
    fn line_numbers_are_the_same_with_crlf_lf_and_cr_line_ends() {
        let lf = "vendor,phi\nA,yes\nB,maybe\n\nC,perhaps\n";
        for text in [
            lf.to_string(),
            lf.replace('\n', "\r\n"),
            lf.replace('\n', "\r"),
        ] {
            let inv = Inventory::parse(text.as_bytes(), Path::new("v.csv")).unwrap();
            assert_eq!(inv.vendors[0].line, 2, "{text:?}");
            let lines: Vec<u64> = inv.rejected.iter().map(|r| r.line).collect();
            assert_eq!(lines, [3, 5], "{text:?}");
        }
    }

    #[test]
    fn an_unclosed_quote_names_its_line_and_what_was_not_read() {
        let text = "vendor,phi,notes\r\nA,yes,\"ok \"\"quoted\"\"\"\r\nB,yes,\"never closed\r\nC,yes,x\r\n";
        let inv = Inventory::parse(text.as_bytes(), Path::new("v.csv")).unwrap();
        assert_eq!(inv.vendors.len(), 1);
        assert_eq!(inv.vendors[0].vendor, "A");
        let r = &inv.rejected[0];
        assert_eq!(r.line, 3);
        assert!(
            r.message
                .contains("never closed, so lines 3 to 4 are not read"),
            "{}",
            r.message
        );
    }

    #[test]
    fn cells_and_rows_are_bounded_at_their_limits() {
        let row = |n: usize| format!("vendor,notes\nA,{}\n", "n".repeat(n));
        let inv = Inventory::parse(row(MAX_INVENTORY_CELL).as_bytes(), Path::new("v.csv")).unwrap();
        assert_eq!(inv.vendors.len(), 1);
        let inv =
            Inventory::parse(row(MAX_INVENTORY_CELL + 1).as_bytes(), Path::new("v.csv")).unwrap();
        assert!(inv.vendors.is_empty());
        assert_eq!(inv.rejected[0].column, "notes");
        assert!(
            inv.rejected[0].message.contains("2001 characters long"),
            "{:?}",
            inv.rejected
        );
        let rows = |n: usize| {
            let mut s = String::from("vendor\n");
            for i in 0..n {
                s.push_str(&format!("V{i}\n"));
            }
            s
        };
        let inv =
            Inventory::parse(rows(MAX_INVENTORY_ROWS).as_bytes(), Path::new("v.csv")).unwrap();
        assert_eq!(inv.vendors.len(), MAX_INVENTORY_ROWS);
        assert!(inv.rejected.is_empty());
        let inv =
            Inventory::parse(rows(MAX_INVENTORY_ROWS + 2).as_bytes(), Path::new("v.csv")).unwrap();
        assert_eq!(inv.vendors.len(), MAX_INVENTORY_ROWS);
        assert_eq!(inv.rejected.len(), 1);
        assert!(
            inv.rejected[0]
                .message
                .contains("(to line 10003) are not read"),
            "{:?}",
            inv.rejected
        );
        let e = Inventory::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn parses_rows_and_reports_bad_ones_with_line_and_column() {
        let inv = Inventory::parse(CSV.as_bytes(), Path::new("v.csv")).unwrap();
        assert_eq!(
            inv.vendors
                .iter()
                .map(|v| v.vendor.as_str())
                .collect::<Vec<_>>(),
            ["Mailchimp", "Epic MyChart", "Unknown"]
        );
        let mc = &inv.vendors[0];
        assert_eq!(mc.ip_ranges.len(), 2);
        assert_eq!(mc.dkim_selectors, ["k1", "k2"]);
        assert_eq!(
            inv.vendors[1].baa_expires,
            NaiveDate::from_ymd_opt(2027, 1, 31)
        );
        assert_eq!(inv.vendors[2].phi, None);
        assert_eq!(inv.vendors[2].incomplete.len(), 3);
        let rej: Vec<String> = inv.rejected.iter().map(|r| r.to_string()).collect();
        assert_eq!(rej.len(), 4, "{rej:?}");
        assert!(rej[0].starts_with("line 4, column `vendor`"), "{rej:?}");
        assert!(
            rej[1].starts_with("line 5 (Broken), column `ip_ranges`"),
            "{rej:?}"
        );
        assert!(
            rej[2].starts_with("line 6 (BadPhi), column `phi`"),
            "{rej:?}"
        );
        assert!(
            rej[3].starts_with("line 7 (Late), column `baa_expires`"),
            "{rej:?}"
        );
        // A rejected row keeps the flags that could be read.
        assert_eq!(inv.rejected[3].phi, Some(true));
        assert_eq!(inv.rejected[3].vendor.as_deref(), Some("Late"));
    }

    #[test]
    fn duplicate_headers_broad_ranges_and_control_characters_are_refused() {
        let e = Inventory::parse(b"vendor,Vendor\nx,y\n", Path::new("v.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`vendor` appears twice"), "{e}");
        let inv = Inventory::parse(
            b"vendor,ip_ranges,phi,baa\nAll,0.0.0.0/0,no,none\nAll6,::/0,no,none\n\"Two\nLines\",,no,none\nOk,192.0.2.0/24,no,none\n",
            Path::new("v.csv"),
        )
        .unwrap();
        assert_eq!(
            inv.vendors
                .iter()
                .map(|v| v.vendor.as_str())
                .collect::<Vec<_>>(),
            ["Ok"]
        );
        let rej: Vec<String> = inv.rejected.iter().map(|r| r.to_string()).collect();
        assert!(
            rej[0].contains("ip_ranges") && rej[0].contains("broad"),
            "{rej:?}"
        );
        assert!(rej[1].contains("ip_ranges"), "{rej:?}");
        assert!(
            rej[2].contains("column `vendor`") && rej[2].contains("control"),
            "{rej:?}"
        );
    }

    #[test]
    fn header_without_vendor_is_an_error() {
        let e = Inventory::parse(b"name,phi\nx,yes\n", Path::new("v.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("v.csv") && e.contains("vendor"), "{e}");
    }
}
