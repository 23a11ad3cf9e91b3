#!/usr/bin/env bash
# End-to-end benchmark: generate a Kaohsiung-shaped export of N rows (default 10 000 000), then time
# `privstat run` on it and report wall time, peak RSS and peak anonymous memory beside the CSV's
# size. Environment variables pass through (e.g. MIMALLOC_PURGE_DELAY=10, see README).
# Usage: benches/e2e.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-10000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/privstat-target}"
cargo build --release --locked -q
bin="$CARGO_TARGET_DIR/release/privstat"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" synth --profile kaohsiung --rows "$rows" --seed 1 --encoding utf-8-bom --out "$work/contacts.csv"
csv_bytes=$(stat -c %s "$work/contacts.csv")
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" run pipelines/kaohsiung-districts.toml \
  --source "contacts=$work/contacts.csv" --out "$work/out" > "$work/stdout" &
timer=$!
# Peak RSS counts the CSV's pages the reader maps (clean page cache); the anonymous peak is what the
# run itself holds: RssAnon of privstat (the timer's child), sampled every 0.1 s.
anon_peak_kib=0
while kill -0 "$timer" 2>/dev/null; do
  child=$(cat "/proc/$timer/task/$timer/children" 2>/dev/null || true)
  child=${child%% *}
  if [ -n "$child" ]; then
    kib=$(awk '/^RssAnon:/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
    if [ -n "$kib" ] && [ "$kib" -gt "$anon_peak_kib" ]; then anon_peak_kib=$kib; fi
  fi
  sleep 0.1
done
wait "$timer"
read -r seconds peak_kib < "$work/time"
cat "$work/stdout"
echo "rows=$rows csv_mib=$((csv_bytes / 1048576)) wall_s=$seconds peak_rss_mib=$((peak_kib / 1024)) anon_peak_mib=$((anon_peak_kib / 1024))"
