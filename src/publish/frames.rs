//! Published frames: tables in long form, the data dictionary, code lists and the quarantine report.

use std::path::Path;

use polars::prelude::*;

use super::PublishError;
use crate::attacker::CellStatus;
pub use crate::audit::read::{CODELIST_COLUMNS, DICTIONARY_COLUMNS};
use crate::config::Plan;
use crate::config::plan::Measure;
use crate::config::raw::OutputFormat;
use crate::ingest::{Quarantine, SourceReport};
use crate::protect::{Protected, ProtectedTable};

/// One row per cell and measure: `<dim>`, `<dim>_label`, `<dim>_label_en` per dimension, then
/// `measure`, `value` (null when suppressed), `status`, the share columns when configured, and the
/// reporting period (`period_start`, `period_end`; empty when the pipeline declares none).
///
/// Rows come in [`publication_order`]: totals first, so a loader that guesses column types from the
/// first rows sees `_T` and reads codes as text (leading zeros kept).
pub fn table_frame(pt: &ProtectedTable) -> PolarsResult<DataFrame> {
    let t = &pt.table;
    let n_rows = t.len() * t.measures.len();
    let mut codes: Vec<Vec<&str>> = vec![Vec::with_capacity(n_rows); t.axes.len()];
    let mut zh: Vec<Vec<&str>> = vec![Vec::with_capacity(n_rows); t.axes.len()];
    let mut en: Vec<Vec<&str>> = vec![Vec::with_capacity(n_rows); t.axes.len()];
    let mut measure = Vec::with_capacity(n_rows);
    let mut value: Vec<Option<i64>> = Vec::with_capacity(n_rows);
    let mut status = Vec::with_capacity(n_rows);
    let mut moe95: Vec<Option<i64>> = Vec::new();
    let mut share: Vec<Option<f64>> = Vec::new();
    let mut num_status = Vec::new();
    let mut den_status = Vec::new();
    let names: Vec<String> = t
        .measures
        .iter()
        .map(crate::config::plan::Measure::name)
        .collect();
    for cell in publication_order(t) {
        let positions = t.positions(cell);
        for (m, name) in names.iter().enumerate() {
            for (a, (axis, &p)) in t.axes.iter().zip(&positions).enumerate() {
                let c = &axis.cells[p];
                codes[a].push(&c.code);
                zh[a].push(&c.label.zh);
                en[a].push(&c.label.en);
            }
            measure.push(name.as_str());
            let s = pt.status[cell];
            value.push((!s.is_suppressed()).then_some(t.values[m][cell]));
            status.push(s.as_str());
            if let Some(moe) = &pt.moe95 {
                moe95.push((!s.is_suppressed()).then_some(moe[m][cell]));
            }
            if let Some(axis) = t.share_of {
                let mut den_pos = positions.clone();
                den_pos[axis] = t.axes[axis].cells.len() - 1;
                let den = t.index(&den_pos);
                let ds = pt.status[den];
                share.push(match (s.is_suppressed(), ds.is_suppressed()) {
                    (false, false) if t.values[m][den] > 0 => {
                        Some(rounded_share(t.values[m][cell], t.values[m][den]))
                    }
                    _ => None,
                });
                num_status.push(s.as_str());
                den_status.push(ds.as_str());
            }
        }
    }
    let mut columns: Vec<Column> = Vec::new();
    for (a, axis) in t.axes.iter().enumerate() {
        columns.push(Series::new(axis.name.as_str().into(), &codes[a]).into());
        columns.push(Series::new(format!("{}_label", axis.name).into(), &zh[a]).into());
        columns.push(Series::new(format!("{}_label_en", axis.name).into(), &en[a]).into());
    }
    columns.push(Series::new("measure".into(), measure).into());
    columns.push(Series::new("value".into(), value).into());
    if pt.moe95.is_some() {
        columns.push(Series::new("moe95".into(), moe95).into());
    }
    columns.push(Series::new("status".into(), status).into());
    if t.share_of.is_some() {
        columns.push(Series::new("share".into(), share).into());
        columns.push(Series::new("share_numerator_status".into(), num_status).into());
        columns.push(Series::new("share_denominator_status".into(), den_status).into());
    }
    let epoch = chrono::NaiveDate::default(); // 1970-01-01, Arrow's day zero
    let days = |day: chrono::NaiveDate| i32::try_from((day - epoch).num_days()).ok();
    let bounds = t.period.map(|p| [p.start, p.end]);
    for (i, name) in PERIOD_COLUMNS.into_iter().enumerate() {
        let day = bounds.and_then(|b| days(b[i]));
        let column = Series::new(name.into(), vec![day; n_rows]);
        columns.push(column.cast(&DataType::Date)?.into());
    }
    DataFrame::new_infer_height(columns)
}

/// Decimal places of a published share: a ratio of published counts needs no more, and the 16
/// digits of a float would only suggest a precision the counts do not have.
pub const SHARE_DECIMALS: i32 = 4;

/// `numerator / denominator` rounded to [`SHARE_DECIMALS`] places.
#[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn rounded_share(numerator: i64, denominator: i64) -> f64 {
    let scale = 10f64.powi(SHARE_DECIMALS);
    (numerator as f64 / denominator as f64 * scale).round() / scale
}

/// The reporting period's columns of every table, first and last day inclusive.
pub const PERIOD_COLUMNS: [&str; 2] = ["period_start", "period_end"];

/// Cell indices in the order rows are published: on each axis its total first, then the other
/// codes in code-list order (leaves, then groups), the first axis varying slowest.
#[must_use]
pub fn publication_order(t: &crate::tabulate::Table) -> Vec<usize> {
    let orders: Vec<Vec<usize>> = t
        .axes
        .iter()
        .map(|axis| {
            let is_total = |p: &usize| axis.cells[*p].level == crate::tabulate::Level::Total;
            let all = 0..axis.cells.len();
            all.clone()
                .filter(is_total)
                .chain(all.filter(|p| !is_total(p)))
                .collect()
        })
        .collect();
    // The i-th row's places in those orders are the positions of cell i: each axis's order is
    // as long as the axis.
    (0..t.len())
        .map(|i| {
            let positions: Vec<usize> = t
                .positions(i)
                .into_iter()
                .zip(&orders)
                .map(|(place, order)| order[place])
                .collect();
            t.index(&positions)
        })
        .collect()
}

/// The data dictionary's rows, one per column of each table, in [`DICTIONARY_COLUMNS`] order.
#[must_use]
pub fn dictionary_rows(protected: &Protected, plan: &Plan) -> Vec<[String; 6]> {
    let mut rows: Vec<[String; 6]> = Vec::new();
    let text = |s: &str| s.to_owned();
    for pt in &protected.tables {
        let t = &pt.table;
        let file = t.name.clone();
        for axis in &t.axes {
            let d = &plan.domains[axis.domain];
            rows.push([
                file.clone(),
                axis.name.clone(),
                text("string"),
                d.label.zh.clone(),
                d.label.en.clone(),
                format!(
                    "code of {} (see codelists.csv); {} = total / 總計",
                    d.name,
                    crate::config::plan::TOTAL_CODE
                ),
            ]);
            rows.push([
                file.clone(),
                format!("{}_label", axis.name),
                text("string"),
                format!("{}（中文名稱）", d.label.zh),
                format!("{} (Chinese label)", d.label.en),
                text("label of the code"),
            ]);
            rows.push([
                file.clone(),
                format!("{}_label_en", axis.name),
                text("string"),
                format!("{}（英文名稱）", d.label.zh),
                format!("{} (English label)", d.label.en),
                text("label of the code"),
            ]);
        }
        let measures: Vec<String> = t
            .measures
            .iter()
            .map(|m| format!("{} = {} / {}", m.name(), m.label().en, m.label().zh))
            .collect();
        rows.push([
            file.clone(),
            text("measure"),
            text("string"),
            text("統計量"),
            text("Measure"),
            measures.join("; "),
        ]);
        let dp = pt.moe95.is_some();
        let sums: Vec<String> = t
            .measures
            .iter()
            .filter_map(|m| match m {
                Measure::Sum { field, .. } => Some(format!("{} the sum of {field}", m.name())),
                _ => None,
            })
            .collect();
        let counted = if sums.is_empty() {
            "count".to_owned()
        } else {
            format!("count (for {})", sums.join(", "))
        };
        let value_desc_text = format!("{counted}; empty when the cell is suppressed");
        // With a sum under the p% rule, a cell can also be primary because one person's share of
        // the sum dominates it.
        let p_rule = !sums.is_empty() && protected.protection.p_percent > 0;
        let nk_rule = protected.protection.dominance.filter(|_| !sums.is_empty());
        let status_text = format!(
            "published = 公布; suppressed_primary = 因人數少於門檻{}或資料提供者要求而不公布 \
             (withheld: fewer persons than the threshold{}, or listed by the data owner); \
             suppressed_secondary = 為避免由總計推算出前者而不公布 \
             (withheld so that the former cannot be derived from totals)",
            if p_rule || nk_rule.is_some() {
                "、單一個人占總和比例過高"
            } else {
                ""
            },
            [
                p_rule.then(|| {
                    format!(
                        ", a sum whose contributions beyond its two largest persons' add up to \
                         less than {} % of the largest (p% rule)",
                        protected.protection.p_percent
                    )
                }),
                nk_rule.map(|d| {
                    format!(
                        ", a sum whose {} largest persons hold more than {} % of it \
                         ((n,k)-dominance rule)",
                        d.n, d.k
                    )
                }),
            ]
            .into_iter()
            .flatten()
            .collect::<String>(),
        );
        let (value_zh, value_en, value_desc, status_desc) = if dp {
            (
                "數值（含差分隱私雜訊）",
                "Value (with differential-privacy noise)",
                "noisy estimate of the bounded count (see moe95) after consistency \
                 post-processing: a non-negative integer; margins equal the sum of their cells \
                 where the measure adds up, and lie between the largest cell and the sum of the \
                 cells where it does not; persons never exceed person-times",
                "published = 公布（含雜訊）(published with noise); low_noisy_count = \
                 含雜訊人數低於門檻，雜訊影響大 (the noisy person count is below the \
                 threshold: noise dominates it)",
            )
        } else {
            (
                "數值",
                "Value",
                value_desc_text.as_str(),
                status_text.as_str(),
            )
        };
        rows.push([
            file.clone(),
            text("value"),
            text("integer"),
            text(value_zh),
            text(value_en),
            text(value_desc),
        ]);
        if dp {
            rows.push([
                file.clone(),
                text("moe95"),
                text("integer"),
                text("95%誤差界限"),
                text("95 % margin of error"),
                text(crate::dp::MOE95_TEXT),
            ]);
        }
        let sdmx: Vec<String> = CellStatus::used_in(dp)
            .iter()
            .map(|s| {
                let c = s.sdmx(dp);
                format!(
                    "{} = OBS_STATUS {}, CONF_STATUS {}",
                    s.as_str(),
                    c.obs_status,
                    c.conf_status
                )
            })
            .collect();
        rows.push([
            file.clone(),
            text("status"),
            text("string"),
            text("狀態"),
            text("Status"),
            format!("{status_desc}. In SDMX: {}", sdmx.join("; ")),
        ]);
        if t.share_of.is_some() {
            for (name, zh, en, desc) in [
                (
                    "share",
                    "比率",
                    "Share",
                    "value / value at the total of the share dimension, to 4 decimal places; empty when either is suppressed",
                ),
                (
                    "share_numerator_status",
                    "分子狀態",
                    "Status of the numerator",
                    "status of this cell",
                ),
                (
                    "share_denominator_status",
                    "分母狀態",
                    "Status of the denominator",
                    "status of the total cell",
                ),
            ] {
                rows.push([
                    file.clone(),
                    text(name),
                    text(if name == "share" { "float" } else { "string" }),
                    text(zh),
                    text(en),
                    text(desc),
                ]);
            }
        }
        for (name, zh, en, desc) in [
            (
                PERIOD_COLUMNS[0],
                "統計期間起日",
                "First day of the reporting period",
                "first day (inclusive) of the period the table counts, ISO 8601; empty when the \
                 pipeline declares no period",
            ),
            (
                PERIOD_COLUMNS[1],
                "統計期間迄日",
                "Last day of the reporting period",
                "last day (inclusive) of the period the table counts, ISO 8601; empty when the \
                 pipeline declares no period",
            ),
        ] {
            rows.push([
                file.clone(),
                text(name),
                text("date"),
                text(zh),
                text(en),
                text(desc),
            ]);
        }
    }
    rows
}

/// Every code of every dimension used, with its level and parent.
pub fn codelists_frame(
    protected: &Protected,
    microdata: &[crate::microdata::Shared],
    plan: &Plan,
) -> PolarsResult<DataFrame> {
    let mut domains: Vec<usize> = protected
        .tables
        .iter()
        .flat_map(|t| t.table.axes.iter().map(|a| a.domain))
        .collect();
    domains.extend(microdata.iter().flat_map(|m| {
        m.fields.iter().filter_map(|f| {
            plan.domains
                .iter()
                .position(|d| Some(&d.name) == f.domain.as_ref())
        })
    }));
    domains.sort_unstable();
    domains.dedup();
    let mut rows: Vec<[String; 6]> = Vec::new();
    for d in domains {
        let domain = &plan.domains[d];
        let parent_of = |leaf: usize| {
            domain
                .groups
                .iter()
                .find(|g| g.members.contains(&leaf))
                .map_or(crate::config::plan::TOTAL_CODE, |g| g.code.as_str())
        };
        for (i, c) in domain.codes.iter().enumerate() {
            rows.push([
                domain.name.clone(),
                c.code.clone(),
                c.label.zh.clone(),
                c.label.en.clone(),
                "leaf".into(),
                parent_of(i).to_owned(),
            ]);
        }
        for g in &domain.groups {
            rows.push([
                domain.name.clone(),
                g.code.clone(),
                g.label.zh.clone(),
                g.label.en.clone(),
                "group".into(),
                crate::config::plan::TOTAL_CODE.into(),
            ]);
        }
        rows.push([
            domain.name.clone(),
            crate::config::plan::TOTAL_CODE.into(),
            "總計".into(),
            "Total".into(),
            "total".into(),
            String::new(),
        ]);
    }
    text_frame(CODELIST_COLUMNS, &rows)
}

/// A frame of text columns from rows of a fixed width.
pub fn text_frame<const N: usize>(
    names: [&str; N],
    rows: &[[String; N]],
) -> PolarsResult<DataFrame> {
    let columns = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Series::new(
                (*name).into(),
                rows.iter().map(|r| r[i].as_str()).collect::<Vec<_>>(),
            )
            .into()
        })
        .collect();
    DataFrame::new_infer_height(columns)
}

/// The quarantine report: where each rejected value is and why, never the value itself.
pub fn quarantine_frame(
    quarantine: &Quarantine,
    sources: &[SourceReport],
) -> PolarsResult<DataFrame> {
    let file_of = |source: &str| {
        sources
            .iter()
            .find(|s| s.name == source)
            .and_then(|s| s.file.file_name())
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
    };
    let rows = &quarantine.rows;
    DataFrame::new_infer_height(vec![
        Series::new(
            "source".into(),
            rows.iter().map(|r| r.source.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "file".into(),
            rows.iter().map(|r| file_of(&r.source)).collect::<Vec<_>>(),
        )
        .into(),
        Series::new("row".into(), rows.iter().map(|r| r.row).collect::<Vec<_>>()).into(),
        Series::new(
            "column".into(),
            rows.iter().map(|r| r.column.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "reason".into(),
            rows.iter()
                .map(|r| {
                    serde_json::to_value(r.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "description".into(),
            rows.iter().map(|r| r.reason.describe()).collect::<Vec<_>>(),
        )
        .into(),
    ])
}

/// Writes a frame as CSV into any writer.
pub fn write_csv<W: std::io::Write>(df: &mut DataFrame, out: W, bom: bool) -> PolarsResult<()> {
    CsvWriter::new(out).include_bom(bom).finish(df)
}

/// Writes a frame as Parquet whose Arrow schema uses the long-standing types (`large_string`, not
/// `string_view`), which pyarrow's filters, pandas, DuckDB and R's arrow read and filter.
fn write_parquet<W: std::io::Write>(df: &mut DataFrame, out: W) -> PolarsResult<()> {
    let schema = df.schema().to_arrow(CompatLevel::oldest());
    let key = polars_parquet::write::schema_to_metadata_key(&schema);
    let metadata = KeyValueMetadata::from_static(vec![(key.key, key.value.unwrap_or_default())]);
    ParquetWriter::new(out)
        .with_key_value_metadata(Some(metadata))
        .finish(df)
        .map(|_| ())
}

/// Writes a frame to a new file in one format, synced to disk.
pub fn write_frame(
    df: &mut DataFrame,
    path: &Path,
    format: OutputFormat,
    bom: bool,
) -> Result<(), PublishError> {
    let mut file = std::fs::File::create(path).map_err(|e| PublishError::io(path, e))?;
    let result = match format {
        OutputFormat::Csv => write_csv(df, &mut file, bom),
        OutputFormat::Parquet => write_parquet(df, &mut file),
        OutputFormat::Xlsx => Err(PolarsError::InvalidOperation(
            "a workbook holds every table: see publish::workbook".into(),
        )),
    };
    result.map_err(|e| PublishError::Frame {
        file: path.display().to_string(),
        message: crate::scrub::scrub(&e.to_string()),
    })?;
    file.sync_all().map_err(|e| PublishError::io(path, e))
}
