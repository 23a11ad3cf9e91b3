//! Neighbouring exports of each seed pipeline, compared against the declared sensitivity and, with
//! the noise off, in everything but their values.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Context, SEEDS, Seed, load, prepare};
use crate::config::Plan;
use crate::dp::Prepared;
use crate::dp::mechanism::NOISE_OFF;

/// The export as a header and rows of fields (the fixtures quote nothing).
struct Export {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    bom: bool,
    big5: bool,
}

impl Export {
    fn read(path: &Path, big5: bool) -> Self {
        let bytes = std::fs::read(path).expect("fixture");
        let text = if big5 {
            encoding_rs::BIG5.decode(&bytes).0.into_owned()
        } else {
            String::from_utf8(bytes).expect("UTF-8 fixture")
        };
        let bom = text.starts_with('\u{feff}');
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        let split = |l: &str| l.split(',').map(str::to_owned).collect::<Vec<_>>();
        let header = split(lines.next().expect("header"));
        let rows = lines.filter(|l| !l.is_empty()).map(split).collect();
        Self {
            header,
            rows,
            bom,
            big5,
        }
    }

    fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .expect("column in fixture")
    }

    fn write(&self, path: &Path) {
        let mut text = String::from(if self.bom { "\u{feff}" } else { "" });
        for row in std::iter::once(&self.header).chain(&self.rows) {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        let bytes = if self.big5 {
            let (bytes, _, unmappable) = encoding_rs::BIG5.encode(&text);
            assert!(!unmappable, "the Big5 fixture round-trips");
            bytes.into_owned()
        } else {
            text.into_bytes()
        };
        #[allow(clippy::disallowed_methods, reason = "a test's input, not a release")]
        std::fs::write(path, bytes).expect("writes");
    }
}

/// Every bounded table measure of `a` differs from `b`'s by at most its declared sensitivity, and
/// so does each count of what bounding removed.
fn within_sensitivity(a: &Prepared, b: &Prepared, what: &str) {
    for ((ta, tb), tp) in a.tables.iter().zip(&b.tables).zip(&a.plan.tables) {
        let (Some(ra), Some(rb)) = (&ta.bounding, &tb.bounding) else {
            panic!("{what}: a DP table without its bounding report")
        };
        assert_eq!(
            tp.bounding_loss.len(),
            2,
            "{what}: the seeds spend on bounding loss"
        );
        for (mp, (x, y)) in tp.bounding_loss.iter().zip([
            (ra.persons_cut, rb.persons_cut),
            (ra.records_removed_capped, rb.records_removed_capped),
        ]) {
            let moved = i64::try_from(x.abs_diff(y)).unwrap_or(i64::MAX);
            assert!(
                moved <= mp.sensitivity.l1,
                "{what}: {}.{} moved by {moved}; declared {:?}",
                ta.name,
                mp.measure,
                mp.sensitivity
            );
        }
        for (m, mp) in tp.measures.iter().enumerate() {
            let (l1, l2) = ta.values[m]
                .iter()
                .zip(&tb.values[m])
                .map(|(x, y)| (x - y).abs())
                .fold((0i64, 0i64), |(l1, l2), d| (l1 + d, l2 + d * d));
            assert!(
                l1 <= mp.sensitivity.l1 && l2 <= mp.sensitivity.l2_squared,
                "{what}: {}.{} moved by L1 {l1}, L2² {l2}; declared {:?}",
                ta.name,
                mp.measure,
                mp.sensitivity
            );
        }
    }
}

/// Publishes `prepared` with the noise switched off into `out`, and returns every published file
/// with what may depend on the data through values taken out.
fn publish_without_noise(
    plan: &Plan,
    prepared: Prepared,
    analysis: &Context,
) -> BTreeMap<String, String> {
    NOISE_OFF.with(|off| off.set(true));
    let (protected, report) = prepared.release(plan, None).expect("releases");
    NOISE_OFF.with(|off| off.set(false));
    let published = crate::publish::write(&crate::publish::ReleaseInput {
        plan,
        protected: &protected,
        dp: Some(&report),
        sources: &analysis.sources,
        quarantine: &analysis.quarantine,
        pseudonyms: &analysis.pseudonyms,
        microdata: &[],
        force: true,
    })
    .expect("publishes");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&published.release_dir).expect("release dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("parquet") => continue, // the same columns as the CSV
            // The report is rendered from the release's other files alone (the rebuild below
            // proves it), so it shows nothing about the data that they do not.
            Some("html") => {
                let page = std::fs::read_to_string(&path).expect("UTF-8");
                let rebuilt = crate::report::render(&published.release_dir).expect("renders");
                assert!(
                    page == rebuilt,
                    "report.html is not a function of the release"
                );
                continue;
            }
            Some("json") => {
                let mut json: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).expect("reads")).expect("JSON");
                strip_value_dependent(&mut json);
                serde_json::to_string_pretty(&json).expect("JSON")
            }
            _ => without_values(&std::fs::read_to_string(&path).expect("UTF-8")),
        };
        files.insert(name, text);
    }
    files
}

/// The manifest without its creation time and what depends on the values (file hashes and sizes,
/// cells by status, where noise dominates).
fn strip_value_dependent(json: &mut serde_json::Value) {
    if let Some(o) = json.as_object_mut() {
        o.remove("created_at");
        o.remove("files");
    }
    if let Some(estimates) = json
        .pointer_mut("/protection/dp/bounding_loss")
        .and_then(|b| b.as_array_mut())
    {
        for e in estimates.iter_mut().filter_map(|e| e.as_object_mut()) {
            e.remove("persons_cut");
            e.remove("records_removed");
        }
    }
    if let Some(w) = json
        .pointer_mut("/protection/warnings")
        .and_then(|w| w.as_array_mut())
    {
        w.retain(|w| !w.as_str().is_some_and(|w| w.contains("noise dominates")));
    }
    if let Some(tables) = json.get_mut("tables").and_then(|t| t.as_array_mut()) {
        for t in tables {
            if let Some(o) = t.as_object_mut() {
                o.remove("files");
                o.remove("cells_by_status");
            }
        }
    }
}

/// The fields of one CSV line, quotes kept (fields hold no line breaks here).
fn fields(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, ch) in line.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&line[start..]);
    out
}

/// A CSV without its `value`, `status` and share columns (values and what follows from them).
fn without_values(csv: &str) -> String {
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    let Some(header) = lines.next() else {
        return String::new();
    };
    let drop: Vec<bool> = fields(header)
        .iter()
        .map(|n| ["value", "status"].contains(n) || n.starts_with("share"))
        .collect();
    std::iter::once(header)
        .chain(lines)
        .map(|l| {
            let kept: Vec<&str> = fields(l)
                .into_iter()
                .zip(&drop)
                .filter(|(_, d)| !**d)
                .map(|(f, _)| f)
                .collect();
            kept.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn neighbours_of(seed: &Seed) {
    let dir = tempfile::tempdir().expect("tempdir");
    let base_plan = load(seed, None, &dir.path().join("base"));
    let export = Export::read(&base_plan.sources[0].path, seed.big5);
    let (id, moved) = (export.column(seed.id), export.column(seed.moved));
    // A person with several records, so that every neighbour changes something.
    let count = |v: &str| export.rows.iter().filter(|r| r[id] == v).count();
    let person = export
        .rows
        .iter()
        .map(|r| r[id].clone())
        .find(|v| !v.trim().is_empty() && count(v) >= 3)
        .expect("a person with three records");
    let mine = |r: &Vec<String>| r[id] == person;
    let here = export.rows.iter().find(|r| mine(r)).expect("a row")[moved].clone();
    let elsewhere = export
        .rows
        .iter()
        .map(|r| r[moved].clone())
        .find(|v| *v != here)
        .expect("another code");

    let variant = |name: &str, rows: Vec<Vec<String>>| {
        // The same file name as the export's: the manifest names it.
        let folder = dir.path().join(format!("{name}-input"));
        std::fs::create_dir_all(&folder).expect("creates");
        let path = folder.join(base_plan.sources[0].path.file_name().expect("a file"));
        Export {
            header: export.header.clone(),
            rows,
            bom: export.bom,
            big5: export.big5,
        }
        .write(&path);
        load(seed, Some(&path), &dir.path().join(name))
    };
    let without = variant(
        "without",
        export.rows.iter().filter(|r| !mine(r)).cloned().collect(),
    );
    let mut more = export.rows.clone();
    more.push(export.rows.iter().find(|r| mine(r)).cloned().expect("row"));
    let with_record = variant("record", more);
    let moved_rows = export
        .rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r[id] == person {
                r[moved].clone_from(&elsewhere);
            }
            r
        })
        .collect();
    let moved = variant("moved", moved_rows);

    let (base, base_analysis) = prepare(&base_plan);
    let (minus, minus_analysis) = prepare(&without);
    let (plus, plus_analysis) = prepare(&with_record);
    let (elsewhere, elsewhere_analysis) = prepare(&moved);
    for (other, what) in [
        (&base, "D vs D − p"),
        (&plus, "D + record vs D − p"),
        (&elsewhere, "D with p moved vs D − p"),
    ] {
        within_sensitivity(other, &minus, &format!("{}: {what}", seed.pipeline));
    }
    // The plans OpenDP was given are the same: nothing in them depends on the data.
    let plan_json = |p: &Prepared| serde_json::to_string(&p.plan).expect("JSON");
    for other in [&minus, &plus, &elsewhere] {
        assert_eq!(plan_json(&base), plan_json(other), "{}", seed.pipeline);
    }

    let files = publish_without_noise(&base_plan, base, &base_analysis);
    for (plan, prepared, analysis, what) in [
        (&without, minus, &minus_analysis, "D − p"),
        (&with_record, plus, &plus_analysis, "D + record"),
        (&moved, elsewhere, &elsewhere_analysis, "D with p moved"),
    ] {
        let other = publish_without_noise(plan, prepared, analysis);
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>()
        );
        for (name, text) in &files {
            let first = text.lines().zip(other[name].lines()).find(|(a, b)| a != b);
            assert!(
                *text == other[name],
                "{}: {name} of {what} differs from D's in more than noisy values: {first:?}",
                seed.pipeline
            );
        }
    }
}

#[test]
fn kaohsiung_neighbours_differ_by_at_most_the_sensitivity_and_only_in_values() {
    neighbours_of(&SEEDS[0]);
}

#[test]
fn keelung_neighbours_differ_by_at_most_the_sensitivity_and_only_in_values() {
    neighbours_of(&SEEDS[1]);
}

#[test]
fn lienchiang_neighbours_differ_by_at_most_the_sensitivity_and_only_in_values() {
    neighbours_of(&SEEDS[2]);
}

#[test]
fn soco_neighbours_differ_by_at_most_the_sensitivity_and_only_in_values() {
    neighbours_of(&SEEDS[3]);
}
