//! Text encodings and shape of CSV exports (domain.md §2.3), decided per file on evidence from one
//! streaming pass over its bytes: a byte-order mark; else UTF-8 when every byte decodes, or when
//! valid multi-byte characters outnumber bad sequences many times over (a UTF-8 file with a few bad
//! bytes is an error naming the line, never re-read as Big5); else Big5/CP950. The same pass checks
//! the CSV's shape (column count, line length, quotes, line ends) so that a broken file stops with
//! its line number instead of reaching the CSV reader, whose messages quote the data.
//!
//! A UTF-16 file (Excel's "Unicode" exports), known by its byte-order mark, is transcoded first and
//! its shape checked on the UTF-8 copy: in UTF-16 a CJK character's bytes can be a comma, a quote
//! or a line end.
//!
//! A Big5 or UTF-16 file is transcoded, streaming, to a temporary UTF-8 file (mode 0600, named with
//! the process id) that polars then scans and that is removed when ingest ends; copies left by a
//! killed run are removed by the next run ([`sweep_stale`]). Undecodable bytes and user-defined
//! (造字, EUDC) or private-use characters are counted, never guessed silently.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::IngestError;
use crate::config::Limits;
use crate::config::raw::EncodingChoice;

const CHUNK: usize = 1 << 20;
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Transcoded copies (Big5 and UTF-16 alike; the name is kept so older runs' copies are swept).
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
    /// GB18030 (GBK), declared.
    Gb18030,
    /// UTF-16 with a byte-order mark, little or big endian (`utf16-le`, `utf16-be`).
    Utf16Le,
    Utf16Be,
}

impl DetectedEncoding {
    /// The encoding's name as the manifest and the operator's report write it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "utf8",
            Self::Utf8Bom => "utf8-bom",
            Self::Big5 => "big5",
            Self::Gb18030 => "gb18030",
            Self::Utf16Le => "utf16-le",
            Self::Utf16Be => "utf16-be",
        }
    }
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
    /// Fields of the header record (the first, or the `header_row`-th).
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
    header_row: u32,
) -> Result<Prepared, IngestError> {
    if let Some(utf16) = utf16_bom(path)? {
        let prepared = transcode(path, utf16)?;
        // Messages name the export, not the copy; lines are the same in both.
        let shape = scan_file_as(&prepared.path, path, limits, header_row)?;
        check_shape(path, &shape)?;
        return Ok(prepared);
    }
    let shape = scan_file_as(path, path, limits, header_row)?;
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
        EncodingChoice::Big5 => transcode(path, encoding_rs::BIG5),
        EncodingChoice::Gb18030 => transcode(path, encoding_rs::GB18030),
        _ if shape.utf8_invalid == 0 => Ok(utf8(DetectedEncoding::Utf8)),
        EncodingChoice::Utf8 => Err(not_utf8(&shape)),
        EncodingChoice::Auto if shape.utf8_multibyte >= UTF8_EVIDENCE * shape.utf8_invalid => {
            Err(not_utf8(&shape))
        }
        EncodingChoice::Auto => transcode(path, encoding_rs::BIG5),
    }
}

/// The UTF-16 encoding a file's byte-order mark names, if it starts with one.
fn utf16_bom(path: &Path) -> Result<Option<&'static encoding_rs::Encoding>, IngestError> {
    let mut head = [0u8; 2];
    let mut file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(IngestError::io(path, e)),
        }
    }
    Ok(match head[..filled] {
        [0xFF, 0xFE] => Some(encoding_rs::UTF_16LE),
        [0xFE, 0xFF] => Some(encoding_rs::UTF_16BE),
        _ => None,
    })
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
        if shape.header_fields <= 2 && starts_with_sep_line(path) {
            return Err(malformed(
                1,
                "this is Excel's `sep=` line, not the header; set header_row = 2 (or save the \
                 file without it)"
                    .into(),
            ));
        }
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

/// Whether the file opens with Excel's delimiter line (`sep=,`, after a byte-order mark or not).
fn starts_with_sep_line(path: &Path) -> bool {
    let mut head = [0u8; 7];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    head.strip_prefix(BOM).unwrap_or(head).starts_with(b"sep=")
}

/// One streaming pass: UTF-8 evidence, line ends, quotes and field counts (on raw bytes, which is
/// sound for Big5 too: its trail bytes are never `,`, `"`, CR or LF). Stops early when a limit is
/// passed.
///
/// # Errors
/// [`IngestError::Io`], or [`IngestError::Malformed`] for a header wider than
/// [`Limits::max_columns`] or a line longer than [`Limits::max_line_bytes`].
pub fn scan_shape(path: &Path, limits: &Limits) -> Result<Shape, IngestError> {
    scan_file_as(path, path, limits, 1)
}

/// [`scan_shape`] of `read` with its header at record `header_row`, with errors naming `named`
/// (the export a transcoded copy came from).
fn scan_file_as(
    read: &Path,
    named: &Path,
    limits: &Limits,
    header_row: u32,
) -> Result<Shape, IngestError> {
    let mut file = File::open(read).map_err(|e| IngestError::io(named, e))?;
    scan_reader_from(&mut file, limits, header_row).map_err(|e| match e {
        ScanError::Io(e) => IngestError::io(named, e),
        ScanError::Limit { line, problem } => IngestError::Malformed {
            file: named.to_path_buf(),
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
    scan_reader_from(input, limits, 1)
}

/// [`scan_reader`] of a file whose header is its `header_row`-th record (1-based): the records
/// above it (a title, an export date) are not held to the header's width.
///
/// # Errors
/// [`ScanError`].
pub fn scan_reader_from(
    input: &mut impl Read,
    limits: &Limits,
    header_row: u32,
) -> Result<Shape, ScanError> {
    let mut shape = Shape::default();
    let mut above_header = u64::from(header_row.max(1) - 1);
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
    let mut end_record = |shape: &mut Shape, fields: u64, record_line: u64, header: &mut bool| {
        if above_header > 0 {
            above_header -= 1;
        } else if *header {
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
        let bytes = &buf[..valid_end];
        let mut i = 0;
        while i < bytes.len() {
            // A whole line at a record's start without quotes or a CR before its end: its fields
            // are its commas plus one. Anything else, or a line that breaks a limit, goes byte by
            // byte below, which finds the same and says where a limit breaks.
            if state == Quote::FieldStart
                && fields == 1
                && line_bytes == 0
                && !prev_cr
                && let Some(end) = memchr::memchr(b'\n', &bytes[i..])
            {
                let text = &bytes[i..i + end];
                let body = text.strip_suffix(b"\r").unwrap_or(text);
                let commas = body.iter().filter(|&&b| b == b',').count() as u64;
                if memchr::memchr2(b'"', b'\r', body).is_none()
                    && end as u64 <= limits.max_line_bytes
                    && !(header && commas + 1 > limits.max_columns)
                {
                    shape.lf += 1;
                    end_record(&mut shape, commas + 1, record_line, &mut header);
                    line += 1;
                    record_line = line;
                    i += end + 1;
                    continue;
                }
            }
            // A run of ordinary bytes changes no count: it only makes the field unquoted text
            // (or keeps it quoted), ends a CR, and lengthens the line.
            let run = bytes[i..]
                .iter()
                .position(|&b| SPECIAL[usize::from(b)])
                .unwrap_or(bytes.len() - i);
            if run > 0 {
                i += run;
                line_bytes += run as u64;
                if prev_cr {
                    shape.lone_cr += 1;
                }
                prev_cr = false;
                if state != Quote::Quoted {
                    state = Quote::Unquoted;
                }
                if line_bytes > limits.max_line_bytes {
                    return Err(line_too_long(line, limits));
                }
                continue;
            }
            let b = bytes[i];
            i += 1;
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
                return Err(line_too_long(line, limits));
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

/// The bytes the scanner's state machine reads; every other byte is skipped in runs.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b',' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

fn line_too_long(line: u64, limits: &Limits) -> ScanError {
    ScanError::Limit {
        line,
        problem: format!(
            "the line is longer than {} bytes (limits.max_line_bytes); is this a CSV file with \
             line ends?",
            limits.max_line_bytes
        ),
    }
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
    memchr::memchr2_iter(0xEE, 0xEF, valid)
        .filter(|&at| valid[at] == 0xEE || valid.get(at + 1).is_some_and(|&b| b < 0xA4))
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

/// Transcodes `path` from `encoding` (Big5, GB18030, or UTF-16 with its byte-order mark) to a
/// temporary UTF-8 copy, counting what does not decode and user-defined characters (Big5 EUDC byte
/// pairs; private-use code points in GB18030 and UTF-16).
fn transcode(
    path: &Path,
    encoding: &'static encoding_rs::Encoding,
) -> Result<Prepared, IngestError> {
    let io = |e| IngestError::io(path, e);
    let big5 = encoding == encoding_rs::BIG5;
    let mut input = File::open(path).map_err(io)?;
    let temp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .suffix(".csv")
        .tempfile()
        .map_err(io)?;
    let (out_file, temp_path) = temp.into_parts();
    let mut out = BufWriter::new(out_file);
    let mut decoder = if big5 {
        encoding.new_decoder_without_bom_handling()
    } else {
        encoding.new_decoder_with_bom_removal()
    };
    let mut buf = vec![0u8; CHUNK];
    let mut text = String::with_capacity(CHUNK * 3 / 2 + 16);
    let mut lead: Option<u8> = None;
    let (mut undecodable, mut private_use) = (0u64, 0u64);
    loop {
        let n = input.read(&mut buf).map_err(io)?;
        let last = n == 0;
        if big5 {
            for &b in &buf[..n] {
                match lead.take() {
                    Some(l) => private_use += u64::from(is_big5_eudc(l, b)),
                    None if (0x81..0xFF).contains(&b) => lead = Some(b),
                    None => {}
                }
            }
        }
        let mut consumed = 0;
        loop {
            text.clear();
            let (result, read, _) = decoder.decode_to_string(&buf[consumed..n], &mut text, last);
            consumed += read;
            undecodable += memchr::memmem::find_iter(text.as_bytes(), "\u{FFFD}").count() as u64;
            if !big5 {
                private_use += count_private_use_utf8(text.as_bytes());
            }
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
        encoding: match encoding.name() {
            "UTF-16LE" => DetectedEncoding::Utf16Le,
            "UTF-16BE" => DetectedEncoding::Utf16Be,
            "gb18030" => DetectedEncoding::Gb18030,
            _ => DetectedEncoding::Big5,
        },
        undecodable,
        private_use,
        _temp: Some(temp_path),
    })
}

#[cfg(test)]
mod tests;
