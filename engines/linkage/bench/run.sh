#!/usr/bin/env bash
# Reruns the linkage benchmarks of docs/benchmarks/linkage.md. Heavy: run on an idle machine.
#   bash engines/linkage/bench/run.sh [WORK_DIR]   (default /tmp/linkage-bench)
# Steps: a virtualenv with the peers, FEBRL export, our engine and the peers on FEBRL4/FEBRL3,
# synthetic household data at 200k x 200k (ours and Splink), our engine at 1M x 1M, and the
# Bloom-filter mode beside cleartext. Nothing is written into the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
work="${1:-/tmp/linkage-bench}"
venv="$work/venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
mkdir -p "$work"

[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q recordlinkage splink; }
"$venv/bin/pip" list 2>/dev/null | grep -iE "^(splink|recordlinkage|duckdb|pandas) " > "$work/versions.txt"
cargo build --release -p earlyhelp-linkage --examples
ex="$CARGO_TARGET_DIR/release/examples"
timed() { /usr/bin/time -f "$1 %e s wall, %U s user + %S s sys, %M KB, load $(cut -d" " -f1 /proc/loadavg)" "${@:2}"; }
score() { python3 "$here/evaluate.py" "$1" "$2"; }

"$venv/bin/python" "$here/export_febrl.py" "$work/febrl"
cd "$work/febrl"
timed ours-febrl4 "$ex/link_csv" rec_id ours4.csv febrl4_a.csv febrl4_b.csv && score ours4.csv febrl4_truth.csv
timed ours-febrl4-many "$ex/link_csv" rec_id ours4m.csv febrl4_a.csv febrl4_b.csv --many-to-many && score ours4m.csv febrl4_truth.csv
timed ours-febrl3 "$ex/link_csv" rec_id ours3.csv febrl3.csv && score ours3.csv febrl3_truth.csv
for tool in splink recordlinkage; do
  timed "$tool-febrl4" "$venv/bin/python" "$here/peers.py" $tool febrl $tool-4.csv febrl4_a.csv febrl4_b.csv && score $tool-4.csv febrl4_truth.csv
  timed "$tool-febrl3" "$venv/bin/python" "$here/peers.py" $tool febrl $tool-3.csv febrl3.csv && score $tool-3.csv febrl3_truth.csv
done

cd "$work"
"$ex/generate" 200000 1 200k
timed ours-200k "$ex/link_csv" id 200k/ours.csv 200k/left.csv 200k/right.csv && score 200k/ours.csv 200k/truth.csv
timed ours-200k-many "$ex/link_csv" id 200k/many.csv 200k/left.csv 200k/right.csv --many-to-many && score 200k/many.csv 200k/truth.csv
timed splink-200k "$venv/bin/python" "$here/peers.py" splink synthetic 200k/splink.csv 200k/left.csv 200k/right.csv && score 200k/splink.csv 200k/truth.csv
"$ex/synthetic" 200000 1
"$ex/synthetic" 200000 1 --encoded

# The second, independent generator: seed 101 (profile a) was used in development; 202 (profile a)
# and 303 (profile b) are held out.
"$ex/households" 200000 202 held202
"$ex/households" 200000 303 held303b --profile b
for d in held202 held303b; do
  timed "ours-$d" "$ex/link_csv" rec_id $d/ours.csv $d/left.csv $d/right.csv && score $d/ours.csv $d/truth.csv
  timed "ours-$d-many" "$ex/link_csv" rec_id $d/many.csv $d/left.csv $d/right.csv --many-to-many && score $d/many.csv $d/truth.csv
done
timed splink-held202 "$venv/bin/python" "$here/peers.py" splink households held202/splink.csv held202/left.csv held202/right.csv && score held202/splink.csv held202/truth.csv

"$ex/generate" 1000000 2 1m
timed ours-1m "$ex/link_csv" id 1m/ours.csv 1m/left.csv 1m/right.csv && score 1m/ours.csv 1m/truth.csv
"$ex/households" 1000000 505 households1m
timed ours-households-1m "$ex/link_csv" rec_id households1m/ours.csv households1m/left.csv households1m/right.csv && score households1m/ours.csv households1m/truth.csv
