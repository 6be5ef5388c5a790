#!/usr/bin/env bash
# A PostgreSQL server from Debian's postgresql package on a loopback port. Its data lives in
# /tmp/varstream-postgres/<name>-<port>, not in the checkout: the postgres user must reach it, and a
# checkout may sit below a folder only root can enter.
#   postgres.sh start|stop|status [name]     env: PG_PORT (default 5432)
# Runs as the postgres user (PostgreSQL refuses root); trust authentication on 127.0.0.1, except two
# roles the tests create: varstream_tls (TLS connections only) and varstream_pw (password, scram).
# TLS is on, with a certificate from infra/tls/make-cert.sh; its CA is <dir>/tls/ca.crt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-start}"
name="${2:-local}"
port="${PG_PORT:-5432}"
dir="/tmp/varstream-postgres/$name-$port"

bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

label=postgres
. "$here/../lib.sh"

ensure_installed() { [ -n "$(bin)" ] || apt_install postgresql postgresql; }

as_pg() { (cd / && runuser -u postgres -- "$@"); }

case "$cmd" in
  start)
    ensure_installed
    b="$(bin)"
    if as_pg "$b/pg_isready" -h 127.0.0.1 -p "$port" -q 2>/dev/null; then echo "postgres: already answering on $port" >&2; exit 0; fi
    mkdir -p "$dir"
    chmod 755 /tmp/varstream-postgres
    chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$b/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1
    fi
    bash "$here/../tls/make-cert.sh" "$dir/tls"
    chown -R postgres:postgres "$dir/tls"
    chmod 755 "$dir" "$dir/tls"
    cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
hostssl all varstream_tls 127.0.0.1/32 trust
host all varstream_tls 127.0.0.1/32 reject
host all varstream_pw 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
HBA
    as_pg "$b/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key" start >&2
    echo "postgres: ready on 127.0.0.1:$port" >&2
    ;;
  stop)
    b="$(bin)"
    [ -n "$b" ] && [ -f "$dir/data/postmaster.pid" ] && as_pg "$b/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
    ;;
  status)
    as_pg "$(bin)/pg_isready" -h 127.0.0.1 -p "$port"
    ;;
  *) echo "usage: postgres.sh start|stop|status [name]" >&2; exit 2 ;;
esac
