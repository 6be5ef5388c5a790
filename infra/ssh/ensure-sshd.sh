#!/usr/bin/env bash
# The ssh sink's tests start their own sshd (on a loopback port, with keys they make); this only makes
# sure Debian's openssh-server is installed, without leaving its system service running.
set -euo pipefail
[ -x /usr/sbin/sshd ] && exit 0
echo "ssh: installing Debian's openssh-server" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq openssh-server >&2
(service ssh stop || true) >/dev/null 2>&1
