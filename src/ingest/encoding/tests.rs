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
    let p = prepare(f.path(), EncodingChoice::Auto, &Limits::default(), 1)?;
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
        1,
    )?;
    assert_eq!(p.private_use, 2);
    assert!(p.undecodable >= 1);
    Ok(())
}

#[test]
fn bom_wins_and_plain_utf8_is_read_in_place() -> Result<(), IngestError> {
    let f = write("\u{FEFF}性別\n女\n".as_bytes());
    assert_eq!(
        prepare(f.path(), EncodingChoice::Big5, &Limits::default(), 1)?.encoding,
        DetectedEncoding::Utf8Bom
    );
    let g = write("性別\n女\n".as_bytes());
    let p = prepare(g.path(), EncodingChoice::Auto, &Limits::default(), 1)?;
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
        1,
    ) {
        Err(IngestError::NotUtf8 { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected NotUtf8, got {other:?}"),
    }
}

fn shape(bytes: &[u8]) -> Shape {
    scan_reader(&mut &bytes[..], &Limits::default()).expect("no limit is reached")
}

/// Rows above `header_row` (a title, an export date) are not the header and are not held to its
/// width; a row below it wider than the header still is.
#[test]
fn records_above_the_header_row_are_not_held_to_its_width() -> Result<(), ScanError> {
    let file = "Member contacts, 2025,,,,\nExported 2026-01-05\na,b,c\n1,2,3\n4,5,6\n";
    let s = scan_reader_from(&mut file.as_bytes(), &Limits::default(), 3)?;
    assert_eq!((s.header_fields, s.first_ragged), (3, None));
    let s = scan_reader(&mut file.as_bytes(), &Limits::default())?;
    assert_eq!((s.header_fields, s.first_ragged), (6, None));
    let s = scan_reader_from(&mut file.as_bytes(), &Limits::default(), 2)?;
    assert_eq!((s.header_fields, s.first_ragged), (1, Some((3, 3))));
    let s = scan_reader_from(&mut &b"title\na,b\n1,2,3\n"[..], &Limits::default(), 2)?;
    assert_eq!((s.header_fields, s.first_ragged), (2, Some((3, 3))));
    Ok(())
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
        1,
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
        1,
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

/// The scan as first written, one byte at a time through the state machine: the oracle for the
/// scan that skips runs of ordinary bytes.
#[allow(clippy::too_many_lines, reason = "kept as written, to compare against")]
fn scan_bytewise(input: &mut impl Read, limits: &Limits) -> Result<Shape, ScanError> {
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

/// A reader that hands out a few bytes at a time, so characters and runs straddle reads.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(out.len()).min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn skipping_ordinary_bytes_finds_what_the_bytewise_scan_finds() {
    use rand::{Rng, SeedableRng};
    // The first nine make plain text: no quotes, a CR only before a LF.
    let pieces: [&[u8]; 15] = [
        b",",
        b"\n",
        b"\r\n",
        b"abc",
        b"1",
        b" ",
        "許".as_bytes(),
        "\u{E000}".as_bytes(),
        "\u{FF21}".as_bytes(),
        b"\"",
        b"\"\"",
        b"\r",
        b"\xEF\xBB\xBF",
        b"\xA7\x5C",
        b"\xFF",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_261_206);
    for case in 0..20_000 {
        let len = rng.random_range(0..60);
        // Half the inputs plain, as most exports are.
        let from = if case % 2 == 0 { pieces.len() } else { 9 };
        let bytes: Vec<u8> = (0..len)
            .flat_map(|_| pieces[rng.random_range(0..from)].iter().copied())
            .collect();
        let limits = if case % 3 == 0 {
            Limits {
                max_columns: rng.random_range(1..6),
                max_line_bytes: rng.random_range(1..40),
                ..Limits::default()
            }
        } else {
            Limits::default()
        };
        // Whole inputs in one read as well as a few bytes at a time.
        let step = if case % 4 < 2 {
            usize::MAX
        } else {
            rng.random_range(1..9)
        };
        let fast = scan_reader(&mut Trickle(&bytes, step), &limits);
        let slow = scan_bytewise(&mut Trickle(&bytes, step), &limits);
        assert_eq!(
            format!("{fast:?}"),
            format!("{slow:?}"),
            "case {case}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

/// UTF-16 as Excel's "Unicode" exports write it: in little-endian, 丢 is `22 4E` and 丬 `2C 4E`, a
/// quote and a comma to a byte scanner; read through its byte-order mark, they are characters.
#[test]
fn utf16_with_a_byte_order_mark_is_transcoded_before_its_shape_is_checked()
-> Result<(), IngestError> {
    let text = "姓名,區\n丢丬,中\n";
    let utf16 = |big_endian: bool| -> Vec<u8> {
        let mut bytes = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            let pair = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            bytes.extend_from_slice(&pair);
        }
        bytes
    };
    assert!(utf16(false).windows(2).any(|w| w == [0x22, 0x4E]));
    for (big_endian, expected) in [
        (false, DetectedEncoding::Utf16Le),
        (true, DetectedEncoding::Utf16Be),
    ] {
        let f = write(&utf16(big_endian));
        // The mark wins over a declaration, as a UTF-8 mark does.
        let p = prepare(f.path(), EncodingChoice::Big5, &Limits::default(), 1)?;
        assert_eq!(p.encoding, expected);
        assert_ne!(p.path.as_path(), f.path());
        assert_eq!(
            std::fs::read_to_string(&p.path).map_err(|e| IngestError::io(&p.path, e))?,
            text
        );
        assert_eq!((p.undecodable, p.private_use), (0, 0));
    }
    Ok(())
}

#[test]
fn a_lone_utf16_surrogate_and_private_use_characters_are_counted() -> Result<(), IngestError> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in [
        u16::from(b'a'),
        u16::from(b'\n'),
        0xD800,
        0xE000,
        u16::from(b'\n'),
    ] {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let p = prepare(
        write(&bytes).path(),
        EncodingChoice::Auto,
        &Limits::default(),
        1,
    )?;
    assert_eq!((p.undecodable, p.private_use), (1, 1));
    Ok(())
}

#[test]
fn a_utf16_file_with_a_broken_shape_is_refused_naming_the_export() {
    // An unclosed quote on line 2, found in the UTF-8 copy and reported against the export.
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "a,b\n\"x,y\n".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let f = write(&bytes);
    match prepare(f.path(), EncodingChoice::Auto, &Limits::default(), 1) {
        Err(IngestError::Malformed { file, line, .. }) => {
            assert_eq!((file.as_path(), line), (f.path(), 2));
        }
        other => panic!("expected a malformed file, got {other:?}"),
    }
}

#[test]
fn an_encodings_name_is_the_one_the_manifest_writes() {
    for e in [
        DetectedEncoding::Utf8,
        DetectedEncoding::Utf8Bom,
        DetectedEncoding::Big5,
        DetectedEncoding::Gb18030,
        DetectedEncoding::Utf16Le,
        DetectedEncoding::Utf16Be,
    ] {
        assert_eq!(
            serde_json::to_value(e).expect("serialises"),
            serde_json::Value::String(e.name().to_owned())
        );
    }
}

#[test]
fn a_declared_gb18030_export_is_transcoded_and_never_guessed() -> Result<(), IngestError> {
    let text = "身份证号,性别,居住区\nA123456789,女,鼓山区\n";
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    let f = write(&bytes);
    let p = prepare(f.path(), EncodingChoice::Gb18030, &Limits::default(), 1)?;
    assert_eq!(p.encoding, DetectedEncoding::Gb18030);
    assert_eq!(
        std::fs::read_to_string(&p.path).map_err(|e| IngestError::io(&p.path, e))?,
        text
    );
    assert_eq!((p.undecodable, p.private_use), (0, 0));
    // Auto reads the same bytes as Big5: not the text (which is why the hint names gb18030).
    let guessed = prepare(f.path(), EncodingChoice::Auto, &Limits::default(), 1)?;
    assert_eq!(guessed.encoding, DetectedEncoding::Big5);
    let read = std::fs::read_to_string(&guessed.path).map_err(|e| IngestError::io(&p.path, e))?;
    assert_ne!(read, text);
    Ok(())
}
