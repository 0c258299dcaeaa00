//! The vendor-sender inventory (contract in DESIGN.md): who sends as our domains, whether
//! they handle PHI, and whether a business associate agreement covers them. Kept in a
//! spreadsheet and exported, so it is read as spreadsheets write it: `source` turns the file
//! into cells, `columns` names the columns, `cells` reads the values and `rows` the vendors.
//!
//! A bad cell never stops a run and never makes its vendor vanish: it is rejected with the
//! vendor, line and column, listed in the PDF, and its value is unknown to every check.

mod cells;
mod columns;
mod rows;
mod source;

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
        "{path}: line 1: column {column} appears twice in the header; keep one (columns are matched by name, ignoring case, spaces and punctuation, and by the names in the README)"
    )]
    DuplicateColumn { path: PathBuf, column: String },
    #[error("{path}: line 1: cannot read the header row: {message}")]
    Header { path: PathBuf, message: String },
    #[error(
        "{path}: line 1: column `{column}` is not a known column but resembles `{closest}`; rename it `{closest}` so it is read (the accepted names are in the README), or give it a name unlike any column if it holds something else (columns found: {found})"
    )]
    UnclearColumn {
        path: PathBuf,
        column: String,
        closest: String,
        found: String,
    },
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Columns whose cells were rejected (or disputed by another row for the vendor): their
    /// values are unknown, not empty, and the checks say so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

impl Vendor {
    /// The `phi` cell as evidence prints it: `yes`, `no`, or `unknown` when it was left empty
    /// or rejected (never read as "no").
    pub fn phi_word(&self) -> &'static str {
        match self.phi {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        }
    }

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

    /// Whether a signed business associate agreement is in force on `day`. An expiry date
    /// that could not be read leaves that unconfirmed.
    pub fn baa_current(&self, day: NaiveDate) -> bool {
        self.baa == Some(Baa::Signed)
            && !self.unknown("baa_expires")
            && self.baa_expires.is_none_or(|e| e >= day)
    }

    /// Whether the column's value could not be read for this vendor.
    pub fn unknown(&self, column: &str) -> bool {
        self.unreadable.iter().any(|c| c == column)
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
    /// The vendor stays in the assessment with this cell's value unknown (false: the row is
    /// not used at all).
    #[serde(default)]
    pub kept: bool,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.vendor {
            Some(v) => write!(
                f,
                "line {} ({v}), column `{}`: {}",
                self.line, self.column, self.message
            )?,
            None => write!(
                f,
                "line {}, column `{}`: {}",
                self.line, self.column, self.message
            )?,
        }
        if self.kept {
            write!(f, " (the vendor is assessed with this value unknown)")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub source: Option<String>,
    pub vendors: Vec<Vendor>,
    pub rejected: Vec<RowError>,
    /// Header columns we do not know; kept so the summary can warn about typos.
    pub unknown_columns: Vec<String>,
    /// What was normalized to read the file and its cells ("https://vendor.example/" read as
    /// the domain vendor.example; the file read as Windows-1252; a repeated row read once).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Contract columns the header lacks that the BAA checks need (`phi`, `baa`): without
    /// them no vendor's BAA can be assessed, and the evidence is incomplete.
    #[serde(default)]
    pub missing_columns: Vec<String>,
    /// The workbook sheet read, for an `.xlsx` inventory: evidence names it with the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
}

impl Inventory {
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        Self::load_sheet(path, None)
    }

    /// Reads a CSV (or TSV) export, or an `.xlsx` workbook's first sheet or the one named.
    pub fn load_sheet(path: &Path, sheet: Option<&str>) -> Result<Inventory, InventoryError> {
        let bytes = crate::local_file::read(path, MAX_INVENTORY_BYTES, "vendor inventory")
            .map_err(|cause| InventoryError::Read {
                path: path.into(),
                cause,
            })?;
        let table = if source::is_workbook(&bytes) {
            source::workbook(&bytes, sheet, path)?
        } else {
            source::text(&bytes, path)?
        };
        let sheet = table.sheet.clone();
        let mut inv = Self::from_table(table, path)?;
        inv.sheet = sheet;
        inv.source = Some(inv.named(&path.display().to_string()));
        Ok(inv)
    }

    /// The inventory's file as evidence names it: with its sheet, for a workbook.
    pub fn named(&self, file: &str) -> String {
        match &self.sheet {
            Some(s) => format!("{file} (sheet {s:?})"),
            None => file.to_string(),
        }
    }

    /// Reads the text of a delimited export (tests, fuzzing and the `inventory` command).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Inventory, InventoryError> {
        let table = if source::is_workbook(bytes) {
            source::workbook(bytes, None, path)?
        } else {
            source::text(bytes, path)?
        };
        Self::from_table(table, path)
    }

    fn from_table(mut table: source::Table, path: &Path) -> Result<Inventory, InventoryError> {
        // A title or a blank line above the header (a report-style export): the header is the
        // first of the top rows that names the vendor column and another known one.
        let is_header = |cells: &[String]| {
            let known: Vec<&str> = cells.iter().filter_map(|c| columns::column(c)).collect();
            known.contains(&"vendor") && known.len() >= 2
        };
        if !is_header(&table.header)
            && let Some(at) = table.rows.iter().take(5).position(|r| is_header(&r.cells))
        {
            let header_line = table.rows[at].line;
            let rest = table.rows.split_off(at + 1);
            if let Some(h) = table.rows.pop() {
                table.header = h.cells;
            }
            table.rows = rest;
            table.notes.push(format!(
                "line {header_line}: read as the header row; the {} above it {} not read (a title?)",
                crate::text::count(usize::try_from(header_line - 1).unwrap_or(0), "line", "lines"),
                if header_line == 2 { "is" } else { "are" }
            ));
        }
        let mut found = table
            .header
            .iter()
            .filter(|h| !h.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if let Some((read, all)) = &table.sheets {
            found.push_str(&format!(
                "; read from sheet {read:?}, the first of {}: if the inventory is on another sheet, name it with `inventory_sheet` in the configuration (or `--sheet`)",
                all.join(", ")
            ));
        }
        // Each header to its contract column; a second header for one column is an error.
        let mut index: Vec<Option<&'static str>> = Vec::with_capacity(table.header.len());
        let mut seen: std::collections::BTreeMap<&'static str, &str> = Default::default();
        for h in &table.header {
            let col = columns::column(h);
            if let Some(c) = col
                && let Some(first) = seen.insert(c, h.as_str())
            {
                return Err(InventoryError::DuplicateColumn {
                    path: path.into(),
                    column: if first.eq_ignore_ascii_case(h) {
                        format!("`{c}`")
                    } else {
                        format!("`{c}` (as `{first}` and `{h}`)")
                    },
                });
            }
            index.push(col);
        }
        let present: Vec<&str> = seen.keys().copied().collect();
        let mut unknown_columns = Vec::new();
        for (i, h) in table.header.iter().enumerate() {
            if index[i].is_some() {
                continue;
            }
            if h.is_empty() {
                // Empty trailing columns of a spreadsheet export are nothing; an unnamed
                // column that holds values is named, so nothing is dropped unseen.
                if table
                    .rows
                    .iter()
                    .any(|r| r.cells.get(i).is_some_and(|c| !c.trim().is_empty()))
                {
                    unknown_columns.push(format!("(column {} has no header)", i + 1));
                }
                continue;
            }
            if let Some(closest) = columns::resembles(h, &present) {
                return Err(InventoryError::UnclearColumn {
                    path: path.into(),
                    column: h.clone(),
                    closest: closest.to_string(),
                    found,
                });
            }
            unknown_columns.push(h.clone());
        }
        if !present.contains(&"vendor") {
            return Err(InventoryError::NoVendorColumn {
                path: path.into(),
                found,
            });
        }
        let missing_columns = ["phi", "baa"]
            .into_iter()
            .filter(|c| !present.contains(c))
            .map(str::to_string)
            .collect();
        let mut inv = Inventory {
            unknown_columns,
            rejected: table.rejected,
            notes: table.notes,
            missing_columns,
            ..Default::default()
        };
        // Rows by vendor name, to merge repeats and refuse contradictions.
        let mut by_name: std::collections::HashMap<String, usize> = Default::default();
        for row in &table.rows {
            let cells: std::collections::HashMap<&'static str, &str> = index
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    Some((
                        c.as_ref().copied()?,
                        row.cells.get(i).map_or("", String::as_str),
                    ))
                })
                .collect();
            let got = rows::parse(row.line, &cells);
            inv.notes.extend(
                got.notes
                    .into_iter()
                    .map(|n| format!("line {}: {n}", row.line)),
            );
            inv.rejected.extend(got.errors);
            let Some(v) = got.vendor else { continue };
            let key = v.vendor.to_lowercase();
            let Some(&at) = by_name.get(&key) else {
                by_name.insert(key, inv.vendors.len());
                inv.vendors.push(v);
                continue;
            };
            let first = &inv.vendors[at];
            let differ = rows::differing(first, &v);
            if differ.is_empty() {
                inv.notes.push(format!(
                    "line {}: repeats line {} ({}) exactly; read once",
                    v.line, first.line, v.vendor
                ));
                continue;
            }
            let list = differ
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ");
            for (line, other) in [(first.line, v.line), (v.line, first.line)] {
                inv.rejected.push(RowError {
                    line,
                    column: differ.join(", "),
                    message: format!(
                        "line {line} and line {other} both name {} but differ in {list}; keep one row per vendor (several domains, selectors or ranges go in one cell, separated by `;`)",
                        v.vendor
                    ),
                    vendor: Some(v.vendor.clone()),
                    phi: v.phi.or(first.phi),
                    kept: true,
                });
            }
            let merged = rows::without(inv.vendors[at].clone(), &differ);
            inv.vendors[at] = merged;
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
Unknown,,,,,,k9\n\
Total: 6 vendors,,,,,,\n";

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
    fn parses_rows_and_reports_bad_cells_with_vendor_line_and_column() {
        let inv = Inventory::parse(CSV.as_bytes(), Path::new("v.csv")).unwrap();
        // A bad cell keeps its vendor in the assessment, with that value unknown; only a row
        // with no vendor name is not used.
        assert_eq!(
            inv.vendors
                .iter()
                .map(|v| v.vendor.as_str())
                .collect::<Vec<_>>(),
            [
                "Mailchimp",
                "Epic MyChart",
                "Broken",
                "BadPhi",
                "Late",
                "Unknown"
            ]
        );
        let mc = &inv.vendors[0];
        assert_eq!(mc.ip_ranges.len(), 2);
        assert_eq!(mc.dkim_selectors, ["k1", "k2"]);
        assert_eq!(
            inv.vendors[1].baa_expires,
            NaiveDate::from_ymd_opt(2027, 1, 31)
        );
        let unknown = &inv.vendors[5];
        assert_eq!(unknown.phi, None);
        assert_eq!(unknown.incomplete.len(), 3);
        let late = &inv.vendors[4];
        assert_eq!(late.unreadable, ["baa_expires"]);
        // An expiry that could not be read never passes as "signed, no expiry".
        assert!(!late.baa_current(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()));
        assert_eq!(inv.vendors[3].phi, None);
        assert_eq!(inv.vendors[2].unreadable, ["ip_ranges"]);
        let rej: Vec<String> = inv.rejected.iter().map(|r| r.to_string()).collect();
        assert_eq!(rej.len(), 5, "{rej:?}");
        // A name alone is a title or total row, not a vendor sending as every domain.
        assert!(
            rej[4].starts_with(
                "line 10 (Total: 6 vendors), column `vendor`: only the vendor cell is filled"
            ),
            "{rej:?}"
        );
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
            rej[3].starts_with("line 7 (Late), column `baa_expires`")
                && rej[3].contains("YYYY-MM-DD")
                && rej[3].ends_with("(the vendor is assessed with this value unknown)"),
            "{rej:?}"
        );
        assert_eq!(inv.rejected[3].phi, Some(true));
        assert_eq!(inv.rejected[3].vendor.as_deref(), Some("Late"));
        assert!(!inv.rejected[0].kept && inv.rejected[3].kept);
    }

    #[test]
    fn duplicate_headers_broad_ranges_and_control_characters() {
        let e = Inventory::parse(b"vendor,Vendor\nx,y\n", Path::new("v.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`vendor` appears twice"), "{e}");
        let e = Inventory::parse(b"Vendor Name,vendor\nx,y\n", Path::new("v.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("as `Vendor Name` and `vendor`"), "{e}");
        let inv = Inventory::parse(
            b"vendor,ip_ranges,phi,baa\nAll,0.0.0.0/0,no,none\nAll6,::/0,no,none\n\"Two\nLines\",,no,none\nEsc\x1b,,no,none\nOk,192.0.2.0/24,no,none\n",
            Path::new("v.csv"),
        )
        .unwrap();
        // A line break inside a quoted name is spacing (Alt-Enter in Excel); an escape is not.
        assert_eq!(
            inv.vendors
                .iter()
                .map(|v| v.vendor.as_str())
                .collect::<Vec<_>>(),
            ["All", "All6", "Two Lines", "Ok"]
        );
        assert!(inv.vendors[0].ip_ranges.is_empty());
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
        let e = Inventory::parse(b"region,phi\nx,yes\n", Path::new("v.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("v.csv") && e.contains("vendor"), "{e}");
        let e = Inventory::parse(b"vendor,Carries PHI data\nx,yes\n", Path::new("v.csv"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("column `Carries PHI data` is not a known column but resembles `phi`"),
            "{e}"
        );
    }

    #[test]
    fn spreadsheet_habits_read_right() {
        let text = "Vendor Name;PHI?;BAA;BAA Expiration;Domains;DKIM Selectors;IP Ranges;;\r\n\
PayNotice;Yes;signed;46568;https://myriversidechart.example/;\"pn2024._domainkey\nmychart,mychart-ed\";198.51.100.160 - 198.51.100.175;;\r\n\
PayNotice;Yes;signed;46568;https://myriversidechart.example/;\"pn2024._domainkey\nmychart,mychart-ed\";198.51.100.160 - 198.51.100.175;;\r\n\
Remindly;yes;none;;@myriversidechart.example;rmd1._domainkey;;;\r\n\
Remindly;yes;signed;;myriversidechart.example;rmd1;;;\r\n";
        let inv = Inventory::parse(text.as_bytes(), Path::new("v.csv")).unwrap();
        assert!(inv.unknown_columns.is_empty(), "{:?}", inv.unknown_columns);
        assert!(inv.missing_columns.is_empty());
        assert_eq!(inv.vendors.len(), 2, "{:?}", inv.vendors);
        let pn = &inv.vendors[0];
        assert_eq!(pn.domains, ["myriversidechart.example"]);
        assert_eq!(pn.dkim_selectors, ["pn2024", "mychart", "mychart-ed"]);
        assert_eq!(pn.baa_expires, NaiveDate::from_ymd_opt(2027, 6, 30));
        assert_eq!(
            pn.ip_ranges
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["198.51.100.160/28"]
        );
        assert!(
            inv.notes
                .iter()
                .any(|n| n.contains("repeats line 2 (PayNotice) exactly")),
            "{:?}",
            inv.notes
        );
        // Two rows that disagree are both rejected and named; what they agree on is kept.
        let rm = &inv.vendors[1];
        assert_eq!(rm.baa, None);
        assert_eq!(rm.unreadable, ["baa"]);
        assert_eq!(rm.phi, Some(true));
        let lines: Vec<u64> = inv.rejected.iter().map(|r| r.line).collect();
        // Physical lines: each PayNotice row spans two (a line break inside its quoted cell).
        assert_eq!(lines, [6, 7], "{:?}", inv.rejected);
        assert!(inv.rejected[0].message.contains("differ in `baa`"));
        // Without the BAA columns the BAA checks cannot run: said, not silent.
        let inv = Inventory::parse(b"vendor,domains\nA,a.example\n", Path::new("v.csv")).unwrap();
        assert_eq!(inv.missing_columns, ["phi", "baa"]);
    }
}
