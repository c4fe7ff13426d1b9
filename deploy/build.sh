#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds kring into
# build/ (binaries in build/bin/). Used by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}"
cmake --build build --parallel "$(nproc)"
