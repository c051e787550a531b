"""Integration fixtures: a real `coffre server` process on free loopback ports
in a temporary data directory, and clients to talk to it.

The binary is $COFFRE_BIN (the Makefile points it at the ASan+UBSan build).
Teardown stops the server with SIGTERM and fails the test module if the
server log holds a sanitizer report or an internal error.
"""
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("COFFRE_BIN", os.path.join(ROOT, "build", "coffre"))
# A sanitizer report, or a log line of level error (the level follows the
# timestamp: "2026-11-23T04:41:52.774Z error [file.c:12] ..."), or a client
# told internal_error.
BAD_LOG = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehavior|"
                     r"^\S+Z error +\[|internal_error")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, data):
        self.data = data
        self.kmip_port = free_port()
        self.https_port = free_port()
        self.log_path = os.path.join(data, "server.log")
        self.proc = None
        self.pki = os.path.join(data, "pki")

    def start(self, extra=()):
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.proc = subprocess.Popen(
            [BIN, "server", "--data", self.data,
             "--kmip-listen", "127.0.0.1:%d" % self.kmip_port,
             "--https-listen", "127.0.0.1:%d" % self.https_port, *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s:\n%s" % (self.proc.returncode,
                                                                    self.read_log()))
            try:
                socket.create_connection(("127.0.0.1", self.kmip_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + self.read_log())

    def stop(self):
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log.close()
        return rc

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def check_log(self):
        bad = [l for l in self.read_log().splitlines() if BAD_LOG.search(l)]
        assert not bad, "server log has errors:\n" + "\n".join(bad[:20])

    # --- clients -------------------------------------------------------
    def tls_context(self, cert="admin"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(os.path.join(self.pki, "ca.crt"))
        if cert:
            ctx.load_cert_chain(os.path.join(self.pki, cert + ".crt"),
                                os.path.join(self.pki, cert + ".key"))
        return ctx

    def connect(self, cert="admin", ctx=None):
        return KmipConn(self, cert, ctx)

    def pykmip_proxy(self, version):
        """PyKMIP's low-level client, configured explicitly (no ~/.pykmip)."""
        from kmip.services.kmip_client import KMIPProxy
        conf = os.path.join(self.data, "pykmip.conf")
        with open(conf, "w") as f:
            f.write("[client]\nhost=127.0.0.1\nport=%d\n" % self.kmip_port)
        return KMIPProxy(host="127.0.0.1", port=self.kmip_port,
                         certfile=os.path.join(self.pki, "admin.crt"),
                         keyfile=os.path.join(self.pki, "admin.key"),
                         ca_certs=os.path.join(self.pki, "ca.crt"),
                         cert_reqs="CERT_REQUIRED", ssl_version="PROTOCOL_TLS",
                         do_handshake_on_connect=True, suppress_ragged_eofs=True,
                         config_file=conf, kmip_version=version)


class KmipConn:
    """A raw mutual-TLS KMIP connection: send bytes, read one framed reply."""

    def __init__(self, server, cert="admin", ctx=None):
        ctx = ctx or server.tls_context(cert)
        raw = socket.create_connection(("127.0.0.1", server.kmip_port), timeout=30)
        self.sock = ctx.wrap_socket(raw)

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def recv_message(self):
        head = self.recv_exact(8)
        (ln,) = struct.unpack(">I", head[4:])
        return head + self.recv_exact(ln)

    def roundtrip(self, data):
        self.send(data)
        return self.recv_message()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="coffre-it-") as d:
        data = os.path.join(d, "data")
        srv = Server(data)
        os.makedirs(data, mode=0o700)
        srv.start()
        try:
            yield srv
        finally:
            rc = srv.stop()
            srv.check_log()
            assert rc == 0, "server exit status %s\n%s" % (rc, srv.read_log()[-4000:])
