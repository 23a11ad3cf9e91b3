//! The `[limits]`, `[tables]`, suppression keys of `[protection]` and output formats, checked.

use super::*;

impl Checker<'_> {
    pub(super) fn limits(
        &mut self,
        raw: &crate::config::raw::RawLimits,
        overrides: &Overrides,
    ) -> Limits {
        let share = overrides
            .max_quarantined_share
            .or(raw.max_quarantined_share)
            .unwrap_or(DEFAULT_MAX_QUARANTINED_SHARE);
        if !(0.0..=1.0).contains(&share) {
            self.push(
                if overrides.max_quarantined_share.is_some() {
                    "--allow-quarantined-share"
                } else {
                    "limits.max_quarantined_share"
                },
                format!("= {share:?} is not a share between 0 and 1"),
                Some("e.g. 0.2 stops a run when more than a fifth of a source's rows are quarantined".into()),
            );
        }
        let mut bounded = |key: &str, v: Option<u64>, default: u64, max: u64| {
            let v = v.unwrap_or(default);
            self.in_range(
                key,
                v,
                1..=max,
                "raise it only as far as the machine allows",
            );
            v.max(1)
        };
        Limits {
            max_quarantined_share: share,
            max_table_cells: bounded(
                "limits.max_table_cells",
                raw.max_table_cells,
                DEFAULT_MAX_TABLE_CELLS,
                1_000_000_000,
            ),
            max_columns: bounded(
                "limits.max_columns",
                raw.max_columns,
                DEFAULT_MAX_COLUMNS,
                100_000,
            ),
            max_line_bytes: bounded(
                "limits.max_line_bytes",
                raw.max_line_bytes,
                DEFAULT_MAX_LINE_BYTES,
                1 << 30,
            ),
        }
    }

    /// A table's cells (every code, group and total of each dimension, crossed) are counted before
    /// anything is allocated for them.
    pub(super) fn table_size(&mut self, t: &TableSpec, domains: &[Domain], cap: u64) {
        let sizes: Vec<u64> = t
            .dims
            .iter()
            .map(|&d| {
                let d = &domains[d];
                (d.codes.len() + d.groups.len()) as u64 + u64::from(t.margins)
            })
            .collect();
        let cells = sizes
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n))
            .unwrap_or(u64::MAX);
        if cells > cap {
            self.push(
                &format!("tables.{}.by", t.name),
                format!(
                    "crosses to {cells} cells ({}), more than limits.max_table_cells = {cap}",
                    sizes
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(" × ")
                ),
                Some("drop a dimension, group codes, or raise [limits] max_table_cells".into()),
            );
        }
    }

    pub(super) fn table(
        &mut self,
        name: &str,
        raw: &RawTable,
        source_names: &[&String],
        sources: &[Source],
        domain_index: &BTreeMap<String, usize>,
    ) -> Option<TableSpec> {
        let key = format!("tables.{name}");
        self.file_name(&key, name, "a table name (it names the table's files)");
        let Some(source) = source_names.iter().position(|s| *s == &raw.source) else {
            self.push(
                &format!("{key}.source"),
                format!("no source named `{}`", raw.source),
                did_you_mean(&raw.source, source_names.iter().copied()),
            );
            return None;
        };
        let src = &sources[source];
        let mut dims = Vec::new();
        for dim in &raw.by {
            match domain_index.get(dim) {
                Some(&d) if src.coded.iter().any(|c| c.domain == d) => {
                    if dims.contains(&d) {
                        self.push(&format!("{key}.by"), format!("`{dim}` appears twice"), None);
                    }
                    dims.push(d);
                }
                Some(_) => self.push(
                    &format!("{key}.by"),
                    format!("source `{}` has no column for `{dim}`", raw.source),
                    Some(format!("map one under [sources.{}.columns]", raw.source)),
                ),
                None => self.push(
                    &format!("{key}.by"),
                    format!("unknown dimension `{dim}`"),
                    did_you_mean(dim, domain_index.keys()),
                ),
            }
        }
        if raw.by.is_empty() || raw.by.len() > 4 {
            self.push(
                &format!("{key}.by"),
                format!("has {} dimensions; tables have 1 to 4", raw.by.len()),
                None,
            );
        }
        let mut measures = Vec::new();
        for m in &raw.measures {
            let measure = match m {
                RawMeasure::Simple(SimpleMeasure::Persons) => Measure::Persons,
                RawMeasure::Simple(SimpleMeasure::PersonTimes) => Measure::PersonTimes,
                RawMeasure::Distinct { distinct, label } => {
                    let fields = distinct.fields();
                    if fields.is_empty() {
                        self.push(
                            &format!("{key}.measures"),
                            "`distinct` names no field".into(),
                            Some(
                                "distinct = \"session\" or distinct = [\"activity\", \"date\"]"
                                    .into(),
                            ),
                        );
                    }
                    for (i, field) in fields.iter().enumerate() {
                        let known = src.text.iter().any(|t| &t.field == field)
                            || (field == DATE_FIELD && src.date.is_some());
                        if !known {
                            self.push(
                                &format!("{key}.measures"),
                                format!(
                                    "`{field}` is not a text field of source `{}`{}",
                                    src.name,
                                    if src.date.is_some() {
                                        " (nor `date`, its service day)"
                                    } else {
                                        ""
                                    }
                                ),
                                did_you_mean(field, src.text.iter().map(|t| &t.field)),
                            );
                        }
                        if fields[..i].contains(field) {
                            self.push(
                                &format!("{key}.measures"),
                                format!("`distinct` names `{field}` twice"),
                                None,
                            );
                        }
                    }
                    Measure::Distinct {
                        fields,
                        label: label.clone(),
                    }
                }
                RawMeasure::Sum { sum, label } => {
                    if !src.integer.iter().any(|t| &t.field == sum) {
                        self.push(
                            &format!("{key}.measures"),
                            format!("`{sum}` is not an integer field of source `{}`", src.name),
                            did_you_mean(sum, src.integer.iter().map(|t| &t.field)),
                        );
                    }
                    Measure::Sum {
                        field: sum.clone(),
                        label: label.clone(),
                    }
                }
            };
            if measures.contains(&measure) {
                self.push(
                    &format!("{key}.measures"),
                    format!("`{}` appears twice", measure.name()),
                    None,
                );
            }
            measures.push(measure);
        }
        if measures.is_empty() {
            self.push(
                &format!("{key}.measures"),
                "is empty".into(),
                Some("e.g. measures = [\"persons\", \"person_times\"]".into()),
            );
        }
        let period = raw
            .period
            .as_ref()
            .and_then(|p| self.period(&format!("{key}.period"), p));
        if raw.period.is_some() && src.date.is_none() {
            self.push(
                &format!("{key}.period"),
                format!("source `{}` has no date column to filter on", src.name),
                Some(format!("add [sources.{}.date]", src.name)),
            );
        }
        let share_of = raw.share_of.as_ref().and_then(|s| {
            let found = domain_index
                .get(s)
                .and_then(|d| dims.iter().position(|x| x == d));
            if found.is_none() {
                self.push(
                    &format!("{key}.share_of"),
                    format!("`{s}` is not one of this table's dimensions"),
                    did_you_mean(s, raw.by.iter()),
                );
            }
            if !raw.margins {
                self.push(
                    &format!("{key}.share_of"),
                    "needs margins = true: the denominator is the total".into(),
                    None,
                );
            }
            found
        });
        if raw.layout == crate::config::raw::Layout::Report && (dims.len() < 2 || !raw.margins) {
            self.push(
                &format!("{key}.layout"),
                "\"report\" spreads person-times over the last dimension and needs its totals: \
                 give the table at least two dimensions and keep margins"
                    .into(),
                None,
            );
        }
        Some(TableSpec {
            name: name.to_owned(),
            title: raw.title.clone(),
            source,
            dims,
            measures,
            margins: raw.margins,
            period,
            share_of,
            layout: raw.layout,
        })
    }

    pub(super) fn protection(
        &mut self,
        raw: &RawPipeline,
        domains: &[Domain],
        domain_index: &BTreeMap<String, usize>,
        tables: &[TableSpec],
    ) -> Protection {
        let p = &raw.protection;
        let threshold = p.threshold;
        if threshold < 2 {
            self.push(
                "protection.threshold",
                format!("= {threshold} suppresses nothing"),
                Some("the usual floor is 3 (fewer than 3 units is confidential)".into()),
            );
        }
        self.in_range(
            "protection.threshold",
            u64::from(threshold),
            2..=MAX_THRESHOLD,
            "thresholds are small counts; the usual one is 3",
        );
        let level = p.protection_level.unwrap_or(threshold);
        if level > 0 && p.protection_level.is_some() {
            self.in_range(
                "protection.protection_level",
                u64::from(level),
                1..=MAX_PROTECTION_LEVEL,
                "a protection level is a width in persons, usually the threshold or a little more",
            );
        }
        let p_percent = p.p_percent.unwrap_or(super::DEFAULT_P_PERCENT);
        self.in_range(
            "protection.p_percent",
            u64::from(p_percent),
            0..=100,
            "p is a percentage of the largest contribution, usually 10 to 20 (0 turns the rule off)",
        );
        let dominance = p.nk_dominance.map(|d| {
            self.in_range(
                "protection.nk_dominance.n",
                u64::from(d.n),
                1..=u64::from(super::MAX_DOMINANCE_N),
                "n counts the largest contributors taken together, usually 1 to 3",
            );
            self.in_range(
                "protection.nk_dominance.k",
                u64::from(d.k),
                1..=99,
                "k is the percentage of the sum they may hold, usually 75 to 90",
            );
            super::Dominance {
                n: d.n.clamp(1, super::MAX_DOMINANCE_N),
                k: d.k.clamp(1, 99),
            }
        });
        if level == 0 {
            self.push(
                "protection.protection_level",
                "= 0 would accept exactly recoverable cells".into(),
                Some("leave it out to use the threshold".into()),
            );
        }
        let mut rules = |key: &str, raw_rules: &[crate::config::raw::RawCellRule]| {
            raw_rules
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    self.cell_rule(
                        &format!("protection.{key}[{i}]"),
                        r,
                        domains,
                        domain_index,
                        tables,
                    )
                })
                .collect::<Vec<_>>()
        };
        let always_suppress = rules("always_suppress", &p.always_suppress);
        let always_publish = rules("always_publish", &p.always_publish);
        Protection {
            method: p.method,
            threshold: NonZeroU32::new(threshold.max(2)).expect("max(2) is non-zero"),
            level: level.max(1),
            p_percent: p_percent.min(100),
            dominance,
            zeros: p.zeros,
            cost: p.cost,
            always_suppress,
            always_publish,
            dp: None,
        }
    }

    pub(super) fn cell_rule(
        &mut self,
        key: &str,
        raw: &crate::config::raw::RawCellRule,
        domains: &[Domain],
        domain_index: &BTreeMap<String, usize>,
        tables: &[TableSpec],
    ) -> CellRule {
        let table = raw.table.as_ref().and_then(|name| {
            let found = tables.iter().find(|t| &t.name == name);
            if found.is_none() {
                let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
                self.push(
                    &format!("{key}.table"),
                    format!("`{name}` is not a table of this pipeline"),
                    crate::config::suggest::did_you_mean(name, names.iter().copied()),
                );
            }
            found
        });
        for (dim, code) in &raw.cells {
            let Some(&d) = domain_index.get(dim) else {
                self.push(
                    &format!("{key}.cells.{dim}"),
                    format!("`{dim}` is not a domain"),
                    crate::config::suggest::did_you_mean(
                        dim,
                        domain_index.keys().map(String::as_str),
                    ),
                );
                continue;
            };
            if let Some(t) = table
                && !t.dims.contains(&d)
            {
                self.push(
                    &format!("{key}.cells.{dim}"),
                    format!("table `{}` has no dimension `{dim}`", t.name),
                    None,
                );
            }
            let domain = &domains[d];
            let known = code == TOTAL_CODE
                || domain.codes.iter().any(|c| &c.code == code)
                || domain.groups.iter().any(|g| &g.code == code);
            if !known {
                let codes = domain
                    .codes
                    .iter()
                    .map(|c| c.code.as_str())
                    .chain(domain.groups.iter().map(|g| g.code.as_str()));
                self.push(
                    &format!("{key}.cells.{dim}"),
                    format!("`{code}` is not a code of `{dim}`"),
                    crate::config::suggest::did_you_mean(code, codes),
                );
            }
        }
        CellRule {
            table: raw.table.clone(),
            cells: raw
                .cells
                .iter()
                .map(|(d, c)| (d.clone(), c.clone()))
                .collect(),
        }
    }

    pub(super) fn formats(
        &mut self,
        raw: Option<&[OutputFormat]>,
        microdata: bool,
    ) -> Vec<OutputFormat> {
        let formats: BTreeSet<OutputFormat> = raw
            .map_or_else(
                || vec![OutputFormat::Parquet, OutputFormat::Csv],
                <[OutputFormat]>::to_vec,
            )
            .into_iter()
            .collect();
        if microdata && formats.contains(&OutputFormat::Xlsx) {
            self.push(
                "publish.formats",
                "\"xlsx\" is a reading copy of tables; microdata is published as \"parquet\" and \"csv\""
                    .into(),
                None,
            );
        }
        if formats.is_empty() {
            self.push("publish.formats", "is empty".into(), None);
        } else if !formats.contains(&OutputFormat::Csv) && !formats.contains(&OutputFormat::Parquet)
        {
            self.push(
                "publish.formats",
                "\"xlsx\" is a copy for reading: the release also needs \"csv\" or \"parquet\""
                    .into(),
                Some("formats = [\"csv\", \"xlsx\"]".into()),
            );
        }
        formats.into_iter().collect()
    }
}
