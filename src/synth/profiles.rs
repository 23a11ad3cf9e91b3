//! The kinds of export privstat's seed pipelines read, and how their rows are drawn.

mod activities;
mod cases;
mod vocab;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::weighted;
use crate::pseudonymise::{hkid, tw_id};
use vocab::{
    GIVEN, HK_DISTRICTS, HK_SUPPORT_WEIGHTS, HK_SUPPORTS, HK_WEIGHTS, KAOHSIUNG_DISTRICTS,
    KAOHSIUNG_WEIGHTS, KEELUNG_AGENCIES, KEELUNG_DISTRICTS, KEELUNG_WEIGHTS, MATSU_ISLANDS,
    MATSU_MEASURES, MATSU_WEIGHTS, MODES_KAOHSIUNG, MODES_KEELUNG, NATIONALITIES,
    NATIONALITY_WEIGHTS, SURNAMES, WORK_AREAS, WORK_WEIGHTS,
};

/// Stands for a user-defined (造字) Big5 character in a generated name.
pub const EUDC: &str = "{EUDC}";

/// Which export to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Kaohsiung 9-district centre: one row per service contact.
    Kaohsiung,
    /// Keelung International Family Service Center: contacts with work area and lead agency.
    Keelung,
    /// Lienchiang (Matsu): one row per attendee per session, 2021 first half.
    Lienchiang,
    /// SoCO New Immigrants Project (Hong Kong): one row per member and support type.
    Soco,
    /// Keelung's volunteer team (new immigrants it recruits and trains): one row per volunteer per
    /// training course attended, with the course's hours.
    KeelungVolunteers,
    /// Keelung's multicultural events (booths, neighbourhood lectures, handicraft and food
    /// sessions): one row per attendance; walk-ins sign in without an identifier.
    KeelungEvents,
    /// Keelung's case register: one row per contact with the client's date of birth and origin,
    /// the record a centre shares under a data-sharing agreement.
    KeelungCases,
}

/// Draws the rows of one person at a time.
pub struct Generator {
    profile: Profile,
    rng: ChaCha8Rng,
    messiness: f64,
    serial: u64,
    sessions: Vec<Session>,
    events: Vec<activities::Event>,
}

struct Session {
    number: String,
    day: chrono::NaiveDate,
    measure: usize,
    island: usize,
}

struct Person {
    id: String,
    name: String,
    female: bool,
    place: usize,
    nationality: usize,
    phone: String,
    /// Date of birth, drawn only by profiles that export it.
    born: Option<chrono::NaiveDate>,
}

impl Generator {
    /// A generator for one profile.
    pub fn new(profile: Profile, mut rng: ChaCha8Rng, messiness: f64) -> Self {
        let sessions = if profile == Profile::Lienchiang {
            (0..160)
                .map(|i| Session {
                    number: format!("110-{:04}", i + 1),
                    day: random_day(&mut rng, (2021, 1, 1), 181),
                    measure: rng.random_range(0..MATSU_MEASURES.len()),
                    island: weighted(&mut rng, &MATSU_WEIGHTS),
                })
                .collect()
        } else {
            Vec::new()
        };
        let events = if profile == Profile::KeelungEvents {
            activities::events(&mut rng)
        } else {
            Vec::new()
        };
        Self {
            profile,
            rng,
            messiness,
            serial: 0,
            sessions,
            events,
        }
    }

    /// Column headers, as the source system exports them.
    pub fn header(&self) -> Vec<&'static str> {
        match self.profile {
            Profile::Kaohsiung => vec![
                "服務日期",
                "身分證號",
                "姓名",
                "性別",
                "國籍",
                "聯絡電話",
                "居住地址",
                "居住區",
                "服務項目",
                "服務方式",
            ],
            Profile::Keelung => vec![
                "日期",
                "證號",
                "姓名",
                "電話",
                "性別",
                "行政區",
                "重點工作",
                "主辦單位",
                "服務方式",
            ],
            Profile::Lienchiang => vec![
                "場次編號",
                "活動日期",
                "重點工作",
                "措施名稱",
                "主辦單位",
                "身分證號",
                "姓名",
                "性別",
                "鄉別",
                "島別",
            ],
            Profile::Soco => vec![
                "Member HKID",
                "Name",
                "Phone",
                "Gender",
                "District",
                "Support",
                "Date",
            ],
            Profile::KeelungVolunteers => activities::VOLUNTEER_HEADER.to_vec(),
            Profile::KeelungEvents => activities::EVENT_HEADER.to_vec(),
            Profile::KeelungCases => cases::CASE_HEADER.to_vec(),
        }
    }

    fn messy(&mut self) -> bool {
        self.rng.random::<f64>() < self.messiness
    }

    /// All rows of the next person, at most `max`.
    pub fn next_person_rows(&mut self, max: u64) -> Vec<Vec<String>> {
        let person = self.person();
        match self.profile {
            Profile::KeelungVolunteers => {
                let courses = self.rng.random_range(1..=6u64).min(max);
                return (0..courses).map(|_| self.row(&person)).collect();
            }
            Profile::KeelungEvents => return self.attendances(&person, max),
            _ => {}
        }
        // Heavy-tailed number of contacts: Pareto with shape 1.6, capped.
        let u: f64 = self.rng.random_range(0.0001..1.0);
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "bounded to 1..=80"
        )]
        let contacts = (u.powf(-1.0 / 1.6).floor() as u64).clamp(1, 80).min(max);
        (0..contacts).map(|_| self.row(&person)).collect()
    }

    fn person(&mut self) -> Person {
        self.serial += 1;
        let female = self.rng.random::<f64>() < 0.9;
        let (place, nationality) = match self.profile {
            Profile::Kaohsiung => (
                weighted(&mut self.rng, &KAOHSIUNG_WEIGHTS),
                weighted(&mut self.rng, &NATIONALITY_WEIGHTS),
            ),
            Profile::Keelung
            | Profile::KeelungVolunteers
            | Profile::KeelungEvents
            | Profile::KeelungCases => (
                weighted(&mut self.rng, &KEELUNG_WEIGHTS),
                weighted(&mut self.rng, &NATIONALITY_WEIGHTS),
            ),
            Profile::Lienchiang => (
                weighted(&mut self.rng, &MATSU_WEIGHTS),
                weighted(&mut self.rng, &NATIONALITY_WEIGHTS),
            ),
            Profile::Soco => (weighted(&mut self.rng, &HK_WEIGHTS), 0),
        };
        let id = match self.profile {
            Profile::Soco => hkid_for(self.serial, &mut self.rng),
            Profile::Kaohsiung => tw_id_for(b'S', self.serial, female, nationality, &mut self.rng),
            Profile::Keelung
            | Profile::KeelungVolunteers
            | Profile::KeelungEvents
            | Profile::KeelungCases => {
                tw_id_for(b'Y', self.serial, female, nationality, &mut self.rng)
            }
            Profile::Lienchiang => tw_id_for(b'L', self.serial, female, nationality, &mut self.rng),
        };
        let surname = SURNAMES[self.rng.random_range(0..SURNAMES.len())];
        let given: String = (0..2)
            .map(|_| GIVEN[self.rng.random_range(0..GIVEN.len())])
            .collect();
        let name = if self.serial.is_multiple_of(211) {
            format!("{surname}{EUDC}{}", &given[..3])
        } else {
            format!("{surname}{given}")
        };
        let phone = if self.profile == Profile::Soco {
            format!(
                "{}{:07}",
                self.rng.random_range(5..=9),
                self.rng.random_range(0..10_000_000)
            )
        } else {
            format!(
                "09{:02}-{:03}-{:03}",
                self.rng.random_range(10..90),
                self.rng.random_range(0..1000),
                self.rng.random_range(0..1000)
            )
        };
        let born = (self.profile == Profile::KeelungCases).then(|| cases::birth_day(&mut self.rng));
        Person {
            id,
            name,
            female,
            place,
            nationality,
            phone,
            born,
        }
    }

    fn row(&mut self, p: &Person) -> Vec<String> {
        match self.profile {
            Profile::Kaohsiung => {
                let date = self.roc_date((2025, 1, 1), 181, 12);
                let id = self.messy_id(&p.id);
                let gender = self.gender(p.female);
                let district = self.place(KAOHSIUNG_DISTRICTS[p.place], &["外縣市", "不詳"]);
                let address = format!(
                    "高雄市{}{}路{}號",
                    KAOHSIUNG_DISTRICTS[p.place],
                    ["中山", "建國", "民族", "自由"][self.rng.random_range(0..4)],
                    self.rng.random_range(1..300)
                );
                let phone = self.messy_phone(&p.phone);
                vec![
                    date,
                    id,
                    p.name.clone(),
                    gender,
                    NATIONALITIES[p.nationality].to_owned(),
                    phone,
                    address,
                    district,
                    WORK_AREAS[weighted(&mut self.rng, &WORK_WEIGHTS)].to_owned(),
                    MODES_KAOHSIUNG[weighted(&mut self.rng, &[40.0, 25.0, 25.0, 10.0])].to_owned(),
                ]
            }
            Profile::Keelung => {
                let date = self.roc_date((2025, 1, 1), 181, 10);
                let id = self.messy_id(&p.id);
                let phone = self.messy_phone(&p.phone);
                let gender = self.gender(p.female);
                let district = self.place(KEELUNG_DISTRICTS[p.place], &["新北市", "不詳"]);
                let area = weighted(&mut self.rng, &WORK_WEIGHTS);
                let agency = if area == 4 && self.rng.random_bool(0.4) {
                    "教育處"
                } else {
                    KEELUNG_AGENCIES[area]
                };
                vec![
                    date,
                    id,
                    p.name.clone(),
                    phone,
                    gender,
                    district,
                    WORK_AREAS[area].to_owned(),
                    agency.to_owned(),
                    MODES_KEELUNG[weighted(&mut self.rng, &[45.0, 30.0, 25.0])].to_owned(),
                ]
            }
            Profile::Lienchiang => {
                let own = self.rng.random_bool(0.85);
                let candidates: Vec<usize> = (0..self.sessions.len())
                    .filter(|&i| !own || self.sessions[i].island == p.place)
                    .collect();
                let s = if candidates.is_empty() {
                    self.rng.random_range(0..self.sessions.len())
                } else {
                    candidates[self.rng.random_range(0..candidates.len())]
                };
                let (number, day, measure) = {
                    let session = &self.sessions[s];
                    (session.number.clone(), session.day, session.measure)
                };
                let date = self.format_roc(day);
                let (name, area, agency) = MATSU_MEASURES[measure];
                let id = self.messy_id(&p.id);
                let gender = self.gender(p.female);
                let (island, township) = MATSU_ISLANDS[p.place];
                let island = self.place(island, &["臺灣本島"]);
                vec![
                    number,
                    date,
                    area.to_owned(),
                    name.to_owned(),
                    agency.to_owned(),
                    id,
                    p.name.clone(),
                    gender,
                    township.to_owned(),
                    island,
                ]
            }
            Profile::Soco => {
                let (zh, en) = HK_DISTRICTS[p.place];
                let district = if self.rng.random_bool(0.5) { zh } else { en };
                let district = self.place(district, &["Macau", "Shenzhen"]);
                let support = if self.rng.random::<f64>() < 0.06 {
                    "CSSA"
                } else {
                    HK_SUPPORTS[weighted(&mut self.rng, &HK_SUPPORT_WEIGHTS)]
                };
                let day = random_day(&mut self.rng, (2025, 1, 1), 365);
                let id = self.messy_hkid(&p.id);
                let gender = if self.messy() {
                    (if p.female { "f" } else { "m" }).to_owned()
                } else {
                    (if p.female { "F" } else { "M" }).to_owned()
                };
                vec![
                    id,
                    p.name.clone(),
                    p.phone.clone(),
                    gender,
                    district,
                    support.to_owned(),
                    day.format("%Y-%m-%d").to_string(),
                ]
            }
            Profile::KeelungVolunteers => self.volunteer_row(p),
            Profile::KeelungEvents => self.attendance_row(p, false),
            Profile::KeelungCases => self.case_row(p),
        }
    }

    fn gender(&mut self, female: bool) -> String {
        let plain = if female { "女" } else { "男" };
        if !self.messy() {
            return plain.to_owned();
        }
        match self.rng.random_range(0..4) {
            0 => (if female { "女性" } else { "男性" }).to_owned(),
            1 => (if female { "F" } else { "M" }).to_owned(),
            2 => (if female { "2" } else { "1" }).to_owned(),
            _ => format!(" {plain} "),
        }
    }

    fn place(&mut self, place: &str, unknown: &[&str]) -> String {
        if !self.messy() {
            return place.to_owned();
        }
        match self.rng.random_range(0..10) {
            0 => unknown[self.rng.random_range(0..unknown.len())].to_owned(),
            1..=4 => format!("{place} "),
            _ => place.to_owned(),
        }
    }

    fn messy_id(&mut self, id: &str) -> String {
        if !self.messy() {
            return id.to_owned();
        }
        match self.rng.random_range(0..10) {
            0 => id.chars().map(full_width).collect(),
            1 => id.to_lowercase(),
            2 => format!("{}-{}-{}", &id[..1], &id[1..5], &id[5..]),
            3 => format!(" {id} "),
            4 => flip_last_digit(id),
            5 => String::new(),
            _ => id.to_owned(),
        }
    }

    fn messy_hkid(&mut self, id: &str) -> String {
        let (body, check) = id.split_at(id.len() - 1);
        if !self.messy() {
            return format!("{body}({check})");
        }
        match self.rng.random_range(0..6) {
            0 => id.to_owned(),
            1 => format!("{body}（{check}）"),
            2 => format!("{} {check}", body.to_lowercase()),
            3 => flip_last_digit(id),
            4 => String::new(),
            _ => format!("{body}({check})"),
        }
    }

    fn messy_phone(&mut self, phone: &str) -> String {
        if self.messy() {
            phone.replace('-', "")[1..].to_owned()
        } else {
            phone.to_owned()
        }
    }

    fn roc_date(&mut self, start: (i32, u32, u32), days: u64, outside_per_mille: u32) -> String {
        let day = if self.rng.random_range(0..1000) < outside_per_mille {
            random_day(&mut self.rng, (start.0 - 1, 12, 1), 31)
        } else {
            random_day(&mut self.rng, start, days)
        };
        if self.messy() && self.rng.random_range(0..8) == 0 {
            return ["110/02/30", "", "下週"][self.rng.random_range(0..3)].to_owned();
        }
        self.format_roc(day)
    }

    fn format_roc(&mut self, day: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        let (y, m, d) = (day.year() - 1911, day.month(), day.day());
        let form = if self.messy() {
            self.rng.random_range(0..8)
        } else {
            0
        };
        match form {
            1 => format!("{y}.{m}.{d}"),
            2 => format!("{y}{m:02}{d:02}"),
            3 => format!("{y}年{m}月{d}日"),
            4 => day.format("%Y/%m/%d").to_string(),
            5 => {
                let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date");
                (day - epoch).num_days().to_string()
            }
            6 => format!("{y}/{m:02}/{d:02}")
                .chars()
                .map(full_width)
                .collect(),
            7 => format!("民國{y}年{m}月{d}日"),
            _ => format!("{y}/{m:02}/{d:02}"),
        }
    }
}

fn random_day(rng: &mut ChaCha8Rng, start: (i32, u32, u32), days: u64) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(start.0, start.1, start.2)
        .and_then(|d| d.checked_add_days(chrono::Days::new(rng.random_range(0..days))))
        .expect("dates within the generator's periods")
}

fn full_width(c: char) -> char {
    match c {
        '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
        _ => c,
    }
}

fn flip_last_digit(id: &str) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = match *last {
            '9' | 'A' => '0',
            c if c.is_ascii_digit() => char::from(c as u8 + 1),
            c => c,
        };
    }
    chars.into_iter().collect()
}

/// A Taiwanese identifier for a synthetic person: legacy or 2021 UI numbers for foreign and
/// mainland spouses, a national ID for some settled ones. The serial makes each person's unique.
fn tw_id_for(
    area: u8,
    serial: u64,
    female: bool,
    nationality: usize,
    rng: &mut ChaCha8Rng,
) -> String {
    let body = (serial * 7919) % 10_000_000;
    let kind = rng.random_range(0..10);
    let prefix = match kind {
        0..=2 => format!("{}{}", area as char, if female { '2' } else { '1' }),
        3..=5 => format!(
            "{}{}",
            area as char,
            ['A', 'B', 'C', 'D']
                [usize::from(!female) + 2 * usize::from(nationality > 0 && nationality != 8)]
        ),
        _ => {
            let category = match nationality {
                0 => '9',
                8 => '8',
                _ => char::from(b'0' + u8::try_from(nationality % 7).unwrap_or(0)),
            };
            format!(
                "{}{}{category}",
                area as char,
                if female { '9' } else { '8' }
            )
        }
    };
    // Ten characters in all: the prefix, the serial digits, one check digit.
    let digits_needed = 10 - prefix.len() - 1;
    let stem = format!(
        "{prefix}{:0width$}",
        body % 10u64.pow(u32::try_from(digits_needed).unwrap_or(7)),
        width = digits_needed
    );
    (0..10)
        .map(|d| format!("{stem}{d}"))
        .find(|id| tw_id::check_digit_ok(id.as_bytes()))
        .unwrap_or(stem)
}

fn hkid_for(serial: u64, rng: &mut ChaCha8Rng) -> String {
    let letters = if rng.random_bool(0.1) {
        "XA"
    } else {
        ["K", "R", "P", "M"][rng.random_range(0..4)]
    };
    let stem = format!("{letters}{:06}", (serial * 7919) % 1_000_000);
    ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A"]
        .iter()
        .map(|c| format!("{stem}{c}"))
        .find(|id| hkid::check_digit_ok(id.as_bytes()))
        .unwrap_or(stem)
}

#[cfg(test)]
mod tests;
