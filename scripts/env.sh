# Sourced by every project script: puts Node 24 and pnpm on PATH.
# The machine's node may be older (Node 20 is end-of-life); then Node 24 comes from the npm package
# `node@24` and pnpm from `pnpm@10`, installed once into .cache/tools.
set -euo pipefail
VARSTREAM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VARSTREAM_ROOT
VARSTREAM_CACHE="$VARSTREAM_ROOT/.cache"
export VARSTREAM_CACHE
tools="$VARSTREAM_CACHE/tools"

node_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$tools/node_modules/.bin/node" ]; then
  export PATH="$tools/node_modules/.bin:$PATH"
fi
if [ "$(node_major)" -lt 24 ] || ! command -v pnpm >/dev/null 2>&1; then
  command -v npm >/dev/null 2>&1 || { echo "varstream: npm is needed to fetch Node 24" >&2; exit 1; }
  echo "varstream: installing Node 24 and pnpm into $tools" >&2
  mkdir -p "$tools"
  [ -f "$tools/package.json" ] || echo '{"private":true}' >"$tools/package.json"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error node@24 pnpm@10 >&2
  export PATH="$tools/node_modules/.bin:$PATH"
fi
[ "$(node_major)" -ge 24 ] || { echo "varstream: Node 24 not available (got $(node --version))" >&2; exit 1; }

# What the quick start's two commands need besides Node (README, Quick start); says what is missing, by name.
check_prerequisites() {
  local missing=() v
  command -v git >/dev/null 2>&1 || missing+=("git")
  command -v curl >/dev/null 2>&1 || missing+=("curl")
  command -v mvn >/dev/null 2>&1 || missing+=("Maven (mvn)")
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1 || true)"
  [ "${v:-0}" -ge 17 ] 2>/dev/null || missing+=("Java 17+ (java${v:+: found $v})")
  v="$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p' || true)"
  [ "${v:-0}" -ge 25 ] 2>/dev/null || missing+=("Go 1.25+ (go${v:+: found 1.$v})")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "varstream: missing prerequisites: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g') (README, Quick start)" >&2
    exit 1
  fi
}
