# Runs tau-ARGUS Modular (pytauargus 0.6.0, HiGHS) on synthetic tables of the shape privstat
# publishes, and writes for each table its interior counts and tau-ARGUS's suppression patterns
# (the copies in fixtures/tauargus/ came from this script with the default OUT), for
#   cargo run --example suppress_counts -- OUT/NAME.counts.csv OUT/NAME.*.pattern.csv
# which runs privstat's suppression on the same counts and audits every pattern with privstat's LP.
#
#   python3 -m venv /tmp/tauenv && /tmp/tauenv/bin/pip install pytauargus==0.6.0
#   /tmp/tauenv/bin/python benches/tauargus/compare.py [OUT_DIR]   (default /tmp/tau)
#
# A header field `name^1` marks a hierarchical dimension whose codes' first character is the group
# (tau-ARGUS HIERLEVELS "1 1").
import collections, csv, json, os, random, sys, time

from pytauargus import protect

OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tau")
os.makedirs(OUT, exist_ok=True)
# tau-ARGUS writes its logs and scratch files into the working directory.
os.chdir(OUT)


def pick(rng, p):
    u = rng.random()
    for i, w in enumerate(p):
        if u < w:
            return i
        u -= w
    return len(p) - 1


def skewed(n, ratio):
    w = [ratio ** i for i in range(n)]
    s = sum(w)
    return [x / s for x in w]


# name: (records, seed, [(dimension, codes, shares)], hierarchical dimensions)
TABLES = {
    # Matsu/Kinmen-style islands x gender x service (disclosure-control.md's example).
    "islands_6x2x8": (3000, 2024, [
        ("island", [f"i{i}" for i in range(6)], [0.6, 0.24, 0.09, 0.04, 0.02, 0.01]),
        ("gender", ["g0", "g1"], [0.86, 0.14]),
        ("service", [f"s{i}" for i in range(8)], [0.3, 0.22, 0.16, 0.11, 0.08, 0.06, 0.04, 0.03]),
    ], []),
    # Nationality x district, two-way.
    "origin_11x9": (2500, 7, [
        ("origin", [f"n{i:02}" for i in range(11)], skewed(11, 0.62)),
        ("district", [f"d{i}" for i in range(9)], skewed(9, 0.8)),
    ], []),
    # District (in 3 areas) x service x contact mode: a hierarchy.
    "district_hier_9x8x3": (4000, 11, [
        ("district", [f"{a}{i}" for a in "ABC" for i in range(3)], skewed(9, 0.82)),
        ("service", [f"s{i}" for i in range(8)], skewed(8, 0.75)),
        ("mode", ["m0", "m1", "m2"], [0.55, 0.3, 0.15]),
    ], ["district"]),
    # Four dimensions.
    "islands_4x2x6x3": (2500, 5, [
        ("island", [f"i{i}" for i in range(4)], [0.62, 0.24, 0.1, 0.04]),
        ("gender", ["g0", "g1"], [0.8, 0.2]),
        ("service", [f"s{i}" for i in range(6)], skewed(6, 0.7)),
        ("mode", ["m0", "m1", "m2"], [0.5, 0.35, 0.15]),
    ], []),
}

RULES = {"freq3_30": "FREQ(3,30)", "freq3_100": "FREQ(3,100)"}

summary = {}
for name, (n, seed, dims, hier) in TABLES.items():
    rng = random.Random(seed)
    rows = {d: [] for d, _, _ in dims}
    rows["one"] = []
    for _ in range(n):
        for d, codes, shares in dims:
            rows[d].append(codes[pick(rng, shares)])
        rows["one"].append(1.0)
    names = [d for d, _, _ in dims]
    header = [f"{d}^1" if d in hier else d for d in names]
    counts = collections.Counter(zip(*(rows[d] for d in names)))
    with open(f"{OUT}/{name}.counts.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header + ["count"])
        for k, v in sorted(counts.items()):
            w.writerow(list(k) + [v])
    hrc = {d: "1 1" for d in hier} or None
    for tag, rule in RULES.items():
        started = time.time()
        r = protect(rows, names, "one", safety_rules=rule, suppress="MOD(1)",
                    hrc=hrc, workdir=f"{OUT}/work_{name}_{tag}")
        secs = time.time() - started
        tab = r.tables[0]
        status = collections.Counter(tab.status())
        with open(f"{OUT}/{name}.{tag}.pattern.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header + ["status"])
            for row in tab.rows:
                w.writerow(["_T" if row[d] == "Total" else row[d] for d in names] + [row["status"]])
        summary[f"{name}.{tag}"] = {"primary": status["U"], "secondary": status["M"],
                                     "seconds": round(secs, 3), "status": dict(status)}
        print(name, rule, dict(status), f"{secs:.2f}s")
with open(f"{OUT}/summary.json", "w") as f:
    json.dump(summary, f, indent=1)
