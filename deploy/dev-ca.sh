#!/usr/bin/env bash
# Makes a development CA and a TLS server certificate for kring-coordinator
# with the openssl command-line tool. For development, demos and tests: a
# real deployment uses certificates from the organisation's own CA or ACME.
#
#   deploy/dev-ca.sh [--force] DIR [HOSTNAME...]
#
# Writes into DIR:
#   ca.pem       the CA certificate: clients (kring --ca) and nodes (tls_ca)
#                trust it
#   ca.key       the CA's private key (0600); keep it, or delete it once
#                the server certificate is made
#   server.pem   the coordinator's certificate, signed by the CA, for
#                localhost, 127.0.0.1, ::1 and every HOSTNAME given
#                (names, or IPv4/IPv6 addresses)
#   server.key   the coordinator's private key (0600)
# Refuses to overwrite any of them unless --force is given (which makes a
# new CA too, so clients then need the new ca.pem).
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: deploy/dev-ca.sh [--force] DIR [HOSTNAME...]
Makes a development CA (DIR/ca.pem, DIR/ca.key) and a server certificate
for kring-coordinator (DIR/server.pem, DIR/server.key) valid for localhost,
127.0.0.1, ::1 and each HOSTNAME (a DNS name or an IP address).
EOF
  exit 2
}

force=0
args=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    -h | --help) usage ;;
    -*) echo "dev-ca.sh: unknown option $a" >&2; usage ;;
    *) args+=("$a") ;;
  esac
done
[[ ${#args[@]} -ge 1 ]] || usage
dir=${args[0]}
hosts=("${args[@]:1}")

if ! command -v openssl >/dev/null 2>&1; then
  echo "dev-ca.sh: the openssl command is missing (Debian: apt-get install openssl)" >&2
  exit 1
fi

# Subject alternative names: the loopback names always, then the hosts.
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for h in "${hosts[@]}"; do
  if [[ $h =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || ( $h == *:* && $h =~ ^[0-9A-Fa-f:.]+$ ) ]]; then
    san+=",IP:$h"
  elif [[ $h =~ ^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$ ]]; then
    san+=",DNS:$h"
  else
    echo "dev-ca.sh: '$h' is neither a host name nor an IP address" >&2
    exit 2
  fi
done
cn=${hosts[0]:-localhost}

files=(ca.pem ca.key server.pem server.key)
if [[ $force -eq 0 ]]; then
  existing=()
  for f in "${files[@]}"; do
    [[ -e $dir/$f ]] && existing+=("$dir/$f")
  done
  if [[ ${#existing[@]} -gt 0 ]]; then
    echo "dev-ca.sh: ${existing[*]} already exist(s); nothing was changed." >&2
    echo "Use --force to replace them with a new CA and certificate." >&2
    exit 1
  fi
fi

mkdir -p "$dir"
# Everything is made in a private temporary directory next to the result
# and moved into place only when all of it succeeded.
work=$(mktemp -d "$dir/.dev-ca.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 077

cat >"$work/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
O = kring development
CN = kring development CA
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

cat >"$work/server.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
O = kring development
CN = $cn
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

openssl_quiet() {
  local out
  if ! out=$(openssl "$@" 2>&1); then
    echo "dev-ca.sh: openssl $1 failed:" >&2
    echo "$out" >&2
    exit 1
  fi
}

serial() { echo "0x$(openssl rand -hex 16)"; }

openssl_quiet req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 3650 -sha256 \
  -config "$work/ca.cnf" -set_serial "$(serial)"
openssl_quiet req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$work/server.key" -out "$work/server.csr" -config "$work/server.cnf"
openssl_quiet x509 -req -in "$work/server.csr" -CA "$work/ca.pem" \
  -CAkey "$work/ca.key" -set_serial "$(serial)" -days 825 -sha256 \
  -extfile "$work/server.cnf" -extensions server_ext -out "$work/server.pem"
openssl_quiet verify -CAfile "$work/ca.pem" "$work/server.pem"

chmod 0600 "$work/ca.key" "$work/server.key"
chmod 0644 "$work/ca.pem" "$work/server.pem"
for f in "${files[@]}"; do
  mv -f "$work/$f" "$dir/$f"
done

fingerprint=$(openssl x509 -in "$dir/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
cat <<EOF
Made a development CA and a coordinator certificate in $dir:
  $dir/ca.pem       CA certificate (give it to clients and nodes)
  $dir/ca.key       CA private key (0600; keep it private)
  $dir/server.pem   coordinator certificate for ${san//,/, }
  $dir/server.key   coordinator private key (0600)
CA SHA-256 fingerprint: $fingerprint

Use them:
  kring-coordinator serve --tls-cert $dir/server.pem --tls-key $dir/server.key
  kring --ca $dir/ca.pem ...          (or: export KRING_CA=$dir/ca.pem)
  node config:  tls_ca: $dir/ca.pem
Clients must use one of the certificate's names in the address, e.g.
--coordinator localhost:7443 or --coordinator 127.0.0.1:7443.
EOF
