//! All-or-nothing writes: a staging directory beside the target, renamed into place; single files
//! through a temporary sibling and a rename.
//!
//! A run holds `DIR/.<release>.lock` from before it spends anything until it ends, so two runs of
//! one release never interleave. `--force` swaps the new release for the old one in one step
//! (`renameat2` with `RENAME_EXCHANGE` on Linux), so a kill at any moment leaves the old release or
//! the new one under its name. Where the exchange is not available, the old release is first
//! renamed aside to `.<release>.replaced-<pid>`; the next run (under the lock) puts a release left
//! aside back if none took its place, and removes staging and replaced directories left by killed
//! runs.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::PublishError;
use crate::config::Plan;

/// Where the plan's release goes.
#[must_use]
pub fn release_dir(plan: &Plan) -> PathBuf {
    plan.publish.dir.join(&plan.release.name)
}

/// The lock of one release, held for a whole run (released when dropped).
pub struct ReleaseLock {
    _file: std::fs::File,
}

/// Takes the release's lock, cleans what killed runs left, and checks that the release can be
/// written: the directory can be created, the target is absent (or, with `force`, a release), and
/// the operator directory can be created. Called before any budget is spent.
///
/// # Errors
/// [`PublishError::Busy`] when another run holds the lock; [`PublishError::Exists`],
/// [`PublishError::NotARelease`]; I/O errors.
pub fn prepare(plan: &Plan, force: bool) -> Result<ReleaseLock, PublishError> {
    let dir = &plan.publish.dir;
    std::fs::create_dir_all(dir).map_err(|e| PublishError::io(dir, e))?;
    let name = &plan.release.name;
    let lock_path = dir.join(format!(".{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| PublishError::io(&lock_path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(PublishError::Busy { lock: lock_path });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(PublishError::io(&lock_path, e)),
    }
    let target = release_dir(plan);
    clean_leftovers(dir, name, &target)?;
    if target.exists() || target.is_symlink() {
        if !force {
            return Err(PublishError::Exists { path: target });
        }
        if !(target.is_dir() && !target.is_symlink() && target.join("manifest.json").is_file()) {
            return Err(PublishError::NotARelease { path: target });
        }
    }
    super::create_private_dir(&plan.publish.operator_dir)?;
    Ok(ReleaseLock { _file: file })
}

/// Under the lock, nothing else works on this release: staging directories are leftovers of
/// killed runs, and a replaced release with no release in its place is put back.
fn clean_leftovers(dir: &Path, name: &str, target: &Path) -> Result<(), PublishError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let staging = format!(".{name}.staging-");
    let replaced = format!(".{name}.replaced-");
    // Exactly `<prefix><pid>`: release names may contain `.`, so a longer name that merely starts
    // with this prefix belongs to another release.
    let ours = |file_name: &str, prefix: &str| {
        file_name
            .strip_prefix(prefix)
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if ours(&file_name, &staging) {
            std::fs::remove_dir_all(&path).map_err(|e| PublishError::io(&path, e))?;
        } else if ours(&file_name, &replaced) {
            if target.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| PublishError::io(&path, e))?;
            } else {
                std::fs::rename(&path, target).map_err(|e| PublishError::io(&path, e))?;
            }
        }
    }
    Ok(())
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
        if replacing && !force {
            return Err(PublishError::Exists {
                path: target.to_path_buf(),
            });
        }
        if replacing && exchange(&self.path, target) {
            // The staging path now holds the old release.
            self.committed = true;
            std::fs::remove_dir_all(&self.path).map_err(|e| PublishError::io(&self.path, e))?;
        } else {
            if replacing {
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
        }
        if let Some(parent) = target.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }
}

/// Swaps two directories in one step; `false` when the system cannot (then nothing changed).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
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
