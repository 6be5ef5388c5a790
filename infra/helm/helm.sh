#!/usr/bin/env bash
# The helm CLI (v4, from the Go module proxy), built once into .cache/helm, for the chart test
# (test/deploy/helm.test.ts runs `helm lint` and `helm template` on deploy/helm/varstream).
#   helm.sh build       prints the binary's path
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version=v4.3.2
bin="$root/.cache/helm/helm-$version"

case "${1:-build}" in
  build)
    if [ ! -x "$bin" ]; then
      command -v go >/dev/null 2>&1 || { echo "helm: Go is needed to build helm" >&2; exit 1; }
      echo "helm: building helm $version from the Go module proxy, once" >&2
      gobin="$(mktemp -d)"
      GOBIN="$gobin" GOFLAGS=-mod=mod go install -trimpath -ldflags="-s -w" "helm.sh/helm/v4/cmd/helm@$version" >&2
      mkdir -p "$(dirname "$bin")"
      mv "$gobin/helm" "$bin"
      rm -rf "$gobin"
    fi
    echo "$bin"
    ;;
  *) echo "usage: helm.sh build" >&2; exit 2 ;;
esac
