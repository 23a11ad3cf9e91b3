//! Errors in a pipeline file: every problem carries the key path it concerns and, where one helps,
//! a hint that says what to write instead.

use std::fmt;
use std::path::PathBuf;

/// A pipeline file that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the pipeline file: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or does not have the shape of a pipeline file.
    #[error("{}: {message}", file.display())]
    Syntax { file: PathBuf, message: String },
    /// The file parsed but its values do not fit together.
    #[error("{}: {} problem(s):\n{}", file.display(), problems.len(), ProblemList(problems))]
    Invalid {
        file: PathBuf,
        problems: Vec<Problem>,
    },
}

/// One problem in a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `tables.persons_by_district.by`.
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  [{}] {}", p.key, p.message)?;
            if let Some(hint) = &p.hint {
                write!(f, "\n    hint: {hint}")?;
            }
        }
        Ok(())
    }
}
