#!/usr/bin/env bash
# Builds the Debian packages and checks them (run by CI after test.sh):
#   1. `cpack -G DEB` in build-deb/ (tests and benchmarks off), or in
#      $KRING_PACKAGE_BUILD_DIR: kring-node, kring-coordinator and kring;
#   2. lintian on each .deb: no errors (warnings are listed);
#   3. `systemd-analyze security --offline=true` on each unit: exposure at
#      most 2.0;
#   4. on a machine where this runs as root and systemd is not PID 1 (a CI
#      container): dpkg -i the three packages; `systemd-analyze verify` on
#      the installed units; set up a coordinator (dev CA) and an enrolled
#      school as docs/install.md says; run each unit's ExecStartPre and
#      ExecStart command lines as the unit's user with the unit's
#      credentials; wait until `kring-node doctor` says all is OK (the node
#      is connected over TLS); reinstall (upgrade path) and check the data
#      is untouched; purge, and check purge left only the data; clean up.
# With systemd as PID 1, or not root, step 4 is skipped (said so): this
# script never starts units on a real system.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
# build-deb/ (tests and benchmarks off) by default; CI passes the build/
# that deploy/test.sh has just built, so nothing is built twice.
out=${KRING_PACKAGE_BUILD_DIR:-build-deb}

step() { printf '\n== package-test: %s ==\n' "$*"; }

step "1. cpack -G DEB"
./deploy/install-deps.sh
if [[ ! -f "$out/CMakeCache.txt" ]]; then
  cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKRING_BUILD_TESTS=OFF -DKRING_BUILD_BENCH=OFF >/dev/null
fi
# cpack builds every target of "$out" first (on one core): build them here.
cmake --build "$out" --parallel "$(nproc)"
rm -f "$out"/*.deb
(cd "$out" && cpack -G DEB >/dev/null)
mapfile -t debs < <(ls "$out"/kring-node_*.deb "$out"/kring-coordinator_*.deb \
  "$out"/kring_*.deb)
for deb in "${debs[@]}"; do
  echo "$deb: $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)," \
    "Depends: $(dpkg-deb -f "$deb" Depends)"
done
[[ ${#debs[@]} -eq 3 ]] || { echo "expected 3 packages" >&2; exit 1; }

step "2. lintian"
for deb in "${debs[@]}"; do
  report=$(lintian --tag-display-limit 0 "$deb" 2>/dev/null || true)
  echo "$(basename "$deb"): $(grep -c '^E:' <<<"$report" || true) errors," \
    "$(grep -c '^W:' <<<"$report" || true) warnings"
  grep -E '^(E|W):' <<<"$report" | sed 's/^/  /' || true
  if grep -q '^E:' <<<"$report"; then
    echo "lintian reports errors for $deb" >&2
    exit 1
  fi
done

step "3. systemd-analyze security --offline=true"
for unit in deploy/systemd/*.service; do
  line=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1 |
    grep 'Overall exposure level')
  score=$(sed -E 's/.*: ([0-9.]+).*/\1/' <<<"$line")
  echo "$(basename "$unit"): $score"
  awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
    { echo "$unit rates $score, above 2.0" >&2; exit 1; }
done

pid1=$(cat /proc/1/comm)
if [[ $(id -u) -ne 0 || "$pid1" == systemd ]]; then
  step "4. skipped: installing needs root on a machine without systemd as PID 1 (uid $(id -u), PID 1 is $pid1)"
  exit 0
fi

step "4. dpkg -i into this machine (root, PID 1 is $pid1)"
for pkg in kring-node kring-coordinator kring; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
    echo "$pkg is installed here already; not touching it" >&2
    exit 1
  fi
done
work=$(mktemp -d /tmp/kring-package-test-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  dpkg --purge kring-node kring-coordinator kring >/dev/null 2>&1 || true
  rm -rf /var/lib/kring-node /var/lib/kring-coordinator /etc/kring "$work"
  for user in kring-node kring-coordinator; do
    if getent passwd "$user" >/dev/null; then deluser --system --quiet "$user" || true; fi
  done
}
trap cleanup EXIT
fail() { echo "package-test: $*" >&2; exit 1; }

dpkg -i "${debs[@]}"
for user in kring-node kring-coordinator; do
  getent passwd "$user" >/dev/null || fail "postinst made no user $user"
  [[ $(stat -c '%U %a' /var/lib/$user) == "$user 700" ]] ||
    fail "/var/lib/$user is not $user's with mode 0700"
done
[[ -f /etc/kring/coordinator.toml ]] || fail "no /etc/kring/coordinator.toml"
grep -qx /etc/kring/coordinator.toml /var/lib/dpkg/info/kring-coordinator.conffiles ||
  fail "coordinator.toml is not a conffile"

echo "-- systemctl enable (offline: only the links)"
systemctl enable kring-node.service kring-coordinator.service 2>&1 | sed 's/^/   /'
[[ -L /etc/systemd/system/multi-user.target.wants/kring-node.service ]] ||
  fail "systemctl enable made no link"

echo "-- systemd-analyze verify (installed units)"
systemd-analyze verify /lib/systemd/system/kring-node.service \
  /lib/systemd/system/kring-coordinator.service

# Runs `ExecStartPre` or `ExecStart` of UNIT as the unit's user with its
# Environment= and a credentials directory CRED standing in for
# LoadCredential= (%d). Prints the command line it runs.
unit_command() {
  local unit=/lib/systemd/system/$1.service key=$2 cred=$3
  sed -n "s/^$key=//p" "$unit" | sed "s|%d|$cred|g"
}
unit_env() { sed -n 's/^Environment=//p' "/lib/systemd/system/$1.service"; }
unit_user() { sed -n 's/^User=//p' "/lib/systemd/system/$1.service"; }
# LoadCredential=NAME:PATH copied into CRED, readable by the unit's user only.
load_credentials() {
  local unit=$1 cred=$2 user
  user=$(unit_user "$unit")
  install -d -o "$user" -m 0500 "$cred"
  sed -n 's/^LoadCredential=//p' "/lib/systemd/system/$unit.service" |
    while IFS=: read -r name path; do
      install -o "$user" -m 0400 "$path" "$cred/$name"
    done
}
as_unit() {  # as_unit UNIT CRED ExecStartPre|ExecStart [&]
  local unit=$1 cred=$2 key=$3 cmd env
  read -ra cmd <<<"$(unit_command "$unit" "$key" "$cred")"
  mapfile -t env < <(unit_env "$unit")
  echo "   as $(unit_user "$unit"): ${cmd[*]}"
  # setpriv execs the command itself, so a background as_unit's $! is
  # the service's own pid.
  exec setpriv --reuid="$(unit_user "$unit")" --regid="$(unit_user "$unit")" \
    --init-groups --no-new-privs --bounding-set=-all \
    env -i PATH=/usr/bin:/bin CREDENTIALS_DIRECTORY="$cred" "${env[@]}" \
    "${cmd[@]}"
}

echo "-- the coordinator: dev CA, init, an approver, a free port"
./deploy/dev-ca.sh "$work/pki" >/dev/null
install -m 0644 "$work/pki/server.pem" /etc/kring/coordinator-tls.pem
install -m 0644 "$work/pki/ca.pem" /etc/kring/ca.pem
install -m 0600 "$work/pki/server.key" /etc/kring/private/coordinator-tls.key
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/^listen = .*/listen = \"127.0.0.1:$port\"/" /etc/kring/coordinator.toml
runuser -u kring-coordinator -- kring-coordinator init \
  --data-dir /var/lib/kring-coordinator
kring keygen --out "$work/board.key" >/dev/null
chmod 0644 "$work/board.key.pub"
chmod 0755 "$work"
runuser -u kring-coordinator -- kring-coordinator add-user \
  --data-dir /var/lib/kring-coordinator --id board --role approver \
  --public-key "$work/board.key.pub"
load_credentials kring-coordinator "$work/cred-coordinator"
(as_unit kring-coordinator "$work/cred-coordinator" ExecStartPre)
as_unit kring-coordinator "$work/cred-coordinator" ExecStart \
  >"$work/coordinator.log" 2>&1 &
pids+=($!)

echo "-- the school: init (root, key in /etc/kring/private), import, enroll"
kring-node init --data-dir /var/lib/kring-node \
  --key-file /etc/kring/private/node-store.key >/dev/null
chown -R kring-node:kring-node /var/lib/kring-node
chown kring-node:kring-node /etc/kring/private/node-store.key
node=(runuser -u kring-node -- kring-node)
common=(--data-dir /var/lib/kring-node --key-file /etc/kring/private/node-store.key)
"${node[@]}" synth --rows 30 --seed 1 --out /var/lib/kring-node/synth.csv >/dev/null 2>&1
"${node[@]}" import /var/lib/kring-node/synth.csv "${common[@]}" >/dev/null
for _ in $(seq 100); do
  grep -q "serving on port" "$work/coordinator.log" && break
  sleep 0.2
done
code=$(runuser -u kring-coordinator -- kring-coordinator enroll-code \
  --data-dir /var/lib/kring-coordinator --brin 01AB --name "De Regenboog" \
  --municipality GM0344 2>/dev/null)
"${node[@]}" enroll "${common[@]}" --coordinator "localhost:$port" \
  --ca /etc/kring/ca.pem --code "$code" --approver-key "$work/board.key.pub" \
  >/dev/null
load_credentials kring-node "$work/cred-node"
(as_unit kring-node "$work/cred-node" ExecStartPre)
as_unit kring-node "$work/cred-node" ExecStart >"$work/node.log" 2>&1 &
pids+=($!)

echo "-- kring-node doctor until everything is OK (30 s at most)"
ok=0
for _ in $(seq 30); do
  if "${node[@]}" doctor "${common[@]}" >"$work/doctor.txt" 2>&1; then
    ok=1
    break
  fi
  sleep 1
done
sed 's/^/   /' "$work/doctor.txt"
[[ $ok -eq 1 ]] || { cat "$work/coordinator.log" "$work/node.log"; fail "doctor never said all OK"; }
grep -q "kring-node run is connected" "$work/doctor.txt" || fail "not connected"

echo "-- stop; upgrade to release 2 of the packages: data and the edited conffile untouched"
for p in "${pids[@]}"; do kill "$p"; done
wait 2>/dev/null || true
pids=()
(cd "$src/$out" && cpack -G DEB -D CPACK_DEBIAN_PACKAGE_RELEASE=2 \
  -B "$work/upgrade" >/dev/null)
before=$(cd /var/lib && find kring-node kring-coordinator -type f -exec sha256sum {} + | sort)
dpkg -i "$work"/upgrade/*.deb >/dev/null
after=$(cd /var/lib && find kring-node kring-coordinator -type f -exec sha256sum {} + | sort)
[[ "$before" == "$after" ]] || fail "the upgrade changed the state directories"
for pkg in kring-node kring-coordinator kring; do
  version=$(dpkg-query -W -f='${Version}' "$pkg")
  [[ $version == *-2 ]] || fail "$pkg is at $version after the upgrade"
done
grep -q "^listen = \"127.0.0.1:$port\"" /etc/kring/coordinator.toml ||
  fail "the upgrade replaced the edited /etc/kring/coordinator.toml"
"${node[@]}" check-config "${common[@]}" >/dev/null || fail "check-config after the upgrade"
(as_unit kring-coordinator "$work/cred-coordinator" ExecStartPre) >/dev/null ||
  fail "the coordinator's ExecStartPre fails after the upgrade"
echo "upgraded to $(dpkg-query -W -f='${Version}' kring-node); state unchanged"

echo "-- purge: only what the packages made goes"
dpkg --purge kring-node kring-coordinator kring >/dev/null
[[ ! -e /usr/bin/kring-node && ! -e /etc/kring/coordinator.toml ]] ||
  fail "purge left package files"
[[ -f /var/lib/kring-node/store.db || -n "$(ls -A /var/lib/kring-node)" ]] ||
  fail "purge removed the school's data"
[[ -f /etc/kring/private/node-store.key ]] || fail "purge removed the store key"
[[ ! -e /etc/systemd/system/multi-user.target.wants/kring-node.service ]] ||
  fail "purge left the link of systemctl enable"
echo "purge kept /var/lib/kring-node ($(ls /var/lib/kring-node | wc -l) files)" \
  "and the keys in /etc/kring/private, as it should; removing them now"
step "all package checks passed"
