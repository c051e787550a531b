#!/usr/bin/env bash
# bench/deps.sh - what `make bench` needs beyond scripts/deps.sh (which brings
# the build tools, PyKMIP's server and python3): nginx (the HTTPS keep-alive
# limit of the REST rows) and ss (iproute2, to see when a server listens).
# Idempotent: does nothing, and needs no network, when they are present.
#
# Debian starts a service when its package is installed; the bench runs its
# own nginx on a loopback port, so the install is made under a policy-rc.d
# that denies service starts (created here only when the machine has none,
# and removed after). The package's own site stays disabled that way.
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "bench deps: installing ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
POLICY=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\n# bench/deps.sh: no service starts during its install\nexit 101\n' |
        $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    made_policy=1
fi
cleanup() { [[ $made_policy == 0 ]] || $SUDO rm -f "$POLICY"; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
