#!/usr/bin/env bash
# Installs the Debian packages Coffre needs to build, run and test.
# Idempotent: does nothing (and needs no network) when everything is present.
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
  python3-pykmip python3-pytest
  curl ca-certificates
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
