//! The vendor inventory as spreadsheets export it: one canonical table written in every form a
//! compliance team's Excel or Google Sheets produces must read to the same vendors, and the
//! forms that cannot be read right must fail with a message that says what to fix.

use mailproof::inventory::{Inventory, Vendor};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::Path;

/// Header as a person types it, then rows. Dates are ISO in text exports; the workbook
/// writes them as date cells.
const HEADER: [&str; 9] = [
    "Vendor Name",
    "Domains",
    "DKIM Selectors",
    "IP Ranges",
    "PHI?",
    "BAA",
    "BAA Expiration",
    "Owner",
    "Notes",
];

const ROWS: [[&str; 9]; 3] = [
    [
        "PayNotice",
        "myriversidechart.example",
        "pn2024; pn2025",
        "198.51.100.160/28",
        "Yes",
        "signed",
        "2027-06-30",
        "Revenue Cycle (T. Haas)",
        "Billing statements, \"paper-free\" programme",
    ],
    [
        "Clínica Médica São José",
        "riversidehealth.example",
        "cmsj",
        "203.0.113.8/29",
        "yes",
        "signed",
        "2026-12-31",
        "Ambulatory Operations (K. Nguyen)",
        "Referral letters; façade contract",
    ],
    [
        "NewsletterHub",
        "riversidecares.example",
        "nh1",
        "",
        "No",
        "not-required",
        "",
        "Marketing and Communications",
        "",
    ],
];

fn delimited(delim: char) -> String {
    let quote = |c: &str| {
        if c.contains(delim) || c.contains('"') || c.contains(',') || c.contains(';') {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.to_string()
        }
    };
    let mut s = String::new();
    for row in std::iter::once(HEADER).chain(ROWS) {
        let cells: Vec<String> = row.iter().map(|c| quote(c)).collect();
        s.push_str(&cells.join(&delim.to_string()));
        s.push_str("\r\n");
    }
    s
}

fn xlsx() -> Vec<u8> {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    // A first sheet that is not the inventory: the sheet is chosen by name.
    book.add_worksheet()
        .set_name("Read me")
        .and_then(|ws| ws.write_string(0, 0, "Vendor list below"))
        .expect("sheet");
    let ws = book.add_worksheet();
    ws.set_name("Vendors").expect("name");
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("header");
    }
    for (r, row) in ROWS.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            if cell.is_empty() {
                continue;
            }
            if c == 6 {
                let ymd: Vec<u16> = cell.split('-').map(|x| x.parse().expect("date")).collect();
                let d = ExcelDateTime::from_ymd(ymd[0], ymd[1] as u8, ymd[2] as u8).expect("date");
                ws.write_datetime_with_format(r, c, &d, &date)
                    .expect("date");
            } else {
                ws.write_string(r, c, *cell).expect("cell");
            }
        }
    }
    book.save_to_buffer().expect("xlsx")
}

fn read(bytes: &[u8], name: &str, sheet: Option<&str>) -> Inventory {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    Inventory::load_sheet(&path, sheet).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What the assessment uses of a vendor (the line too: every form puts row 2 on line 2).
fn table(inv: &Inventory) -> Vec<Vendor> {
    assert!(inv.rejected.is_empty(), "{:?}", inv.rejected);
    assert!(inv.unknown_columns.is_empty(), "{:?}", inv.unknown_columns);
    assert!(inv.missing_columns.is_empty());
    inv.vendors.clone()
}

#[test]
fn every_export_form_reads_to_the_same_vendors() {
    let canonical = read(delimited(',').as_bytes(), "vendors.csv", None);
    let want = table(&canonical);
    assert_eq!(want.len(), 3);
    assert_eq!(want[0].dkim_selectors, ["pn2024", "pn2025"]);
    assert_eq!(want[1].vendor, "Clínica Médica São José");
    assert_eq!(
        want[0].baa_expires.map(|d| d.to_string()).as_deref(),
        Some("2027-06-30")
    );
    assert_eq!(want[0].phi, Some(true));

    let utf8 = delimited(',');
    let bom = [b"\xEF\xBB\xBF".as_slice(), utf8.as_bytes()].concat();
    let semicolon = delimited(';');
    let utf16: Vec<u8> = std::iter::once(0xFEFF_u16)
        .chain(delimited('\t').encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let (cp1252, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&utf8);
    assert!(!unmappable);
    let forms: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("UTF-8 with a BOM", bom, None),
        ("semicolon (European Excel)", semicolon.into_bytes(), None),
        ("UTF-16 Unicode Text (tab)", utf16, None),
        ("Windows-1252", cp1252.into_owned(), None),
        ("xlsx, sheet by name", xlsx(), Some("Vendors")),
    ];
    for (form, bytes, sheet) in forms {
        let name = if sheet.is_some() {
            "vendors.xlsx"
        } else {
            "vendors.csv"
        };
        let inv = read(&bytes, name, sheet);
        assert_eq!(table(&inv), want, "{form}");
        let warned = inv.notes.iter().any(|n| n.contains("Windows-1252"));
        assert_eq!(warned, form == "Windows-1252", "{form}: {:?}", inv.notes);
    }
    // The workbook's first sheet is not the inventory: read without the sheet name, the one
    // sheet whose header names a vendor column is read, and a note says which.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vendors.xlsx");
    std::fs::write(&path, xlsx()).expect("write");
    let inv = Inventory::load_sheet(&path, None).expect("the Vendors sheet");
    assert_eq!(inv.vendors, want);
    assert!(
        inv.notes
            .iter()
            .any(|n| n.contains("read sheet \"Vendors\" of Read me, Vendors")),
        "{:?}",
        inv.notes
    );
    let e = Inventory::load_sheet(&path, Some("Vendor")).expect_err("no such sheet");
    assert!(
        e.to_string()
            .contains("no sheet named \"Vendor\" (sheets: Read me, Vendors)"),
        "{e}"
    );
}

#[test]
fn dates_spreadsheets_write_are_read_or_refused_never_guessed() {
    let text = "vendor,phi,baa,baa_expires\n\
A,yes,signed,46568\n\
B,yes,signed,6/30/2027\n\
C,yes,signed,2027-06-30T00:00:00\n";
    let inv = Inventory::parse(text.as_bytes(), Path::new("v.csv")).expect("parse");
    let exp: Vec<Option<String>> = inv
        .vendors
        .iter()
        .map(|v| v.baa_expires.map(|d| d.to_string()))
        .collect();
    assert_eq!(
        exp,
        [
            Some("2027-06-30".to_string()),
            None,
            Some("2027-06-30".to_string())
        ]
    );
    // B stays a PHI vendor, its expiry unknown: it is not dropped and not "signed, no expiry".
    let b = &inv.vendors[1];
    assert_eq!((b.vendor.as_str(), b.phi), ("B", Some(true)));
    assert!(b.unknown("baa_expires"));
    let r = inv.rejected[0].to_string();
    assert!(
        r.starts_with("line 3 (B), column `baa_expires`: \"6/30/2027\" is not a date"),
        "{r}"
    );
}

#[test]
fn habits_that_used_to_lose_findings_silently_are_caught() {
    let parse = |text: &str| Inventory::parse(text.as_bytes(), Path::new("v.csv"));
    // A column about the BAA's expiry or the sending ranges, under a name not on the list,
    // is an error when the column it marks is absent, never an ignored column.
    for (header, closest) in [
        ("Expiration", "baa_expires"),
        ("Agreement Expires", "baa_expires"),
        ("Renewal Date", "baa_expires"),
        ("Sending IP Ranges", "ip_ranges"),
    ] {
        let e = parse(&format!("vendor,phi,baa,{header}\nA,yes,signed,x\n"))
            .expect_err(header)
            .to_string();
        assert!(
            e.contains(&format!("resembles `{closest}`")),
            "{header}: {e}"
        );
    }
    // A title above the header is skipped; a total row is not a vendor; N/A is not a BAA
    // decision.
    let inv = parse(
        "Riverside Health vendor inventory,,,\n\
         vendor,phi,baa,domains\n\
         A,yes,N/A,a.example\n\
         Total: 1 vendor,,,\n",
    )
    .expect("title row skipped");
    assert_eq!(inv.vendors.len(), 1);
    assert_eq!(inv.vendors[0].baa, None);
    assert!(inv.vendors[0].incomplete.iter().any(|m| m.contains("N/A")));
    assert!(
        inv.notes
            .iter()
            .any(|n| n.contains("line 2: read as the header row"))
    );
    assert_eq!(inv.rejected.len(), 1);
    assert!(
        inv.rejected[0]
            .message
            .contains("only the vendor cell is filled")
    );
    assert_eq!(inv.rejected[0].line, 4);
}

#[test]
fn a_workbook_with_several_sheets_is_never_read_from_the_wrong_one() {
    let sheet = |book: &mut Workbook, name: &str, rows: &[[&str; 3]]| {
        let ws = book.add_worksheet();
        ws.set_name(name).expect("name");
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                ws.write_string(r as u32, c as u16, *cell).expect("cell");
            }
        }
    };
    let header = ["vendor", "phi", "baa"];
    // A cover sheet first: the one sheet with a vendor column is read, and evidence names it.
    let mut book = Workbook::new();
    sheet(&mut book, "Cover", &[["Vendor inventory, FY2026", "", ""]]);
    sheet(
        &mut book,
        "Vendors",
        &[header, ["PayNotice", "yes", "signed"]],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.xlsx");
    std::fs::write(&path, book.save_to_buffer().expect("xlsx")).expect("write");
    let inv = Inventory::load_sheet(&path, None).expect("the Vendors sheet");
    assert_eq!(inv.vendors[0].vendor, "PayNotice");
    assert_eq!(inv.sheet.as_deref(), Some("Vendors"));
    assert!(
        inv.source
            .as_deref()
            .is_some_and(|s| s.ends_with("(sheet \"Vendors\")"))
    );
    // Last year's sheet first and this year's second: the run asks which.
    let mut book = Workbook::new();
    sheet(
        &mut book,
        "Vendors 2025 (old)",
        &[header, ["Remindly", "yes", "signed"]],
    );
    sheet(&mut book, "Vendors", &[header, ["Remindly", "yes", "none"]]);
    std::fs::write(&path, book.save_to_buffer().expect("xlsx")).expect("write");
    let e = Inventory::load_sheet(&path, None)
        .expect_err("two candidate sheets")
        .to_string();
    assert!(
        e.contains("sheets \"Vendors 2025 (old)\" and \"Vendors\" each have a vendor column"),
        "{e}"
    );
    let inv = Inventory::load_sheet(&path, Some("Vendors")).expect("named sheet");
    assert_eq!(inv.vendors[0].baa, Some(mailproof::inventory::Baa::None));
}

#[test]
fn the_bundled_workbook_reads_as_the_bundled_csv() {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let csv = Inventory::load(&samples.join("vendors.csv")).expect("csv");
    let xlsx = Inventory::load(&samples.join("vendors.xlsx")).expect("xlsx");
    assert_eq!(xlsx.vendors, csv.vendors);
    assert_eq!(xlsx.rejected, csv.rejected);
    assert_eq!(xlsx.sheet.as_deref(), Some("Vendors"));
}

#[test]
fn a_cell_far_away_costs_nothing_and_is_named() {
    // Excel's last cell, beside a two-row inventory: the sheet is streamed, not laid out whole
    // (that would be 17 billion cells), and what lies past the limits is said, not dropped.
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["vendor", "phi", "baa"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("header");
    }
    for (c, v) in ["PayNotice", "yes", "signed"].iter().enumerate() {
        ws.write_string(1, c as u16, *v).expect("row");
    }
    ws.write_string(1_048_575, 16_383, "stray")
        .expect("far cell");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.xlsx");
    std::fs::write(&path, book.save_to_buffer().expect("xlsx")).expect("write");
    let inv = Inventory::load(&path).expect("read");
    assert_eq!(inv.vendors.len(), 1);
    assert!(
        inv.rejected.iter().any(|r| r
            .message
            .contains("cells past row 10000 below its header or past column 256")),
        "{:?}",
        inv.rejected
    );
}
