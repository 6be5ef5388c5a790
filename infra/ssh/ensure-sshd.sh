#!/usr/bin/env bash
# The ssh sink's tests start their own sshd (on a loopback port, with keys they make); this only makes
# sure Debian's openssh-server is installed, without leaving its system service running.
set -euo pipefail
[ -x /usr/sbin/sshd ] && exit 0
label=ssh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
apt_install openssh-server ssh
