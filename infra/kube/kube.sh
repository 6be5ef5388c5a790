#!/usr/bin/env bash
# A real Kubernetes API server on loopback (no controllers, no nodes): kube-apiserver built once from the Go
# module proxy into .cache/kube, over its own etcd (the etcd server infra/etcd uses, on a port of its own).
# Token auth: `admin` (system:masters) and `nobody` (no RBAC rights); a kubeconfig per user is written.
#   kube.sh build                            builds kube-apiserver (about 6 min and 2.4 GB once)
#   kube.sh start|stop|status [name]         env: KUBE_PORT (default 6443; its etcd on port+1/port+2)
#   kube.sh kubeconfig [name] [user]         prints the path of a user's kubeconfig (admin by default)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd="${1:-start}"
name="${2:-local}"
port="${KUBE_PORT:-6443}"
version=v1.37.2
staging=v0.37.2 # the published version of every k8s.io staging module at $version
bin="$root/.cache/kube/kube-apiserver-$version"
dir="$root/.cache/kube/$name"

label=kube
. "$here/../lib.sh"

# k8s.io/kubernetes's module has no staging/ folder: its replaces of k8s.io/<module> => ./staging/… become
# the published modules; the sample-* ones are never published and nothing the apiserver imports needs them.
build() {
  [ -x "$bin" ] && return 0
  command -v go >/dev/null 2>&1 || { echo "kube: Go is needed to build kube-apiserver" >&2; exit 1; }
  echo "kube: building kube-apiserver $version from the Go module proxy, once (several minutes)" >&2
  local src work
  src="$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT # a copy of several GB: never left behind by a failed build
  cp -r "$src/." "$work" && chmod -R u+w "$work"
  rm -rf "$work"/go.work* "$work/vendor"
  (
    cd "$work"
    edits=()
    for old in $(go mod edit -json | node -e '
      const mod = JSON.parse(require("fs").readFileSync(0, "utf8"));
      for (const r of mod.Replace ?? []) if (r.New.Path.startsWith("./staging/")) console.log(r.Old.Path);
    '); do
      if [[ "$old" == *sample-* ]]; then edits+=("-dropreplace=$old" "-droprequire=$old"); else edits+=("-replace=$old=$old@$staging"); fi
    done
    go mod edit "${edits[@]}"
    GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$bin.tmp" ./cmd/kube-apiserver
  ) >&2
  mkdir -p "$(dirname "$bin")"
  mv "$bin.tmp" "$bin"
  rm -rf "$work"
}

# The serving certificate, the service-account key pair and the token file, once per instance.
credentials() {
  [ -f "$dir/tokens.csv" ] && return 0
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kube-apiserver" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$dir/serving.key" -out "$dir/serving.crt" 2>/dev/null
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  local admin nobody
  admin="$(openssl rand -hex 16)"
  nobody="$(openssl rand -hex 16)"
  printf '%s,admin,admin,system:masters\n%s,nobody,nobody\n' "$admin" "$nobody" >"$dir/tokens.csv"
  for user in admin nobody; do
    local token
    token="$(grep ",$user,$user" "$dir/tokens.csv" | cut -d, -f1)"
    cat >"$dir/kubeconfig-$user.yaml" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $name
    cluster:
      server: https://127.0.0.1:$port
      certificate-authority: $dir/serving.crt
users:
  - name: $user
    user:
      token: $token
contexts:
  - name: $name
    context: {cluster: $name, user: $user, namespace: default}
current-context: $name
EOF
  done
}

answering() { curl -fs --cacert "$dir/serving.crt" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; }

case "$cmd" in
  build) build ;;
  start)
    build
    credentials
    if answering; then echo "kube: already answering on $port" >&2; exit 0; fi
    ETCD_PORT=$((port + 1)) bash "$root/infra/etcd/etcd.sh" start "kube-$name"
    nohup "$bin" --etcd-servers="http://127.0.0.1:$((port + 1))" \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" \
      --tls-cert-file="$dir/serving.crt" --tls-private-key-file="$dir/serving.key" \
      --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$dir/sa.pub" \
      --service-account-signing-key-file="$dir/sa.key" --token-auth-file="$dir/tokens.csv" \
      --authorization-mode=RBAC --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none \
      >"$dir/kube-apiserver.log" 2>&1 &
    echo $! >"$dir/kube-apiserver.pid"
    for _ in $(seq 1 600); do
      if answering; then echo "kube: ready on https://127.0.0.1:$port" >&2; exit 0; fi
      sleep 0.1
    done
    echo "kube: did not become ready on $port; see $dir/kube-apiserver.log" >&2
    kill "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null || true
    rm -f "$dir/kube-apiserver.pid"
    ETCD_PORT=$((port + 1)) bash "$root/infra/etcd/etcd.sh" stop "kube-$name"
    exit 1
    ;;
  stop)
    [ -f "$dir/kube-apiserver.pid" ] && kill "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null || true
    rm -f "$dir/kube-apiserver.pid"
    ETCD_PORT=$((port + 1)) bash "$root/infra/etcd/etcd.sh" stop "kube-$name"
    ;;
  status) answering ;;
  kubeconfig)
    credentials
    echo "$dir/kubeconfig-${3:-admin}.yaml"
    ;;
  *) echo "usage: kube.sh build|start|stop|status|kubeconfig [name] [user]" >&2; exit 2 ;;
esac
