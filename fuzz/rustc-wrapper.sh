#!/bin/sh
# RUSTC_WRAPPER for the fuzz build (scripts/fuzz.sh): compiles csv-core without libFuzzer's
# comparison tracing. csv-core builds its parser's transition table for every reader, 13 states
# x 256 bytes through a chain of comparisons: traced, that is tens of thousands of callbacks per
# input and over 80% of a CSV target's time (docs/benchmarks/fuzz.md). The table is the same for
# every input, so it teaches the fuzzer nothing; edge coverage of csv-core stays on. LLVM takes
# the last -sanitizer-coverage-trace-compares, so the flag goes after cargo-fuzz's.
case " $* " in
*" --crate-name csv_core "*) exec "$@" -Cllvm-args=-sanitizer-coverage-trace-compares=false ;;
*) exec "$@" ;;
esac
