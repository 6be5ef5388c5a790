#!/usr/bin/env bash
# The helm CLI (v4, from the Go module proxy), built once into .cache/helm, for the chart test
# (test/deploy/helm.test.ts runs `helm lint` and `helm template` on deploy/helm/varstream).
#   helm.sh build       prints the binary's path
set -euo pipefail
label=helm
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version=v4.3.2
bin="$root/.cache/helm/helm-$version"
. "$here/../lib.sh"

case "${1:-build}" in
  build)
    go_install_once "$bin" "helm.sh/helm/v4/cmd/helm@$version"
    echo "$bin"
    ;;
  *) echo "usage: helm.sh build" >&2; exit 2 ;;
esac
