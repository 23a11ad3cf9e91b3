//! The DP guarantee and the honesty of the numbers, tested on the four seed DP pipelines in
//! process (`pipelines/*-dp.toml` on their fixtures).
//!
//! - **Neighbours**, read as the definition: for one person `p` of each export, the datasets `D`,
//!   `D − p` (every record of `p` removed), `D + r` (one more record of `p`) and `D ↦ p` (`p` moved
//!   to another district or island). Under add/remove-one-person neighbouring, `D − p` is a
//!   neighbour of each of the others, so every bounded table measure of it differs from theirs by
//!   at most the declared L1 and squared L2 sensitivity; and releases drawn with the noise switched
//!   off (a test-only hook) differ in nothing but their values and what follows from them.
//! - **Margins of error** cover the bounded truth in at least 93 % of (release, cell) pairs for
//!   every level pattern (leaves, each kind of margin, the grand total) of every table measure, over
//!   500 releases, and the mean error of every pattern is within a fifth of its margin of error
//!   (no margin is biased the way a sum of clamped cells is). Patterns covered above 97.5 % (cells
//!   near zero, which non-negativity pins) are printed, not failed.
//! - **Consistency keeps what least squares gains**: every grand total's mean squared error stays
//!   within its least-squares variance, and every release keeps every relation the truth keeps,
//!   the equal persons totals of tables of one population among them.
//!   No margin's mean squared error exceeds its raw measurement's by more than chance allows
//!   (five standard errors of a mean of 500 squares); any above it at all is printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Prepared;
use super::mechanism::NOISE_OFF;
use super::post::{self, noise_variance};
use crate::config::Plan;
use crate::config::plan::{KeySource, Measure, Overrides};
use crate::tabulate::{Level, Table};

/// A seed DP pipeline and how to make neighbours of its export.
struct Seed {
    pipeline: &'static str,
    /// Header of the identifier column.
    id: &'static str,
    /// Header of a column declared one code per person, to move a person along.
    moved: &'static str,
    big5: bool,
}

const SEEDS: [Seed; 4] = [
    Seed {
        pipeline: "kaohsiung-districts-dp.toml",
        id: "身分證號",
        moved: "居住區",
        big5: false,
    },
    Seed {
        pipeline: "keelung-services-dp.toml",
        id: "證號",
        moved: "行政區",
        big5: false,
    },
    Seed {
        pipeline: "lienchiang-half-year-dp.toml",
        id: "身分證號",
        moved: "島別",
        big5: true,
    },
    Seed {
        pipeline: "soco-members-dp.toml",
        id: "Member HKID",
        moved: "District",
        big5: false,
    },
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(seed: &Seed, source: Option<&Path>, out: &Path) -> Plan {
    let file = root().join("pipelines").join(seed.pipeline);
    let mut overrides = Overrides {
        out: Some(out.to_path_buf()),
        ledger: Some(out.join("ledger.jsonl")),
        ..Overrides::default()
    };
    let mut plan = crate::config::load(&file, &overrides).expect("seed pipeline loads");
    if let Some(path) = source {
        overrides.sources = vec![(plan.sources[0].name.clone(), path.to_path_buf())];
        plan = crate::config::load(&file, &overrides).expect("seed pipeline loads");
    }
    // Neighbours are compared under one key: a pipeline without one would draw a fresh key (and so
    // a fresh bounding choice) per run, which is DP too, but not comparable run to run.
    if matches!(plan.pseudonymise.key, KeySource::Ephemeral) {
        plan.pseudonymise.key = KeySource::File(root().join("fixtures/keys/demo-only.key"));
    }
    plan
}

/// What publishing needs besides the protected tables.
struct Context {
    sources: Vec<crate::ingest::SourceReport>,
    quarantine: crate::ingest::Quarantine,
    pseudonyms: crate::pseudonymise::PseudonymMethod,
}

fn prepare(plan: &Plan) -> (Prepared, Context) {
    let analysis = crate::analyse(plan, &crate::Progress::quiet()).expect("analyses");
    let crate::Protection::Dp(prepared) = analysis.protection else {
        panic!("a DP pipeline")
    };
    let context = Context {
        sources: analysis.sources,
        quarantine: analysis.quarantine,
        pseudonyms: analysis.pseudonyms,
    };
    (prepared, context)
}

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

/// Per cell of a table, its level pattern: each axis's level, e.g. `leaf×total×leaf`.
fn patterns(table: &Table) -> Vec<String> {
    (0..table.len())
        .map(|c| {
            table
                .positions(c)
                .iter()
                .zip(&table.axes)
                .map(|(&p, a)| match a.cells[p].level {
                    Level::Leaf => "leaf",
                    Level::Group => "group",
                    Level::Total => "total",
                })
                .collect::<Vec<_>>()
                .join("×")
        })
        .collect()
}

/// What 500 releases of one seed pipeline show, per (table, measure, level pattern).
#[derive(Default)]
struct Tally {
    pairs: usize,
    covered: usize,
    /// Σ (published − truth), Σ moe95, for the bias per pattern.
    error: f64,
    moe: f64,
}

const RELEASES: usize = 500;

/// Per population that two or more tables count persons of, with their grand totals: `(table,
/// measure, cell)` of each of those totals.
fn shared_totals(
    tables: &[Table],
    populations: &[String],
) -> BTreeMap<String, Vec<(usize, usize, usize)>> {
    let mut out: BTreeMap<String, Vec<(usize, usize, usize)>> = BTreeMap::new();
    for (t, (table, population)) in tables.iter().zip(populations).enumerate() {
        let m = table.measures.iter().position(|m| *m == Measure::Persons);
        if let Some((m, c)) = m.zip(super::grand_total(table)) {
            out.entry(population.clone()).or_default().push((t, m, c));
        }
    }
    out.retain(|_, cells| cells.len() > 1);
    out
}

/// The truth of a relation check: what every release must keep.
fn keeps_relations(table: &Table, values: &[Vec<i64>]) {
    let p = table.measures.iter().position(|m| *m == Measure::Persons);
    let t = table
        .measures
        .iter()
        .position(|m| *m == Measure::PersonTimes);
    for v in values {
        assert!(
            v.iter().all(|&x| x >= 0),
            "{}: a negative value",
            table.name
        );
    }
    if let (Some(p), Some(t)) = (p, t) {
        assert!(
            values[p].iter().zip(&values[t]).all(|(p, t)| p <= t),
            "{}: persons above person-times",
            table.name
        );
    }
    for (m, v) in values.iter().enumerate() {
        for c in 0..table.len() {
            let pos = table.positions(c);
            for (a, axis) in table.axes.iter().enumerate() {
                let children: Vec<usize> = match axis.cells[pos[a]].level {
                    Level::Leaf => continue,
                    Level::Group => axis
                        .group_of
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| **g == u32::try_from(pos[a]).ok())
                        .map(|(k, _)| k)
                        .collect(),
                    Level::Total => (0..axis.cells.len() - 1)
                        .filter(|&k| {
                            axis.cells[k].level == Level::Group
                                || (axis.cells[k].level == Level::Leaf
                                    && axis.group_of[k].is_none())
                        })
                        .collect(),
                };
                let kids: Vec<i64> = children
                    .iter()
                    .map(|&k| {
                        let mut q = pos.clone();
                        q[a] = k;
                        v[table.index(&q)]
                    })
                    .collect();
                let sum: i64 = kids.iter().sum();
                if table.additive[m][a] {
                    assert_eq!(v[c], sum, "{}: a margin is not its sum", table.name);
                } else {
                    let most = kids.iter().copied().max().unwrap_or(0);
                    assert!(
                        most <= v[c] && v[c] <= sum,
                        "{}: a non-additive margin outside [largest child, Σ children]",
                        table.name
                    );
                }
            }
        }
    }
}

fn coverage_of(seed: &Seed) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = load(seed, None, dir.path());
    let (prepared, _) = prepare(&plan);
    let mechanism = prepared.plan.mechanism;
    let mut tallies: BTreeMap<(String, String, String), Tally> = BTreeMap::new();
    // Per margin cell: Σ squared error of the published value; per table measure: of the total.
    let mut margin_sq: BTreeMap<(usize, usize, usize), f64> = BTreeMap::new();
    let mut leaves_sum_sq: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let table_patterns: Vec<Vec<String>> = prepared.tables.iter().map(patterns).collect();
    let table_leaves: Vec<Vec<bool>> = prepared
        .tables
        .iter()
        .map(|table| (0..table.len()).map(|c| table.is_leaf(c)).collect())
        .collect();
    let populations = super::populations(&prepared.tables, &plan);
    let totals = shared_totals(&prepared.tables, &populations);
    for cells in totals.values() {
        let truth: Vec<i64> = cells
            .iter()
            .map(|&(t, m, c)| prepared.tables[t].values[m][c])
            .collect();
        assert!(
            truth.windows(2).all(|w| w[0] == w[1]),
            "{}: bounded persons totals of one population differ: {truth:?}",
            seed.pipeline
        );
    }
    for _ in 0..RELEASES {
        let noisy_all = super::draw(&prepared.tables, &prepared.plan).expect("draws");
        let out_all =
            super::post_process_all(&prepared.tables, &noisy_all, &prepared.plan, &populations)
                .expect("post");
        for (population, cells) in &totals {
            let published: Vec<i64> = cells
                .iter()
                .map(|&(t, m, c)| out_all[t][m].values[c])
                .collect();
            assert!(
                published.windows(2).all(|w| w[0] == w[1]),
                "{}: published persons totals of {population} differ: {published:?}",
                seed.pipeline
            );
        }
        for (t, ((table, tp), (noisy, out))) in prepared
            .tables
            .iter()
            .zip(&prepared.plan.tables)
            .zip(noisy_all.iter().zip(out_all))
            .enumerate()
        {
            keeps_relations(
                table,
                &out.iter().map(|o| o.values.clone()).collect::<Vec<_>>(),
            );
            let (pattern, leaf) = (&table_patterns[t], &table_leaves[t]);
            for (m, o) in out.iter().enumerate() {
                let truth = &table.values[m];
                let mut leaf_sum = 0i64;
                let mut leaf_truth = 0i64;
                for c in 0..table.len() {
                    let error = o.values[c] - truth[c];
                    let key = (
                        table.name.clone(),
                        tp.measures[m].measure.clone(),
                        pattern[c].clone(),
                    );
                    let tally = tallies.entry(key).or_default();
                    tally.pairs += 1;
                    tally.covered += usize::from(error.abs() <= o.moe95[c]);
                    #[allow(clippy::cast_precision_loss, reason = "small counts")]
                    {
                        tally.error += error as f64;
                        tally.moe += o.moe95[c] as f64;
                        if !leaf[c] {
                            *margin_sq.entry((t, m, c)).or_default() += (error * error) as f64;
                        }
                    }
                    if leaf[c] {
                        leaf_sum += noisy[m][c];
                        leaf_truth += truth[c];
                    }
                }
                #[allow(clippy::cast_precision_loss, reason = "small counts")]
                {
                    *leaves_sum_sq.entry((t, m)).or_default() +=
                        ((leaf_sum - leaf_truth) * (leaf_sum - leaf_truth)) as f64;
                }
            }
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "test sizes")]
    let n = RELEASES as f64;
    let mut failures = Vec::new();
    for ((table, measure, pattern), tally) in &tallies {
        #[allow(clippy::cast_precision_loss, reason = "test sizes")]
        let rate = tally.covered as f64 / tally.pairs as f64;
        let bias = tally.error / tally.moe.max(1.0);
        let over = if rate > 0.975 {
            " (wider than needed)"
        } else {
            ""
        };
        eprintln!(
            "{} {table}.{measure} {pattern}: coverage {rate:.3}{over} over {} pairs, mean error / \
             moe95 {bias:+.3}",
            seed.pipeline, tally.pairs
        );
        // 93 %, or 3.5 standard errors of a 95 % coverage below it where a pattern has few cells
        // (one cell over 500 releases: 1 %), so that chance fails a run less than once in 4 000.
        #[allow(clippy::cast_precision_loss, reason = "test sizes")]
        let floor = 0.93f64.min(0.95 - 3.5 * (0.95 * 0.05 / tally.pairs as f64).sqrt());
        if rate < floor {
            failures.push(format!("{table}.{measure} {pattern}: coverage {rate:.3}"));
        }
        if bias.abs() > 0.2 {
            failures.push(format!(
                "{table}.{measure} {pattern}: mean error / moe95 {bias:+.3}"
            ));
        }
    }
    // A mean of 500 squared errors has a standard error of √(κ / 500) of its mean, κ the excess
    // of the fourth moment (5 for Laplace noise, 2 for Gaussian): 10 % and 6 %. A margin fails
    // when its error is five of them above its raw measurement's, which chance does not reach over
    // a few hundred margins: this catches gross damage only (Lienchiang's measure groups by
    // agency at 1.36–1.53× before held margins got their band pass it); the paired test in
    // `dp::tests` measures that case precisely.
    let excess = match mechanism {
        crate::config::raw::Mechanism::Laplace => 5.0f64,
        crate::config::raw::Mechanism::Gaussian => 2.0,
    };
    let tolerance = 1.0 + 5.0 * (excess / n).sqrt();
    for (&(t, m, c), &sq) in &margin_sq {
        let raw = noise_variance(mechanism, prepared.plan.tables[t].measures[m].scale);
        if sq / n > raw {
            let text = format!(
                "{}.{} cell {c}: published margin's mean squared error {:.1} above its raw \
                 measurement's {raw:.1}",
                prepared.tables[t].name,
                prepared.plan.tables[t].measures[m].measure,
                sq / n
            );
            eprintln!("{} {text}", seed.pipeline);
            if sq / n > tolerance * raw {
                failures.push(text);
            }
        }
    }
    for (&(t, m), &sq) in &leaves_sum_sq {
        let table = &prepared.tables[t];
        let Some(total) = super::grand_total(table) else {
            continue;
        };
        let published = margin_sq.get(&(t, m, total)).copied().unwrap_or(0.0) / n;
        let scale = prepared.plan.tables[t].measures[m].scale;
        let models = post::axis_models(table, m);
        let h = super::consistency::fit(&vec![0; table.len()], &models).relative_variance[total];
        let least_squares = h * noise_variance(mechanism, scale);
        let measure = &prepared.plan.tables[t].measures[m].measure;
        eprintln!(
            "{} {}.{measure} grand total: mean squared error {published:.1}, least squares \
             {least_squares:.1}, sum of noisy leaves {:.1} ({:.1}× the error)",
            seed.pipeline,
            table.name,
            sq / n,
            (sq / n / published.max(1e-9)).sqrt()
        );
        // The grand total keeps its least-squares precision. A mean square of 500 Laplace errors
        // has a standard error of 10 % (√(5/500)); 35 % is 3.5 of them.
        if published > 1.35 * least_squares {
            failures.push(format!(
                "{}.{measure}: grand total's mean squared error {published:.1} above its least \
                 squares variance {least_squares:.1}",
                table.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}: {failures:#?}", seed.pipeline);
}

#[test]
fn kaohsiung_margins_of_error_never_under_cover_and_totals_keep_their_precision() {
    coverage_of(&SEEDS[0]);
}

#[test]
fn keelung_margins_of_error_never_under_cover_and_totals_keep_their_precision() {
    coverage_of(&SEEDS[1]);
}

#[test]
fn lienchiang_margins_of_error_never_under_cover_and_totals_keep_their_precision() {
    coverage_of(&SEEDS[2]);
}

#[test]
fn soco_margins_of_error_never_under_cover_and_totals_keep_their_precision() {
    coverage_of(&SEEDS[3]);
}
