#!/usr/bin/env bash
# End-to-end benchmark: generate a Kaohsiung-shaped export of N rows (default 10 000 000), then time
# `privstat run` on it and report wall time and peak memory beside the CSV's size.
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
  --source "contacts=$work/contacts.csv" --out "$work/out" > "$work/stdout"
read -r seconds peak_kib < "$work/time"
cat "$work/stdout"
echo "rows=$rows csv_mib=$((csv_bytes / 1048576)) wall_s=$seconds peak_rss_mib=$((peak_kib / 1024))"
