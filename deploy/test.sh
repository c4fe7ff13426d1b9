#!/usr/bin/env bash
# The README's test command: installs what is missing, builds into build/,
# and runs every test suite with ctest. Extra arguments go to ctest
# (e.g. `./deploy/test.sh -L crypto`).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/build.sh
cd build
ctest --output-on-failure --parallel "$(nproc)" "$@"
