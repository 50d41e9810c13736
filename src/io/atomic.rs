//! Replacing a file so that readers, crashes and power cuts only ever see the old file or the
//! whole new one: the bytes go to a temporary file beside it, are flushed to the disk, and the
//! temporary file is renamed over the old one; then the folder's entry is flushed too.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically, creating missing parent folders. Errors name `path`
/// (the temporary file is an implementation detail and is removed on failure).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dir.is_file() {
        return Err(Error::Data {
            path: dir,
            message: format!(
                "is a file, not a folder, so {} cannot be written",
                path.display()
            ),
        });
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp = tmp_path(path);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    // The rename is durable once the folder's entry is; not every platform can open a
    // folder to flush it, and the file itself is already safe, so this is best effort.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `path` with `.tmp` appended to its full file name (`a/b.png` → `a/b.png.tmp`).
fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("counterfeit-atomic-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn writes_into_missing_folders_and_replaces_whole_files() {
        let dir = scratch("folders");
        let path = dir.join("a/b/file.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
        assert!(!tmp_path(&path).exists(), "the temporary file is gone");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_where_the_folder_should_be_is_named_in_the_error() {
        let dir = scratch("file");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("out"), b"").unwrap();
        let err = write_atomic(&dir.join("out/ckpt.safetensors"), b"x").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("not a folder") && msg.contains("out"), "{msg}");
        assert!(!msg.contains(".tmp"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
