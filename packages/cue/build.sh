#!/usr/bin/env bash
# Builds packages/cue/go (cuelang.org/go at the version go.mod pins) into a WASI reactor, once per
# source hash: .cache/cue/cue-<hash>.wasm, with .cache/cue/current pointing at it. Needs Go >= 1.24.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out_dir="$root/.cache/cue"
hash="$(cat "$here"/go/go.mod "$here"/go/go.sum "$here"/go/*.go | sha256sum | cut -c1-16)"
wasm="$out_dir/cue-$hash.wasm"
mkdir -p "$out_dir"
if [ ! -f "$wasm" ]; then
  command -v go >/dev/null 2>&1 || { echo "cue: Go >= 1.24 is needed to build the CUE evaluator" >&2; exit 1; }
  echo "cue: building the CUE evaluator (cuelang.org/go → WASI), once" >&2
  (cd "$here/go" && GOOS=wasip1 GOARCH=wasm GOFLAGS=-mod=mod go build -buildmode=c-shared -trimpath -ldflags="-s -w" -o "$wasm.tmp" .)
  mv "$wasm.tmp" "$wasm"
fi
ln -sfn "$(basename "$wasm")" "$out_dir/current.wasm"
find "$out_dir" -name 'cue-*.wasm' ! -name "$(basename "$wasm")" -delete
