#!/usr/bin/env bash
# Debian's Prometheus server, for the test that scrapes the services (test/e2e/ops.test.ts starts its own
# instance with a config of its own). Installed once, without the system instance Debian starts.
#   prometheus.sh install
set -euo pipefail
cmd="${1:-install}"

case "$cmd" in
  install)
    command -v prometheus >/dev/null 2>&1 && exit 0
    echo "prometheus: installing Debian's prometheus" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends prometheus >&2
    (service prometheus stop || systemctl stop prometheus) >/dev/null 2>&1 || true
    pkill -x prometheus 2>/dev/null || true
    ;;
  *) echo "usage: prometheus.sh install" >&2; exit 2 ;;
esac
