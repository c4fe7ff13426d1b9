#!/usr/bin/env bash
# The README's main command: installs what is missing, builds into build/,
# and runs the demo on embedded defaults:
#   1. a school node: create an encrypted store, write a synthetic
#      Microsoft Forms export, import it (identifying columns dropped),
#      show the counts;
#   2. secure aggregation: 100 simulated schools, 5% dropping out, the exact
#      sum recovered without any school's vector in the clear;
#   3. the crypto benchmark.
# The full network demo (coordinator, nodes, requester) arrives with the
# coordinator issue.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/build.sh

demo=$(mktemp -d /tmp/kring-demo-XXXXXX)
trap 'rm -rf "$demo"' EXIT
node=./build/bin/kring-node

echo
echo "== 1. A school node =="
"$node" init --data-dir "$demo/school" --key-file "$demo/school.key"
"$node" synth --format msforms --rows 400 --seed 7 --out "$demo/export.csv"
"$node" import "$demo/export.csv" --data-dir "$demo/school" \
  --key-file "$demo/school.key"
"$node" status --data-dir "$demo/school" --key-file "$demo/school.key"

echo
echo "== 2. Secure aggregation over 100 simulated schools =="
./build/bin/kring-bench secagg --nodes 100 --dims 1000 --dropout 0.05

echo
echo "== 3. kring-bench crypto =="
./build/bin/kring-bench crypto
