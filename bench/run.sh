#!/usr/bin/env bash
# bench/run.sh - KMIP throughput and latency of Coffre, PyKMIP's reference
# server and a no-op TLS server (the machine's limit), in one run, on this
# machine, with the same certificates and the same client (build/bench/kmip_bench);
# REST envelope unwrap/wrap over HTTPS keep-alive against nginx serving a fixed
# answer (build/bench/rest_bench); the cost of durability (a second Coffre
# with --audit-sync normal: answers do not wait for fsync; the first one runs
# the shipped default, full) and build/bench/audit_cost in process.
#
# Run through `make bench`. Environment:
#   BENCH_SECONDS=3            length of each case
#   BENCH_TLS=1.2              TLS version the client offers: 1.2 (PyKMIP's only one, so the
#                              ratios compare equal TLS work), 1.3, or auto (highest common)
#   BENCH_VERSION=1.2          KMIP protocol version of the requests (1.1, 1.2 or 1.4)
#   BENCH_SERVERS="coffre pykmip limit coffre_normal nginx"   a subset skips the others
#                              (without coffre a throwaway PKI is made with openssl;
#                              coffre_normal: Coffre with --audit-sync normal; nginx:
#                              skipped with a note when not installed)
#   BENCH_REST_TLS=auto        TLS version of the REST client (auto: 1.3 with both)
#   BENCH_AUDIT_COST=1         0 skips the in-process audit cost table
#   BENCH_KEEP=1               keep the temporary directory (logs, configs, results)
#
# Exit status: 0 when every server started and stayed up (failed operations are
# reported in the table, not hidden), 1 when a tool is missing, fails to start or
# dies during the run. Everything listens on 127.0.0.1 only; each case is bounded
# by `timeout`, and every process started here is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_PER_CASE=${BENCH_SECONDS:-3}
TLS=${BENCH_TLS:-1.2}
KVER=${BENCH_VERSION:-1.2}
SERVERS=${BENCH_SERVERS:-coffre pykmip limit coffre_normal nginx}
REST_TLS=${BENCH_REST_TLS:-auto}
COFFRE=$ROOT/build/coffre
BENCH=$ROOT/build/bench/kmip_bench
RBENCH=$ROOT/build/bench/rest_bench
LIMIT=$ROOT/build/bench/limit_server
PYKMIP=/usr/bin/pykmip-server
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/coffre-bench.XXXXXX")
declare -A PID=()

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }
has() { [[ " $SERVERS " == *" $1 "* ]]; }

cleanup() {
    local rc=$? s
    for s in "${!PID[@]}"; do
        kill -TERM "${PID[$s]}" 2>/dev/null || true
    done
    for s in "${!PID[@]}"; do
        for _ in $(seq 50); do kill -0 "${PID[$s]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${PID[$s]}" 2>/dev/null || true
        wait "${PID[$s]}" 2>/dev/null || true
    done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "bench: kept $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free loopback ports: bound together by one process, released just before use.
read -r P_KMIP P_HTTPS P_PYKMIP P_LIMIT P_FKMIP P_FHTTPS P_NGINX < <(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(7)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

# wait_listen NAME PORT LOGFILE: up to 60 s for a listening socket, while the process lives.
wait_listen() {
    local name=$1 port=$2 logf=$3
    for _ in $(seq 600); do
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
            wait "${PID[$name]}" && rc=0 || rc=$?
            unset "PID[$name]"
            log "bench: $name exited with status $rc before listening; its log ($logf):"
            tail -n 30 "$logf" >&2 || true
            exit 1
        fi
        if ss -Hltn "sport = :$port" 2>/dev/null | grep -q LISTEN; then return 0; fi
        sleep 0.1
    done
    log "bench: $name does not listen on 127.0.0.1:$port after 60 s; its log ($logf):"
    tail -n 30 "$logf" >&2 || true
    exit 1
}

[[ -x $BENCH ]] || die "$BENCH missing (run: make bench)"
command -v ss >/dev/null || die "ss (iproute2) is needed to see when servers listen"

# ------------------------------------------------------------ the servers

if has coffre; then
    [[ -x $COFFRE ]] || die "$COFFRE missing or not executable (run: make bench)"
    "$COFFRE" server --data "$TMP/coffre" --kmip-listen "127.0.0.1:$P_KMIP" \
        --https-listen "127.0.0.1:$P_HTTPS" >"$TMP/coffre.log" 2>&1 &
    PID[coffre]=$!
    wait_listen coffre "$P_KMIP" "$TMP/coffre.log"
    PKI=$TMP/coffre/pki
    for f in ca.crt server.crt server.key admin.crt admin.key; do
        [[ -s $PKI/$f ]] || die "coffre is listening but $PKI/$f is missing"
    done
else
    # Same shape as Coffre's development PKI: RSA-3072 CA, RSA-2048 leaves,
    # server SAN 127.0.0.1, client EKU clientAuth (PyKMIP checks it).
    PKI=$TMP/pki
    mkdir -p "$PKI"
    (
        cd "$PKI"
        openssl req -x509 -newkey rsa:3072 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=bench CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 \
            -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
        openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/CN=admin"
        openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 2 \
            -extfile <(printf 'extendedKeyUsage=clientAuth\n')
    ) >"$TMP/pki.log" 2>&1 || { cat "$TMP/pki.log" >&2; die "openssl could not make a PKI"; }
fi

if has pykmip; then
    [[ -x $PYKMIP ]] || die "$PYKMIP missing (Debian package python3-pykmip)"
    mkdir -p "$TMP/pykmip/policies"
    # auth_suite TLS1.2: PyKMIP's server speaks TLS 1.2 only. logging_level
    # WARNING: its default (INFO) writes several lines per request and would
    # slow it down; the comparison gives it its best setting.
    cat >"$TMP/pykmip/server.conf" <<EOF
[server]
hostname=127.0.0.1
port=$P_PYKMIP
certificate_path=$PKI/server.crt
key_path=$PKI/server.key
ca_path=$PKI/ca.crt
auth_suite=TLS1.2
policy_path=$TMP/pykmip/policies
enable_tls_client_auth=True
logging_level=WARNING
database_path=$TMP/pykmip/pykmip.db
EOF
    "$PYKMIP" -f "$TMP/pykmip/server.conf" -l "$TMP/pykmip/server.log" >"$TMP/pykmip.out" 2>&1 &
    PID[pykmip]=$!
    wait_listen pykmip "$P_PYKMIP" "$TMP/pykmip.out"
fi

if has limit; then
    [[ -x $LIMIT ]] || die "$LIMIT missing (run: make bench)"
    "$LIMIT" --listen "127.0.0.1:$P_LIMIT" --ca "$PKI/ca.crt" --cert "$PKI/server.crt" \
        --key "$PKI/server.key" >"$TMP/limit.log" 2>&1 &
    PID[limit]=$!
    wait_listen limit "$P_LIMIT" "$TMP/limit.log"
fi

# The cost of durability: the same Coffre whose answers do not wait for the
# group fsync (--audit-sync normal), with the first one's certificates (copied before its
# first start, so that its bootstrap pins the same admin.crt).
if has coffre_normal; then
    has coffre || die "coffre_normal needs coffre (it borrows its certificates)"
    mkdir -m 700 "$TMP/coffre_normal"
    cp -a "$PKI" "$TMP/coffre_normal/pki"
    "$COFFRE" server --data "$TMP/coffre_normal" --audit-sync normal --kmip-listen "127.0.0.1:$P_FKMIP" \
        --https-listen "127.0.0.1:$P_FHTTPS" >"$TMP/coffre_normal.log" 2>&1 &
    PID[coffre_normal]=$!
    wait_listen coffre_normal "$P_FKMIP" "$TMP/coffre_normal.log"
fi

# nginx answering every request with a fixed JSON body the size of an unwrap
# answer, over HTTPS with Coffre's certificates, asking for a client
# certificate like Coffre's HTTPS port (optional), TLS 1.2-1.3, one worker
# per CPU, no access log: the machine's HTTPS keep-alive limit.
NGINX_NOTE=""
if has nginx && [[ ! -x $NGINX ]]; then
    NGINX_NOTE="nginx is not installed (bench/deps.sh installs Debian's nginx): the REST rows have no nginx column"
    SERVERS=${SERVERS//nginx/}
fi
if has nginx; then
    mkdir -p "$TMP/nginx/logs"
    cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
master_process on;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:$P_NGINX ssl reuseport;
        ssl_certificate $PKI/server.crt;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/ca.crt;
        ssl_verify_client optional;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        default_type application/json;
        location / {
            return 200 '{"key_id":"0190a1b2-c3d4-7000-8000-000000000000","key_version":1,"plaintext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","rewrap_recommended":false}';
        }
    }
}
EOF
    "$NGINX" -e "$TMP/nginx/logs/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" \
        >"$TMP/nginx.log" 2>&1 &
    PID[nginx]=$!
    wait_listen nginx "$P_NGINX" "$TMP/nginx/logs/error.log"
fi

# ---------------------------------------------------------------- the cases

# name | kmip_bench arguments. Persistent = one TLS connection per client
# thread, reused; per-request = connect + handshake + one request + close for
# every operation (vCenter's pattern), -resume offers the previous session.
CASES=(
    "discover p1|--op discover --mode persistent --conns 1"
    "create p1|--op create --mode persistent --conns 1"
    "create p8|--op create --mode persistent --conns 8"
    "get p1|--op get --mode persistent --conns 1"
    "get p8|--op get --mode persistent --conns 8"
    "get new-conn c1|--op get --mode per-request --conns 1"
    "get new-conn c4|--op get --mode per-request --conns 4"
    "get resume c1|--op get --mode per-request-resume --conns 1"
    "get resume c4|--op get --mode per-request-resume --conns 4"
    "get new-conn c1 tls1.3|--op get --mode per-request --conns 1 --tls 1.3"
    "get resume c1 tls1.3|--op get --mode per-request-resume --conns 1 --tls 1.3"
    "locate-by-name p1|--op locate --mode persistent --conns 1"
)

# These cases also run against coffre_normal (the audit table).
AUDIT_CASES=" create p1 | create p8 | get p1 | get p8 "

port_of() {
    case $1 in
    coffre) echo "$P_KMIP" ;; pykmip) echo "$P_PYKMIP" ;; limit) echo "$P_LIMIT" ;;
    coffre_normal) echo "$P_FKMIP" ;;
    esac
}

# check_alive SERVER CASE: stop, with the table so far, if the server died.
check_alive() {
    kill -0 "${PID[$1]}" 2>/dev/null && return 0
    log "bench: $1 died during '$2'; its log:"
    tail -n 30 "$TMP/$1.log" "$TMP/$1.out" 2>/dev/null >&2 || true
    unset "PID[$1]"
    /usr/bin/python3 "$ROOT/bench/table.py" "$RESULTS"
    exit 1
}

# record SERVER CASE RC OUTPUT: one results.jsonl line and a progress line.
record() {
    local line
    line=$(printf '%s\n' "$4" | grep '^{' | tail -n 1 || true)
    printf '{"server":"%s","case":"%s","exit":%d,"result":%s}\n' "$1" "$2" "$3" "${line:-null}" >>"$RESULTS"
    log "  $2 / $1: $(/usr/bin/python3 "$ROOT/bench/table.py" --line "${line:-null}")"
}

RESULTS=$TMP/results.jsonl
: >"$RESULTS"
START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "bench: $SERVERS; ${SECONDS_PER_CASE}s per case, KMIP $KVER, TLS $TLS; load average $LOAD0; files in $TMP"
# Cases outer, servers inner: a burst of background load then hits every
# server's column of a row alike instead of one server's whole column.
for c in "${CASES[@]}"; do
    name=${c%%|*}
    read -ra args <<<"${c#*|}"
    for s in coffre pykmip limit coffre_normal; do
        has "$s" || continue
        [[ $s != coffre_normal || $AUDIT_CASES == *" $name "* ]] || continue
        if [[ $s == pykmip && " ${args[*]} " == *" --tls 1.3 "* ]]; then
            printf '{"server":"%s","case":"%s","skip":"PyKMIP serves TLS 1.2 only"}\n' "$s" "$name" >>"$RESULTS"
            continue
        fi
        rc=0
        out=$(timeout $((SECONDS_PER_CASE + 60)) "$BENCH" --host 127.0.0.1 --port "$(port_of "$s")" \
            --ca "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" --seconds "$SECONDS_PER_CASE" \
            --version "$KVER" --tls "$TLS" --json "${args[@]}" 2>>"$TMP/kmip_bench.err") || rc=$?
        record "$s" "$name" "$rc" "$out"
        check_alive "$s" "$name"
    done
done

# REST: Coffre's envelope unwrap/wrap (a Writer API key, a root key and a
# wrapped DEK made through the API at the start of each case) and nginx's
# fixed answer to a request of the same size, at 1 and 16 connections.
REST_CASES=(
    "rest unwrap p1|--op unwrap --conns 1"
    "rest unwrap p16|--op unwrap --conns 16"
    "rest wrap p1|--op wrap --conns 1"
    "rest wrap p16|--op wrap --conns 16"
)
if has coffre || has nginx; then
    [[ -x $RBENCH ]] || die "$RBENCH missing (run: make bench)"
fi
for c in "${REST_CASES[@]}"; do
    name=${c%%|*}
    read -ra args <<<"${c#*|}"
    for s in coffre nginx; do
        has "$s" || continue
        rc=0
        if [[ $s == coffre ]]; then
            out=$(timeout $((SECONDS_PER_CASE + 60)) "$RBENCH" --host 127.0.0.1 --port "$P_HTTPS" \
                --ca "$PKI/ca.crt" --token-file "$TMP/coffre/admin.token" --seconds "$SECONDS_PER_CASE" \
                --tls "$REST_TLS" --json "${args[@]}" 2>>"$TMP/rest_bench.err") || rc=$?
        else
            out=$(timeout $((SECONDS_PER_CASE + 60)) "$RBENCH" --host 127.0.0.1 --port "$P_NGINX" \
                --ca "$PKI/ca.crt" --seconds "$SECONDS_PER_CASE" --tls "$REST_TLS" --json \
                "${args[@]}" --op static 2>>"$TMP/rest_bench.err") || rc=$?
        fi
        record "$s" "$name" "$rc" "$out"
        check_alive "$s" "$name"
    done
done

echo
echo "KMIP $KVER over mutual TLS (client offers TLS $TLS), ${SECONDS_PER_CASE}s per case, $(nproc) CPUs shared by client and servers"
/usr/bin/python3 "$ROOT/bench/table.py" "$RESULTS"
[[ -z $NGINX_NOTE ]] || echo "$NGINX_NOTE"

# The chain's overhead, in process: the server's request path with the
# audit off (possible only outside the server), normal and full.
if [[ ${BENCH_AUDIT_COST:-1} == 1 && -x "$ROOT/build/bench/audit_cost" ]]; then
    "$ROOT/build/bench/audit_cost" --seconds "$SECONDS_PER_CASE" --dir "$TMP/audit_cost" --json \
        >"$TMP/audit_cost.jsonl" 2>>"$TMP/audit_cost.err" ||
        die "audit_cost failed: $(tail -n 3 "$TMP/audit_cost.err")"
    /usr/bin/python3 "$ROOT/bench/table.py" --audit-cost "$TMP/audit_cost.jsonl"
fi
echo
echo "benchmarks took $(($(date +%s) - START)) s; load average before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in coffre coffre_normal; do
    if has $s && grep -qiE 'AddressSanitizer|runtime error|internal error' "$TMP/$s.log"; then
        echo "$s's log holds sanitizer or internal-error lines:"
        grep -iE 'AddressSanitizer|runtime error|internal error' "$TMP/$s.log" | head -n 20
    fi
done

# Locate at scale: a store filled with 10^5 objects through the bulk store
# path, then Locate by Name and other shapes (target: Locate by Name among
# 10^5 keys under 10 ms). BENCH_SCALE_OBJECTS changes the size (0 skips).
SCALE_OBJECTS=${BENCH_SCALE_OBJECTS:-100000}
if [[ $SCALE_OBJECTS -gt 0 && -x "$ROOT/build/bench/locate_scale" ]]; then
    echo
    echo "Locate at scale (build/bench/locate_scale --objects $SCALE_OBJECTS, latencies in ms):"
    mkdir -p "$TMP/scale"
    "$ROOT/build/bench/locate_scale" --objects "$SCALE_OBJECTS" --lookups 1000 --dir "$TMP/scale" \
        || { echo "bench: locate_scale failed"; exit 1; }
fi
