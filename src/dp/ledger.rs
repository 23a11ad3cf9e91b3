//! The lifetime privacy-budget ledger: an append-only journal of JSON lines, one per event, under
//! an exclusive file lock.
//!
//! Why a journal and not SQLite: one writer at a time is all a batch tool needs, the lock and the
//! check-then-append happen in one critical section, every entry is fsync'd before the run goes on,
//! nothing is ever rewritten (an auditor can read the file with any text tool), and it adds no C
//! build to a project whose compile time is scarce.
//!
//! Protocol of a release:
//! 1. [`Ledger::reserve`] takes the lock, reads every entry, refuses when the dataset's spend plus
//!    this release would pass the cap, appends a `spend` entry and fsyncs it, then unlocks. Noise is
//!    drawn only after this returns, so a crash can waste budget but never reuse it, and two runs
//!    cannot both spend the last of it.
//! 2. [`Ledger::record`] appends `published` (with the SHA-256 of the manifest) or `abandoned`.
//!
//! A line cut short by a crash while it was written is incomplete: its spend was never confirmed to
//! the run, so no noise was drawn for it. It is cut off, under the lock, before the next append.
//!
//! Every line carries `prev`, the SHA-256 of the line before it (64 zeros for the first), so an
//! entry edited, removed or inserted by hand breaks the chain at the next line and the ledger is
//! refused with that line named; a spend that is not a positive finite number is refused too. The
//! chain makes edits evident, not impossible: whoever rewrites every later line consistently is
//! not stopped, so keep the head (`privstat budget --json` prints it) somewhere else as well.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::plan::DpCap;

/// One line of the ledger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    /// Budget committed before any noise was drawn.
    Spend {
        id: String,
        dataset: String,
        release: String,
        mechanism: crate::config::raw::Mechanism,
        /// The release's own loss: ε for Laplace, ρ for Gaussian.
        loss: f64,
        /// What the cap is charged, in the cap's measure.
        charged: f64,
        cap: DpCap,
        pipeline_sha256: String,
        at: String,
    },
    /// The release was published; `manifest_sha256` pins its files.
    Published {
        id: String,
        manifest_sha256: String,
        at: String,
    },
    /// The run stopped after spending and published nothing; the budget stays spent.
    Abandoned {
        id: String,
        reason: String,
        at: String,
    },
}

/// The `prev` of a ledger's first line.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A ledger line as written: an entry chained to the line before it.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    #[serde(flatten)]
    entry: Entry,
    prev: String,
}

fn line_hash(line: &str) -> String {
    use sha2::Digest as _;
    crate::config::hex(&sha2::Sha256::digest(line.as_bytes()))
}

/// A dataset's standing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Standing {
    pub dataset: String,
    pub cap: DpCap,
    pub spent: f64,
    pub remaining: f64,
    pub releases: usize,
    pub published: usize,
    pub last_release: Option<String>,
}

/// Ledger failures. Messages hold names and numbers only.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "ledger {path}, line {line}: not a ledger entry ({message}); refusing to spend from a damaged ledger"
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "dataset `{dataset}`: this release would spend {charged} but only {remaining} of the lifetime cap {cap} is left (spent {spent}); nothing was spent and no noise was drawn\n  hint: lower the release's budget, or publish nothing more from this dataset"
    )]
    OverCap {
        dataset: String,
        charged: String,
        remaining: String,
        cap: String,
        spent: String,
    },
    #[error(
        "dataset `{dataset}`: the pipeline states a lifetime cap of {stated} but the ledger holds {recorded}; a cap is fixed by the dataset's first release\n  hint: state the recorded cap in the pipeline"
    )]
    CapMismatch {
        dataset: String,
        stated: String,
        recorded: String,
    },
}

/// What a release asks to spend.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    pub dataset: &'a str,
    pub release: &'a str,
    pub mechanism: crate::config::raw::Mechanism,
    /// ε for Laplace, ρ for Gaussian.
    pub loss: f64,
    /// In the cap's measure.
    pub charged: f64,
    pub cap: DpCap,
    pub pipeline_sha256: &'a str,
}

/// A ledger file.
pub struct Ledger {
    path: PathBuf,
}

/// Formats a cap for messages.
#[must_use]
pub fn cap_text(cap: DpCap) -> String {
    match cap {
        DpCap::Epsilon(e) => format!("ε = {e}"),
        DpCap::Rho(r) => format!("ρ = {r}"),
    }
}

/// A privacy loss or budget amount for messages: six decimals, as ledgers are read, or three
/// significant digits when six decimals would show a positive amount as 0.000000.
#[must_use]
pub fn amount_text(x: f64) -> String {
    if x > 0.0 && x < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.6}")
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Ledger {
    /// The ledger at `path` (created on first spend).
    #[must_use]
    pub fn at(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// The ledger's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> LedgerError {
        LedgerError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Opens (creating) and locks the ledger; returns the file and its complete entries, with an
    /// incomplete last line cut off.
    fn open_locked(&self) -> Result<(File, Vec<Entry>, String), LedgerError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let existed = self.path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        if !existed {
            sync_dir(&self.path);
        }
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| self.io(e))?;
        let complete = complete_lines(&text);
        if complete.len() < text.len() {
            file.set_len(complete.len() as u64)
                .map_err(|e| self.io(e))?;
            file.sync_all().map_err(|e| self.io(e))?;
        }
        let (entries, head) = parse(complete, &self.path)?;
        file.seek(SeekFrom::End(0)).map_err(|e| self.io(e))?;
        Ok((file, entries, head))
    }

    fn append(&self, file: &mut File, entry: Entry, prev: String) -> Result<(), LedgerError> {
        let mut line = serde_json::to_string(&Line { entry, prev })
            .map_err(|e| self.io(std::io::Error::other(e.to_string())))?;
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))
    }

    /// Commits a release's spend, or refuses it when the dataset's cap would be passed. Returns
    /// the entry's id.
    ///
    /// # Errors
    /// [`LedgerError::OverCap`], [`LedgerError::CapMismatch`], a damaged ledger, or I/O.
    pub fn reserve(&self, charge: &Charge<'_>) -> Result<String, LedgerError> {
        let Charge {
            dataset,
            release,
            mechanism,
            loss,
            charged,
            cap,
            pipeline_sha256,
        } = *charge;
        let (mut file, entries, head) = self.open_locked()?;
        let standing = standings(&entries)
            .into_iter()
            .find(|s| s.dataset == dataset);
        let (cap_value, spent) = match &standing {
            Some(s) => {
                if s.cap != cap {
                    return Err(LedgerError::CapMismatch {
                        dataset: dataset.to_owned(),
                        stated: cap_text(cap),
                        recorded: cap_text(s.cap),
                    });
                }
                (cap_amount(cap), s.spent)
            }
            None => (cap_amount(cap), 0.0),
        };
        if spent + charged > cap_value {
            return Err(LedgerError::OverCap {
                dataset: dataset.to_owned(),
                charged: amount_text(charged),
                remaining: amount_text((cap_value - spent).max(0.0)),
                cap: cap_text(cap),
                spent: amount_text(spent),
            });
        }
        let id = format!("{release}@{}#{}", now(), entries.len() + 1);
        self.append(
            &mut file,
            Entry::Spend {
                id: id.clone(),
                dataset: dataset.to_owned(),
                release: release.to_owned(),
                mechanism,
                loss,
                charged,
                cap,
                pipeline_sha256: pipeline_sha256.to_owned(),
                at: now(),
            },
            head,
        )?;
        Ok(id)
    }

    /// Records how a reserved release ended.
    ///
    /// # Errors
    /// I/O or a damaged ledger.
    pub fn record(&self, id: &str, outcome: Result<&str, &str>) -> Result<(), LedgerError> {
        let (mut file, _, head) = self.open_locked()?;
        let entry = match outcome {
            Ok(sha) => Entry::Published {
                id: id.to_owned(),
                manifest_sha256: sha.to_owned(),
                at: now(),
            },
            Err(reason) => Entry::Abandoned {
                id: id.to_owned(),
                reason: reason.to_owned(),
                at: now(),
            },
        };
        self.append(&mut file, entry, head)
    }

    /// Every dataset's standing; an absent ledger has none.
    ///
    /// # Errors
    /// I/O or a damaged ledger.
    pub fn standings(&self) -> Result<Vec<Standing>, LedgerError> {
        Ok(self.standings_and_head()?.0)
    }

    /// Every dataset's standing and the chain's head (the SHA-256 of the last complete line, to
    /// keep apart from the ledger), from one read.
    ///
    /// # Errors
    /// I/O or a damaged ledger.
    pub fn standings_and_head(&self) -> Result<(Vec<Standing>, String), LedgerError> {
        if !self.path.exists() {
            return Ok((Vec::new(), GENESIS.to_owned()));
        }
        let (entries, head) = self.read_chain()?;
        Ok((standings(&entries), head))
    }

    /// The standing of one dataset, as if it had spent nothing when absent.
    ///
    /// # Errors
    /// I/O or a damaged ledger.
    pub fn standing(&self, dataset: &str, cap: DpCap) -> Result<Standing, LedgerError> {
        Ok(self
            .standings()?
            .into_iter()
            .find(|s| s.dataset == dataset)
            .unwrap_or_else(|| Standing {
                dataset: dataset.to_owned(),
                cap,
                spent: 0.0,
                remaining: cap_amount(cap),
                releases: 0,
                published: 0,
                last_release: None,
            }))
    }

    /// Every complete entry, read under a shared lock.
    ///
    /// # Errors
    /// I/O or a damaged ledger.
    pub fn entries(&self) -> Result<Vec<Entry>, LedgerError> {
        Ok(self.read_chain()?.0)
    }

    /// The complete entries and the chain's head, read under a shared lock.
    fn read_chain(&self) -> Result<(Vec<Entry>, String), LedgerError> {
        let mut text = String::new();
        let mut file = File::open(&self.path).map_err(|e| self.io(e))?;
        file.lock_shared().map_err(|e| self.io(e))?;
        file.read_to_string(&mut text).map_err(|e| self.io(e))?;
        parse(complete_lines(&text), &self.path)
    }
}

/// The cap's number.
#[must_use]
pub fn cap_amount(cap: DpCap) -> f64 {
    match cap {
        DpCap::Epsilon(v) | DpCap::Rho(v) => v,
    }
}

/// The text up to and including its last newline: a line without one was torn by a crash.
fn complete_lines(text: &str) -> &str {
    &text[..text.rfind('\n').map_or(0, |i| i + 1)]
}

/// The entries of complete lines and the chain's head, checking every line's link and every
/// spend's amounts.
fn parse(text: &str, path: &Path) -> Result<(Vec<Entry>, String), LedgerError> {
    let corrupt = |line: usize, message: String| LedgerError::Corrupt {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut head = GENESIS.to_owned();
    let mut entries = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(l).map_err(|e| corrupt(i + 1, e.to_string()))?;
        if line.prev != head {
            return Err(corrupt(
                i + 1,
                "its `prev` is not the SHA-256 of the line before it: an entry was edited, \
                 removed or inserted"
                    .into(),
            ));
        }
        if let Entry::Spend {
            loss, charged, cap, ..
        } = &line.entry
        {
            let positive = |v: f64| v.is_finite() && v > 0.0;
            if !(positive(*loss) && positive(*charged) && positive(cap_amount(*cap))) {
                return Err(corrupt(
                    i + 1,
                    "a spend's loss, charge and cap must be positive finite numbers".into(),
                ));
            }
        }
        head = line_hash(l);
        entries.push(line.entry);
    }
    Ok((entries, head))
}

fn standings(entries: &[Entry]) -> Vec<Standing> {
    let mut by: BTreeMap<String, Standing> = BTreeMap::new();
    let mut dataset_of: BTreeMap<&str, &str> = BTreeMap::new();
    for e in entries {
        match e {
            Entry::Spend {
                id,
                dataset,
                release,
                charged,
                cap,
                ..
            } => {
                dataset_of.insert(id, dataset);
                let s = by.entry(dataset.clone()).or_insert_with(|| Standing {
                    dataset: dataset.clone(),
                    cap: *cap,
                    spent: 0.0,
                    remaining: 0.0,
                    releases: 0,
                    published: 0,
                    last_release: None,
                });
                s.spent += charged;
                s.releases += 1;
                s.last_release = Some(release.clone());
            }
            Entry::Published { id, .. } => {
                if let Some(s) = dataset_of.get(id.as_str()).and_then(|d| by.get_mut(*d)) {
                    s.published += 1;
                }
            }
            Entry::Abandoned { .. } => {}
        }
    }
    by.into_values()
        .map(|mut s| {
            s.remaining = (cap_amount(s.cap) - s.spent).max(0.0);
            s
        })
        .collect()
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests;
