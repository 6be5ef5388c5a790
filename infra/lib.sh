# Shared by the infra/*/ scripts: installing a Debian package once and waiting for a server.

# apt_install PACKAGE [SERVICE]: installs PACKAGE non-interactively; stops SERVICE if the package
# started a system instance (this project runs its own, on its own ports).
apt_install() {
  echo "${label:-infra}: installing Debian's $1" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "$1" >&2
  if [ -n "${2:-}" ]; then (service "$2" stop || systemctl stop "$2") >/dev/null 2>&1 || true; fi
}

# go_install_once BIN MODULE/CMD@VERSION: builds a Go command from the module proxy into BIN, once.
go_install_once() {
  [ -x "$1" ] && return 0
  command -v go >/dev/null 2>&1 || { echo "${label:-infra}: Go is needed to build $2" >&2; exit 1; }
  echo "${label:-infra}: building $2 from the Go module proxy, once" >&2
  local gobin
  gobin="$(mktemp -d)"
  GOBIN="$gobin" GOFLAGS=-mod=mod go install -trimpath -ldflags="-s -w" "$2" >&2
  mkdir -p "$(dirname "$1")"
  mv "$gobin"/* "$1"
  rm -rf "$gobin"
}

# tcp_answering PORT: something accepts connections on 127.0.0.1:PORT.
tcp_answering() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_ready PROBE PORT [LOG]: polls PROBE (a command) for up to 20 s; exits the script 0 when it
# answers, 1 when it does not.
wait_ready() {
  for _ in $(seq 1 200); do
    if "$1"; then echo "${label:-infra}: ready on 127.0.0.1:$2" >&2; exit 0; fi
    sleep 0.1
  done
  echo "${label:-infra}: did not answer on $2${3:+; see $3}" >&2
  exit 1
}
