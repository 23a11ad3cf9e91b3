//! The pseudonymisation key: 32 or more random bytes, kept as hex in a file (mode 0600) or an
//! environment variable. The key is never printed; errors say what is wrong with it, not what it is.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::plan::KeySource;

/// Minimum key length in bytes.
pub const KEY_BYTES: usize = 32;

/// A loaded key.
pub struct Key {
    bytes: Vec<u8>,
    ephemeral: bool,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(redacted)")
    }
}

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: cannot read the key file: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the key file {problem}\n  hint: make a key with `privstat keygen --out FILE`", path.display())]
    BadFile {
        path: PathBuf,
        problem: &'static str,
    },
    #[error(
        "environment variable {var} {problem}\n  hint: set it to the contents of a file made by `privstat keygen`"
    )]
    BadEnv { var: String, problem: &'static str },
    #[error("{}: already exists; privstat keygen never overwrites a key", path.display())]
    Exists { path: PathBuf },
    #[error("{}: cannot write the key file: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

impl Key {
    /// Loads the configured key, or draws an ephemeral one.
    ///
    /// # Errors
    /// [`KeyError`] when the file or variable is missing, not hex, or too short.
    pub fn load(source: &KeySource) -> Result<Self, KeyError> {
        match source {
            KeySource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                    path: path.clone(),
                    source,
                })?;
                let bytes = parse_hex(&text).map_err(|problem| KeyError::BadFile {
                    path: path.clone(),
                    problem,
                })?;
                Ok(Self {
                    bytes,
                    ephemeral: false,
                })
            }
            KeySource::Env(var) => {
                let text = std::env::var(var).map_err(|_| KeyError::BadEnv {
                    var: var.clone(),
                    problem: "is not set (or is not valid Unicode)",
                })?;
                let bytes = parse_hex(&text).map_err(|problem| KeyError::BadEnv {
                    var: var.clone(),
                    problem,
                })?;
                Ok(Self {
                    bytes,
                    ephemeral: false,
                })
            }
            KeySource::Ephemeral => Ok(Self {
                bytes: random_bytes()?.to_vec(),
                ephemeral: true,
            }),
        }
    }

    /// Whether the key was drawn for this run only.
    #[must_use]
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }

    /// A keyed MAC ready for input.
    #[must_use]
    pub fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes).expect("HMAC accepts any key length")
    }

    /// A public fingerprint of the key (HMAC of a fixed label), so that releases made with the same
    /// key can be recognised without revealing it.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let mut mac = self.mac();
        mac.update(b"privstat key fingerprint v1");
        let tag = mac.finalize().into_bytes();
        crate::config::hex(&tag[..8])
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>, &'static str> {
    let t = text.trim();
    if !t.len().is_multiple_of(2) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("is not a hex string");
    }
    let bytes: Vec<u8> = (0..t.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&t[i..i + 2], 16).ok())
        .collect();
    if bytes.len() < KEY_BYTES {
        return Err("holds fewer than 32 bytes (64 hex characters)");
    }
    Ok(bytes)
}

fn random_bytes() -> Result<[u8; KEY_BYTES], KeyError> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(bytes)
}

/// Writes a new random key as hex to `path`, readable by its owner only; never overwrites.
///
/// # Errors
/// [`KeyError::Exists`] if the file exists; [`KeyError::Write`] on I/O failure.
pub fn write_new_key(path: &Path) -> Result<(), KeyError> {
    let bytes = random_bytes()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            KeyError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    writeln!(file, "{}", crate::config::hex(&bytes))
        .and_then(|()| file.sync_all())
        .map_err(|source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// Whether other users can read the key file (Unix permission bits).
#[must_use]
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_non_hex_keys_are_refused_without_echoing_them() {
        let err = parse_hex("zz").expect_err("not hex");
        assert!(!err.contains("zz"));
        assert!(parse_hex(&"ab".repeat(31)).is_err());
        assert_eq!(
            parse_hex(&format!("{}\n", "ab".repeat(32))).map(|b| b.len()),
            Ok(32)
        );
    }

    #[test]
    fn keygen_refuses_to_overwrite_and_is_private() -> Result<(), KeyError> {
        let dir = tempfile::tempdir().map_err(|e| KeyError::Random(e.to_string()))?;
        let path = dir.path().join("k.key");
        write_new_key(&path)?;
        assert!(matches!(write_new_key(&path), Err(KeyError::Exists { .. })));
        assert!(!readable_by_others(&path));
        let key = Key::load(&KeySource::File(path))?;
        assert!(!key.is_ephemeral());
        assert!(!format!("{key:?}").contains(&key.fingerprint()));
        Ok(())
    }
}
