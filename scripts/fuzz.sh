#!/usr/bin/env bash
# Fuzz the importers and parsers of untrusted input with cargo-fuzz (libFuzzer, nightly Rust).
#   scripts/fuzz.sh                 every target, 10,000,000 runs each
#   scripts/fuzz.sh TARGET [RUNS]   one target
#   FUZZ_SECONDS=300 scripts/fuzz.sh   every target for at most 5 minutes each
# Seeds are in fuzz/corpus/TARGET (kept in the repository); what a run adds goes to
# fuzz/target/corpus/TARGET, and a crash to fuzz/artifacts/TARGET. Safe Rust needs no
# AddressSanitizer, so targets build without one: panics, hangs (10 s) and memory over 2 GB
# still stop a run. Results and numbers: docs/benchmarks/fuzz.md.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal

targets=(services_csv oruk_json readings_csv outcomes_csv linkage_input oruk_query search_query)
[ $# -ge 1 ] && targets=("$1")
runs=${2:-10000000}
seconds=${FUZZ_SECONDS:-0}

# csv-core without comparison tracing: several times the speed of the CSV targets (rustc-wrapper.sh).
export RUSTC_WRAPPER="$PWD/rustc-wrapper.sh"
cargo +nightly fuzz build --sanitizer none -O
failed=()
for target in "${targets[@]}"; do
  work="target/corpus/$target"
  log="target/$target.log"
  mkdir -p "$work" "artifacts/$target"
  echo "== $target: up to $runs runs$([ "$seconds" -gt 0 ] && echo " or $seconds s")"
  if ! cargo +nightly fuzz run --sanitizer none -O "$target" "$work" "corpus/$target" -- \
    -runs="$runs" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="artifacts/$target/" >"$log" 2>&1; then
    failed+=("$target")
    tail -n 40 "$log"
  fi
  grep -E '^(#[0-9]+ +DONE|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' "$log" || true
done
[ ${#failed[@]} -eq 0 ] || { echo "findings in: ${failed[*]} (inputs in fuzz/artifacts)"; exit 1; }
