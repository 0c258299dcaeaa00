//! The inventory file as a table of text cells with their line numbers, whatever the
//! spreadsheet exported: CSV in UTF-8 (with or without a BOM), UTF-16 with a BOM ("Unicode
//! Text") or Windows-1252 (with a warning); comma, semicolon or tab delimited; or an `.xlsx`
//! workbook, read directly.

use super::{InventoryError, MAX_INVENTORY_CELL, MAX_INVENTORY_ROWS, RowError};
use std::borrow::Cow;
use std::path::Path;

/// The cells of the file, before any column is interpreted.
#[derive(Debug, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Row>,
    /// Rows that could not be read as rows at all (a broken quote, an over-long cell).
    pub rejected: Vec<RowError>,
    /// What was assumed to read the file (its encoding), shown as warnings.
    pub notes: Vec<String>,
    /// For a workbook read without a sheet name: the sheet read and all the sheets, so a
    /// header that is not the inventory's can say which sheet to name.
    pub sheets: Option<(String, Vec<String>)>,
    /// The workbook sheet read.
    pub sheet: Option<String>,
}

#[derive(Debug)]
pub struct Row {
    /// 1-based line (CSV, counting physical lines) or row number (workbook).
    pub line: u64,
    pub cells: Vec<String>,
}

fn row_error(line: u64, column: &str, message: String) -> RowError {
    RowError {
        line,
        column: column.into(),
        message,
        vendor: None,
        phi: None,
        kept: false,
    }
}

/// Whether the bytes are a zip container (an `.xlsx` workbook) rather than text.
pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Text decoded to UTF-8, and a note when it was not UTF-8 already.
fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, Option<String>), String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF")
        && let Ok(s) = std::str::from_utf8(rest)
    {
        return Ok((Cow::Borrowed(s), None));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let enc = if bytes[0] == 0xFF {
            encoding_rs::UTF_16LE
        } else {
            encoding_rs::UTF_16BE
        };
        let (text, malformed) = enc.decode_with_bom_removal(bytes);
        if malformed {
            return Err(format!(
                "the file starts with a {} byte-order mark but is not valid {} text; export it again as CSV UTF-8",
                enc.name(),
                enc.name()
            ));
        }
        return Ok((text, None));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(s), None));
    }
    // Not UTF-8: Excel's plain "CSV" export on Windows writes Windows-1252, which maps every
    // byte, so the file is read in it and the user is told.
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    Ok((
        text,
        Some(
            "the file is not UTF-8: read as Windows-1252 (Excel's \"CSV\" export); check accented names in the vendor table, or export as \"CSV UTF-8\" to remove this warning".to_string(),
        ),
    ))
}

/// The delimiter the header line uses most outside quotes: `,`, `;` or tab (comma when none).
fn delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                for c in &mut counts {
                    if c.0 == b {
                        c.1 += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts
        .iter()
        .max_by_key(|c| c.1)
        .filter(|c| c.1 > 0)
        .map_or(b',', |c| c.0)
}

/// A delimited text file.
pub fn text(bytes: &[u8], path: &Path) -> Result<Table, InventoryError> {
    let (text, note) = decode(bytes).map_err(|message| InventoryError::Header {
        path: path.into(),
        message,
    })?;
    let delim = delimiter(&text);
    let bytes = text.as_bytes();
    let lines = Lines::of(bytes);
    // A quote opened and never closed would make the rest of the file one cell, and every
    // vendor after it would vanish: read up to its line, and name what was left out.
    let unclosed = unclosed_quote(bytes, delim);
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
        .delimiter(delim)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| InventoryError::Header {
            path: path.into(),
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut table = Table {
        header,
        notes: note.into_iter().collect(),
        ..Table::default()
    };
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| record_line(p.byte()));
                table
                    .rejected
                    .push(row_error(line, "-", format!("unreadable CSV row: {e}")));
                continue;
            }
        };
        // Lines counted from the record's byte offset: the csv crate's own count is one
        // short in files with CRLF line ends, as spreadsheet exports have.
        let line = rec.position().map_or(0, |p| record_line(p.byte()));
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        if !push(&mut table, line, cells, lines.count()) {
            break;
        }
    }
    if let Some(line) = tail {
        table.rejected.push(row_error(
            line,
            "-",
            format!(
                "a quoted cell opens on this line and is never closed, so lines {line} to {} are not read; close the quote (a quote inside a cell is written \"\")",
                lines.count()
            ),
        ));
    }
    Ok(table)
}

/// Adds a row unless it is empty, over-long or past the row limit; false to stop reading.
fn push(table: &mut Table, line: u64, cells: Vec<String>, last_line: u64) -> bool {
    if cells.iter().all(|c| c.trim().is_empty()) {
        return true;
    }
    if table.rows.len() + table.rejected.len() >= MAX_INVENTORY_ROWS {
        table.rejected.push(row_error(
            line,
            "-",
            format!(
                "the inventory has more than {MAX_INVENTORY_ROWS} rows: this row and those after it (to line {last_line}) are not read"
            ),
        ));
        return false;
    }
    if let Some((i, long)) = cells
        .iter()
        .enumerate()
        .find(|(_, c)| c.chars().count() > MAX_INVENTORY_CELL)
    {
        let column = table
            .header
            .get(i)
            .filter(|h| !h.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("#{}", i + 1));
        table.rejected.push(row_error(
            line,
            &column,
            format!(
                "{} characters long; a cell may hold at most {MAX_INVENTORY_CELL}",
                long.chars().count()
            ),
        ));
        return true;
    }
    table.rows.push(Row { line, cells });
    true
}

/// Columns of a sheet that are read; a vendor list needs a few dozen.
const MAX_SHEET_COLUMNS: u32 = 256;

/// The first sheet of an `.xlsx` workbook, or the one named (or, with several sheets and none
/// named, the one whose header names a vendor column). Row numbers are the sheet's own, so an
/// error names the row the user sees in Excel. Date cells become `YYYY-MM-DD`.
///
/// Cells are streamed, never laid out as a whole sheet: a cell reference far down or far right
/// (a hostile or damaged file) costs nothing, and only the rows and columns an inventory can
/// have are kept. A malformed part that makes the spreadsheet reader panic is an error too.
pub fn workbook(bytes: &[u8], sheet: Option<&str>, path: &Path) -> Result<Table, InventoryError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_workbook(bytes, sheet, path)
    }))
    .unwrap_or_else(|_| {
        Err(InventoryError::Header {
            path: path.into(),
            message: "the workbook is malformed (its cell data cannot be read); open it in Excel and save it again, or export the sheet as CSV UTF-8".into(),
        })
    })
}

/// The text of one cell as a CSV export would hold it; date cells as `YYYY-MM-DD`.
fn cell_text(d: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match d {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) => {
            let (y, m, day, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
        DataRef::Error(e) => format!("#{e}"),
    }
}

/// A sheet's cells by row (0-based row → cells by column), streamed, within the limits.
struct SheetCells {
    rows: std::collections::BTreeMap<u32, Vec<String>>,
    /// Rows or columns past the limits that held something.
    beyond: bool,
}

fn sheet_cells<RS: std::io::Read + std::io::Seek>(
    book: &mut calamine::Xlsx<RS>,
    name: &str,
    max_rows: u32,
) -> Result<SheetCells, calamine::XlsxError> {
    let mut reader = book.worksheet_cells_reader(name)?;
    let mut out = SheetCells {
        rows: Default::default(),
        beyond: false,
    };
    let mut first_row: Option<u32> = None;
    while let Some(cell) = reader.next_cell()? {
        let (r, c) = cell.get_position();
        let text = cell_text(cell.get_value());
        if text.trim().is_empty() {
            continue;
        }
        let top = *first_row.get_or_insert(r);
        if r.saturating_sub(top) > max_rows || c >= MAX_SHEET_COLUMNS {
            out.beyond = true;
            continue;
        }
        let row = out.rows.entry(r).or_default();
        let c = c as usize;
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = text;
    }
    Ok(out)
}

fn read_workbook(bytes: &[u8], sheet: Option<&str>, path: &Path) -> Result<Table, InventoryError> {
    use calamine::{Reader, Xlsx};
    let bad = |message: String| InventoryError::Header {
        path: path.into(),
        message,
    };
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("cannot read the workbook: {e}")))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => names.iter().find(|n| n.as_str() == s).cloned().ok_or_else(|| {
            bad(format!(
                "the workbook has no sheet named {s:?} (sheets: {}); name one of them with `inventory_sheet` in the configuration (or `--sheet`)",
                names.join(", ")
            ))
        })?,
        // Several sheets and none named: the one whose top rows name a vendor column. Two
        // such sheets (this year's and last year's, say) are never chosen between silently.
        None if names.len() > 1 => {
            let mut with_vendor = Vec::new();
            for n in &names {
                let top = sheet_cells(&mut book, n, 6)
                    .map_err(|e| bad(format!("cannot read sheet {n:?}: {e}")))?;
                if top.rows.values().take(6).any(|row| {
                    row.iter()
                        .any(|c| super::columns::column(c) == Some("vendor"))
                }) {
                    with_vendor.push(n.clone());
                }
            }
            match with_vendor.as_slice() {
                [one] => one.clone(),
                [] => names[0].clone(),
                several => {
                    return Err(bad(format!(
                        "sheets {} each have a vendor column: name the inventory's sheet with `inventory_sheet` in the configuration (or `--sheet`)",
                        several
                            .iter()
                            .map(|n| format!("{n:?}"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )));
                }
            }
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| bad("the workbook has no sheets".into()))?,
    };
    let max_rows = u32::try_from(MAX_INVENTORY_ROWS).unwrap_or(u32::MAX);
    let cells = sheet_cells(&mut book, &name, max_rows)
        .map_err(|e| bad(format!("cannot read sheet {name:?}: {e}")))?;
    let width = cells.rows.values().map(Vec::len).max().unwrap_or(0);
    let mut rows = cells.rows.into_iter();
    let pad = |mut r: Vec<String>| {
        r.resize(width, String::new());
        r.into_iter()
            .map(|c| c.trim().to_string())
            .collect::<Vec<_>>()
    };
    let header = rows.next().map(|(_, r)| pad(r)).unwrap_or_default();
    let mut table = Table {
        header,
        sheets: (sheet.is_none() && names.len() > 1).then(|| (name.clone(), names.clone())),
        sheet: Some(name.clone()),
        notes: if sheet.is_none() && names.len() > 1 {
            vec![format!(
                "read sheet {name:?} of {} (name another with `inventory_sheet` or `--sheet`)",
                names.join(", ")
            )]
        } else {
            Vec::new()
        },
        ..Table::default()
    };
    let mut last = 0;
    for (r, cells) in rows {
        // Sheet rows are 1-based in Excel.
        let line = u64::from(r) + 1;
        last = line;
        if !push(&mut table, line, pad(cells), line) {
            break;
        }
    }
    if cells.beyond {
        table.rejected.push(row_error(
            last,
            "-",
            format!(
                "the sheet has cells past row {} below its header or past column {MAX_SHEET_COLUMNS}: they are not read",
                MAX_INVENTORY_ROWS
            ),
        ));
    }
    Ok(table)
}

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
fn unclosed_quote(bytes: &[u8], delim: u8) -> Option<usize> {
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
            None => cell_start = b == delim || matches!(b, b'\n' | b'\r'),
        }
        i += 1;
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_sniffed_from_the_header() {
        assert_eq!(delimiter("vendor,phi\n"), b',');
        assert_eq!(delimiter("vendor;service;phi\na,b;c\n"), b';');
        assert_eq!(delimiter("vendor\tphi\n"), b'\t');
        assert_eq!(delimiter("\"a;b\",c\n"), b',');
        assert_eq!(delimiter("vendor\n"), b',');
    }

    #[test]
    fn encodings() {
        let (t, n) = decode(b"\xEF\xBB\xBFvendor").unwrap();
        assert_eq!((t.as_ref(), n), ("vendor", None));
        let (t, n) = decode(b"Cl\xEDnica M\xE9dica").unwrap();
        assert_eq!(t, "Clínica Médica");
        assert!(n.unwrap().contains("Windows-1252"));
        let utf16: Vec<u8> = std::iter::once(0xFEFFu16)
            .chain("vendor\tphi".encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        let (t, n) = decode(&utf16).unwrap();
        assert_eq!((t.as_ref(), n), ("vendor\tphi", None));
    }
}
