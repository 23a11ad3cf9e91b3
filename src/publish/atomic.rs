//! All-or-nothing writes: a staging directory beside the target, renamed into place; single files
//! through a temporary sibling and a rename.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::PublishError;
use crate::config::Plan;

/// Where the plan's release goes.
#[must_use]
pub fn release_dir(plan: &Plan) -> PathBuf {
    plan.publish.dir.join(&plan.release.name)
}

/// A staging directory, removed on drop unless committed.
pub struct Staging {
    path: PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates `DIR/.<name>.staging-<pid>` (and `DIR` if needed).
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(dir: &Path, name: &str) -> Result<Self, PublishError> {
        std::fs::create_dir_all(dir).map_err(|e| PublishError::io(dir, e))?;
        let path = dir.join(format!(".{name}.staging-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| PublishError::io(&path, e))?;
        }
        std::fs::create_dir(&path).map_err(|e| PublishError::io(&path, e))?;
        Ok(Self {
            path,
            committed: false,
        })
    }

    /// The directory to write into.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the staging directory to `target`, replacing an existing one only when `force`.
    ///
    /// # Errors
    /// [`PublishError::Exists`] when `target` exists and `force` is off; I/O errors.
    pub fn commit(mut self, target: &Path, force: bool) -> Result<(), PublishError> {
        sync_dir(&self.path)?;
        let old = target.with_file_name(format!(
            ".{}.replaced-{}",
            target
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            std::process::id()
        ));
        let replacing = target.exists();
        if replacing {
            if !force {
                return Err(PublishError::Exists {
                    path: target.to_path_buf(),
                });
            }
            std::fs::rename(target, &old).map_err(|e| PublishError::io(target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.path, target) {
            if replacing {
                let _ = std::fs::rename(&old, target);
            }
            return Err(PublishError::io(target, e));
        }
        self.committed = true;
        if replacing {
            std::fs::remove_dir_all(&old).map_err(|e| PublishError::io(&old, e))?;
        }
        if let Some(parent) = target.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn sync_dir(path: &Path) -> Result<(), PublishError> {
    #[cfg(unix)]
    {
        std::fs::File::open(path)
            .and_then(|d| d.sync_all())
            .map_err(|e| PublishError::io(path, e))?;
    }
    let _ = path;
    Ok(())
}

/// Writes bytes to a new file and flushes them to disk.
///
/// # Errors
/// I/O errors.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let mut file = std::fs::File::create(path).map_err(|e| PublishError::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| PublishError::io(path, e))
}

/// Replaces `path` with `bytes` atomically: a temporary sibling, synced, then renamed.
///
/// # Errors
/// I/O errors.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| PublishError::io(dir, e))?;
    let temp = path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    write_synced(&temp, bytes)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        PublishError::io(path, e)
    })
}
