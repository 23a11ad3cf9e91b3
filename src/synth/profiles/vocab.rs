//! The codes, names and weights the generated exports draw from: districts, islands, agencies,
//! service modes, nationalities and names, each with its share of the rows.

pub(super) const KAOHSIUNG_DISTRICTS: [&str; 9] = [
    "鹽埕區",
    "鼓山區",
    "三民區",
    "新興區",
    "前金區",
    "苓雅區",
    "前鎮區",
    "旗津區",
    "小港區",
];
pub(super) const KAOHSIUNG_WEIGHTS: [f64; 9] = [3.0, 10.0, 25.0, 6.0, 3.0, 12.0, 16.0, 1.0, 14.0];
pub(super) const KEELUNG_DISTRICTS: [&str; 7] = [
    "中正區",
    "七堵區",
    "暖暖區",
    "仁愛區",
    "中山區",
    "安樂區",
    "信義區",
];
pub(super) const KEELUNG_WEIGHTS: [f64; 7] = [8.0, 9.0, 4.0, 6.0, 6.0, 10.0, 7.0];
pub(super) const WORK_AREAS: [&str; 8] = [
    "生活適應輔導",
    "醫療生育保健",
    "保障就業權益",
    "提升教育文化",
    "協助子女教養",
    "人身安全保護",
    "健全法令制度",
    "落實觀念宣導",
];
pub(super) const WORK_WEIGHTS: [f64; 8] = [30.0, 15.0, 12.0, 10.0, 14.0, 6.0, 3.0, 10.0];
pub(super) const KEELUNG_AGENCIES: [&str; 8] = [
    "民政處",
    "衛生局",
    "產業發展處",
    "教育處",
    "社會處",
    "社會處",
    "民政處",
    "文化局",
];
pub(super) const MODES_KAOHSIUNG: [&str; 4] = ["電話關懷", "家庭訪視", "面談", "外展服務"];
pub(super) const MODES_KEELUNG: [&str; 3] = ["電話關懷", "家庭訪視", "面談"];
pub(super) const NATIONALITIES: [&str; 10] = [
    "大陸地區",
    "越南",
    "印尼",
    "菲律賓",
    "泰國",
    "柬埔寨",
    "日本",
    "韓國",
    "港澳地區",
    "其他",
];
pub(super) const NATIONALITY_WEIGHTS: [f64; 10] =
    [58.0, 20.0, 7.0, 3.0, 3.0, 2.0, 1.5, 1.0, 3.0, 1.5];
pub(super) const MATSU_ISLANDS: [(&str, &str); 5] = [
    ("南竿", "南竿鄉"),
    ("北竿", "北竿鄉"),
    ("東莒", "莒光鄉"),
    ("西莒", "莒光鄉"),
    ("東引", "東引鄉"),
];
pub(super) const MATSU_WEIGHTS: [f64; 5] = [55.0, 22.0, 6.0, 5.0, 12.0];
/// Care measures of Lienchiang: (name, work area, lead agency).
pub(super) const MATSU_MEASURES: [(&str, &str, &str); 12] = [
    ("生活適應輔導班", "生活適應輔導", "民政處"),
    ("新住民個案管理", "生活適應輔導", "衛生福利局"),
    ("新住民健康檢查宣導", "醫療生育保健", "衛生福利局"),
    ("孕產婦健康照護", "醫療生育保健", "衛生福利局"),
    ("就業媒合服務", "保障就業權益", "產業發展處"),
    ("職業訓練課程", "保障就業權益", "產業發展處"),
    ("成人基本教育研習班", "提升教育文化", "教育處"),
    ("多元文化功課輔導", "協助子女教養", "教育處"),
    ("親職教育講座", "協助子女教養", "教育處"),
    ("家庭暴力防治宣導", "人身安全保護", "警察局"),
    ("法律諮詢服務", "健全法令制度", "民政處"),
    ("多元文化節慶活動", "落實觀念宣導", "文化處"),
];
pub(super) const HK_DISTRICTS: [(&str, &str); 18] = [
    ("中西區", "Central and Western"),
    ("灣仔區", "Wan Chai"),
    ("東區", "Eastern"),
    ("南區", "Southern"),
    ("油尖旺區", "Yau Tsim Mong"),
    ("深水埗區", "Sham Shui Po"),
    ("九龍城區", "Kowloon City"),
    ("黃大仙區", "Wong Tai Sin"),
    ("觀塘區", "Kwun Tong"),
    ("荃灣區", "Tsuen Wan"),
    ("屯門區", "Tuen Mun"),
    ("元朗區", "Yuen Long"),
    ("北區", "North"),
    ("大埔區", "Tai Po"),
    ("西貢區", "Sai Kung"),
    ("沙田區", "Sha Tin"),
    ("葵青區", "Kwai Tsing"),
    ("離島區", "Islands"),
];
pub(super) const HK_WEIGHTS: [f64; 18] = [
    2.0, 1.5, 4.0, 2.0, 6.0, 14.0, 5.0, 5.0, 10.0, 3.0, 6.0, 8.0, 4.0, 3.0, 3.0, 5.0, 7.0, 0.6,
];
pub(super) const HK_SUPPORTS: [&str; 6] = [
    "CSSA",
    "Housing",
    "Employment",
    "Education",
    "Family reunion",
    "Social integration",
];
pub(super) const HK_SUPPORT_WEIGHTS: [f64; 6] = [0.0, 30.0, 20.0, 20.0, 15.0, 25.0];
pub(super) const SURNAMES: [&str; 16] = [
    "陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊", "許", "鄭", "謝", "郭", "洪", "曾",
];
pub(super) const GIVEN: [&str; 20] = [
    "美", "玲", "淑", "芬", "秀", "英", "麗", "華", "慧", "婷", "雅", "文", "明", "志", "建", "偉",
    "春", "蓮", "燕", "霞",
];
