//! Keelung's case register: the contacts of each client with her date of birth and origin, the
//! record-level export a centre shares under a data-sharing agreement.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::vocab::{KEELUNG_DISTRICTS, MODES_KEELUNG, NATIONALITIES, WORK_AREAS, WORK_WEIGHTS};
use super::{Generator, Person};
use crate::synth::weighted;

pub(super) const CASE_HEADER: [&str; 10] = [
    "服務日期",
    "證號",
    "姓名",
    "出生日期",
    "電話",
    "性別",
    "原屬國籍",
    "行政區",
    "重點工作",
    "服務方式",
];

/// Index of personal safety protection (人身安全保護) in [`WORK_AREAS`].
const SAFETY: usize = 5;

/// A client's date of birth: aged 22 to 61 at the start of 2025, most in their thirties and forties.
pub(super) fn birth_day(rng: &mut ChaCha8Rng) -> NaiveDate {
    let age = 22 + rng.random_range(0..15) + rng.random_range(0..15) + rng.random_range(0..10);
    NaiveDate::from_ymd_opt(2025 - age, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(rng.random_range(0..365))))
        .expect("a day within the year")
}

impl Generator {
    /// One contact of a client. Her district, origin and date of birth are the same on every row;
    /// a client in a protection case (keyed on her birth day, about one in twelve) has most of her
    /// contacts in personal safety protection.
    pub(super) fn case_row(&mut self, p: &Person) -> Vec<String> {
        let date = self.roc_date((2025, 1, 1), 181, 10);
        let id = self.messy_id(&p.id);
        let phone = self.messy_phone(&p.phone);
        let gender = self.gender(p.female);
        let born = p.born.map_or_else(String::new, |day| {
            if self.messy() && self.rng.random_range(0..5) == 0 {
                String::new()
            } else {
                self.format_roc(day)
            }
        });
        let protection_case = p.born.is_some_and(|d| d.ordinal() % 12 == 0);
        let area = if protection_case && self.rng.random_bool(0.7) {
            SAFETY
        } else {
            weighted(&mut self.rng, &WORK_WEIGHTS)
        };
        let district = self.place(KEELUNG_DISTRICTS[p.place], &["新北市", "不詳"]);
        vec![
            date,
            id,
            p.name.clone(),
            born,
            phone,
            gender,
            NATIONALITIES[p.nationality].to_owned(),
            district,
            WORK_AREAS[area].to_owned(),
            MODES_KEELUNG[weighted(&mut self.rng, &[45.0, 30.0, 25.0])].to_owned(),
        ]
    }
}
