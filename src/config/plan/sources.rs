//! The release, its period, the pseudonymisation key and the `[sources]`, checked: files,
//! encodings, identifier and date columns, and the mapping of source columns onto domains.

use super::*;

impl Checker<'_> {
    pub(super) fn release(&mut self, raw: &crate::config::raw::RawRelease) -> Release {
        self.file_name("release.name", &raw.name, "a directory name");
        Release {
            name: raw.name.clone(),
            title: raw.title.clone(),
            description: raw.description.clone(),
            period: raw
                .period
                .as_ref()
                .and_then(|p| self.period("release.period", p)),
            portal: Portal {
                publisher: raw.publisher.clone(),
                license: raw.license.clone(),
                frequency: raw.frequency,
                spatial: raw.spatial.clone(),
                contact: raw.contact.clone(),
                keywords: raw.keywords.clone(),
            },
        }
    }

    pub(super) fn period(&mut self, key: &str, raw: &RawPeriod) -> Option<Period> {
        let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        match (parse(&raw.start), parse(&raw.end)) {
            (Some(start), Some(end)) if start <= end => Some(Period { start, end }),
            (Some(_), Some(_)) => {
                self.push(key, "start is after end".into(), None);
                None
            }
            _ => {
                self.push(
                    key,
                    format!(
                        "start = \"{}\", end = \"{}\" are not both ISO dates",
                        raw.start, raw.end
                    ),
                    Some("write dates as YYYY-MM-DD, e.g. start = \"2021-01-01\"".into()),
                );
                None
            }
        }
    }

    pub(super) fn pseudonymise(
        &mut self,
        raw: &crate::config::raw::RawPseudonymise,
        base: &Path,
    ) -> Pseudonymise {
        let key = match (&raw.key_file, &raw.key_env) {
            (Some(_), Some(_)) => {
                self.push(
                    "pseudonymise",
                    "key_file and key_env are both set".into(),
                    Some("choose one source for the key".into()),
                );
                KeySource::Ephemeral
            }
            (Some(file), None) => KeySource::File(base.join(file)),
            (None, Some(var)) => KeySource::Env(var.clone()),
            (None, None) => KeySource::Ephemeral,
        };
        let context = match (&raw.context, &key) {
            (Some(c), _) if c.trim().is_empty() => {
                self.push("pseudonymise.context", "must not be empty".into(), None);
                String::new()
            }
            (Some(c), _) => c.clone(),
            (None, KeySource::Ephemeral) => "ephemeral".to_owned(),
            (None, _) => {
                self.push(
                    "pseudonymise.context",
                    "is required when a key is configured".into(),
                    Some(
                        "pseudonyms are linkable only under the same key and context; \
                         name the dataset, e.g. context = \"kaohsiung-nifsc/v1\""
                            .into(),
                    ),
                );
                String::new()
            }
        };
        Pseudonymise {
            key,
            context,
            invalid_ids: raw.invalid_ids,
            linkage: Vec::new(),
        }
    }

    pub(super) fn source(
        &mut self,
        name: &str,
        raw: &RawSource,
        path: PathBuf,
        domains: &[Domain],
        domain_index: &BTreeMap<String, usize>,
    ) -> Source {
        let key = format!("sources.{name}");
        self.file_name(&key, name, "a source name");
        let format = raw.format.or_else(|| {
            match path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
            {
                Some(e) if e == "csv" || e == "txt" => Some(SourceFormat::Csv),
                Some(e) if e == "parquet" => Some(SourceFormat::Parquet),
                Some(e) if matches!(e.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods") => {
                    Some(SourceFormat::Excel)
                }
                _ => None,
            }
        });
        let format = format.unwrap_or_else(|| {
            self.push(
                &format!("{key}.format"),
                "cannot be told from the file name".into(),
                Some("add format = \"csv\", \"parquet\" or \"excel\"".into()),
            );
            SourceFormat::Csv
        });
        if format != SourceFormat::Csv && raw.encoding != EncodingChoice::Auto {
            self.push(
                &format!("{key}.encoding"),
                "applies to CSV sources only".into(),
                None,
            );
        }
        let header_row = raw.header_row.unwrap_or(1);
        if header_row == 0 {
            self.push(
                &format!("{key}.header_row"),
                "rows are numbered from 1, as in the spreadsheet".into(),
                None,
            );
        }
        if format == SourceFormat::Parquet && raw.header_row.is_some() {
            self.push(
                &format!("{key}.header_row"),
                "applies to CSV and Excel sources only (a Parquet file names its columns)".into(),
                None,
            );
        }
        let sheet = if format == SourceFormat::Excel {
            Some(Sheet {
                name: raw.sheet.clone(),
            })
        } else {
            if raw.sheet.is_some() {
                self.push(
                    &format!("{key}.sheet"),
                    "applies to Excel sources only".into(),
                    None,
                );
            }
            None
        };

        let mut coded = Vec::new();
        let mut text = Vec::new();
        let mut integer = Vec::new();
        let mut dates = Vec::new();
        let mut used: Vec<&str> = vec![raw.person.column.as_str()];
        if let Some(d) = &raw.date {
            used.push(&d.column);
        }
        if let Some(c) = &raw.person.crosswalk {
            used.push(c);
        }
        for (field, column) in &raw.columns {
            match (column, domain_index.get(field)) {
                (RawColumn::Coded(column), Some(&domain)) => {
                    used.push(column);
                    coded.push(CodedColumn {
                        domain,
                        column: column.clone(),
                        values: BTreeMap::new(),
                    });
                }
                (RawColumn::Coded(_), None) => self.push(
                    &format!("{key}.columns.{field}"),
                    format!("`{field}` is not a domain"),
                    did_you_mean(field, domain_index.keys()).or_else(|| {
                        Some(format!(
                            "declare a domain [domains.{field}], or a typed field: \
                             {field} = {{ column = \"...\", type = \"text\" }}"
                        ))
                    }),
                ),
                (RawColumn::Typed(t), Some(_)) => self.push(
                    &format!("{key}.columns.{field}"),
                    format!("`{field}` is a domain, so its column is coded, not typed"),
                    Some(format!("write {field} = \"{}\"", t.column)),
                ),
                (RawColumn::Typed(t), None) => {
                    self.field_name(&format!("{key}.columns.{field}"), field);
                    used.push(&t.column);
                    let named = NamedColumn {
                        field: field.clone(),
                        column: t.column.clone(),
                        label: t.label.clone(),
                    };
                    match t.kind {
                        FieldKind::Text => text.push(named),
                        FieldKind::Integer => integer.push(named),
                        FieldKind::Date => {
                            if named.field == DATE_FIELD {
                                self.push(
                                    &format!("{key}.columns.{field}"),
                                    "`date` is the service date, declared with `date = { column = ... }`".into(),
                                    Some("name the field after what it holds, e.g. birth_date".into()),
                                );
                            }
                            dates.push(named);
                        }
                    }
                }
            }
        }
        let mut once = HashSet::new();
        for column in &used {
            if !once.insert(*column) {
                self.push(
                    &key,
                    format!("column `{column}` is used by two fields"),
                    None,
                );
            }
        }
        for column in &raw.direct_identifiers {
            if used.contains(&column.as_str()) {
                self.push(
                    &format!("{key}.direct_identifiers"),
                    format!("`{column}` is declared a direct identifier but is also mapped"),
                    Some("direct identifiers are never read; remove one of the two".into()),
                );
            }
        }
        for (field, map) in &raw.values {
            let Some(c) = coded
                .iter_mut()
                .find(|c| domains.get(c.domain).is_some_and(|d| &d.name == field))
            else {
                self.push(
                    &format!("{key}.values.{field}"),
                    format!("`{field}` is not a coded column of this source"),
                    did_you_mean(field, raw.columns.keys()),
                );
                continue;
            };
            let domain = &domains[c.domain];
            for (from, to) in map {
                if !domain.codes.iter().any(|code| &code.code == to) {
                    self.push(
                        &format!("{key}.values.{field}"),
                        format!("`{from}` maps to `{to}`, which is not a code of domain {field}"),
                        did_you_mean(to, domain.codes.iter().map(|c| &c.code)),
                    );
                }
            }
            c.values.clone_from(map);
        }
        let id_types = raw.person.id_types.clone().unwrap_or_else(|| {
            vec![
                IdType::TwNational,
                IdType::TwUi,
                IdType::Hkid,
                IdType::PrcId,
            ]
        });
        if id_types.is_empty() {
            self.push(
                &format!("{key}.person.id_types"),
                "is empty".into(),
                Some("list at least one of tw_national, tw_ui, hkid, prc_id".into()),
            );
        }
        Source {
            name: name.to_owned(),
            path,
            format,
            encoding: raw.encoding,
            sheet,
            header_row: header_row.max(1),
            person_column: raw.person.column.clone(),
            walk_ins: raw.person.walk_ins,
            crosswalk: raw.person.crosswalk.clone(),
            missing_ids: match &raw.person.missing {
                Some(tokens) => tokens.iter().map(String::as_str).collect::<Vec<_>>(),
                None => DEFAULT_MISSING_IDS.to_vec(),
            }
            .into_iter()
            .map(crate::text::normalise_identifier)
            .filter(|t| !t.is_empty())
            .collect(),
            id_types,
            date: raw.date.as_ref().map(|d| DateColumn {
                column: d.column.clone(),
                format: d.format,
            }),
            coded,
            text,
            integer,
            dates,
            direct_identifiers: raw.direct_identifiers.clone(),
        }
    }
}
