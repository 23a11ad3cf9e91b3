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

/// Splits a date into year, month, day. For compact digit strings also returns their length
/// (5 = Excel serial, stored in the year slot).
fn split_fields(s: &str) -> Option<([u32; 3], Option<usize>)> {
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
