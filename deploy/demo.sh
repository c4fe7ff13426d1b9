#!/usr/bin/env bash
# The README's main command: installs what is missing, builds into build/,
# and runs the whole of kring on this machine, on loopback, with TLS:
#   1. a development CA and the coordinator's certificate;
#   2. a coordinator with an admin, a researcher, a municipality and an
#      approver (the data board), each with their own key;
#   3. seven schools in three municipalities, each with its own encrypted
#      store of synthetic pupils (exports from Microsoft Forms, LimeSurvey,
#      Qualtrics and the kring template), enrolled and connected;
#   4. a researcher's query and 5. its approval, secure aggregation over the
#      schools and the released, disclosure-checked table;
#   6. a municipality's query about its own schools;
#   7. what one school's audit log says left it.
# Every process it starts is stopped at the end (or on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/build.sh

bin=./build/bin
demo=$(mktemp -d /tmp/kring-demo-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT
step() { printf '\n== %s ==\n' "$*"; }
started=$(date +%s)

step "1. A development CA and a TLS certificate for the coordinator"
./deploy/dev-ca.sh "$demo/pki" >/dev/null
echo "made $demo/pki/ca.pem and the coordinator's server.pem (localhost)"

step "2. The coordinator and its users"
"$bin/kring-coordinator" init --data-dir "$demo/coord"
for user in admin researcher city board; do
  "$bin/kring" keygen --out "$demo/$user.key" >/dev/null
done
"$bin/kring-coordinator" add-user --data-dir "$demo/coord" --id admin \
  --role admin --public-key "$demo/admin.key.pub"
"$bin/kring-coordinator" add-user --data-dir "$demo/coord" --id researcher \
  --role researcher --public-key "$demo/researcher.key.pub"
"$bin/kring-coordinator" add-user --data-dir "$demo/coord" --id utrecht \
  --role municipality --municipality GM0344 \
  --public-key "$demo/city.key.pub"
"$bin/kring-coordinator" add-user --data-dir "$demo/coord" --id data-board \
  --role approver --public-key "$demo/board.key.pub"
"$bin/kring-coordinator" serve --data-dir "$demo/coord" \
  --listen 127.0.0.1:0 --port-file "$demo/port" \
  --tls-cert "$demo/pki/server.pem" --tls-key "$demo/pki/server.key" \
  --decision-seconds 15 --round-seconds 20 >"$demo/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$demo/port" ]] && break; sleep 0.1; done
port=$(cat "$demo/port")
export KRING_COORDINATOR="localhost:$port" KRING_CA="$demo/pki/ca.pem"
echo "the coordinator listens on $KRING_COORDINATOR (TLS)"

step "3. Seven schools in three municipalities"
schools=(
  "01AB|De Regenboog|GM0344|kring"
  "02CD|Het Baken|GM0344|msforms"
  "03EF|Oostwijk College|GM0344|limesurvey"
  "04GH|Maas Lyceum|GM0599|qualtrics"
  "05IJ|Erasmus Scholengemeenschap|GM0599|msforms"
  "06KL|Het Amstel|GM0363|kring"
  "07MN|Noorderlicht|GM0363|limesurvey"
)
i=0
for school in "${schools[@]}"; do
  IFS='|' read -r brin name municipality format <<<"$school"
  i=$((i + 1))
  dir="$demo/school-$brin"
  key="$demo/school-$brin.key"
  "$bin/kring-node" init --data-dir "$dir" --key-file "$key" >/dev/null
  "$bin/kring-node" synth --format "$format" --rows 300 --seed "$i" \
    --out "$demo/$brin.csv" 2>/dev/null
  "$bin/kring-node" import "$demo/$brin.csv" --data-dir "$dir" \
    --key-file "$key" >/dev/null
  code=$("$bin/kring-coordinator" enroll-code --data-dir "$demo/coord" \
    --brin "$brin" --name "$name" --municipality "$municipality" 2>/dev/null)
  "$bin/kring-node" enroll --data-dir "$dir" --key-file "$key" \
    --coordinator "$KRING_COORDINATOR" --ca "$KRING_CA" --code "$code" \
    --approver-key "$demo/board.key.pub" >/dev/null
  "$bin/kring-node" run --data-dir "$dir" --key-file "$key" \
    >"$demo/$brin.log" 2>&1 &
  pids+=($!)
  echo "$name ($brin, $municipality): 300 pupils from a $format export," \
    "encrypted, enrolled, connected"
done
sleep 1
"$bin/kring" --user admin --key "$demo/admin.key" admin nodes

# Runs a query end to end: submit as $1, approve as the data board, wait,
# print the released table.
run_query() {
  local user=$1 key=$2 spec=$3 id
  id=$("$bin/kring" --user "$user" --key "$key" query submit "$spec" --json |
    sed -n 's/^ *"id": "\(q-[0-9a-f]*\)".*/\1/p' | head -n 1)
  "$bin/kring" --user "$user" --key "$key" query show "$id"
  echo
  echo "-- the data board reviews and signs --"
  "$bin/kring" --user data-board --key "$demo/board.key" query approve "$id" \
    --yes
  "$bin/kring" --user "$user" --key "$key" wait "$id" --timeout 120
  echo
  echo "-- released to $user (suppressed cells are marked) --"
  "$bin/kring" --user "$user" --key "$key" results "$id" --format table
}

step "4-5. A researcher's query, approved, computed by secure aggregation"
run_query researcher "$demo/researcher.key" docs/queries/mean-scales-by-track.json

step "6. A municipality's query about its own schools"
cat >"$demo/utrecht.json" <<'EOF'
{
  "statistic": "proportion",
  "measures": ["belong_perception"],
  "cutoff": 2.5,
  "direction": "below",
  "groupBy": ["gender"],
  "population": {"municipalities": ["GM0344"], "waves": ["2025-26"]},
  "purpose": "Share of pupils with a low sense of belonging in Utrecht's schools"
}
EOF
run_query utrecht "$demo/city.key" "$demo/utrecht.json"

step "7. What De Regenboog's audit log says left the school"
"$bin/kring-node" audit --data-dir "$demo/school-01AB" \
  --key-file "$demo/school-01AB.key" | tail -n 12
"$bin/kring-node" audit verify --data-dir "$demo/school-01AB" \
  --key-file "$demo/school-01AB.key"

step "8. What De Regenboog's pupils' privacy budget has left"
"$bin/kring-node" budget --data-dir "$demo/school-01AB" \
  --key-file "$demo/school-01AB.key"

step "Done in $(($(date +%s) - started)) seconds; stopping every process"
