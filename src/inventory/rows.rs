//! Rows into vendors. Each cell is read on its own: a cell that cannot be read is rejected
//! with the vendor, the line and the column, and the vendor stays in the assessment with that
//! value unknown, so one mistyped date never makes a PHI vendor, its BAA finding and its mail
//! disappear. Rows that name the same vendor are merged when identical and rejected, both of
//! them, when they disagree, so no vendor's traffic is counted twice.

use super::cells;
use super::{Baa, RowError, Vendor};
use chrono::NaiveDate;
use std::collections::HashMap;

/// Columns whose cells are lists: line breaks inside a quoted cell separate items there.
const LISTS: &[&str] = &[
    "domains",
    "spf_includes",
    "dkim_selectors",
    "dkim_domains",
    "ip_ranges",
    "ptr_suffixes",
];

/// What one row gave: the vendor (unless it has no name), the cells rejected, and what was
/// normalized to read it.
pub struct RowResult {
    pub vendor: Option<Vendor>,
    pub errors: Vec<RowError>,
    pub notes: Vec<String>,
}

/// The row's rejections and notes as they are gathered.
struct Acc {
    line: u64,
    name: String,
    phi: Option<bool>,
    errors: Vec<RowError>,
    unreadable: Vec<String>,
    notes: Vec<String>,
}

impl Acc {
    fn error(&self, column: &str, message: String, kept: bool) -> RowError {
        RowError {
            line: self.line,
            column: column.into(),
            message,
            vendor: (!self.name.is_empty()).then(|| self.name.chars().take(200).collect()),
            phi: self.phi,
            kept,
        }
    }

    /// A cell that could not be read: rejected, and its value unknown.
    fn bad(&mut self, column: &str, message: String) {
        let e = self.error(column, message, true);
        self.errors.push(e);
        if !self.is_unreadable(column) {
            self.unreadable.push(column.to_string());
        }
    }

    fn is_unreadable(&self, column: &str) -> bool {
        self.unreadable.iter().any(|c| c == column)
    }

    /// A list of names: the readable ones are kept, each unreadable one named.
    fn list(
        &mut self,
        column: &str,
        cell: &str,
        read: fn(&str) -> cells::Read<String>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut refused = Vec::new();
        for tok in cells::items(cell) {
            match read(tok) {
                Ok((v, n)) => {
                    self.notes.extend(n);
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Err(e) => refused.push(e),
            }
        }
        if !refused.is_empty() {
            self.bad(column, refused.join("; "));
        }
        out
    }

    fn date(&mut self, column: &str, cell: &str) -> Option<NaiveDate> {
        if cell.is_empty() {
            return None;
        }
        match cells::date(cell) {
            Ok((d, n)) => {
                self.notes.extend(n);
                Some(d)
            }
            Err(e) => {
                self.bad(column, e);
                None
            }
        }
    }
}

fn ptr_suffix(t: &str) -> cells::Read<String> {
    cells::domain(t.trim_start_matches(['.', '*']))
}

pub fn parse(line: u64, cells: &HashMap<&'static str, &str>) -> RowResult {
    let raw = |name: &str| -> &str { cells.get(name).copied().unwrap_or("").trim() };
    let name: String = raw("vendor")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // The flag is read first, so every rejection of the row can say whether PHI is at stake.
    let phi_read = cells::yes_no(raw("phi"));
    let mut acc = Acc {
        line,
        name,
        phi: phi_read.clone().ok().flatten(),
        errors: Vec::new(),
        unreadable: Vec::new(),
        notes: Vec::new(),
    };
    if acc.name.is_empty() || acc.name.chars().any(char::is_control) {
        let message = if acc.name.is_empty() {
            "empty: every row must name the vendor".to_string()
        } else {
            "contains control characters (escapes); remove them".to_string()
        };
        let mut e = acc.error("vendor", message, false);
        e.vendor = None;
        return RowResult {
            vendor: None,
            errors: vec![e],
            notes: Vec::new(),
        };
    }
    // A name alone, where the header has other columns, is not a vendor: a title, total or
    // note row ("Total: 16 vendors") would otherwise become a vendor sending as every domain.
    if cells.len() > 1
        && cells
            .iter()
            .filter(|(k, _)| **k != "vendor")
            .all(|(_, v)| v.trim().is_empty())
    {
        return RowResult {
            vendor: None,
            errors: vec![acc.error(
                "vendor",
                "only the vendor cell is filled, so the row is not read as a vendor (a title, total or note row?); fill in its other cells (at least domains, phi and baa) or delete the row".into(),
                false,
            )],
            notes: Vec::new(),
        };
    }
    // Line breaks and tabs are spacing inside a cell; any other control character is refused.
    let mut text: HashMap<&'static str, String> = HashMap::new();
    for (column, _) in super::columns::COLUMNS
        .iter()
        .filter(|(c, _)| *c != "vendor")
    {
        let column: &'static str = column;
        let v = raw(column);
        if v.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            acc.bad(
                column,
                "contains control characters (escapes); remove them".into(),
            );
            continue;
        }
        let v = if LISTS.contains(&column) {
            v.to_string()
        } else {
            v.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        text.insert(column, v);
    }
    let present = |c: &str| cells.contains_key(c);
    let t = |c: &str| -> String { text.get(c).cloned().unwrap_or_default() };

    let domains = acc.list("domains", &t("domains"), cells::domain);
    let spf_includes = acc.list("spf_includes", &t("spf_includes"), cells::domain);
    let dkim_selectors = acc.list("dkim_selectors", &t("dkim_selectors"), cells::selector);
    let dkim_domains = acc.list("dkim_domains", &t("dkim_domains"), cells::domain);
    let ptr_suffixes = acc.list("ptr_suffixes", &t("ptr_suffixes"), ptr_suffix);
    let ip_ranges = match cells::ip_ranges(&t("ip_ranges")) {
        Ok((nets, n)) => {
            acc.notes.extend(n);
            nets
        }
        Err(e) => {
            acc.bad("ip_ranges", e);
            Vec::new()
        }
    };
    let mut incomplete = Vec::new();
    let phi = match phi_read {
        Ok(Some(v)) if !acc.is_unreadable("phi") => Some(v),
        Ok(_) if acc.is_unreadable("phi") => None,
        Ok(_) => {
            incomplete.push(if present("phi") {
                "`phi` is empty: whether this vendor carries PHI is unknown".to_string()
            } else {
                "no `phi` column: whether this vendor carries PHI is unknown".to_string()
            });
            None
        }
        Err(e) => {
            acc.bad("phi", e);
            None
        }
    };
    let baa = match t("baa").trim_end_matches('.').to_lowercase().as_str() {
        _ if acc.is_unreadable("baa") => None,
        "signed" | "yes" | "y" | "true" | "in place" | "executed" => Some(Baa::Signed),
        "none" | "no" | "n" | "false" | "not signed" | "unsigned" => Some(Baa::None),
        "not-required" | "not_required" | "not required" => Some(Baa::NotRequired),
        // "N/A" may mean "not required" or "not known": for a PHI vendor the difference is a
        // finding, so it is read as unknown and said.
        "n/a" | "na" | "not applicable" => {
            incomplete.push(format!(
                "`baa` is {:?}: read as unknown; write `not-required` if the vendor needs no agreement, or `signed`/`none`",
                t("baa")
            ));
            None
        }
        "" => {
            incomplete.push(if present("baa") {
                "`baa` is empty: BAA status unknown".to_string()
            } else {
                "no `baa` column: BAA status unknown".to_string()
            });
            None
        }
        other => {
            acc.bad(
                "baa",
                format!("{other:?} is not `signed`, `none` or `not-required`"),
            );
            None
        }
    };
    let baa_expires = acc.date("baa_expires", &t("baa_expires"));
    let ended_on = acc.date("ended_on", &t("ended_on"));
    let ended = match t("status").trim_end_matches('.').to_lowercase().as_str() {
        "" | "active" | "current" => false,
        "ended" | "inactive" | "terminated" | "expired" | "former" => true,
        other => {
            acc.bad("status", format!("{other:?} is not `active` or `ended`"));
            false
        }
    };
    if ended_on.is_some() && !ended && !acc.is_unreadable("status") {
        acc.bad(
            "ended_on",
            "is set but `status` is not `ended`: say whether the contract ended".into(),
        );
    }
    if ended && ended_on.is_none() && !acc.is_unreadable("ended_on") {
        incomplete.push("`status = ended` without `ended_on`: the end date is unknown".to_string());
    }
    if domains.is_empty() && !acc.is_unreadable("domains") {
        incomplete
            .push("`domains` is empty: assumed to send as every configured domain".to_string());
    }
    let Acc {
        name,
        errors,
        unreadable,
        notes,
        ..
    } = acc;
    let vendor = Vendor {
        line,
        vendor: name,
        service: t("service"),
        domains,
        spf_includes,
        dkim_selectors,
        dkim_domains,
        ip_ranges,
        ptr_suffixes,
        phi,
        baa,
        baa_expires,
        owner: t("owner"),
        ended,
        ended_on,
        notes: t("notes"),
        incomplete,
        unreadable,
    };
    RowResult {
        vendor: Some(vendor),
        errors,
        notes,
    }
}

/// The columns in which two rows for one vendor disagree.
pub fn differing(a: &Vendor, b: &Vendor) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            out.push(name);
        }
    };
    check("service", a.service == b.service);
    check("domains", a.domains == b.domains);
    check("spf_includes", a.spf_includes == b.spf_includes);
    check("dkim_selectors", a.dkim_selectors == b.dkim_selectors);
    check("dkim_domains", a.dkim_domains == b.dkim_domains);
    check("ip_ranges", a.ip_ranges == b.ip_ranges);
    check("ptr_suffixes", a.ptr_suffixes == b.ptr_suffixes);
    check("phi", a.phi == b.phi);
    check("baa", a.baa == b.baa);
    check("baa_expires", a.baa_expires == b.baa_expires);
    check("owner", a.owner == b.owner);
    check("status", a.ended == b.ended);
    check("ended_on", a.ended_on == b.ended_on);
    check("notes", a.notes == b.notes);
    out
}

/// `v` with the columns that another row contradicts set to unknown: what both rows agree on
/// is still used (the vendor's mail is still attributed to it), what they dispute is not.
pub fn without(mut v: Vendor, columns: &[&str]) -> Vendor {
    for c in columns {
        match *c {
            "service" => v.service.clear(),
            "domains" => v.domains.clear(),
            "spf_includes" => v.spf_includes.clear(),
            "dkim_selectors" => v.dkim_selectors.clear(),
            "dkim_domains" => v.dkim_domains.clear(),
            "ip_ranges" => v.ip_ranges.clear(),
            "ptr_suffixes" => v.ptr_suffixes.clear(),
            "phi" => v.phi = None,
            "baa" => v.baa = None,
            "baa_expires" => v.baa_expires = None,
            "owner" => v.owner.clear(),
            "status" => v.ended = false,
            "ended_on" => v.ended_on = None,
            "notes" => v.notes.clear(),
            _ => {}
        }
        if !v.unreadable.iter().any(|u| u == c) {
            v.unreadable.push((*c).to_string());
        }
    }
    v
}
