//! Synthetic exports shaped like the real ones (domain.md §6), for fixtures, tests and benchmarks.
//! Seeded and deterministic; rows are written as they are drawn, so ten million rows need no memory.
//!
//! Each row is one service contact (or one attendance at a session). Contacts per person are
//! heavy-tailed. A share of rows carries the messiness real exports have: full-width and lower-case
//! identifiers, separators, wrong check digits, spreadsheet damage, mixed ROC date forms, six-digit
//! and serial dates, unknown districts, empty cells. Identifiers are made with the real check-digit
//! algorithms, from letters and ranges chosen to lower (not remove) the chance of matching a real
//! person; treat the files as identifier-shaped data all the same.

mod profiles;

use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Error;
pub use profiles::Profile;

/// Text encoding of a synthetic file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputEncoding {
    /// UTF-8 without a byte-order mark.
    #[value(name = "utf-8")]
    Utf8,
    /// UTF-8 with a byte-order mark, as Excel's "CSV UTF-8" writes it.
    #[value(name = "utf-8-bom")]
    Utf8Bom,
    /// Big5 (CP950), as Excel in a Traditional-Chinese locale writes CSV.
    #[value(name = "big5")]
    Big5,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub profile: Profile,
    pub rows: u64,
    pub seed: u64,
    pub encoding: OutputEncoding,
    /// Share of rows with injected messiness.
    pub messiness: f64,
}

/// Writes a synthetic export; returns the number of data rows written.
///
/// # Errors
/// [`Error::Synth`] on a bad spec or an I/O failure.
pub fn write(spec: &Spec, out: &Path) -> Result<u64, Error> {
    if !(0.0..=1.0).contains(&spec.messiness) {
        return Err(Error::Synth(format!(
            "--messiness {} is not between 0 and 1",
            spec.messiness
        )));
    }
    let io = |e: std::io::Error| Error::Synth(format!("{}: {e}", out.display()));
    let file = std::fs::File::create(out).map_err(io)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    if spec.encoding == OutputEncoding::Utf8Bom {
        w.write_all(b"\xEF\xBB\xBF").map_err(io)?;
    }
    let mut generator = profiles::Generator::new(
        spec.profile,
        ChaCha8Rng::seed_from_u64(spec.seed),
        spec.messiness,
    );
    let mut line = String::with_capacity(256);
    line.push_str(&generator.header().join(","));
    line.push('\n');
    emit(&mut w, &line, spec.encoding).map_err(io)?;
    let mut written = 0;
    while written < spec.rows {
        for row in generator.next_person_rows(spec.rows - written) {
            line.clear();
            for (i, field) in row.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                push_csv_field(&mut line, field);
            }
            line.push('\n');
            emit(&mut w, &line, spec.encoding).map_err(io)?;
            written += 1;
        }
    }
    w.flush().map_err(io)?;
    Ok(written)
}

fn push_csv_field(line: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

/// Writes one line in the chosen encoding. The marker `{EUDC}` stands for a user-defined Big5
/// character (bytes FA 40) that has no agreed Unicode form.
fn emit<W: Write>(w: &mut W, line: &str, encoding: OutputEncoding) -> std::io::Result<()> {
    match encoding {
        OutputEncoding::Utf8 | OutputEncoding::Utf8Bom => {
            w.write_all(line.replace(profiles::EUDC, "\u{20547}").as_bytes())
        }
        OutputEncoding::Big5 => {
            for (i, part) in line.split(profiles::EUDC).enumerate() {
                if i > 0 {
                    w.write_all(&[0xFA, 0x40])?;
                }
                let (bytes, _, _) = encoding_rs::BIG5.encode(part);
                w.write_all(&bytes)?;
            }
            Ok(())
        }
    }
}

/// Draws an index with probability proportional to `weights`.
fn weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}
