#!/usr/bin/env bash
# A private CA and a server certificate signed by it, for servers on loopback (SAN 127.0.0.1, ::1,
# localhost): what the tests use for Redis, etcd, PostgreSQL and Kafka over TLS. Kept if already there.
#   make-cert.sh <dir> [client…]   → <dir>/ca.crt, <dir>/server.crt, <dir>/server.key (0600), and for each
#                                    client name <dir>/client-<name>.crt and .key (CN=<name>, clientAuth)
set -euo pipefail
dir="${1:?usage: make-cert.sh <dir> [client…]}"
shift
if ! command -v openssl >/dev/null; then
  label=tls
  . "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
  apt_install openssl
fi
mkdir -p "$dir"
cd "$dir"
if ! { [ -s server.crt ] && [ -s server.key ] && [ -s ca.crt ]; }; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=varstream test CA" \
    -keyout ca.key -out ca.crt >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >ext.cnf
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile ext.cnf \
    -out server.crt >/dev/null 2>&1
  chmod 600 server.key ca.key
  rm -f server.csr ext.cnf ca.srl
fi
for name in "$@"; do
  [ -s "client-$name.crt" ] && [ -s "client-$name.key" ] && continue
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "client-$name.key" -out "client-$name.csr" >/dev/null 2>&1
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"ext-$name.cnf"
  openssl x509 -req -in "client-$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile "ext-$name.cnf" -out "client-$name.crt" >/dev/null 2>&1
  chmod 600 "client-$name.key"
  rm -f "client-$name.csr" "ext-$name.cnf" ca.srl
done
