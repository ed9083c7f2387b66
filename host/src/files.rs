//! Writing build outputs safely.

use std::path::Path;

use crate::error::{IoContext, Result};

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so a reader (a QEMU started by a parallel test, say) never
/// sees a half-written file. Returns false, leaving the file and its mtime
/// alone, when it already holds exactly these bytes.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).path_context("create directory", dir)?;
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).path_context("create a temporary file in", dir)?;
    std::io::Write::write_all(&mut temp, bytes).path_context("write a temporary file for", path)?;
    persist(temp, path)?;
    Ok(true)
}

/// Moves a finished temporary file over `path`.
pub(crate) fn persist(temp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    // Temporary files are created private (0600); build outputs are not secret.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .path_context("set permissions of", temp.path())?;
    }
    temp.persist(path)
        .map(drop)
        .map_err(|e| e.error)
        .path_context("rename into place", path)
}

/// The directory holding `path` ("." for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.bin");
        assert!(write_if_changed(&path, b"one").unwrap());
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }
}
