//! A published table read back: its file into a grid of statuses and values, and its code lists
//! into the shape the attacker's system is built from.

use super::*;

pub(super) fn dictionary_columns(frame: &TextFrame) -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    if let (Some(t), Some(c)) = (frame.column("table"), frame.column("column")) {
        for row in &frame.rows {
            if let (Some(table), Some(column)) = (&row[t], &row[c]) {
                out.entry(table.clone()).or_default().insert(column.clone());
            }
        }
    }
    out
}

/// Reads every file of a table; the first readable one defines the table, the others must agree.
pub(super) fn read_table(
    dir: &Path,
    table: &read::Table,
    dictionary: &HashMap<String, HashSet<String>>,
    codelists: &BTreeMap<String, Vec<read::Code>>,
    report: &mut Report,
) -> Option<(Shape, Grid)> {
    let mut defined: Option<(Shape, Grid, String)> = None;
    let mut files: Vec<&read::File> = table
        .files
        .iter()
        .filter(|f| is_plain_name(&f.name))
        .collect();
    files.sort_by_key(|f| !f.name.ends_with(".csv"));
    if files.is_empty() {
        report.fail(
            Check::Manifest,
            Some("manifest.json"),
            None,
            format!("table `{}` lists no file", table.name),
        );
    }
    for file in files {
        let frame = match TextFrame::read(&dir.join(&file.name)) {
            Ok(f) => f,
            Err(e) => {
                report.fail(
                    Check::Structure,
                    Some(&file.name),
                    None,
                    format!("cannot be read: {e}"),
                );
                continue;
            }
        };
        let known = dictionary.get(&table.name);
        for c in &frame.columns {
            if known.is_none_or(|k| !k.contains(c)) {
                report.fail(
                    Check::Dictionary,
                    Some(&file.name),
                    Some(1),
                    format!("column `{c}` is not in the data dictionary"),
                );
            }
        }
        match &defined {
            None => {
                let Some(shape) = shape_of(table, &frame, codelists, &file.name, report) else {
                    continue;
                };
                let Some(grid) = grid_of(&shape, &frame, &file.name, report) else {
                    continue;
                };
                defined = Some((shape, grid, file.name.clone()));
            }
            Some((shape, grid, first)) => {
                if let Some(other) = grid_of(shape, &frame, &file.name, report)
                    && &other != grid
                {
                    report.fail(
                        Check::Structure,
                        Some(&file.name),
                        None,
                        format!("publishes other values or statuses than {first}"),
                    );
                }
            }
        }
    }
    defined.map(|(s, g, _)| (s, g))
}

/// The table's shape: each dimension's codes present in the file, in code-list order, as a tree.
pub(super) fn shape_of(
    table: &read::Table,
    frame: &TextFrame,
    codelists: &BTreeMap<String, Vec<read::Code>>,
    file: &str,
    report: &mut Report,
) -> Option<Shape> {
    let mut axes = Vec::new();
    for dim in &table.dimensions {
        let Some(col) = frame.column(&dim.name) else {
            report.fail(
                Check::Structure,
                Some(file),
                Some(1),
                format!("no column for dimension `{}`", dim.name),
            );
            return None;
        };
        let Some(list) = codelists.get(&dim.domain) else {
            report.fail(
                Check::Structure,
                Some("codelists.csv"),
                None,
                format!("no codes for dimension `{}`", dim.domain),
            );
            return None;
        };
        let present: HashSet<&str> = frame
            .rows
            .iter()
            .filter_map(|r| r[col].as_deref())
            .collect();
        let unknown = present
            .iter()
            .filter(|c| !list.iter().any(|l| l.code == **c))
            .count();
        if unknown > 0 {
            report.fail(
                Check::Structure,
                Some(file),
                None,
                format!("{unknown} codes of `{}` are not in codelists.csv", dim.name),
            );
            return None;
        }
        let codes: Vec<&read::Code> = list
            .iter()
            .filter(|c| present.contains(c.code.as_str()))
            .collect();
        let position = |code: &str| {
            codes
                .iter()
                .position(|c| c.code == code)
                .map(|p| u32::try_from(p).expect("small axis"))
        };
        let ranks: Vec<Rank> = codes
            .iter()
            .map(|c| match c.level.as_str() {
                "total" => Rank::Total,
                "group" => Rank::Group,
                _ => Rank::Leaf,
            })
            .collect();
        let declared: Vec<Option<u32>> = codes
            .iter()
            .map(|c| c.parent.as_deref().and_then(position))
            .collect();
        axes.push(AxisTree::from_ranks(
            dim.name.clone(),
            codes.iter().map(|c| c.code.clone()).collect(),
            &ranks,
            &declared,
        ));
    }
    let additive = table
        .measures
        .iter()
        .map(|m| {
            table
                .dimensions
                .iter()
                .map(|d| d.additive_measures.contains(m))
                .collect()
        })
        .collect();
    Some(Shape {
        name: table.name.clone(),
        population: table.population.clone(),
        axes,
        measures: table.measures.clone(),
        additive,
    })
}

/// Every cell and measure of the file, checked: present once, a value exactly when published.
pub(super) fn grid_of(
    shape: &Shape,
    frame: &TextFrame,
    file: &str,
    report: &mut Report,
) -> Option<Grid> {
    let mut dims = Vec::new();
    for axis in &shape.axes {
        dims.push(frame.column(&axis.domain)?);
    }
    let columns = ["measure", "value", "status"].map(|c| frame.column(c));
    let [Some(measure), Some(value), Some(status)] = columns else {
        report.fail(
            Check::Structure,
            Some(file),
            Some(1),
            "needs columns `measure`, `value` and `status`".into(),
        );
        return None;
    };
    let index: Vec<HashMap<&str, u32>> = shape
        .axes
        .iter()
        .map(|a| {
            a.codes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), u32::try_from(i).expect("small axis")))
                .collect()
        })
        .collect();
    let mut grid: Grid = vec![vec![None; shape.len()]; shape.measures.len()];
    let mut bad = 0usize;
    for (i, row) in frame.rows.iter().enumerate() {
        let line = Some(i + 2);
        let mut fail = |report: &mut Report, message: String| {
            bad += 1;
            if bad <= LISTED_PER_CHECK {
                report.fail(Check::Structure, Some(file), line, message);
            }
        };
        let positions: Option<Vec<u32>> = dims
            .iter()
            .zip(&index)
            .map(|(&d, idx)| row[d].as_deref().and_then(|c| idx.get(c).copied()))
            .collect();
        let m = row[measure]
            .as_deref()
            .and_then(|m| shape.measures.iter().position(|x| x == m));
        let (Some(positions), Some(m)) = (positions, m) else {
            fail(report, "a code or measure the table does not have".into());
            continue;
        };
        let Some(st) = row[status].as_deref().and_then(CellStatus::parse) else {
            fail(
                report,
                "status is not published, suppressed_primary or suppressed_secondary".into(),
            );
            continue;
        };
        let v = match row[value].as_deref().filter(|v| !v.is_empty()) {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => {
                    fail(report, "value is not a non-negative integer".into());
                    continue;
                }
            },
        };
        if st.is_suppressed() && v.is_some() {
            fail(report, "a suppressed cell carries a value".into());
            continue;
        }
        if !st.is_suppressed() && v.is_none() {
            fail(report, "a published cell has no value".into());
            continue;
        }
        let cell = shape.index(&positions);
        if grid[m][cell].replace((st, v)).is_some() {
            fail(report, "the cell and measure appear twice".into());
        }
    }
    let missing = grid.iter().flatten().filter(|c| c.is_none()).count();
    if missing > 0 {
        report.fail(
            Check::Structure,
            Some(file),
            None,
            format!(
                "{missing} cells of the key domain are missing (every cell must be present, zeros too)"
            ),
        );
    }
    (bad == 0 && missing == 0).then_some(grid)
}
