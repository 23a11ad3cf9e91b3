//! Keelung's activity exports beside its contacts: the volunteer team's training log and the
//! multicultural events' sign-in sheets.

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::vocab::{KEELUNG_DISTRICTS, KEELUNG_WEIGHTS, NATIONALITIES};
use super::{Generator, Person, full_width, random_day};
use crate::synth::weighted;

pub(super) const VOLUNTEER_HEADER: [&str; 8] = [
    "參訓日期",
    "證號",
    "姓名",
    "手機",
    "性別",
    "原屬國籍",
    "課程名稱",
    "時數",
];

pub(super) const EVENT_HEADER: [&str; 8] = [
    "活動編號",
    "活動類型",
    "場次日期",
    "辦理行政區",
    "證號",
    "姓名",
    "電話",
    "性別",
];

/// Training courses with their hours and how often volunteers attend them.
const COURSES: [(&str, u32, f64); 5] = [
    ("志願服務基礎訓練", 6, 20.0),
    ("志願服務特殊訓練", 6, 15.0),
    ("通譯人員培訓", 3, 25.0),
    ("多元文化講師培訓", 3, 15.0),
    ("志工在職訓練", 2, 25.0),
];

/// Kinds of multicultural event, with their shares of events.
const EVENT_TYPES: [(&str, f64); 4] = [
    ("設攤宣導", 35.0),
    ("社區講座", 30.0),
    ("手作體驗", 20.0),
    ("異國美食", 15.0),
];

/// Share of attendances signed by a walk-in: at a booth, most passers-by give no identifier.
const WALK_IN_SHARE: [f64; 4] = [0.6, 0.25, 0.15, 0.35];

/// One event: its code, kind, venue district and session days.
pub(super) struct Event {
    code: String,
    kind: usize,
    district: usize,
    days: Vec<NaiveDate>,
}

/// The half year's events: 48, each with one to three sessions.
pub(super) fn events(rng: &mut ChaCha8Rng) -> Vec<Event> {
    let weights: Vec<f64> = EVENT_TYPES.iter().map(|t| t.1).collect();
    (0..48)
        .map(|i| Event {
            code: format!("MC114-{:03}", i + 1),
            kind: weighted(rng, &weights),
            district: weighted(rng, &KEELUNG_WEIGHTS),
            days: (0..rng.random_range(1..=3))
                .map(|_| random_day(rng, (2025, 1, 1), 181))
                .collect(),
        })
        .collect()
}

impl Generator {
    /// One training course of a volunteer. Hours are the course's, written now and then with
    /// full-width digits or a unit ("3小時", which is not a whole number and is quarantined).
    pub(super) fn volunteer_row(&mut self, p: &Person) -> Vec<String> {
        let date = self.roc_date((2025, 1, 1), 181, 10);
        let id = self.messy_id(&p.id);
        let phone = self.messy_phone(&p.phone);
        let gender = self.gender(p.female);
        let weights: Vec<f64> = COURSES.iter().map(|c| c.2).collect();
        let (course, hours, _) = COURSES[weighted(&mut self.rng, &weights)];
        let hours = if self.messy() {
            match self.rng.random_range(0..3) {
                0 => hours.to_string().chars().map(full_width).collect(),
                1 => format!("{hours}小時"),
                _ => format!(" {hours}"),
            }
        } else {
            hours.to_string()
        };
        vec![
            date,
            id,
            p.name.clone(),
            phone,
            gender,
            NATIONALITIES[p.nationality].to_owned(),
            course.to_owned(),
            hours,
        ]
    }

    /// A person's attendances: a walk-in signs once, with a name at most; a registered attendee
    /// comes to one to three sessions, mostly in their own district.
    pub(super) fn attendances(&mut self, p: &Person, max: u64) -> Vec<Vec<String>> {
        if self.rng.random_bool(0.35) {
            return vec![self.attendance_row(p, true)];
        }
        let n = self.rng.random_range(1..=3u64).min(max);
        (0..n).map(|_| self.attendance_row(p, false)).collect()
    }

    /// One attendance at a session: walk-ins mostly at booths, registered attendees mostly near
    /// home.
    pub(super) fn attendance_row(&mut self, p: &Person, walk_in: bool) -> Vec<String> {
        let near: Vec<usize> = (0..self.events.len())
            .filter(|&e| self.events[e].district == p.place)
            .collect();
        let e = loop {
            let e = if !near.is_empty() && self.rng.random_bool(0.7) {
                near[self.rng.random_range(0..near.len())]
            } else {
                self.rng.random_range(0..self.events.len())
            };
            // Accept by the kind's walk-in share, so that walk-ins crowd the booths.
            let share = WALK_IN_SHARE[self.events[e].kind];
            if self
                .rng
                .random_bool(if walk_in { share } else { 1.0 - share })
            {
                break e;
            }
        };
        let event = &self.events[e];
        let (code, kind, district) = (
            event.code.clone(),
            EVENT_TYPES[event.kind].0,
            KEELUNG_DISTRICTS[event.district],
        );
        let day = event.days[self.rng.random_range(0..event.days.len())];
        let date = self.format_roc(day);
        let district = self.place(district, &["不詳"]);
        let gender = self.gender(p.female);
        let (id, name, phone) = if walk_in {
            let name = if self.rng.random_bool(0.5) {
                p.name.clone()
            } else {
                String::new()
            };
            (String::new(), name, String::new())
        } else {
            (
                self.messy_id(&p.id),
                p.name.clone(),
                self.messy_phone(&p.phone),
            )
        };
        vec![
            code,
            kind.to_owned(),
            date,
            district,
            id,
            name,
            phone,
            gender,
        ]
    }
}
