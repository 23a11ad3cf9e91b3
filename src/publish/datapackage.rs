//! `datapackage.json`: a Frictionless Data Package that describes every CSV file of a release with
//! a typed Table Schema made from the data dictionary, so that loaders read codes as text, `value`
//! and `moe95` as integers and the period as dates, and a validator can check every file.
//!
//! Parquet files carry their own typed schema and are not listed; the manifest lists every file.

use serde_json::{Value, json};

use super::frames::{self, CODELIST_COLUMNS, DICTIONARY_COLUMNS};
use crate::attacker::CellStatus;
use crate::config::Plan;
use crate::config::raw::OutputFormat;
use crate::protect::Protected;

/// The descriptor's file name.
pub const FILE: &str = "datapackage.json";

/// The descriptor of a release's CSV files.
#[must_use]
pub fn descriptor(
    plan: &Plan,
    protected: &Protected,
    microdata: &[crate::microdata::Shared],
    dictionary: &[[String; 6]],
) -> Value {
    let release = &plan.release;
    let mut resources = Vec::new();
    if plan.publish.formats.contains(&OutputFormat::Csv) {
        for pt in &protected.tables {
            let t = &pt.table;
            let dp = pt.moe95.is_some();
            let fields: Vec<Value> = dictionary
                .iter()
                .filter(|row| row[0] == t.name)
                .map(|row| {
                    let mut field = json!({
                        "name": row[1],
                        "type": table_schema_type(&row[2]),
                        "title": row[4],
                        "description": row[5],
                    });
                    if let Some(constraints) = constraints(pt, &row[1], dp) {
                        field["constraints"] = constraints;
                    }
                    field
                })
                .collect();
            let mut key: Vec<&str> = t.axes.iter().map(|a| a.name.as_str()).collect();
            key.push("measure");
            let mut resource = csv_resource(&t.name, fields);
            resource["schema"]["primaryKey"] = json!(key);
            if let Some(title) = &t.title {
                resource["title"] = json!(title.en);
                resource["description"] = json!(title.zh);
            }
            resources.push(resource);
        }
    }
    if plan.publish.formats.contains(&OutputFormat::Csv) {
        for m in microdata {
            let fields: Vec<Value> = dictionary
                .iter()
                .filter(|row| row[0] == m.name)
                .map(|row| {
                    json!({
                        "name": row[1],
                        "type": table_schema_type(&row[2]),
                        "title": row[4],
                        "description": row[5],
                    })
                })
                .collect();
            let mut resource = csv_resource(&m.name, fields);
            if let Some(title) = &m.title {
                resource["title"] = json!(title.en);
                resource["description"] = json!(title.zh);
            }
            resources.push(resource);
        }
    }
    if !microdata.is_empty() {
        let fields = super::records::RISK_COLUMNS
            .iter()
            .map(|c| json!({ "name": c, "type": "string" }))
            .collect();
        resources.push(csv_resource(
            super::records::RISK_REPORT.trim_end_matches(".csv"),
            fields,
        ));
    }
    for (name, columns) in [
        ("data-dictionary", DICTIONARY_COLUMNS),
        ("codelists", CODELIST_COLUMNS),
    ] {
        let fields = columns
            .iter()
            .map(|c| json!({ "name": c, "type": "string" }))
            .collect();
        resources.push(csv_resource(name, fields));
    }

    let mut package = json!({
        "profile": "tabular-data-package",
        "name": package_name(&release.name),
        "resources": resources,
    });
    if let Some(title) = &release.title {
        package["title"] = json!(format!("{} / {}", title.zh, title.en));
    }
    if let Some(description) = &release.description {
        package["description"] = json!(format!("{}\n\n{}", description.zh, description.en));
    }
    let portal = &release.portal;
    if let Some(license) = &portal.license {
        let mut entry = json!({ "name": license.name });
        if let Some(url) = &license.url {
            entry["path"] = json!(url);
        }
        if let Some(title) = &license.title {
            entry["title"] = json!(title);
        }
        package["licenses"] = json!([entry]);
    }
    if let Some(publisher) = &portal.publisher {
        package["contributors"] = json!([{
            "title": format!("{} / {}", publisher.zh, publisher.en),
            "role": "publisher",
        }]);
    }
    if !portal.keywords.is_empty() {
        package["keywords"] = json!(portal.keywords);
    }
    package
}

/// A CSV resource as privstat writes it: UTF-8, comma-separated, empty field for a missing value.
fn csv_resource(name: &str, fields: Vec<Value>) -> Value {
    json!({
        "name": package_name(name),
        "path": format!("{name}.csv"),
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": { "delimiter": ",", "quoteChar": "\"", "header": true },
        "schema": { "fields": fields, "missingValues": [""] },
    })
}

/// The Table Schema type of a data dictionary type.
fn table_schema_type(dictionary_type: &str) -> &'static str {
    match dictionary_type {
        "integer" => "integer",
        "float" => "number",
        "date" => "date",
        _ => "string",
    }
}

/// What a column's values are limited to, from the table's own code lists and statuses.
fn constraints(pt: &crate::protect::ProtectedTable, column: &str, dp: bool) -> Option<Value> {
    let t = &pt.table;
    if let Some(axis) = t.axes.iter().find(|a| a.name == column) {
        let codes: Vec<&str> = axis.cells.iter().map(|c| c.code.as_str()).collect();
        return Some(json!({ "required": true, "enum": codes }));
    }
    match column {
        "measure" => {
            let names: Vec<String> = t
                .measures
                .iter()
                .map(crate::config::plan::Measure::name)
                .collect();
            Some(json!({ "required": true, "enum": names }))
        }
        "status" | "share_numerator_status" | "share_denominator_status" => {
            let statuses: Vec<&str> = CellStatus::used_in(dp).iter().map(|s| s.as_str()).collect();
            Some(json!({ "required": true, "enum": statuses }))
        }
        "value" | "moe95" | "share" => Some(json!({ "minimum": 0 })),
        c if frames::PERIOD_COLUMNS.contains(&c) && t.period.is_some() => {
            Some(json!({ "required": true }))
        }
        _ => None,
    }
}

/// A Data Package name: lower case letters, digits and `-_.` only.
fn package_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}
