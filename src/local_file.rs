//! Reading a local input (the config, the vendor inventory): only a regular file, and only up
//! to a bound. A path that names a FIFO or a device (`/dev/zero`) would otherwise hang the
//! monthly job or read forever, and a huge file would be held in memory whole.

use std::io::Read;
use std::path::Path;

/// The file's bytes, or an error that says why not: not a regular file, or over `max_bytes`.
pub fn read(path: &Path, max_bytes: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "not a regular file (a folder, FIFO or device); the {what} must be a file"
        )));
    }
    if meta.len() > max_bytes {
        return Err(std::io::Error::other(format!(
            "{} bytes, over the {max_bytes}-byte limit for the {what}",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // A file that grows while it is read stops at the bound all the same.
    std::fs::File::open(path)?
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(std::io::Error::other(format!(
            "over the {max_bytes}-byte limit for the {what}"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read(&p, 5, "inventory").unwrap(), b"12345");
        let e = read(&p, 4, "inventory").unwrap_err().to_string();
        assert!(
            e.contains("5 bytes, over the 4-byte limit for the inventory"),
            "{e}"
        );
        let e = read(dir.path(), 4, "inventory").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = read(Path::new("/dev/zero"), 4, "inventory")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
