#!/usr/bin/env bash
# Side-by-side benchmark: privstat against the peer pipelines of ../shared/bench (pandas; polars +
# OpenDP) on the same generated contact exports, runs alternating, each under /usr/bin/time -v.
# Prints per run: wall time, peak RSS and rows/s; then per size the medians and the ratios
# tool/privstat measured in this run. privstat also runs on a Big5 copy and on a Parquet copy, and
# the same job with margins and suppression instead of DP (pipelines/bench-contacts-suppression.toml).
#
#   benches/peers.sh                      # 1 M rows, each tool once
#   SIZES="1000000 10000000" REPEAT=3 benches/peers.sh
#   PEERS="pandas" benches/peers.sh       # one peer only; PEERS="" for privstat alone
#
# privstat runs pipelines/bench-contacts.toml, the peers' job (see its header). Data goes to
# $PRIVSTAT_BENCH_DIR (default ~/.cache/privstat-bench, reused: the generator is deterministic).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="$root/../shared/bench"
SIZES=${SIZES:-1000000}
PEERS=${PEERS-"pandas polars_opendp"}
REPEAT=${REPEAT:-1}
SEED=${SEED:-20211231}
work=${PRIVSTAT_BENCH_DIR:-$HOME/.cache/privstat-bench}
mkdir -p "$work/data" "$work/results"

[[ -x /usr/bin/time ]] || { apt-get install -y -qq time >/dev/null 2>&1 || true; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
PY="$work/.venv/bin/python"
if [[ ! -x $PY ]]; then
  python3 -m venv "$work/.venv"
  "$work/.venv/bin/pip" install -q -r "$shared/requirements.txt"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/privstat-target}"
cargo build --release --locked -q
bin="$CARGO_TARGET_DIR/release/privstat"
key="$root/fixtures/keys/demo-only.key"
chmod 600 "$key" 2>/dev/null || true

label() { local n=$1; if (( n % 1000000 == 0 )); then echo "$((n / 1000000))m"; else echo "$((n / 1000))k"; fi; }

# One measured run: NAME ROWS LOG -- command...; prints a line and appends "name rows wall rss".
measure() {
  local name=$1 rows=$2 log=$3; shift 4
  local load1; load1=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -v "$@" > "$log.out" 2> "$log" || { echo "$name failed, see $log" >&2; tail -5 "$log" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$log")
  printf '%-22s %10s %8.2f %10s %12.0f %6s\n' "$name" "$rows" "$wall" "$rss" "$(awk -v n="$rows" -v w="$wall" 'BEGIN{print n/w}')" "$load1"
  echo "$name $rows $wall $rss" >> "$work/results/runs.txt"
}

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB; privstat $("$bin" --version | cut -d' ' -f2)"
: > "$work/results/runs.txt"
printf '%-22s %10s %8s %10s %12s %6s\n' tool rows wall_s rss_MiB rows/s load1
for n in $SIZES; do
  l=$(label "$n")
  csv="$work/data/cases_$l.csv"
  parquet="$work/data/cases_$l.parquet"
  big5="$work/data/cases_${l}_big5.csv"
  if [[ ! -s $csv ]]; then
    "$PY" "$shared/gen_cases.py" --rows "$n" --seed "$SEED" --out "$csv" --parquet "$parquet" >&2
  fi
  if [[ ! -s $big5 ]]; then
    # Big5 (CP950) copy; the rare character CP950 lacks becomes '?' (in names only).
    "$PY" -c 'import sys; open(sys.argv[2], "wb").write(open(sys.argv[1], encoding="utf-8").read().encode("cp950", "replace"))' "$csv" "$big5"
  fi
  run_privstat() { # NAME FILE [PIPELINE]
    rm -rf "$work/results/privstat_out"
    measure "$1" "$n" "$work/results/$1_$l.log" -- "$bin" run "${3:-pipelines/bench-contacts.toml}" \
      --source "contacts=$2" --out "$work/results/privstat_out" \
      --ledger "$work/results/privstat_out/ledger.jsonl"
  }
  for r in $(seq 1 "$REPEAT"); do
    run_privstat privstat "$csv"
    for peer in $PEERS; do
      measure "$peer" "$n" "$work/results/${peer}_${l}_run$r.log" -- \
        "$PY" "$shared/peer_$peer.py" "$csv" --out-dir "$work/results/${peer}_$l" --key-file "$key"
    done
  done
  run_privstat privstat_big5 "$big5"
  run_privstat privstat_parquet "$parquet"
  # The same job with margins and small-cell suppression (secondary suppression and the LP audit).
  run_privstat privstat_suppression "$csv" pipelines/bench-contacts-suppression.toml
  echo "# $n rows, CSV $(( $(stat -c %s "$csv") / 1048576 )) MiB: medians, and each tool against privstat on CSV"
  "$PY" - "$work/results/runs.txt" "$n" <<'PY'
import statistics, sys
runs = [l.split() for l in open(sys.argv[1])]
rows = sys.argv[2]
by = {}
for name, n, wall, rss in runs:
    if n == rows:
        by.setdefault(name, []).append((float(wall), int(rss)))
base = statistics.median(w for w, _ in by["privstat"])
base_rss = statistics.median(r for _, r in by["privstat"])
for name, v in by.items():
    wall = statistics.median(w for w, _ in v)
    rss = statistics.median(r for _, r in v)
    print(f"  {name:<20} wall {wall:8.2f} s  peak {rss:6.0f} MiB  wall {wall / base:5.2f}x privstat  memory {rss / base_rss:5.2f}x privstat")
PY
done
