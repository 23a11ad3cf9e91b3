//! What the report shows, read from a release's files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::ReportError;
use super::chart::{self, Category, Chart, Point, group_digits};
use crate::audit::read::TextFrame;
use crate::config::plan::TOTAL_CODE;

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub release: String,
    pub title_zh: String,
    pub title_en: String,
    pub description: Option<String>,
    pub period: Option<String>,
    pub created_at: String,
    pub publisher: Option<String>,
    pub license: Option<String>,
    pub dp: bool,
    pub protection: Vec<Fact>,
    pub warnings: Vec<String>,
    pub legend: Vec<LegendItem>,
    pub tables: Vec<TableView>,
    pub dictionary: Vec<[String; 6]>,
    pub files: Vec<Fact>,
}

/// A labelled fact.
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// A status or mark explained.
#[derive(Debug, Clone, Serialize)]
pub struct LegendItem {
    pub class: &'static str,
    pub sample: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// One table.
#[derive(Debug, Clone, Serialize)]
pub struct TableView {
    pub name: String,
    pub title_zh: String,
    pub title_en: String,
    pub period: Option<String>,
    pub dimensions: String,
    pub crosstabs: Vec<Crosstab>,
    pub chart: Option<Chart>,
    pub note: Option<String>,
    /// The table in the county's summary layout (`<table>-report.csv`), when published.
    pub summary: Option<Summary>,
}

/// A layout file as it is: its header and rows of text.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub file: String,
    pub header: Vec<String>,
    pub rows: Vec<SummaryRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    pub cells: Vec<String>,
    /// A subtotal or total row.
    pub total: bool,
}

/// One measure of a table, its first dimension down and its second across.
#[derive(Debug, Clone, Serialize)]
pub struct Crosstab {
    pub measure: String,
    pub fixed: Option<String>,
    pub corner: String,
    pub columns: Vec<Header>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Header {
    pub zh: String,
    pub en: String,
    pub total: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub header: Header,
    pub cells: Vec<CellView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellView {
    pub text: String,
    pub moe: Option<String>,
    pub class: &'static str,
    pub total: bool,
}

/// One published row of a table file, by its codes.
struct Record {
    codes: Vec<String>,
    labels: Vec<(String, String)>,
    measure: String,
    value: Option<i64>,
    moe95: Option<i64>,
    status: String,
}

pub(super) fn page(dir: &Path) -> Result<Page, ReportError> {
    let read_err = |file: &Path, message: String| ReportError::Read {
        file: file.to_path_buf(),
        message,
    };
    let manifest_path = dir.join("manifest.json");
    let manifest: Value = std::fs::read_to_string(&manifest_path)
        .map_err(|e| read_err(&manifest_path, e.to_string()))
        .and_then(|t| {
            serde_json::from_str(&t).map_err(|e| read_err(&manifest_path, e.to_string()))
        })?;
    let dictionary_path = dir.join("data-dictionary.csv");
    let dictionary =
        TextFrame::read(&dictionary_path).map_err(|e| read_err(&dictionary_path, e))?;
    let dictionary_rows = text_rows(&dictionary, &crate::audit::read::DICTIONARY_COLUMNS);
    let measures = measure_labels(&dictionary_rows);
    let codelists_path = dir.join("codelists.csv");
    let codelists = TextFrame::read(&codelists_path).map_err(|e| read_err(&codelists_path, e))?;
    // (dimension's domain, code) of every group code: charts draw leaves only.
    let groups: std::collections::BTreeSet<(String, String)> =
        text_rows(&codelists, &crate::audit::read::CODELIST_COLUMNS)
            .into_iter()
            .filter(|r| r[4] == "group")
            .map(|[domain, code, ..]| (domain, code))
            .collect();
    let dp = manifest["protection"]["dp"].is_object();

    let listed: Vec<String> = manifest["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| text(&f["name"]))
        .collect();
    let mut tables = Vec::new();
    for table in manifest["tables"].as_array().into_iter().flatten() {
        let mut view = table_view(dir, table, &dictionary_rows, &groups, &measures, dp)?;
        let file = format!("{}.csv", crate::audit::read::layout_name(&view.name));
        if listed.contains(&file) {
            let path = dir.join(&file);
            let frame = TextFrame::read(&path).map_err(|e| read_err(&path, e))?;
            view.summary = Some(Summary {
                rows: frame
                    .rows
                    .iter()
                    .map(|r| {
                        let cells: Vec<String> =
                            r.iter().map(|v| v.clone().unwrap_or_default()).collect();
                        SummaryRow {
                            total: cells.iter().any(|c| c == "總計"),
                            cells,
                        }
                    })
                    .collect(),
                header: frame.columns,
                file,
            });
        }
        tables.push(view);
    }
    let label = |v: &Value| {
        v.as_object()
            .map(|_| format!("{} / {}", text(&v["zh"]), text(&v["en"])))
    };
    let metadata = &manifest["metadata"];
    let files = manifest["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["files"].as_array().into_iter().flatten())
        .chain(
            manifest["microdata"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|m| m["files"].as_array().into_iter().flatten()),
        )
        .chain(manifest["files"].as_array().into_iter().flatten())
        // The report does not describe itself, so that it is the same before and after the
        // manifest lists it.
        .filter(|f| f["name"] != super::FILE)
        .map(|f| Fact {
            label: text(&f["name"]),
            value: format!(
                "{}, {} bytes",
                text(&f["format"]),
                group_digits(f["bytes"].as_i64().unwrap_or(0))
            ),
        })
        .collect();
    Ok(Page {
        release: text(&manifest["release"]),
        title_zh: text(&manifest["title"]["zh"]),
        title_en: text(&manifest["title"]["en"]),
        description: label(&manifest["description"]),
        period: period_text(&metadata["temporal"]),
        created_at: text(&manifest["created_at"]),
        publisher: label(&metadata["publisher"]),
        license: metadata["license"]["name"].as_str().map(
            |name| match metadata["license"]["title"].as_str() {
                Some(title) => format!("{title} ({name})"),
                None => name.to_owned(),
            },
        ),
        dp,
        protection: match manifest["microdata"].as_array() {
            Some(outputs) if !outputs.is_empty() => microdata_facts(outputs),
            _ => protection_facts(&manifest["protection"], dp),
        },
        warnings: manifest["protection"]["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect(),
        legend: legend(dp),
        tables,
        dictionary: dictionary_rows,
        files,
    })
}

/// A `[first, last]` day pair of the manifest as `first – last`.
fn period_text(v: &Value) -> Option<String> {
    v.as_array()
        .filter(|a| a.len() == 2)
        .map(|a| format!("{} – {}", text(&a[0]), text(&a[1])))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A frame's rows in the order of `columns` (missing columns empty).
fn text_rows<const N: usize>(frame: &TextFrame, columns: &[&str; N]) -> Vec<[String; N]> {
    let at: Vec<Option<usize>> = columns.iter().map(|c| frame.column(c)).collect();
    frame
        .rows
        .iter()
        .map(|row| std::array::from_fn(|i| at[i].and_then(|c| row[c].clone()).unwrap_or_default()))
        .collect()
}

/// `measure name → "中文 / English"` from the dictionary's `measure` entries
/// (`persons = Persons (…) / 人數; …`).
fn measure_labels(dictionary: &[[String; 6]]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for row in dictionary.iter().filter(|r| r[1] == "measure") {
        for entry in row[5].split("; ") {
            if let Some((name, label)) = entry.split_once(" = ") {
                let label = match label.rsplit_once(" / ") {
                    Some((en, zh)) => format!("{zh} / {en}"),
                    None => label.to_owned(),
                };
                out.insert(name.to_owned(), label);
            }
        }
    }
    out
}

fn protection_facts(p: &Value, dp: bool) -> Vec<Fact> {
    let fact = |label: &str, value: String| Fact {
        label: label.to_owned(),
        value,
    };
    let s = &p["summary"];
    if dp {
        let d = &p["dp"];
        let mut facts = vec![
            fact(
                "方法 Method",
                format!(
                    "差分隱私 differential privacy ({} mechanism, OpenDP)",
                    text(&d["mechanism"])
                ),
            ),
            fact("隱私預算 Budget of this release", text(&d["budget"])),
        ];
        if let Some(cap) = d["cap"].as_object() {
            let cap: Vec<String> = cap.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            facts.push(fact(
                "資料集終身上限 Lifetime cap of the dataset",
                format!("{} ({})", cap.join(", "), text(&d["dataset"])),
            ));
        }
        facts.push(fact(
            "低數值 Low counts",
            format!(
                "{} below {}",
                text(&d["low_counts"]),
                text(&d["low_count_threshold"])
            ),
        ));
        facts
    } else {
        let mut facts = vec![
            fact(
                "方法 Method",
                "小格抑制 small-cell suppression, primary and secondary, audited".into(),
            ),
            fact(
                "門檻 Threshold",
                format!(
                    "a cell of 1 to {} persons is withheld (primary)",
                    p["threshold"].as_i64().unwrap_or(0) - 1
                ),
            ),
        ];
        if let Some(rule) = p["p_percent"].as_i64().filter(|&r| r > 0) {
            facts.push(fact(
                "總和 Sums",
                format!(
                    "p% rule, p = {rule}: a cell is also withheld when one person's share of a sum \
                     is so large that the others' contributions beyond the two largest add up to \
                     less than {rule} % of it ({} cells not already under the threshold)",
                    text(&s["primary_by_p_percent"])
                ),
            ));
        }
        if let (Some(n), Some(k)) = (
            p["nk_dominance"]["n"].as_i64(),
            p["nk_dominance"]["k"].as_i64(),
        ) {
            facts.push(fact(
                "總和 Sums",
                format!(
                    "(n,k)-dominance rule, n = {n}, k = {k}: a cell is also withheld when its {n} \
                     largest contributors hold more than {k} % of a sum ({} cells not already \
                     withheld by another rule)",
                    s["primary_by_dominance"].as_u64().unwrap_or(0)
                ),
            ));
        }
        facts.extend([
            fact(
                "不公布的格 Cells withheld",
                format!(
                    "{} primary, {} secondary of {} cells",
                    text(&s["primary"]),
                    text(&s["secondary"]),
                    text(&s["cells"])
                ),
            ),
            fact(
                "稽核 Audit",
                if s["suppressed_numbers"].as_i64().unwrap_or(0) == 0 {
                    "nothing is withheld, so nothing can be worked out".to_owned()
                } else {
                    format!(
                        "{} of {} withheld numbers can be recovered exactly from the published \
                         ones; the narrowest range an attacker can narrow a primary number to is \
                         {} wide (protection level {})",
                        text(&s["exactly_recoverable"]),
                        text(&s["suppressed_numbers"]),
                        text(&s["min_primary_width"]),
                        text(&p["protection_level"])
                    )
                },
            ),
        ]);
        facts
    }
}

/// What a record-level release promises, per output.
fn microdata_facts(outputs: &[Value]) -> Vec<Fact> {
    let mut facts = vec![Fact {
        label: "方法 Method".into(),
        value: "k-匿名與 ℓ-多樣性 k-anonymity and ℓ-diversity over persons: a person's records \
                share one pseudonym, so a class is the persons with the same quasi-identifiers \
                on all of their records; values are generalised or suppressed (`*`) until every \
                class is large and diverse enough"
            .into(),
    }];
    for m in outputs {
        let list = |v: &Value| -> String {
            v.as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let p = &m["published"];
        let mut value = format!(
            "{} records of {} persons; every combination of {} is shared by at least {} persons \
             (the smallest class has {})",
            group_digits(m["records"].as_i64().unwrap_or(0)),
            group_digits(m["persons"].as_i64().unwrap_or(0)),
            list(&m["quasi_identifiers"]),
            text(&m["k"]),
            text(&p["smallest_class"])
        );
        if let Some(sensitive) = m["sensitive"].as_str() {
            value.push_str(&format!(
                "; every class holds at least {} values of {sensitive}, none held by all of its \
                 persons",
                text(&m["l"])
            ));
        }
        let levels: Vec<String> = m["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| format!("{} {}", text(&f["name"]), text(&f["level"])))
            .collect();
        value.push_str(&format!(
            "; values of {} persons ({} records) suppressed; released as: {}",
            text(&m["persons_suppressed"]),
            text(&m["records_suppressed"]),
            levels.join(", ")
        ));
        facts.push(Fact {
            label: text(&m["name"]),
            value,
        });
        let ps = &m["pseudonym"];
        facts.push(Fact {
            label: "假名 Pseudonym".into(),
            value: format!(
                "{} ({} bits) under the data-sharing agreement's key (fingerprint {}) and \
                 context `{}`: the same person has the same pseudonym in every release made \
                 with them, and nobody without the key can compute or reverse one",
                text(&ps["algorithm"]),
                text(&ps["bits"]),
                text(&ps["key_fingerprint"]),
                text(&ps["context"])
            ),
        });
    }
    facts
}

fn legend(dp: bool) -> Vec<LegendItem> {
    if dp {
        vec![
            LegendItem {
                class: "published",
                sample: "1,234 ±56",
                zh: "公布值含隨機雜訊；± 為 95% 誤差界限：真值（經貢獻上限後）約 95% 的機會落在此範圍內",
                en: "published with random noise; ± is the 95 % margin of error: the true (bounded) count lies within it about 95 % of the time",
            },
            LegendItem {
                class: "low",
                sample: "2*",
                zh: "含雜訊的人數低於門檻：雜訊影響大，請謹慎使用",
                en: "the noisy person count is below the threshold: noise dominates it, use with care",
            },
        ]
    } else {
        vec![
            LegendItem {
                class: "published",
                sample: "1,234",
                zh: "公布",
                en: "published",
            },
            LegendItem {
                class: "primary",
                sample: "×",
                zh: "人數少於門檻或資料提供者要求，不公布",
                en: "withheld: fewer persons than the threshold, or listed by the data owner",
            },
            LegendItem {
                class: "secondary",
                sample: "⊗",
                zh: "為避免由總計推算出前者，不公布",
                en: "withheld so that the former cannot be worked out from totals",
            },
        ]
    }
}

fn table_view(
    dir: &Path,
    table: &Value,
    dictionary: &[[String; 6]],
    groups: &std::collections::BTreeSet<(String, String)>,
    measures: &BTreeMap<String, String>,
    dp: bool,
) -> Result<TableView, ReportError> {
    let name = text(&table["name"]);
    let files: Vec<String> = table["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| text(&f["name"]))
        .collect();
    // The CSV when there is one (every column as written), else the Parquet file.
    let file = files
        .iter()
        .find(|f| f.ends_with(".csv"))
        .or_else(|| files.first())
        .ok_or_else(|| ReportError::Read {
            file: dir.join("manifest.json"),
            message: format!("table `{name}` lists no file"),
        })?;
    let path = dir.join(file);
    let frame = TextFrame::read(&path).map_err(|message| ReportError::Read {
        file: path.clone(),
        message,
    })?;
    let dims: Vec<String> = table["dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| text(&d["name"]))
        .collect();
    let records = records(&frame, &dims).map_err(|message| ReportError::Read {
        file: path.clone(),
        message,
    })?;
    // Each dimension as the dictionary names it: `行政區 District`.
    let dim_label: Vec<String> = dims
        .iter()
        .map(|d| {
            dictionary
                .iter()
                .find(|r| r[0] == name && &r[1] == d)
                .map_or_else(|| d.clone(), |r| format!("{} {}", r[3], r[4]))
        })
        .collect();
    let measure_names: Vec<String> = table["measures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let measure_label = |m: &str| measures.get(m).cloned().unwrap_or_else(|| m.to_owned());

    // Rows: codes of the first dimension; columns: of the second; the others at their totals.
    let fixed_ok = |r: &Record| r.codes.iter().skip(2).all(|c| c == TOTAL_CODE);
    let has_fixed = records.iter().any(fixed_ok);
    let order = |axis: usize| -> Vec<(String, (String, String))> {
        let mut seen: Vec<(String, (String, String))> = Vec::new();
        for r in &records {
            if !seen.iter().any(|(c, _)| c == &r.codes[axis]) {
                seen.push((r.codes[axis].clone(), r.labels[axis].clone()));
            }
        }
        seen
    };
    let header = |code: &str, (zh, en): &(String, String)| Header {
        zh: zh.clone(),
        en: en.clone(),
        total: code == TOTAL_CODE,
    };
    let mut crosstabs = Vec::new();
    let mut note = None;
    if has_fixed && !dims.is_empty() {
        let rows = order(0);
        let columns = if dims.len() > 1 { order(1) } else { Vec::new() };
        let index: BTreeMap<(&str, &str, &str), &Record> = records
            .iter()
            .filter(|r| fixed_ok(r))
            .map(|r| {
                let second = r.codes.get(1).map_or("", String::as_str);
                ((r.measure.as_str(), r.codes[0].as_str(), second), r)
            })
            .collect();
        for m in &measure_names {
            let column_headers = if columns.is_empty() {
                vec![Header {
                    zh: "數值".into(),
                    en: "Value".into(),
                    total: false,
                }]
            } else {
                columns.iter().map(|(c, l)| header(c, l)).collect()
            };
            let keys: Vec<&str> = if columns.is_empty() {
                vec![""]
            } else {
                columns.iter().map(|(c, _)| c.as_str()).collect()
            };
            let body = rows
                .iter()
                .map(|(code, labels)| Row {
                    header: header(code, labels),
                    cells: keys
                        .iter()
                        .map(|k| {
                            let total = code == TOTAL_CODE || *k == TOTAL_CODE;
                            cell(index.get(&(m.as_str(), code.as_str(), *k)).copied(), total)
                        })
                        .collect(),
                })
                .collect();
            let fixed = (dims.len() > 2).then(|| {
                let others: Vec<String> = dim_label[2..]
                    .iter()
                    .map(|d| format!("{d} = 總計 Total"))
                    .collect();
                format!("at / 於 {}", others.join(", "))
            });
            crosstabs.push(Crosstab {
                measure: measure_label(m),
                fixed,
                corner: match dim_label.get(1) {
                    Some(second) => format!("{} ↓ {second} →", dim_label[0]),
                    None => dim_label[0].clone(),
                },
                columns: column_headers,
                rows: body,
            });
        }
    } else {
        note = Some(
            "This table has no totals to hold its other dimensions at: read it in its data files. \
             / 此表未含總計，請見資料檔。"
                .to_owned(),
        );
    }
    let first_domain = text(&table["dimensions"][0]["domain"]);
    let leaves: Vec<&Record> = records
        .iter()
        .filter(|r| !groups.contains(&(first_domain.clone(), r.codes[0].clone())))
        .collect();
    let chart = has_fixed
        .then(|| chart_of(&leaves, &dim_label, &measure_names, &measure_label, dp))
        .flatten();
    Ok(TableView {
        title_zh: text(&table["title"]["zh"]),
        title_en: text(&table["title"]["en"]),
        period: period_text(&table["period"]),
        dimensions: dim_label.join(" × "),
        name,
        crosstabs,
        chart,
        note,
        summary: None,
    })
}

fn cell(record: Option<&Record>, total: bool) -> CellView {
    let Some(r) = record else {
        return CellView {
            text: String::new(),
            moe: None,
            class: "absent",
            total,
        };
    };
    let (text, class) = match (r.status.as_str(), r.value) {
        ("suppressed_primary", _) => ("×".to_owned(), "primary"),
        ("suppressed_secondary", _) => ("⊗".to_owned(), "secondary"),
        ("low_noisy_count", Some(v)) => (format!("{}*", group_digits(v)), "low"),
        (_, Some(v)) => (group_digits(v), "published"),
        (_, None) => (String::new(), "absent"),
    };
    CellView {
        text,
        moe: r.moe95.map(|m| format!("±{}", group_digits(m))),
        class,
        total,
    }
}

/// Bars by the first dimension's codes other than its total; one series per code of the second
/// dimension when it has at most six (gender, island), else its total; the others at totals.
fn chart_of(
    records: &[&Record],
    dims: &[String],
    measures: &[String],
    measure_label: &dyn Fn(&str) -> String,
    dp: bool,
) -> Option<Chart> {
    let measure = measures
        .iter()
        .find(|m| *m == "persons")
        .or_else(|| measures.first())?;
    let at_totals =
        |r: &&Record| r.measure == *measure && r.codes.iter().skip(2).all(|c| c == TOTAL_CODE);
    let chosen: Vec<&Record> = records.iter().copied().filter(at_totals).collect();
    let mut series_codes: Vec<(String, String)> = Vec::new();
    if dims.len() > 1 {
        for r in &chosen {
            if r.codes[1] != TOTAL_CODE && !series_codes.iter().any(|(c, _)| c == &r.codes[1]) {
                series_codes.push((r.codes[1].clone(), r.labels[1].0.clone()));
            }
        }
        // Bars per code of the second dimension only where that dimension is short and most of
        // its cells hold something (gender, island); a sparse cross (each measure run by one
        // agency) reads better as one bar at the total.
        let filled = chosen
            .iter()
            .filter(|r| r.codes[0] != TOTAL_CODE && r.codes[1] != TOTAL_CODE)
            .map(|r| r.value.is_none_or(|v| v > 0))
            .fold((0usize, 0usize), |(yes, all), f| {
                (yes + usize::from(f), all + 1)
            });
        if series_codes.len() > 6 || series_codes.is_empty() || filled.0 * 2 < filled.1 {
            series_codes = vec![(TOTAL_CODE.to_owned(), "總計 Total".to_owned())];
        }
    } else {
        series_codes = vec![(String::new(), String::new())];
    }
    let mut categories: Vec<Category> = Vec::new();
    for r in &chosen {
        if r.codes[0] == TOTAL_CODE || categories.iter().any(|c| c.label == r.labels[0].0) {
            continue;
        }
        let points = series_codes
            .iter()
            .map(|(s, _)| {
                let hit = chosen
                    .iter()
                    .find(|x| x.codes[0] == r.codes[0] && x.codes.get(1).is_none_or(|c| c == s));
                Point {
                    value: hit
                        .and_then(|x| x.value)
                        .filter(|_| hit.is_some_and(|x| !x.status.starts_with("suppressed"))),
                    moe95: hit.and_then(|x| x.moe95).filter(|_| dp),
                }
            })
            .collect();
        categories.push(Category {
            label: r.labels[0].0.clone(),
            points,
        });
    }
    if categories.is_empty() {
        return None;
    }
    let series: Vec<String> = series_codes.into_iter().map(|(_, l)| l).collect();
    let caption = format!(
        "{} — {}{}",
        measure_label(measure),
        dims[0],
        if dp { " (± 95% margin of error)" } else { "" }
    );
    Some(chart::layout(
        measure_label(measure),
        caption,
        &series,
        &categories,
    ))
}

fn records(frame: &TextFrame, dims: &[String]) -> Result<Vec<Record>, String> {
    let need = |c: &str| frame.column(c).ok_or_else(|| format!("no column `{c}`"));
    let code_at: Vec<usize> = dims.iter().map(|d| need(d)).collect::<Result<_, _>>()?;
    let zh_at: Vec<Option<usize>> = dims
        .iter()
        .map(|d| frame.column(&format!("{d}_label")))
        .collect();
    let en_at: Vec<Option<usize>> = dims
        .iter()
        .map(|d| frame.column(&format!("{d}_label_en")))
        .collect();
    let measure = need("measure")?;
    let value = need("value")?;
    let status = need("status")?;
    let moe = frame.column("moe95");
    let get = |row: &[Option<String>], c: usize| row[c].clone().unwrap_or_default();
    Ok(frame
        .rows
        .iter()
        .map(|row| Record {
            codes: code_at.iter().map(|&c| get(row, c)).collect(),
            labels: zh_at
                .iter()
                .zip(&en_at)
                .map(|(z, e)| {
                    (
                        z.map(|c| get(row, c)).unwrap_or_default(),
                        e.map(|c| get(row, c)).unwrap_or_default(),
                    )
                })
                .collect(),
            measure: get(row, measure),
            value: row[value].as_deref().and_then(|v| v.parse().ok()),
            moe95: moe
                .and_then(|c| row[c].as_deref())
                .and_then(|v| v.parse().ok()),
            status: get(row, status),
        })
        .collect())
}
