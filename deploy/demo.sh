#!/usr/bin/env bash
# The README's main command: installs what is missing, builds into build/,
# and runs the demo on embedded defaults. For now the demo is the crypto
# benchmark; the full network demo arrives with the coordinator and node.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/build.sh
echo "== kring-bench crypto =="
./build/bin/kring-bench crypto
