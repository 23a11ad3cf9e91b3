//! Dates as Taiwanese exports write them (domain.md §2.1): ROC (民國) years in slash, dot, hyphen,
//! compact and 年月日 forms, AD dates, and Excel serial numbers. AD year = ROC year + 1911.

use chrono::{Datelike, NaiveDate};

use crate::config::raw::DateFormat;

/// Why a value is not a usable date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    /// No known form matches.
    Unrecognised,
    /// A known form, but no such day (e.g. 110/02/30).
    Impossible,
    /// A ROC year beyond next year, or an AD date where only ROC is allowed (or the reverse).
    OutOfRange,
}

/// A parsed date and whether its form was ambiguous (six digits: ROC `YYMMDD` before 2011, or an
/// Excel-stripped `0YYMMDD`; read as ROC and counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDate {
    pub date: NaiveDate,
    pub ambiguous: bool,
}

/// Parses one date value. `today` bounds ROC years (at most next year).
///
/// # Errors
/// The [`DateProblem`] that makes the value unusable.
pub fn parse_date(
    raw: &str,
    format: DateFormat,
    today: NaiveDate,
) -> Result<ParsedDate, DateProblem> {
    let s = super::text::normalise_number(raw);
    let s = s
        .trim_start_matches("中華民國")
        .trim_start_matches("民國")
        .trim();
    let s = date_part(s).ok_or(DateProblem::Unrecognised)?;
    let (fields, compact_len) = split_fields(s).ok_or(DateProblem::Unrecognised)?;
    let max_roc = today.year() - 1911 + 1;
    let ambiguous = compact_len == Some(6);
    let [y, m, d] = fields;
    let (year, is_roc) = match (compact_len, format) {
        (Some(5), DateFormat::Auto | DateFormat::Ad) => {
            let date = excel_serial(y)?;
            if date > today + chrono::Days::new(366) {
                return Err(DateProblem::OutOfRange);
            }
            return Ok(ParsedDate {
                date,
                ambiguous: false,
            });
        }
        (Some(8), DateFormat::Roc) => return Err(DateProblem::OutOfRange),
        (Some(8), _) => (y, false),
        (Some(6 | 7), DateFormat::Ad) => return Err(DateProblem::OutOfRange),
        (Some(6 | 7), _) => (y, true),
        (Some(_), _) => return Err(DateProblem::Unrecognised),
        (None, DateFormat::Roc) if y > 200 => return Err(DateProblem::OutOfRange),
        (None, DateFormat::Ad) if y <= 200 => return Err(DateProblem::OutOfRange),
        (None, _) => (y, y <= 200),
    };
    if is_roc && (year == 0 || i64::from(year) > i64::from(max_roc)) {
        return Err(DateProblem::OutOfRange);
    }
    let year = if is_roc {
        i64::from(year) + 1911
    } else {
        i64::from(year)
    };
    let date = i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
        .ok_or(DateProblem::Impossible)?;
    if date > today + chrono::Days::new(366) {
        return Err(DateProblem::OutOfRange);
    }
    Ok(ParsedDate { date, ambiguous })
}

/// The date of a value that may carry a local time of day after it, as exports of timestamps
/// write them: `2025-01-05T10:00:00`, `2025/1/5 10:00`, `114/1/5 上午 10:00:00` (Excel in
/// Taiwan), `2025/1/5 03:04:05 PM`. A value without `:` is returned whole. `None` when what
/// follows the date is not a clock time (hours 0–23, or 0–12 with a morning or afternoon marker;
/// minutes and seconds 0–59; a decimal fraction of a second), or carries a zone (`Z`, `+08:00`):
/// the day of a zoned time depends on the zone, and is not guessed.
fn date_part(s: &str) -> Option<&str> {
    let Some(colon) = s.find(':') else {
        return Some(s);
    };
    let hour_start = s[..colon]
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .len();
    let (date, marked_before) = date_before_clock(&s[..hour_start])?;
    let rest = s[hour_start..].trim_end();
    let (clock, marked_after) = match strip_marker(rest) {
        Some(clock) => (clock.trim_end(), true),
        None => (rest, false),
    };
    let max_hour = match (marked_before, marked_after) {
        (true, true) => return None,
        (false, false) => 23,
        _ => 12,
    };
    clock_ok(clock, max_hour).then_some(date)
}

/// The text before a clock time: the date, and whether a morning or afternoon marker stands
/// between them. White space, a marker or ISO's `T` must separate the two.
fn date_before_clock(head: &str) -> Option<(&str, bool)> {
    if let Some(date) = head.strip_suffix('T') {
        return Some((date, false));
    }
    let trimmed = head.trim_end();
    let (date, marked) = match strip_marker(trimmed) {
        Some(date) => (date.trim_end(), true),
        None => (trimmed, false),
    };
    (!date.is_empty() && (marked || trimmed.len() < head.len())).then_some((date, marked))
}

/// The text before a trailing morning or afternoon marker (上午, 下午, AM, PM, a.m., p.m.).
fn strip_marker(text: &str) -> Option<&str> {
    ["上午", "下午"]
        .iter()
        .find_map(|m| text.strip_suffix(m))
        .or_else(|| {
            ["AM", "PM", "A.M.", "P.M."].iter().find_map(|m| {
                let at = text.len().checked_sub(m.len())?;
                (text.is_char_boundary(at) && text[at..].eq_ignore_ascii_case(m))
                    .then(|| &text[..at])
            })
        })
}

/// Whether `clock` is `H:MM`, `H:MM:SS` or `H:MM:SS.fff` with the hour at most `max_hour`.
fn clock_ok(clock: &str, max_hour: u32) -> bool {
    let number = |p: &str, max: u32, widths: std::ops::RangeInclusive<usize>| {
        widths.contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= max)
    };
    let mut parts = clock.split(':');
    let (Some(hour), Some(minute)) = (parts.next(), parts.next()) else {
        return false;
    };
    let second_ok = parts.next().is_none_or(|second| {
        let (whole, fraction) = second.split_once('.').unwrap_or((second, "0"));
        number(whole, 59, 2..=2)
            && !fraction.is_empty()
            && fraction.bytes().all(|b| b.is_ascii_digit())
    });
    parts.next().is_none()
        && number(hour, max_hour, 1..=2)
        && number(minute, 59, 2..=2)
        && second_ok
}

/// Splits a date into year, month, day. For compact digit strings also returns their length
/// (5 = Excel serial, stored in the year slot).
fn split_fields(s: &str) -> Option<([u32; 3], Option<usize>)> {
    // An Excel serial with the time of day as its fraction: `45662.4166667`.
    if let Some((whole, fraction)) = s.split_once('.')
        && whole.len() == 5
        && !fraction.is_empty()
        && (whole.bytes().chain(fraction.bytes())).all(|b| b.is_ascii_digit())
    {
        return Some(([whole.parse().ok()?, 0, 0], Some(5)));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
        return match s.len() {
            5 => Some(([n(0..5)?, 0, 0], Some(5))),
            6 => Some(([n(0..2)?, n(2..4)?, n(4..6)?], Some(6))),
            7 => Some(([n(0..3)?, n(3..5)?, n(5..7)?], Some(7))),
            8 => Some(([n(0..4)?, n(4..6)?, n(6..8)?], Some(8))),
            _ => None,
        };
    }
    let chinese = s.contains('年');
    let mut parts = s
        .split(['/', '.', '-', '年', '月', '日'])
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let mut take = || -> Option<u32> {
        let p = parts.next()?;
        (p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let fields = [take()?, take()?, take()?];
    if parts.next().is_some() || (chinese && !s.ends_with('日')) {
        return None;
    }
    Some((fields, None))
}

/// Excel's serial day numbers count from 1899-12-30; only 1970–2100 is taken as a serial.
fn excel_serial(n: u32) -> Result<NaiveDate, DateProblem> {
    if !(25_569..=73_415).contains(&n) {
        return Err(DateProblem::Unrecognised);
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|base| base.checked_add_days(chrono::Days::new(u64::from(n))))
        .ok_or(DateProblem::Impossible)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).expect("valid")
    }

    fn auto(s: &str) -> Result<NaiveDate, DateProblem> {
        parse_date(s, DateFormat::Auto, today()).map(|p| p.date)
    }

    /// Found by the `roc_dates` fuzz target: an Excel serial of 2070 was accepted.
    #[test]
    fn a_future_excel_serial_is_out_of_range() {
        assert_eq!(auto("62262"), Err(DateProblem::OutOfRange));
        assert_eq!(
            parse_date("62262", DateFormat::Ad, today()),
            Err(DateProblem::OutOfRange)
        );
        assert!(auto("46000").is_ok(), "2025-12-09 is a serial within range");
    }

    #[test]
    fn every_roc_form_of_the_same_day_agrees() -> Result<(), DateProblem> {
        let day = NaiveDate::from_ymd_opt(2021, 5, 6).expect("valid");
        for s in [
            "110/05/06",
            "110/5/6",
            "110.5.6",
            "110-05-06",
            "1100506",
            "110年5月6日",
            "民國110年5月6日",
            "中華民國110年5月6日",
            "１１０年５月６日",
            "１１０／０５／０６",
            "2021/5/6",
            "2021-05-06",
            "20210506",
            "44322",
        ] {
            assert_eq!(auto(s)?, day, "{s}");
        }
        Ok(())
    }

    /// Exports of timestamps: the day is read, the local time of day checked and dropped.
    #[test]
    fn a_local_time_of_day_after_the_date_is_dropped() -> Result<(), DateProblem> {
        let day = NaiveDate::from_ymd_opt(2025, 1, 5).expect("valid");
        for s in [
            "2025-01-05T10:00:00",
            "2025-01-05T10:00:00.123",
            "2025-01-05 10:00",
            "2025/1/5 下午 03:04:05",
            "2025/1/5 上午 12:30:00",
            "114/1/5 上午 10:00:00",
            "114/01/05 23:59",
            "114年1月5日 9:05",
            "1140105 08:00",
            "2025/1/5 3:04 PM",
            "2025/1/5 3:04:05 p.m.",
            "２０２５／０１／０５　１０：００",
            "45662.4166667",
        ] {
            assert_eq!(auto(s)?, day, "{s}");
        }
        for s in [
            "2025-01-05T10:00:00Z",
            "2025-01-05T10:00:00+08:00",
            "2025-01-05 24:00",
            "2025-01-05 10:60",
            "2025-01-05 10:0",
            "2025/1/5 下午 13:00",
            "2025/1/5 上午 10:00 AM",
            "2025-01-0510:00",
            "10:00",
            "上午 10:00",
            "2025-01-05 10:00:00.",
            "2025-01-05 10:00:00:00",
            "2025-01-05 10:00 tomorrow",
        ] {
            assert_eq!(auto(s), Err(DateProblem::Unrecognised), "{s}");
        }
        assert_eq!(auto("2025-02-30 10:00"), Err(DateProblem::Impossible));
        Ok(())
    }

    #[test]
    fn two_digit_roc_years_before_2011_parse_and_six_digits_are_flagged() -> Result<(), DateProblem>
    {
        let day = NaiveDate::from_ymd_opt(2010, 5, 6).expect("valid");
        assert_eq!(auto("99/05/06")?, day);
        assert_eq!(auto("0990506")?, day);
        let six = parse_date("990506", DateFormat::Auto, today())?;
        assert_eq!(six.date, day);
        assert!(six.ambiguous);
        assert!(!parse_date("0990506", DateFormat::Auto, today())?.ambiguous);
        Ok(())
    }

    #[test]
    fn impossible_and_future_dates_are_rejected() {
        assert_eq!(auto("110/02/30"), Err(DateProblem::Impossible));
        assert_eq!(auto("130/01/01"), Err(DateProblem::OutOfRange));
        assert_eq!(auto("2031-01-01"), Err(DateProblem::OutOfRange));
        assert_eq!(auto("tomorrow"), Err(DateProblem::Unrecognised));
        assert_eq!(auto("110年5月"), Err(DateProblem::Unrecognised));
        assert_eq!(auto("12345"), Err(DateProblem::Unrecognised));
    }

    #[test]
    fn a_declared_calendar_refuses_the_other_one() {
        assert_eq!(
            parse_date("2021/05/06", DateFormat::Roc, today()),
            Err(DateProblem::OutOfRange)
        );
        assert_eq!(
            parse_date("110/05/06", DateFormat::Ad, today()),
            Err(DateProblem::OutOfRange)
        );
    }

    #[test]
    fn roc_dates_round_trip_through_gregorian() -> Result<(), DateProblem> {
        let mut day = NaiveDate::from_ymd_opt(2011, 1, 1).expect("valid");
        while day < NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid") {
            let roc = format!("{}/{:02}/{:02}", day.year() - 1911, day.month(), day.day());
            assert_eq!(auto(&roc)?, day);
            day = day + chrono::Days::new(13);
        }
        Ok(())
    }
}
