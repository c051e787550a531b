"""Limits against abusive clients on the live (sanitizer) server, started with
low limits (util/limits.h has the defaults and their reasons):

- rate limits per identity and per tenant (core_rate.c): REST 429
  rate_limited with Retry-After and an audit record, KMIP Operation Failed
  with General Failure (1.x) / Server Limit Exceeded (2.x) and a Result
  Message, a tenant's own rate set with `coffre tenant set-rate`;
- connections per source address on both ports (127.0.0.1 and 127.0.0.2 are
  two sources of the loopback);
- slow clients (slowloris) dropped on both ports after the request deadline,
  a dribbled handshake after the handshake deadline, while a well-behaved
  client is served;
- the 64 KiB message limit of an unregistered KMIP certificate.
"""
import http.client
import json
import os
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

import kmipwire as W
from conftest import BIN, Server
from test_rest import api, check_response
from test_rest_keys import add_key

RATE_IDENTITY, RATE_TENANT = 5, 8
QUERY = (W.OP["QUERY"], [(W.T["QUERY_FUNCTION"], W.ENUM, 3)], None)
CONTINUE = 1
GENERAL_FAILURE, SERVER_LIMIT_EXCEEDED = 0x100, 0x3A


@pytest.fixture(scope="module")
def limited():
    with tempfile.TemporaryDirectory(prefix="coffre-limits-") as d:
        data = os.path.join(d, "data")
        os.makedirs(data, mode=0o700)
        srv = Server(data)
        srv.start(["--rate-identity", str(RATE_IDENTITY), "--rate-tenant", str(RATE_TENANT),
                   "--max-connections-per-address", "6", "--request-timeout", "3",
                   "--handshake-timeout", "3"])
        try:
            yield srv
        finally:
            rc = srv.stop()
            srv.check_log()
            assert rc == 0, srv.read_log()[-3000:]


def refill():
    time.sleep(1.2)   # every bucket holds one second: full again


class Keepalive:
    """One HTTPS connection for many requests (fast enough to meet a limit)."""

    def __init__(self, server, token):
        ctx = server.tls_context(cert=None)
        self.conn = http.client.HTTPSConnection("127.0.0.1", server.https_port, context=ctx,
                                                timeout=30)
        self.token = token

    def get(self, path):
        self.conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        r = self.conn.getresponse()
        body = r.read()
        return r.status, dict(r.getheaders()), check_response("GET", path, r.status, body)

    def close(self):
        self.conn.close()


def burst(server, token, n):
    c = Keepalive(server, token)
    t0 = time.monotonic()
    out = [c.get("/v1/me") for _ in range(n)]
    c.close()
    return out, time.monotonic() - t0


def test_rest_identity_rate(limited):
    token = add_key(limited, "rate-a", "writer")
    refill()
    got, took = burst(limited, token, 12)
    codes = [s for s, _, _ in got]
    # The burst passes, then 429; a few more may pass as the bucket refills.
    assert codes[:RATE_IDENTITY] == [200] * RATE_IDENTITY
    assert 429 in codes
    assert codes.count(200) <= RATE_IDENTITY + int(took * RATE_IDENTITY) + 1, (codes, took)
    s, h, doc = got[codes.index(429)]
    assert h["Retry-After"] == "1"
    assert doc["error"]["code"] == "rate_limited"
    assert doc["error"]["message"] == ("rate limit exceeded: this identity may make 5 requests "
                                       "per second; retry in 1 s")
    refill()
    assert api(limited, "GET", "/v1/me", token=token)[0] == 200


def test_rest_tenant_rate_and_audit(limited):
    a, b = add_key(limited, "rate-b", "writer"), add_key(limited, "rate-c", "manager")
    refill()
    t0 = time.monotonic()
    first, _ = burst(limited, a, RATE_IDENTITY)
    second, _ = burst(limited, b, RATE_IDENTITY)
    took = time.monotonic() - t0
    codes = [s for s, _, _ in first + second]
    assert codes[:RATE_TENANT] == [200] * RATE_TENANT or took > 0.12, (codes, took)
    refused = [doc for s, _, doc in second if s == 429]
    assert refused, codes
    assert refused[0]["error"]["message"] == ("rate limit exceeded: tenant default may make 8 "
                                              "requests per second; retry in 1 s")
    # Audited like every refusal: the Manager finds it in the tenant's trail.
    refill()
    status, _, page = api(limited, "GET", "/v1/audit?result=rate_limited&limit=100", token=b)
    assert status == 200, page
    assert len(page["records"]) >= len(refused)
    rec = page["records"][0]
    assert rec["frontend"] == "rest" and rec["operation"] == "getMe"


def kmip_batch(server, n, major, minor):
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([QUERY] * n, major=major, minor=minor,
                                                 continuation=CONTINUE)))
    finally:
        conn.close()
    return W.children(resp, W.T["BATCH_ITEM"])


@pytest.mark.parametrize("major,minor,reason", [(1, 4, GENERAL_FAILURE),
                                                (2, 1, SERVER_LIMIT_EXCEEDED)])
def test_kmip_rate(limited, major, minor, reason):
    refill()
    items = kmip_batch(limited, 10, major, minor)
    statuses = [W.value(i, W.T["RESULT_STATUS"]) for i in items]
    # One message: each batch item is a request; the items run within
    # milliseconds, so exactly the burst passes.
    assert statuses == [W.SUCCESS] * RATE_IDENTITY + [W.FAILED] * (10 - RATE_IDENTITY)
    for it in items[RATE_IDENTITY:]:
        assert W.value(it, W.T["RESULT_REASON"]) == reason
        assert W.value(it, W.T["RESULT_MESSAGE"]).startswith(
            "rate limit exceeded: this identity may make 5 requests per second")
    refill()
    assert [W.value(i, W.T["RESULT_STATUS"]) for i in kmip_batch(limited, 1, 1, 4)] == [W.SUCCESS]


def test_tenant_own_rate(limited):
    run = lambda *a: subprocess.run([BIN, *a, "--data", limited.data], check=True,
                                    capture_output=True, text=True).stdout
    run("tenant", "create", "--id", "t-slow")
    assert run("tenant", "set-rate", "--id", "t-slow", "--rate", "2").split() == ["t-slow", "2"]
    token = add_key(limited, "slow", "writer", tenant="t-slow")
    refill()
    got, took = burst(limited, token, 4)
    codes = [s for s, _, _ in got]
    assert codes[:2] == [200, 200] and 429 in codes, codes
    doc = got[codes.index(429)][2]
    assert doc["error"]["message"] == ("rate limit exceeded: tenant t-slow may make 2 requests "
                                       "per second; retry in 1 s")
    bad = subprocess.run([BIN, "tenant", "set-rate", "--id", "t-slow", "--rate", "-3",
                          "--data", limited.data], capture_output=True, text=True)
    assert bad.returncode == 2


# ------------------------------------------------------------- connections

def tcp_from(src, port):
    s = socket.socket()
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def kmip_from(server, src):
    ctx = server.tls_context()
    s = ctx.wrap_socket(tcp_from(src, server.kmip_port))
    s.sendall(W.request([QUERY]))
    head = s.recv(8)
    return s, len(head) == 8


def https_from(server, src):
    ctx = server.tls_context(cert=None)
    s = ctx.wrap_socket(tcp_from(src, server.https_port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    return s, s.recv(12) == b"HTTP/1.1 200"


def test_connections_per_address(limited):
    for opener in (kmip_from, https_from):
        held = []
        for _ in range(6):
            s, ok = opener(limited, "127.0.0.1")
            assert ok
            held.append(s)
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            s, ok = opener(limited, "127.0.0.1")
            s.close()
            assert ok, "seventh connection served"
            raise ConnectionError("not refused")
        other, ok = opener(limited, "127.0.0.2")     # another source is served
        assert ok
        other.close()
        for s in held:
            s.close()
        deadline = time.time() + 5                   # the places come back
        while True:
            try:
                s, ok = opener(limited, "127.0.0.1")
                s.close()
                if ok:
                    break
            except (ssl.SSLError, OSError):
                pass
            assert time.time() < deadline
            time.sleep(0.1)
    assert "the per-address limit" in limited.read_log()


# ------------------------------------------------------------ slow clients

def dribble(sock, data, pause=0.4):
    """Send data a byte at a time; seconds until the server closed."""
    t0 = time.monotonic()
    sock.settimeout(0.01)
    for b in data:
        try:
            sock.send(bytes([b]))
        except (OSError, ssl.SSLError):
            break
        time.sleep(pause)
        try:
            if sock.recv(1) == b"":
                break
        except (socket.timeout, ssl.SSLWantReadError):
            pass
        except (OSError, ssl.SSLError):
            break
    return time.monotonic() - t0


def test_slowloris_both_ports(limited):
    refill()
    msg = W.request([QUERY])
    for port, data, ctx in (
            (limited.kmip_port, msg, limited.tls_context()),
            (limited.https_port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 60,
             limited.tls_context(cert=None))):
        s = ctx.wrap_socket(tcp_from("127.0.0.3", port))
        took = dribble(s, data)                      # 25+ s if never dropped
        s.close()
        assert 2.5 <= took < 7, took
        # Meanwhile and afterwards a well-behaved client is served.
        c = limited.connect()
        resp = W.decode(c.roundtrip(msg))
        c.close()
        assert W.value(W.child(resp, W.T["BATCH_ITEM"]), W.T["RESULT_STATUS"]) == W.SUCCESS
    # A handshake dribbled byte by byte is dropped at its deadline too.
    hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(40))
    for port in (limited.kmip_port, limited.https_port):
        s = tcp_from("127.0.0.4", port)
        took = dribble(s, hello)
        s.close()
        assert 2.5 <= took < 7, took
    log = limited.read_log()
    assert log.count("request not complete in time (slow client)") >= 2
    assert log.count("TLS handshake not finished in time") >= 2


# ----------------------------------------------- before the peer is known

def unregistered_cert(server, d):
    """A client certificate of the server's own CA that no identity admits."""
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    pki = server.pki
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=stranger",
        "-keyout", d + "/s.key", "-out", d + "/s.csr")
    with open(d + "/ext", "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    run("openssl", "x509", "-req", "-in", d + "/s.csr", "-CA", pki + "/ca.crt", "-CAkey",
        pki + "/ca.key", "-set_serial", "4242", "-days", "2", "-extfile", d + "/ext",
        "-out", d + "/s.crt")
    ctx = server.tls_context(cert=None)
    ctx.load_cert_chain(d + "/s.crt", d + "/s.key")
    return ctx


def padded_query(size):
    """A well-framed Query message of about size bytes (a long batch item id)."""
    return W.request([(QUERY[0], QUERY[1], b"x" * (size - 200))])


def test_preauth_message_limit(limited):
    refill()
    with tempfile.TemporaryDirectory() as d:
        stranger = unregistered_cert(limited, d)
        # Under 64 KiB: answered (Authentication Not Successful).
        c = limited.connect(ctx=stranger)
        resp = W.decode(c.roundtrip(padded_query(60000)))
        item = W.child(resp, W.T["BATCH_ITEM"])
        assert W.value(item, W.T["RESULT_REASON"]) == 0x03
        # Over it: closed before the body is read.
        c.send(padded_query(100000)[:8])
        c.sock.settimeout(10)
        try:
            got = c.sock.recv(100)
        except (ConnectionError, OSError, ssl.SSLError):
            got = b""
        assert got == b""
        c.close()
    # A registered client's 100 KB message is read and answered.
    c = limited.connect()
    resp = W.decode(c.roundtrip(padded_query(100000)))
    c.close()
    assert W.child(resp, W.T["BATCH_ITEM"]) is not None
    assert "an unregistered certificate is limited to 65536 bytes" in limited.read_log()
