#!/usr/bin/env bash
# Installs the Debian packages Coffre needs to build, run and test, plus
# the packages named as arguments (e.g. `scripts/deps.sh clang` for make fuzz).
# Idempotent: does nothing (and needs no network) when everything is present.
# Also the npm validator of docs/openapi.json (tools/openapi, npm ci).
set -euo pipefail

PKGS=(
  build-essential pkg-config
  libssl-dev openssl
  libevent-dev
  libsqlite3-dev sqlite3
  libjansson-dev
  libcurl4-openssl-dev
  libpq-dev
  libcmocka-dev
  python3-pykmip python3-pytest python3-jsonschema
  curl ca-certificates jq
)
# Extra packages a target needs only for itself (`make fuzz`: clang).
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The OpenAPI document is validated by an npm package (tools/openapi): node
# and npm from Debian when the machine has no node at all (a node from
# elsewhere usually brings its own npm, which Debian's npm would conflict with).
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ "${#missing[@]}" -ne 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# tools/openapi/node_modules from the pinned package-lock.json, again only
# when it is missing or older than the lock file.
OPENAPI_DIR="$(cd "$(dirname "$0")/.." && pwd)/tools/openapi"
stamp="$OPENAPI_DIR/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$OPENAPI_DIR/package-lock.json" -nt "$stamp" ]; then
  echo "deps: npm ci in tools/openapi" >&2
  (cd "$OPENAPI_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
