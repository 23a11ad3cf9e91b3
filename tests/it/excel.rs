//! Excel in and out: a workbook export gives the same tables as its CSV twin, and a release's
//! workbook holds, cell for cell, what its CSV files hold.

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{Data, Reader};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use super::support::{TestResult, privstat, publish, read_csv, root, seed_pipeline_text, stderr};

/// The Keelung fixture as a centre's Excel export: a title row above the header, identifiers as
/// text, and half of the service dates stored as Excel dates rather than ROC text.
/// The `path = …` line of the Keelung contacts source in [`seed_pipeline_text`].
fn contacts_path() -> String {
    format!(
        "path = \"{}\"",
        root().join("fixtures/keelung_2025h1.csv").display()
    )
}

fn keelung_workbook(path: &Path) -> TestResult {
    let (header, rows) = read_csv(&root().join("fixtures/keelung_2025h1.csv"))?;
    let mut columns: Vec<(&String, &usize)> = header.iter().collect();
    columns.sort_by_key(|(_, i)| **i);
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("服務紀錄")?;
    sheet.write_string(0, 0, "基隆市國際家庭服務中心 114年上半年服務紀錄")?;
    let day = Format::new().set_num_format("yyyy/mm/dd");
    let mut as_dates = 0;
    for (c, &(name, &i)) in columns.iter().enumerate() {
        let c = u16::try_from(c)?;
        sheet.write_string(1, c, name.as_str())?;
        for (r, row) in rows.iter().enumerate() {
            let r = u32::try_from(r)? + 2;
            let value = &row[i];
            let roc = (name.as_str() == "日期")
                .then(|| {
                    let mut parts = value.split('/').map(str::parse::<u16>);
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) if y <= 200 => {
                            Some((y + 1911, m, d))
                        }
                        _ => None,
                    }
                })
                .flatten();
            // An impossible date (the fixture has some) stays text, as Excel would keep it.
            let date = roc.filter(|_| r % 2 == 0).and_then(|(y, m, d)| {
                ExcelDateTime::from_ymd(y, u8::try_from(m).ok()?, u8::try_from(d).ok()?).ok()
            });
            match date {
                Some(date) => {
                    sheet.write_datetime_with_format(r, c, &date, &day)?;
                    as_dates += 1;
                }
                _ if value.is_empty() => {}
                _ => {
                    sheet.write_string(r, c, value)?;
                }
            }
        }
    }
    assert!(as_dates > 100, "{as_dates} dates written as Excel dates");
    workbook.save(path)?;
    Ok(())
}

/// Every CSV of a release by file name, as bytes.
fn csv_files(release: &Path) -> Result<BTreeMap<String, Vec<u8>>, Box<dyn std::error::Error>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(release)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "csv") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.insert(name, std::fs::read(&path)?);
        }
    }
    Ok(out)
}

#[test]
fn an_excel_export_gives_the_same_tables_as_its_csv_twin() -> TestResult {
    let dir = tempfile::tempdir()?;
    let xlsx = dir.path().join("keelung_2025h1.xlsx");
    keelung_workbook(&xlsx)?;
    let pipeline = dir.path().join("keelung-excel.toml");
    let text = seed_pipeline_text("keelung-services")?.replace(
        &contacts_path(),
        &format!(
            "path = \"{}\"\nsheet = \"服務紀錄\"\nheader_row = 2",
            xlsx.display()
        ),
    );
    assert!(text.contains("header_row = 2"));
    std::fs::write(&pipeline, text)?;

    let csv_out = dir.path().join("csv");
    let run = privstat([
        "run".as_ref(),
        "pipelines/keelung-services.toml".as_ref(),
        "--out".as_ref(),
        csv_out.as_os_str(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let excel_out = dir.path().join("excel");
    let run = privstat([
        "run".as_ref(),
        pipeline.as_os_str(),
        "--out".as_ref(),
        excel_out.as_os_str(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));

    let from_csv = csv_files(&csv_out.join("keelung-services-2025h1"))?;
    let from_excel = csv_files(&excel_out.join("keelung-services-2025h1"))?;
    assert!(from_csv.len() >= 4, "{:?}", from_csv.keys());
    assert_eq!(
        from_csv.keys().collect::<Vec<_>>(),
        from_excel.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &from_csv {
        let (a, b) = (
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&from_excel[name]),
        );
        let differ: Vec<(&str, &str)> = a.lines().zip(b.lines()).filter(|(x, y)| x != y).collect();
        assert!(
            differ.is_empty() && a.lines().count() == b.lines().count(),
            "{name} differs between the CSV and the Excel export: {differ:?}"
        );
    }

    // The quarantine report names spreadsheet rows of the sheet: the header is row 2.
    let quarantine = |out: &Path| -> Result<Vec<u64>, Box<dyn std::error::Error>> {
        let (header, rows) =
            read_csv(&out.join(".operator/keelung-services-2025h1/quarantine.csv"))?;
        Ok(rows
            .iter()
            .filter(|r| r[header["source"]] == "contacts")
            .filter_map(|r| r[header["row"]].parse().ok())
            .collect())
    };
    let csv_rows = quarantine(&csv_out)?;
    let excel_rows = quarantine(&excel_out)?;
    assert!(!csv_rows.is_empty(), "the fixture has messy rows");
    assert_eq!(
        excel_rows,
        csv_rows.iter().map(|r| r + 1).collect::<Vec<_>>(),
        "sheet rows are one below the CSV's (a title row above the header)"
    );
    Ok(())
}

#[test]
fn a_missing_sheet_is_named_with_the_sheets_there_are() -> TestResult {
    let dir = tempfile::tempdir()?;
    let xlsx = dir.path().join("keelung_2025h1.xlsx");
    keelung_workbook(&xlsx)?;
    let text = seed_pipeline_text("keelung-services")?.replace(
        &contacts_path(),
        &format!("path = \"{}\"\nsheet = \"Sheet1\"", xlsx.display()),
    );
    assert!(text.contains("sheet = \"Sheet1\""));
    let pipeline = dir.path().join("keelung-excel.toml");
    std::fs::write(&pipeline, text)?;
    let run = privstat(["run".as_ref(), pipeline.as_os_str()]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no sheet named `Sheet1`") && err.contains("`服務紀錄`"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_release_workbook_holds_cell_for_cell_what_its_csv_files_hold() -> TestResult {
    let dir = tempfile::tempdir()?;
    let release = publish("pipelines/keelung-services.toml", dir.path(), None)?;
    let mut workbook = calamine::open_workbook_auto(release.join("keelung-services-2025h1.xlsx"))?;
    let sheets = workbook.sheet_names();
    let (mut compared, mut numeric_codes_as_text) = (0usize, 0usize);
    for csv in [
        "contacts_by_agency_area",
        "contacts_by_mode_area_district",
        "data-dictionary",
        "codelists",
    ] {
        assert!(
            sheets.iter().any(|s| s == csv),
            "no sheet {csv}: {sheets:?}"
        );
        let range = workbook.worksheet_range(csv)?;
        let (header, rows) = read_csv(&release.join(format!("{csv}.csv")))?;
        let mut names: Vec<(&String, &usize)> = header.iter().collect();
        names.sort_by_key(|(_, i)| **i);
        let mut sheet_rows = range.rows();
        let sheet_header: Vec<String> = sheet_rows
            .next()
            .ok_or("empty sheet")?
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            sheet_header,
            names.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
        );
        let mut n = 0;
        for (row, cells) in rows.iter().zip(sheet_rows) {
            for (value, cell) in row.iter().zip(cells) {
                let shown = match cell {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
                    Data::DateTime(d) => {
                        let (y, m, day, ..) = d.to_ymd_hms_milli();
                        format!("{y:04}-{m:02}-{day:02}")
                    }
                    other => other.to_string(),
                };
                assert_eq!(&shown, value, "{csv}: {cell:?}");
                if let Data::String(s) = cell
                    && !s.is_empty()
                    && s.chars().all(|c| c.is_ascii_digit())
                {
                    numeric_codes_as_text += 1;
                }
                compared += 1;
            }
            n += 1;
        }
        assert_eq!(n, rows.len(), "{csv}: rows");
    }
    assert!(compared > 5000, "{compared} cells compared");
    // District codes such as 10017010 are text cells, as codes with leading zeros must be.
    assert!(numeric_codes_as_text > 100, "{numeric_codes_as_text}");
    Ok(())
}
