#!/usr/bin/env bash
# Long fuzzing runs, one harness at a time, under nice: for each harness
# named (default: all), fuzz for MINUTES minutes (default 10) from its seed
# corpus. New inputs and crashes go to OUT_DIR (default build-fuzz/fuzz-out),
# never into the committed corpus; add a crash's input to
# tests/fuzz/corpus/<harness>/ with the fix.
# Usage: tests/fuzz/run-long.sh [-m MINUTES] [-o OUT_DIR] [HARNESS...]
# Needs the fuzz build: CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz
#   -DKRING_FUZZ=ON && cmake --build build-fuzz
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=10 out=build-fuzz/fuzz-out
while getopts "m:o:" opt; do
  case $opt in
    m) minutes=$OPTARG ;;
    o) out=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
harnesses=("$@")
if [[ ${#harnesses[@]} -eq 0 ]]; then
  harnesses=(bit_pack csv_import node_config query_spec secagg_node
    secagg_coordinator)
fi
status=0
for h in "${harnesses[@]}"; do
  bin=build-fuzz/fuzz/${h}_fuzz
  [[ -x $bin ]] || { echo "run-long: $bin missing; build build-fuzz first" >&2; exit 2; }
  mkdir -p "$out/$h/corpus" "$out/$h/crashes"
  echo "run-long: $h for $minutes min, log $out/$h/log"
  if ! nice -n 10 "$bin" -max_total_time=$((minutes * 60)) -timeout=20 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$out/$h/crashes/" \
      "$out/$h/corpus" "tests/fuzz/corpus/$h" >"$out/$h/log" 2>&1; then
    echo "run-long: $h FOUND A CRASH; see $out/$h/log and $out/$h/crashes/" >&2
    status=1
  fi
  grep -E "^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss" \
    "$out/$h/log" | sed "s/^/  $h: /" || true
done
exit $status
