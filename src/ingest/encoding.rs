//! Text encodings of CSV exports (domain.md §2.3). Detection order: byte-order mark, then strict
//! UTF-8, then Big5/CP950. A Big5 file is transcoded, streaming, to a temporary UTF-8 file that
//! polars then scans; undecodable bytes and user-defined (造字, EUDC) characters are counted, never
//! guessed silently.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::IngestError;
use crate::config::raw::EncodingChoice;

const CHUNK: usize = 1 << 20;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The encoding a file turned out to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectedEncoding {
    Utf8,
    Utf8Bom,
    Big5,
}

/// A CSV file ready for polars: UTF-8, possibly a transcoded temporary copy.
#[derive(Debug)]
pub struct Prepared {
    /// The file polars should read.
    pub path: PathBuf,
    pub encoding: DetectedEncoding,
    /// Bytes that do not decode (each became U+FFFD).
    pub undecodable: u64,
    /// Characters in user-defined or private-use areas (Big5 EUDC lead bytes, Unicode PUA).
    pub private_use: u64,
    /// Keeps the transcoded copy alive until ingest is done.
    _temp: Option<tempfile::TempPath>,
}

/// Detects the encoding of `path` and makes a UTF-8 file polars can scan.
///
/// # Errors
/// [`IngestError::Io`] on read or write failure; [`IngestError::NotUtf8`] when UTF-8 was declared but
/// the bytes are not UTF-8.
pub fn prepare(path: &Path, choice: EncodingChoice) -> Result<Prepared, IngestError> {
    let io = |e| IngestError::io(path, e);
    let mut file = File::open(path).map_err(io)?;
    let mut head = [0u8; 3];
    let n = read_full(&mut file, &mut head).map_err(io)?;
    let has_bom = &head[..n] == BOM;
    if has_bom {
        let (_, pua) = check_utf8(path)?;
        return Ok(Prepared {
            path: path.to_path_buf(),
            encoding: DetectedEncoding::Utf8Bom,
            undecodable: 0,
            private_use: pua,
            _temp: None,
        });
    }
    match choice {
        EncodingChoice::Big5 => transcode_big5(path),
        EncodingChoice::Utf8 | EncodingChoice::Auto => match check_utf8(path)? {
            (None, pua) => Ok(Prepared {
                path: path.to_path_buf(),
                encoding: DetectedEncoding::Utf8,
                undecodable: 0,
                private_use: pua,
                _temp: None,
            }),
            (Some(line), _) if choice == EncodingChoice::Utf8 => Err(IngestError::NotUtf8 {
                file: path.to_path_buf(),
                line,
            }),
            (Some(_), _) => transcode_big5(path),
        },
    }
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Streams the file through a strict UTF-8 check. Returns the 1-based line of the first invalid byte
/// (if any) and the number of private-use characters.
fn check_utf8(path: &Path) -> Result<(Option<u64>, u64), IngestError> {
    let io = |e| IngestError::io(path, e);
    let mut file = File::open(path).map_err(io)?;
    let mut buf = vec![0u8; CHUNK + 4];
    let mut carry = 0usize;
    let mut line = 1u64;
    let mut pua = 0u64;
    loop {
        let n = file.read(&mut buf[carry..CHUNK + carry]).map_err(io)?;
        let filled = carry + n;
        let valid = match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => filled,
            Err(e) if e.error_len().is_none() && n > 0 => e.valid_up_to(),
            Err(e) => {
                line += count_newlines(&buf[..e.valid_up_to()]);
                return Ok((Some(line), pua));
            }
        };
        line += count_newlines(&buf[..valid]);
        pua += count_private_use_utf8(&buf[..valid]);
        if n == 0 {
            return Ok((None, pua));
        }
        buf.copy_within(valid..filled, 0);
        carry = filled - valid;
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// U+E000–U+F8FF encode as `EE xx xx` or `EF 80..A3 xx`.
fn count_private_use_utf8(valid: &[u8]) -> u64 {
    valid
        .windows(2)
        .filter(|w| w[0] == 0xEE || (w[0] == 0xEF && w[1] < 0xA4))
        .count() as u64
}

/// Whether a Big5 byte pair lies in a user-defined area: leads 81–A0 and FA–FE, and C6A1–C8FE.
fn is_big5_eudc(lead: u8, trail: u8) -> bool {
    matches!(lead, 0x81..=0xA0 | 0xFA..=0xFE | 0xC7 | 0xC8) || (lead == 0xC6 && trail >= 0xA1)
}

fn transcode_big5(path: &Path) -> Result<Prepared, IngestError> {
    let io = |e| IngestError::io(path, e);
    let mut input = File::open(path).map_err(io)?;
    let temp = tempfile::Builder::new()
        .prefix("privstat-big5-")
        .suffix(".csv")
        .tempfile()
        .map_err(io)?;
    let (out_file, temp_path) = temp.into_parts();
    let mut out = BufWriter::new(out_file);
    let mut decoder = encoding_rs::BIG5.new_decoder_without_bom_handling();
    let mut buf = vec![0u8; CHUNK];
    let mut text = String::with_capacity(CHUNK * 3 / 2 + 16);
    let mut lead: Option<u8> = None;
    let (mut undecodable, mut eudc) = (0u64, 0u64);
    loop {
        let n = input.read(&mut buf).map_err(io)?;
        let last = n == 0;
        for &b in &buf[..n] {
            match lead.take() {
                Some(l) => eudc += u64::from(is_big5_eudc(l, b)),
                None if (0x81..0xFF).contains(&b) => lead = Some(b),
                None => {}
            }
        }
        let mut consumed = 0;
        loop {
            text.clear();
            let (result, read, _) = decoder.decode_to_string(&buf[consumed..n], &mut text, last);
            consumed += read;
            undecodable += text.chars().filter(|&c| c == '\u{FFFD}').count() as u64;
            out.write_all(text.as_bytes()).map_err(io)?;
            if result == encoding_rs::CoderResult::InputEmpty {
                break;
            }
        }
        if last {
            break;
        }
    }
    out.flush().map_err(io)?;
    Ok(Prepared {
        path: temp_path.to_path_buf(),
        encoding: DetectedEncoding::Big5,
        undecodable,
        private_use: eudc,
        _temp: Some(temp_path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("write");
        f
    }

    #[test]
    fn big5_trail_byte_backslash_survives_transcoding() -> Result<(), IngestError> {
        let (bytes, _, unmappable) = encoding_rs::BIG5.encode("姓名,服務\n許美玲,成功案例\n");
        assert!(!unmappable);
        assert!(bytes.windows(2).any(|w| w == [0xB3, 0x5C]), "許 is B3 5C");
        let f = write(&bytes);
        let p = prepare(f.path(), EncodingChoice::Auto)?;
        assert_eq!(p.encoding, DetectedEncoding::Big5);
        assert_eq!(
            std::fs::read_to_string(&p.path).map_err(|e| IngestError::io(&p.path, e))?,
            "姓名,服務\n許美玲,成功案例\n"
        );
        assert_eq!((p.undecodable, p.private_use), (0, 0));
        Ok(())
    }

    #[test]
    fn eudc_and_undecodable_bytes_are_counted() -> Result<(), IngestError> {
        let mut bytes = encoding_rs::BIG5.encode("name\n").0.into_owned();
        bytes.extend_from_slice(&[0xFA, 0x40, b'\n', 0x81, 0x40, b'\n']);
        let p = prepare(write(&bytes).path(), EncodingChoice::Big5)?;
        assert_eq!(p.private_use, 2);
        assert!(p.undecodable >= 1);
        Ok(())
    }

    #[test]
    fn bom_wins_and_plain_utf8_is_read_in_place() -> Result<(), IngestError> {
        let f = write("\u{FEFF}性別\n女\n".as_bytes());
        assert_eq!(
            prepare(f.path(), EncodingChoice::Big5)?.encoding,
            DetectedEncoding::Utf8Bom
        );
        let g = write("性別\n女\n".as_bytes());
        let p = prepare(g.path(), EncodingChoice::Auto)?;
        assert_eq!(
            (p.encoding, p.path.as_path()),
            (DetectedEncoding::Utf8, g.path())
        );
        Ok(())
    }

    #[test]
    fn declared_utf8_that_is_not_names_the_line() {
        let bytes = encoding_rs::BIG5.encode("a\nb\n許\n").0.into_owned();
        match prepare(write(&bytes).path(), EncodingChoice::Utf8) {
            Err(IngestError::NotUtf8 { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected NotUtf8, got {other:?}"),
        }
    }
}
