#!/usr/bin/env bash
# A standalone ZooKeeper from Debian's zookeeper package on a loopback port, data in .cache/zookeeper/<name>.
#   zookeeper.sh start|stop|status [name]     env: ZK_PORT (default 2181)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd="${1:-start}"
name="${2:-local}"
port="${ZK_PORT:-2181}"
dir="$root/.cache/zookeeper/$name"

label=zookeeper
. "$here/../lib.sh"

ensure_installed() { [ -f /usr/share/java/zookeeper.jar ] || apt_install zookeeper; }

answering() { [ "$( (echo ruok | timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; cat <&3") 2>/dev/null)" = "imok" ]; }

case "$cmd" in
  start)
    ensure_installed
    if answering; then echo "zookeeper: already answering on $port" >&2; exit 0; fi
    mkdir -p "$dir/data"
    printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\n' \
      "$dir/data" "$port" >"$dir/zoo.cfg"
    nohup java -Xmx768m -cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar" -Dzookeeper.log.dir="$dir" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/zookeeper.log" 2>&1 &
    echo $! >"$dir/zookeeper.pid"
    wait_ready answering "$port" "$dir/zookeeper.log"
    ;;
  stop)
    [ -f "$dir/zookeeper.pid" ] && kill "$(cat "$dir/zookeeper.pid")" 2>/dev/null || true
    rm -f "$dir/zookeeper.pid"
    ;;
  status)
    answering
    ;;
  *) echo "usage: zookeeper.sh start|stop|status [name]" >&2; exit 2 ;;
esac
