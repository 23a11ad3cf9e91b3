//! Text encodings and shape of CSV exports (domain.md §2.3), decided per file on evidence from one
//! streaming pass over its bytes: a byte-order mark; else UTF-8 when every byte decodes, or when
//! valid multi-byte characters outnumber bad sequences many times over (a UTF-8 file with a few bad
//! bytes is an error naming the line, never re-read as Big5); else Big5/CP950. The same pass checks
//! the CSV's shape (column count, line length, quotes, line ends) so that a broken file stops with
//! its line number instead of reaching the CSV reader, whose messages quote the data.
//!
//! A Big5 file is transcoded, streaming, to a temporary UTF-8 file (mode 0600, named with the
//! process id) that polars then scans and that is removed when ingest ends; copies left by a killed
//! run are removed by the next run ([`sweep_stale`]). Undecodable bytes and user-defined (造字,
//! EUDC) characters are counted, never guessed silently.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::IngestError;
use crate::config::Limits;
use crate::config::raw::EncodingChoice;

const CHUNK: usize = 1 << 20;
const BOM: &[u8] = b"\xEF\xBB\xBF";
const TEMP_PREFIX: &str = "privstat-big5-";
/// Valid multi-byte UTF-8 characters per bad sequence above which a file is UTF-8 with damage.
const UTF8_EVIDENCE: u64 = 8;

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

/// What one pass over a file's bytes found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Whether the file starts with a UTF-8 byte-order mark.
    pub bom: bool,
    /// Physical lines (a last line without a line end counts).
    pub lines: u64,
    /// Fields of the first record (the header).
    pub header_fields: u64,
    /// The first record with more fields than the header: (its first line, its fields).
    pub first_ragged: Option<(u64, u64)>,
    /// The line where a quoted field opens and never closes.
    pub open_quote: Option<u64>,
    /// Line ends: LF (with or without CR) and lone CR.
    pub lf: u64,
    pub lone_cr: u64,
    /// Invalid UTF-8 sequences, the line of the first, and valid multi-byte characters.
    pub utf8_invalid: u64,
    pub utf8_first_invalid_line: Option<u64>,
    pub utf8_multibyte: u64,
    pub utf8_private_use: u64,
}

/// Detects the encoding of `path`, checks its shape against `limits`, and makes a UTF-8 file polars
/// can scan.
///
/// # Errors
/// [`IngestError::Io`] on read or write failure; [`IngestError::NotUtf8`] when UTF-8 was declared or
/// evident but some bytes are not UTF-8; [`IngestError::Malformed`] for a file the CSV reader
/// cannot read correctly (too many columns, a line too long, an unclosed quote, a row with more
/// fields than the header, CR-only line ends).
pub fn prepare(
    path: &Path,
    choice: EncodingChoice,
    limits: &Limits,
) -> Result<Prepared, IngestError> {
    let shape = scan_shape(path, limits)?;
    check_shape(path, &shape)?;
    let not_utf8 = |shape: &Shape| IngestError::NotUtf8 {
        file: path.to_path_buf(),
        line: shape.utf8_first_invalid_line.unwrap_or(1),
        bad: shape.utf8_invalid,
        valid: shape.utf8_multibyte,
    };
    let utf8 = |encoding| Prepared {
        path: path.to_path_buf(),
        encoding,
        undecodable: 0,
        private_use: shape.utf8_private_use,
        _temp: None,
    };
    if shape.bom {
        return if shape.utf8_invalid == 0 {
            Ok(utf8(DetectedEncoding::Utf8Bom))
        } else {
            Err(not_utf8(&shape))
        };
    }
    match choice {
        EncodingChoice::Big5 => transcode_big5(path),
        _ if shape.utf8_invalid == 0 => Ok(utf8(DetectedEncoding::Utf8)),
        EncodingChoice::Utf8 => Err(not_utf8(&shape)),
        EncodingChoice::Auto if shape.utf8_multibyte >= UTF8_EVIDENCE * shape.utf8_invalid => {
            Err(not_utf8(&shape))
        }
        EncodingChoice::Auto => transcode_big5(path),
    }
}

/// Refuses a shape the CSV reader would misread or choke on.
fn check_shape(path: &Path, shape: &Shape) -> Result<(), IngestError> {
    let malformed = |line: u64, problem: String| IngestError::Malformed {
        file: path.to_path_buf(),
        line,
        problem,
    };
    if shape.lone_cr > 0 && shape.lf == 0 {
        return Err(malformed(
            1,
            "lines end in CR alone (an old Mac export); save the file with LF or CRLF line ends"
                .into(),
        ));
    }
    if let Some(line) = shape.open_quote {
        return Err(malformed(
            line,
            "a quoted field opens here and never closes (an unbalanced `\"`)".into(),
        ));
    }
    if let Some((line, fields)) = shape.first_ragged {
        return Err(malformed(
            line,
            format!(
                "this row has {fields} fields but the header has {} (an unquoted comma or a stray \
                 `\"` in a value?)",
                shape.header_fields
            ),
        ));
    }
    Ok(())
}

/// One streaming pass: UTF-8 evidence, line ends, quotes and field counts (on raw bytes, which is
/// sound for Big5 too: its trail bytes are never `,`, `"`, CR or LF). Stops early when a limit is
/// passed.
///
/// # Errors
/// [`IngestError::Io`], or [`IngestError::Malformed`] for a header wider than
/// [`Limits::max_columns`] or a line longer than [`Limits::max_line_bytes`].
pub fn scan_shape(path: &Path, limits: &Limits) -> Result<Shape, IngestError> {
    let mut file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    scan_reader(&mut file, limits).map_err(|e| match e {
        ScanError::Io(e) => IngestError::io(path, e),
        ScanError::Limit { line, problem } => IngestError::Malformed {
            file: path.to_path_buf(),
            line,
            problem,
        },
    })
}

/// Why [`scan_reader`] stopped.
#[derive(Debug)]
pub enum ScanError {
    Io(std::io::Error),
    Limit { line: u64, problem: String },
}

/// [`scan_shape`] over any reader (fuzzed directly).
///
/// # Errors
/// [`ScanError`].
pub fn scan_reader(input: &mut impl Read, limits: &Limits) -> Result<Shape, ScanError> {
    let mut shape = Shape::default();
    let mut buf = vec![0u8; CHUNK + 4];
    let mut carry = 0usize;
    let mut line = 1u64;
    let mut line_bytes = 0u64;
    let mut state = Quote::FieldStart;
    let mut quote_line = 0u64;
    let mut fields = 1u64;
    let mut record_line = 1u64;
    let mut header = true;
    let mut prev_cr = false;
    let mut any = false;
    let end_record = |shape: &mut Shape, fields: u64, record_line: u64, header: &mut bool| {
        if *header {
            shape.header_fields = fields;
            *header = false;
        } else if fields > shape.header_fields && shape.first_ragged.is_none() {
            shape.first_ragged = Some((record_line, fields));
        }
    };
    loop {
        let n = input
            .read(&mut buf[carry..CHUNK + carry])
            .map_err(ScanError::Io)?;
        let filled = carry + n;
        if !any {
            // Only the first chunk can start the file (a carry is never more than 3 bytes).
            shape.bom = buf[..filled].starts_with(BOM);
        }
        // UTF-8 evidence over whole characters; an incomplete one at the end of a chunk is carried.
        let mut at = 0;
        let mut valid_end = filled;
        while at < filled {
            match std::str::from_utf8(&buf[at..filled]) {
                Ok(_) => {
                    count_utf8(&buf[at..filled], &mut shape);
                    at = filled;
                }
                Err(e) => {
                    let good = at + e.valid_up_to();
                    count_utf8(&buf[at..good], &mut shape);
                    match e.error_len() {
                        None if n > 0 => {
                            valid_end = good;
                            break;
                        }
                        bad => {
                            shape.utf8_invalid += 1;
                            if shape.utf8_first_invalid_line.is_none() {
                                shape.utf8_first_invalid_line =
                                    Some(line + count_newlines(&buf[..good]));
                            }
                            at = good + bad.unwrap_or(filled - good);
                        }
                    }
                }
            }
        }
        any |= valid_end > 0;
        for &b in &buf[..valid_end] {
            line_bytes += 1;
            if b == b'\n' {
                shape.lf += 1;
            } else if prev_cr {
                shape.lone_cr += 1;
            }
            prev_cr = b == b'\r';
            // RFC 4180: a quote opens a field only at its start; `""` inside is one quote.
            state = match (state, b) {
                (Quote::FieldStart, b'"') => {
                    quote_line = line;
                    Quote::Quoted
                }
                (Quote::Quoted, b'"') => Quote::Closed,
                (Quote::Closed, b'"') => Quote::Quoted,
                (Quote::Quoted, _) => Quote::Quoted,
                (_, b',') => {
                    fields += 1;
                    Quote::FieldStart
                }
                (_, b'\n') => {
                    end_record(&mut shape, fields, record_line, &mut header);
                    fields = 1;
                    record_line = line + 1;
                    Quote::FieldStart
                }
                (Quote::FieldStart, b'\r') => Quote::FieldStart,
                _ => Quote::Unquoted,
            };
            if b == b'\n' {
                line += 1;
                line_bytes = 0;
            }
            if header && fields > limits.max_columns {
                return Err(ScanError::Limit {
                    line: 1,
                    problem: format!(
                        "the header has more than {} columns (limits.max_columns)",
                        limits.max_columns
                    ),
                });
            }
            if line_bytes > limits.max_line_bytes {
                return Err(ScanError::Limit {
                    line,
                    problem: format!(
                        "the line is longer than {} bytes (limits.max_line_bytes); is this a CSV \
                         file with line ends?",
                        limits.max_line_bytes
                    ),
                });
            }
        }
        if n == 0 {
            break;
        }
        buf.copy_within(valid_end..filled, 0);
        carry = filled - valid_end;
    }
    if prev_cr {
        shape.lone_cr += 1;
    }
    if state == Quote::Quoted {
        shape.open_quote = Some(quote_line);
    } else if line_bytes > 0 || (any && header) {
        end_record(&mut shape, fields, record_line, &mut header);
    }
    shape.lines = if any {
        line - u64::from(line_bytes == 0)
    } else {
        0
    };
    Ok(shape)
}

/// Where the scanner is within a CSV field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after a quote inside a quoted field: the end of the field, or the first of `""`.
    Closed,
}

fn count_utf8(valid: &[u8], shape: &mut Shape) {
    shape.utf8_multibyte += valid.iter().filter(|&&b| b >= 0xC0).count() as u64;
    shape.utf8_private_use += count_private_use_utf8(valid);
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

/// Removes transcoded copies left in the temporary directory by runs that were killed: files named
/// by this module whose process is gone (on Linux) or that are older than a day (elsewhere).
/// Best effort: a copy that cannot be removed is left for the next run.
pub fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let stale = match pid {
            Some(pid) if pid == me => false,
            Some(pid) if Path::new("/proc/self").exists() => {
                !Path::new(&format!("/proc/{pid}")).exists()
            }
            _ => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 24 * 3600),
        };
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn transcode_big5(path: &Path) -> Result<Prepared, IngestError> {
    let io = |e| IngestError::io(path, e);
    let mut input = File::open(path).map_err(io)?;
    let temp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
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
        let p = prepare(f.path(), EncodingChoice::Auto, &Limits::default())?;
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
        let p = prepare(
            write(&bytes).path(),
            EncodingChoice::Big5,
            &Limits::default(),
        )?;
        assert_eq!(p.private_use, 2);
        assert!(p.undecodable >= 1);
        Ok(())
    }

    #[test]
    fn bom_wins_and_plain_utf8_is_read_in_place() -> Result<(), IngestError> {
        let f = write("\u{FEFF}性別\n女\n".as_bytes());
        assert_eq!(
            prepare(f.path(), EncodingChoice::Big5, &Limits::default())?.encoding,
            DetectedEncoding::Utf8Bom
        );
        let g = write("性別\n女\n".as_bytes());
        let p = prepare(g.path(), EncodingChoice::Auto, &Limits::default())?;
        assert_eq!(
            (p.encoding, p.path.as_path()),
            (DetectedEncoding::Utf8, g.path())
        );
        Ok(())
    }

    #[test]
    fn declared_utf8_that_is_not_names_the_line() {
        let bytes = encoding_rs::BIG5.encode("a\nb\n許\n").0.into_owned();
        match prepare(
            write(&bytes).path(),
            EncodingChoice::Utf8,
            &Limits::default(),
        ) {
            Err(IngestError::NotUtf8 { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected NotUtf8, got {other:?}"),
        }
    }

    fn shape(bytes: &[u8]) -> Shape {
        scan_reader(&mut &bytes[..], &Limits::default()).expect("no limit is reached")
    }

    #[test]
    fn the_shape_scan_follows_rfc_4180_quotes() {
        let s = shape(b"a,b,c\r\n1,\"x,\"\"y\"\"\nz\",3\r\n4,5,6");
        assert_eq!(
            (s.header_fields, s.first_ragged, s.open_quote),
            (3, None, None)
        );
        assert_eq!((s.lf, s.lone_cr, s.lines), (3, 0, 4));
        // A quote inside an unquoted value is a character, not the start of a field.
        assert_eq!(shape(b"a,b\n5\"10,x\n").open_quote, None);
        assert_eq!(shape(b"a,b\n1,\"open\n2,3\n").open_quote, Some(2));
        assert_eq!(shape(b"a,b\n1,2\n1,2,3\n").first_ragged, Some((3, 3)));
        let cr = shape(b"a,b\r1,2\r");
        assert_eq!((cr.lf, cr.lone_cr), (0, 2));
    }

    #[test]
    fn a_few_bad_bytes_in_utf8_are_damage_but_big5_text_is_big5() {
        let mut utf8 = "性別,服務\n".repeat(20).into_bytes();
        utf8.insert(28, 0xFF); // at the start of line 3, between characters
        let s = shape(&utf8);
        assert_eq!(s.utf8_invalid, 1);
        assert!(s.utf8_multibyte >= UTF8_EVIDENCE);
        match prepare(
            write(&utf8).path(),
            EncodingChoice::Auto,
            &Limits::default(),
        ) {
            Err(IngestError::NotUtf8 { line, bad, .. }) => assert_eq!((line, bad), (3, 1)),
            other => panic!("expected NotUtf8, got {other:?}"),
        }
        let big5 = encoding_rs::BIG5
            .encode(&"性別,服務\n".repeat(20))
            .0
            .into_owned();
        assert!(shape(&big5).utf8_invalid > shape(&big5).utf8_multibyte);
        let p = prepare(
            write(&big5).path(),
            EncodingChoice::Auto,
            &Limits::default(),
        )
        .expect("Big5 is read");
        assert_eq!(p.encoding, DetectedEncoding::Big5);
    }

    #[test]
    fn transcoded_copies_of_dead_runs_are_swept_and_live_ones_kept() {
        let temp = std::env::temp_dir();
        // Process ids are below 2^22 on Linux, so this one is never alive.
        let dead = temp.join(format!("{TEMP_PREFIX}4294967-test.csv"));
        let mine = temp.join(format!("{TEMP_PREFIX}{}-test.csv", std::process::id()));
        for p in [&dead, &mine] {
            File::create(p).expect("creates");
        }
        sweep_stale();
        let (dead_left, mine_left) = (dead.exists(), mine.exists());
        let _ = std::fs::remove_file(&mine);
        let _ = std::fs::remove_file(&dead);
        assert!(!dead_left, "a dead run's copy is removed");
        assert!(mine_left, "this run's copy is kept");
    }

    #[test]
    fn limits_stop_the_scan_early() {
        let limits = Limits {
            max_columns: 3,
            max_line_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            scan_reader(&mut &b"a,b,c,d\n"[..], &limits),
            Err(ScanError::Limit { line: 1, .. })
        ));
        assert!(matches!(
            scan_reader(&mut &b"a,b\n0123456789012\n"[..], &limits),
            Err(ScanError::Limit { line: 2, .. })
        ));
    }
}
