#!/usr/bin/env bash
# The README's test command: installs what is missing, builds into build/,
# and runs every test suite with ctest. Extra arguments go to ctest
# (e.g. `./deploy/test.sh -L crypto`). Then (without arguments, or with
# -L fuzz) builds the libFuzzer harnesses with clang into build-fuzz/ and
# runs each for a bounded number of inputs (ctest -L fuzz; tests/fuzz/).
# Without arguments it finally builds the Debian packages from build/ and
# checks them (deploy/package-test.sh: lintian, systemd-analyze, install,
# upgrade, purge).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/build.sh
(cd build && ctest --output-on-failure --parallel "$(nproc)" "$@")
if [[ $# -eq 0 || "$*" == "-L fuzz" ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DKRING_FUZZ=ON
  cmake --build build-fuzz --parallel "$(nproc)"
  (cd build-fuzz && ctest --output-on-failure --parallel "$(nproc)" -L fuzz)
fi
if [[ $# -eq 0 ]]; then
  KRING_PACKAGE_BUILD_DIR=build ./deploy/package-test.sh
fi
