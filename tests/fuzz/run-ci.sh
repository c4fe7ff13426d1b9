#!/usr/bin/env bash
# ctest -L fuzz: runs one harness over its seed corpus, then on RUNS more
# inputs (at most SECONDS). New inputs go to a temporary directory, never
# into the committed corpus. Exits non-zero on a crash or a broken check;
# libFuzzer then prints the input and where it saved it.
# Usage: run-ci.sh HARNESS CORPUS_DIR RUNS SECONDS
set -euo pipefail
harness=$1 corpus=$2 runs=$3 seconds=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$harness" -seed=1 -runs="$runs" -max_total_time="$seconds" -timeout=20 \
  -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="${TMPDIR:-/tmp}/kring-fuzz-" "$work" "$corpus"
