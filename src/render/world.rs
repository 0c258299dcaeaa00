//! A Typst `World` of our own: it serves only the template folder and the report data, uses
//! only the fonts bundled in the binary, and returns the document's fixed date as "today".
//! That keeps output byte-reproducible and keeps a template (possibly written by someone else)
//! from reading the file system, the network, or the wall clock.

use super::fonts::FONTS;
use chrono::{DateTime, Datelike, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Path of the entry template inside the template folder.
pub const MAIN: &str = "/main.typ";
/// Virtual file with the evidence JSON as the document shows it (every string made printable,
/// see [`super::document_text`]); templates read it with `json("/data.json")`.
pub const DATA_JSON: &str = "/data.json";
/// The exact `evidence.json` bytes, raw values intact, under the name the PDF attachment
/// carries.
pub const EVIDENCE_JSON: &str = "/evidence.json";
/// Virtual file with the findings CSV, for the PDF attachment.
pub const FINDINGS_CSV: &str = "/findings.csv";
/// Virtual file with the plan of action and milestones, for the PDF attachment.
pub const POAM_CSV: &str = "/poam.csv";

/// The built-in templates, compiled into the binary so a cron job needs no extra files.
const BUILTIN: &[(&str, &str)] = &[
    (MAIN, include_str!("../../templates/main.typ")),
    ("/lib.typ", include_str!("../../templates/lib.typ")),
    (
        "/register.typ",
        include_str!("../../templates/register.typ"),
    ),
    ("/history.typ", include_str!("../../templates/history.typ")),
    (
        "/transport.typ",
        include_str!("../../templates/transport.typ"),
    ),
];

/// Where template sources come from.
#[derive(Debug, Clone)]
pub enum Templates {
    /// The templates embedded from `templates/` at build time.
    Builtin,
    /// A user folder (`--templates`), canonicalized; nothing outside it is readable.
    Dir(PathBuf),
}

impl Templates {
    /// How a template file is named in error messages.
    pub fn display_name(&self, vpath: &VirtualPath) -> String {
        let rel = vpath.get_without_slash();
        match self {
            Templates::Builtin => format!("{rel} (built-in template)"),
            Templates::Dir(dir) => dir.join(rel).display().to_string(),
        }
    }
}

/// The compilation environment for one report.
pub struct ReportWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    main: FileId,
    templates: Templates,
    data: HashMap<&'static str, Bytes>,
    generated_at: DateTime<Utc>,
    sources: Mutex<HashMap<FileId, FileResult<Source>>>,
    files: Mutex<HashMap<FileId, FileResult<Bytes>>>,
}

impl ReportWorld {
    /// `evidence_json` and `findings_csv` are served as virtual files; `generated_at` is the
    /// only date a template can learn (`datetime.today()`).
    pub fn new(
        templates: Templates,
        evidence_json: Vec<u8>,
        findings_csv: Vec<u8>,
        generated_at: DateTime<Utc>,
    ) -> ReportWorld {
        let shown = Bytes::new(super::document_text::document_json(&evidence_json));
        let mut data = HashMap::new();
        data.insert(DATA_JSON, shown);
        data.insert(EVIDENCE_JSON, Bytes::new(evidence_json));
        data.insert(FINDINGS_CSV, Bytes::new(findings_csv));
        // Served empty until the caller supplies the plan (see `serve`), so a template that
        // attaches it always compiles.
        data.insert(POAM_CSV, Bytes::new(Vec::<u8>::new()));
        let main = RootedPath::new(
            VirtualRoot::Project,
            VirtualPath::new(MAIN).expect("MAIN is a constant, valid virtual path"),
        )
        .intern();
        ReportWorld {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(FontBook::from_fonts(FONTS.iter())),
            main,
            templates,
            data,
            generated_at,
            sources: Mutex::new(HashMap::new()),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// Serves one more virtual file (an attachment) under `path`.
    pub fn serve(&mut self, path: &'static str, bytes: Vec<u8>) {
        self.data.insert(path, Bytes::new(bytes));
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    fn load(&self, id: FileId) -> FileResult<Bytes> {
        if let VirtualRoot::Package(spec) = id.root() {
            return Err(FileError::Other(Some(
                format!(
                    "package imports are disabled in mailproof templates ({spec}); \
                     copy what you need into the template folder"
                )
                .into(),
            )));
        }
        let vpath = id.vpath();
        if let Some(bytes) = self.data.get(vpath.get_with_slash()) {
            return Ok(bytes.clone());
        }
        match &self.templates {
            Templates::Builtin => BUILTIN
                .iter()
                .find(|(p, _)| *p == vpath.get_with_slash())
                .map(|(_, text)| Bytes::from_string(*text))
                .ok_or_else(|| FileError::NotFound(vpath.get_without_slash().into())),
            Templates::Dir(dir) => read_inside(dir, vpath).map(Bytes::new),
        }
    }
}

/// Reads a file of the user's template folder, refusing anything that resolves (through `..`
/// or a symlink) outside of it.
fn read_inside(dir: &Path, vpath: &VirtualPath) -> FileResult<Vec<u8>> {
    let path = vpath.realize(dir).map_err(FileError::Realize)?;
    let real = path
        .canonicalize()
        .map_err(|err| FileError::from_io(err, &path))?;
    if !real.starts_with(dir) {
        return Err(FileError::AccessDenied);
    }
    if real.is_dir() {
        return Err(FileError::IsDirectory);
    }
    std::fs::read(&real).map_err(|err| FileError::from_io(err, &path))
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        let mut cache = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = cache.get(&id) {
            return hit.clone();
        }
        let result = self.file(id).and_then(|bytes| {
            let text = std::str::from_utf8(&bytes).map_err(|_| FileError::InvalidUtf8)?;
            // A leading BOM would otherwise shift every column in error messages.
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            Ok(Source::new(id, text.to_string()))
        });
        cache.insert(id, result.clone());
        result
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        let mut cache = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = cache.get(&id) {
            return hit.clone();
        }
        let result = self.load(id);
        cache.insert(id, result.clone());
        result
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.get(index).cloned()
    }

    fn today(&self, offset: Option<Duration>) -> Option<Datetime> {
        // "Local" has no meaning for a report generated by cron; the document date is UTC.
        let seconds = offset.map_or(0.0, |d| d.seconds());
        let shift = chrono::Duration::try_seconds(seconds as i64)?;
        let t = self.generated_at.checked_add_signed(shift)?;
        Datetime::from_ymd(
            t.year(),
            u8::try_from(t.month()).ok()?,
            u8::try_from(t.day()).ok()?,
        )
    }
}
