#!/usr/bin/env bash
# A private CA and a server certificate signed by it, for servers on loopback (SAN 127.0.0.1, ::1,
# localhost): what the tests use for Redis, etcd and PostgreSQL over TLS. Kept if already there.
#   make-cert.sh <dir>   → <dir>/ca.crt, <dir>/server.crt, <dir>/server.key (0600)
set -euo pipefail
dir="${1:?usage: make-cert.sh <dir>}"
if ! command -v openssl >/dev/null; then
  label=tls
  . "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
  apt_install openssl
fi
mkdir -p "$dir"
cd "$dir"
[ -s server.crt ] && [ -s server.key ] && [ -s ca.crt ] && exit 0
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=varstream test CA" \
  -keyout ca.key -out ca.crt >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile ext.cnf \
  -out server.crt >/dev/null 2>&1
chmod 600 server.key ca.key
rm -f server.csr ext.cnf ca.srl
