#!/usr/bin/env bash
# Builds packages/cue/go (cuelang.org/go at the version go.mod pins) twice, once per source hash:
#   .cache/cue/cue-<hash>.wasm     a WASI reactor Node loads in-process   (.cache/cue/current.wasm)
#   .cache/cue/helper-<hash>       a native helper Node talks to on stdio (.cache/cue/current-helper)
# Needs Go >= 1.25. Runs from the root package's postinstall; a cached build costs nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out_dir="$root/.cache/cue"
hash="$(cat "$here"/go/go.mod "$here"/go/go.sum "$here"/go/*.go | sha256sum | cut -c1-16)"
wasm="$out_dir/cue-$hash.wasm"
helper="$out_dir/helper-$hash"
mkdir -p "$out_dir"
if [ ! -f "$wasm" ] || [ ! -f "$helper" ]; then
  command -v go >/dev/null 2>&1 || { echo "cue: Go >= 1.25 is needed to build the CUE evaluator" >&2; exit 1; }
  echo "cue: building the CUE evaluator (cuelang.org/go → WASI and native), once" >&2
  cd "$here/go"
  GOOS=wasip1 GOARCH=wasm GOFLAGS=-mod=mod go build -buildmode=c-shared -trimpath -ldflags="-s -w" -o "$wasm.tmp" .
  GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w" -o "$helper.tmp" .
  mv "$wasm.tmp" "$wasm"
  mv "$helper.tmp" "$helper"
fi
ln -sfn "$(basename "$wasm")" "$out_dir/current.wasm"
ln -sfn "$(basename "$helper")" "$out_dir/current-helper"
find "$out_dir" \( -name 'cue-*.wasm' ! -name "$(basename "$wasm")" \) -o \( -name 'helper-*' ! -name "$(basename "$helper")" \) | xargs -r rm -f
