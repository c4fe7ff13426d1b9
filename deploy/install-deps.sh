#!/usr/bin/env bash
# Installs every build and test dependency of kring from Debian 12 packages.
# Idempotent and non-interactive: runs `apt-get update` and `apt-get install`
# only when a package is missing. Works as root and through sudo.
set -euo pipefail

PACKAGES=(
  build-essential
  cmake
  pkg-config
  clang-format
  clang-14
  libclang-rt-14-dev
  llvm-14
  libsodium-dev
  libprotobuf-dev
  protobuf-compiler
  libgrpc++-dev
  protobuf-compiler-grpc
  libabsl-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libsqlite3-dev
  libsqlitecpp-dev
  libpq-dev
  postgresql-15
  libcli11-dev
  nlohmann-json3-dev
  libspdlog-dev
  libyaml-cpp-dev
  libcsv-dev
  libzip-dev
  libpugixml-dev
  libeigen3-dev
  libboost-dev
  openssl
  sqlite3
  universal-ctags
  libsystemd-dev
  lintian
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root or install sudo" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
