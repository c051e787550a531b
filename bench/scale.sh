#!/usr/bin/env bash
# bench/scale.sh - Coffre at 10^3, 10^5 and 10^6 keys: Get, Locate by Name and
# REST listing latency, the server's memory (VmRSS, VmHWM) and start-up time.
#
# Run through `make bench-scale` (never part of `make test`; 10^6 keys take
# several minutes to make and about 3.5 GB of disk under $TMPDIR). Environment:
#   BENCH_SCALE_STEPS="1000 100000 1000000"   store sizes, increasing
#   BENCH_SECONDS=3            length of each timed case
#   BENCH_SCALE_SAMPLE=1000    keys (a random sample of the whole store) the
#                              Get and Locate cases address
#   BENCH_KEEP=1               keep the temporary directory
#
# How: a Coffre starts once on a fresh directory (PKI, master key, keyring,
# tenant "default", its admin certificate) and stops; then for each size the
# store is filled up to it by build/bench/scale_fill (keys made by core, 10,000
# per transaction: docs in scale_fill.c), the server is started on it (the
# start-up time is from exec to the KMIP port listening) and driven by
# kmip_bench and rest_bench with the admin certificate / a Writer API key:
#   get first   the first Get of each sampled key, in order (a first Get writes
#               the key's Fresh attribute durably, KMIP 1.4 section 3.34)
#   get         random Gets among the same keys, served before
#   locate      random Locates by Name among the sampled names
#   rest list   GET /v1/keys?limit=100 (the first page and the total)
# then VmRSS and VmHWM are read from /proc and the server is stopped.
# Issue 8's targets: at 10^6 keys, Get and Locate p99 at most 2x their 10^3
# value, RSS at most 256 MiB.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STEPS=${BENCH_SCALE_STEPS:-1000 100000 1000000}
SECS=${BENCH_SECONDS:-3}
SAMPLE=${BENCH_SCALE_SAMPLE:-1000}
COFFRE=$ROOT/build/coffre
KB=$ROOT/build/bench/kmip_bench
RB=$ROOT/build/bench/rest_bench
FILL=$ROOT/build/bench/scale_fill
TMP=$(mktemp -d "${TMPDIR:-/tmp}/coffre-scale.XXXXXX")
DATA=$TMP/data
PID=""

log() { printf '%s\n' "$*" >&2; }
die() { log "bench-scale: $*"; exit 1; }

stop_server() {
    [[ -n $PID ]] || return 0
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
}
cleanup() {
    local rc=$?
    stop_server
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "bench-scale: kept $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in "$COFFRE" "$KB" "$RB" "$FILL"; do [[ -x $t ]] || die "$t missing (run: make bench-scale)"; done
read -r P_KMIP P_HTTPS < <(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

# start_server: sets PID and STARTUP (seconds from exec to listening).
start_server() {
    local t0
    t0=$(date +%s.%N)
    "$COFFRE" server --data "$DATA" --kmip-listen "127.0.0.1:$P_KMIP" --https-listen "127.0.0.1:$P_HTTPS" \
        --log-level warn >>"$TMP/coffre.log" 2>&1 &
    PID=$!
    for _ in $(seq 6000); do
        kill -0 "$PID" 2>/dev/null || { tail -n 20 "$TMP/coffre.log" >&2; die "coffre exited at start"; }
        if ss -Hltn "sport = :$P_KMIP" 2>/dev/null | grep -q LISTEN; then
            STARTUP=$(/usr/bin/python3 -c "import time; print(f'{time.time() - $t0:.2f}')")
            return 0
        fi
        sleep 0.01
    done
    die "coffre does not listen after 60 s"
}

# cell JSON: "p50 / p99 ms, ops/s" of a kmip_bench/rest_bench --json line.
cell() {
    /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1]) if sys.argv[1].startswith("{") else {}
if not r.get("ops"):
    print("failed: " + r.get("first_error", "no result")[:60])
else:
    e = " (%d errors)" % r["errors"] if r.get("errors") else ""
    ops = r["ops_per_sec"]
    print("%.2f / %.2f ms, %s/s%s" % (r["p50_us"] / 1000, r["p99_us"] / 1000,
                                      "%.0f" % ops if ops >= 10 else "%.2f" % ops, e))' "$1"
}

kmip() { timeout $((SECS + 300)) "$KB" --host 127.0.0.1 --port "$P_KMIP" --ca "$DATA/pki/ca.crt" \
    --cert "$DATA/pki/admin.crt" --key "$DATA/pki/admin.key" --json "$@" 2>>"$TMP/bench.err" |
    grep '^{' | tail -n 1 || true; }

log "bench-scale: steps $STEPS, ${SECS}s per case, sample $SAMPLE keys; load average $(cut -d' ' -f1-3 /proc/loadavg); files in $TMP"
start_server
stop_server
ROWS=()
have=0
for n in $STEPS; do
    ((n > have)) || die "BENCH_SCALE_STEPS must increase"
    log "bench-scale: filling to $n keys"
    fill=$("$FILL" --data "$DATA" --from "$have" --to "$n" --uids-out "$TMP/uids" --names-out "$TMP/names")
    log "  $fill"
    have=$n
    paste -d' ' "$TMP/uids" "$TMP/names" | shuf -n "$SAMPLE" --random-source=<(yes) >"$TMP/sample"
    cut -d' ' -f1 "$TMP/sample" >"$TMP/sample.uids"
    cut -d' ' -f2 "$TMP/sample" >"$TMP/sample.names"
    start_server
    size=$(du -sm "$DATA" | cut -f1)
    first=$(kmip --op get --uid-file "$TMP/sample.uids" --sequential --ops "$(wc -l <"$TMP/sample.uids")")
    get=$(kmip --op get --uid-file "$TMP/sample.uids" --seconds "$SECS")
    loc=$(kmip --op locate --name-file "$TMP/sample.names" --seconds "$SECS")
    list=$(timeout $((SECS + 300)) "$RB" --host 127.0.0.1 --port "$P_HTTPS" --ca "$DATA/pki/ca.crt" \
        --token-file "$DATA/admin.token" --op list --seconds "$SECS" --json 2>>"$TMP/bench.err" |
        grep '^{' | tail -n 1 || true)
    rss=$(awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status")
    hwm=$(awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status")
    kill -0 "$PID" 2>/dev/null || die "coffre died during the cases"
    stop_server
    ROWS+=("$n|${size} MB|${STARTUP} s|$(cell "$first")|$(cell "$get")|$(cell "$loc")|$(cell "$list")|${rss} / ${hwm} MiB")
    log "  ${ROWS[-1]}"
done

echo
echo "Coffre at scale: p50 / p99 latency and ops/s of one persistent connection; ${SECS}s per case; $(nproc) CPUs"
{
    echo "keys|store|start-up|get first (Fresh write)|get|locate by name|rest list (limit 100)|VmRSS / VmHWM"
    printf '%s\n' "${ROWS[@]}"
} | /usr/bin/python3 -c '
import sys
rows = [l.rstrip("\n").split("|") for l in sys.stdin]
w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
f = lambda r: "| " + " | ".join(v.ljust(x) for v, x in zip(r, w)) + " |"
print(f(rows[0])); print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows[1:]: print(f(r))'
echo "targets (issue 8): at 10^6 keys get and locate p99 <= 2x their 10^3 value; RSS <= 256 MiB"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
