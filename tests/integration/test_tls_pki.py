"""Client certificates the TLS layer must refuse, on the live server, on both
ports: revoked (a CRL of the dev CA in DIR/pki/crl/, and one given with
--crl), expired, not yet valid, without the clientAuth purpose, from a CA
whose CRL has expired (fail closed); and what it must keep accepting: a
certificate the CRL does not list, one from a trusted CA that publishes no
CRL. A resumed TLS session is checked again: a certificate that expired
after its session was made cannot come back through it. Cipher lists: the
default serves the KMIP profiles' RSA-AES-CBC-SHA256 suite and refuses
legacy ones; --tls-ciphers / --tls-ciphersuites replace the lists.

Certificates are made with `openssl ca` and a minimal configuration (it has
the -startdate/-enddate that `openssl x509` lacks in OpenSSL 3.0)."""
import datetime
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

import kmipwire as W
from conftest import BIN, Server

QUERY = W.request([(W.OP["QUERY"], [(W.T["QUERY_FUNCTION"], W.ENUM, 3)], None)])


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def stamp(dt):
    return dt.strftime("%y%m%d%H%M%SZ")


class MiniCA:
    """`openssl ca` over an existing CA certificate and key."""

    def __init__(self, d, crt, key):
        self.d, self.crt, self.key = d, crt, key
        os.makedirs(d + "/new", exist_ok=True)
        open(d + "/index.txt", "w").close()
        with open(d + "/serial", "w") as f:
            f.write("1000\n")
        with open(d + "/crlnumber", "w") as f:
            f.write("01\n")
        with open(d + "/ca.cnf", "w") as f:
            f.write(f"""[ ca ]
default_ca = mini
[ mini ]
database = {d}/index.txt
new_certs_dir = {d}/new
certificate = {crt}
private_key = {key}
serial = {d}/serial
crlnumber = {d}/crlnumber
default_md = sha256
default_days = 2
default_crl_days = 30
policy = anything
unique_subject = no
x509_extensions = client
[ anything ]
commonName = supplied
[ client ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
[ server_only ]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
""")

    def issue(self, name, *extra):
        out = self.d + "/" + name
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", "/CN=" + name, "-keyout", out + ".key", "-out", out + ".csr")
        run("openssl", "ca", "-batch", "-notext", "-config", self.d + "/ca.cnf", "-in",
            out + ".csr", "-out", out + ".crt", *extra)
        return out

    def revoke(self, name):
        run("openssl", "ca", "-batch", "-config", self.d + "/ca.cnf", "-revoke",
            self.d + "/" + name + ".crt")

    def crl(self, path, *extra):
        run("openssl", "ca", "-batch", "-config", self.d + "/ca.cnf", "-gencrl", "-out", path,
            *extra)


def self_signed_ca(d, cn):
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-subj", "/CN=" + cn, "-keyout", d + "/ca.key", "-out", d + "/ca.crt",
        "-days", "2")
    return MiniCA(d, d + "/ca.crt", d + "/ca.key")


@pytest.fixture(scope="module")
def pki():
    with tempfile.TemporaryDirectory(prefix="coffre-pki-") as top:
        data = os.path.join(top, "data")
        os.makedirs(data, mode=0o700)
        srv = Server(data)
        srv.start()                        # makes the dev PKI
        assert srv.stop() == 0
        now = datetime.datetime.now(datetime.timezone.utc)
        dev = MiniCA(top + "/dev", srv.pki + "/ca.crt", srv.pki + "/ca.key")
        certs = {n: dev.issue(n) for n in ("good", "revoked")}
        certs["expired"] = dev.issue("expired", "-startdate", stamp(now - datetime.timedelta(days=3)),
                                     "-enddate", stamp(now - datetime.timedelta(days=1)))
        certs["future"] = dev.issue("future", "-startdate", stamp(now + datetime.timedelta(days=1)),
                                    "-enddate", stamp(now + datetime.timedelta(days=3)))
        certs["server_only"] = dev.issue("server_only", "-extensions", "server_only")
        dev.revoke("revoked")
        os.makedirs(srv.pki + "/crl")
        dev.crl(srv.pki + "/crl/dev.pem")
        # A trusted CA without a CRL, and one whose CRL expired (--crl).
        os.makedirs(top + "/nocrl")
        os.makedirs(top + "/stale")
        nocrl, stale = self_signed_ca(top + "/nocrl", "No CRL CA"), self_signed_ca(top + "/stale",
                                                                                   "Stale CA")
        certs["nocrl"] = nocrl.issue("nocrl")
        certs["stale"] = stale.issue("stale")
        stale.crl(top + "/stale.pem", "-crlsec", "1")
        os.makedirs(srv.pki + "/trusted")
        shutil.copy(top + "/nocrl/ca.crt", srv.pki + "/trusted/nocrl.pem")
        shutil.copy(top + "/stale/ca.crt", srv.pki + "/trusted/stale.pem")
        time.sleep(2)                      # the stale CRL's nextUpdate passes
        srv.start(["--crl", top + "/stale.pem"])
        srv.dev = dev
        srv.certs = certs
        try:
            yield srv
        finally:
            rc = srv.stop()
            srv.check_log()
            assert rc == 0


def ctx_for(server, cert, tls12=False):
    ctx = server.tls_context(cert=None)
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(cert + ".crt", cert + ".key")
    return ctx


def kmip_ok(server, ctx, session=None):
    """True when the KMIP port answers a Query (any result: TLS accepted)."""
    raw = socket.create_connection(("127.0.0.1", server.kmip_port), timeout=10)
    try:
        s = ctx.wrap_socket(raw, session=session)
        s.sendall(QUERY)
        ok = len(s.recv(8)) == 8
        kmip_ok.last = s.session, s.session_reused
        s.close()
        return ok
    except (ssl.SSLError, OSError):
        raw.close()
        return False


def https_ok(server, ctx):
    raw = socket.create_connection(("127.0.0.1", server.https_port), timeout=10)
    try:
        s = ctx.wrap_socket(raw)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        ok = s.recv(12) == b"HTTP/1.1 200"
        s.close()
        return ok
    except (ssl.SSLError, OSError):
        raw.close()
        return False


def both(server, name):
    ctx = ctx_for(server, server.certs[name])
    return kmip_ok(server, ctx), https_ok(server, ctx)


def test_accepted(pki):
    assert both(pki, "good") == (True, True)          # the dev CA's CRL does not list it
    assert both(pki, "nocrl") == (True, True)         # its CA publishes no CRL: not checked
    assert kmip_ok(pki, pki.tls_context())            # the bootstrap admin certificate
    log = pki.read_log()
    assert "against its CRL (1 revoked)" in log
    assert 'the CRL of "CN=Stale CA" has expired' in log


@pytest.mark.parametrize("name,why", [
    ("revoked", "certificate revoked"),
    ("expired", "certificate has expired"),
    ("future", "certificate is not yet valid"),
    ("server_only", "unsuitable certificate purpose"),
    ("stale", "CRL has expired"),
])
def test_refused(pki, name, why):
    assert both(pki, name) == (False, False)
    assert kmip_ok(pki, pki.tls_context())            # and nobody else is affected
    log = pki.read_log()
    assert why in log, why


def test_resumed_session_is_checked_again(pki):
    now = datetime.datetime.now(datetime.timezone.utc)
    end = now + datetime.timedelta(seconds=12)
    cert = pki.dev.issue("brief", "-enddate", stamp(end))
    ctx = ctx_for(pki, cert, tls12=True)
    assert kmip_ok(pki, ctx)
    session = kmip_ok.last[0]
    assert kmip_ok(pki, ctx, session) and kmip_ok.last[1]   # resumption works...
    session = kmip_ok.last[0] or session
    time.sleep(max(0.0, (end - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 1.5)
    # ... until the certificate expires: the session is refused, and a full
    # handshake with it too.
    assert not kmip_ok(pki, ctx, session)
    assert not kmip_ok(pki, ctx)
    assert "client certificate unusable" in pki.read_log()


def s_client(port, server, *args):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile",
                        server.pki + "/ca.crt", "-cert", server.pki + "/admin.crt", "-key",
                        server.pki + "/admin.key", *args], input="", capture_output=True,
                       text=True, timeout=30)
    for line in p.stdout.splitlines():
        if "Cipher is" in line:
            return line.split("Cipher is")[-1].strip()
    return None


def test_default_ciphers(pki):
    for port in (pki.kmip_port, pki.https_port):
        assert s_client(port, pki, "-tls1_2", "-cipher", "AES128-SHA256") == "AES128-SHA256"
        assert s_client(port, pki, "-tls1_2", "-cipher",
                        "ECDHE-RSA-AES256-GCM-SHA384") == "ECDHE-RSA-AES256-GCM-SHA384"
        assert s_client(port, pki, "-tls1_2", "-cipher", "AES128-SHA") in (None, "(NONE)")
        assert s_client(port, pki, "-tls1_3") == "TLS_AES_256_GCM_SHA384"
        assert s_client(port, pki, "-tls1_1", "-cipher", "ALL:@SECLEVEL=0") in (None, "(NONE)")


def test_configured_ciphers(tmp_path):
    data = str(tmp_path / "data")
    os.makedirs(data, mode=0o700)
    srv = Server(data)
    srv.start(["--tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256",
               "--tls-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"])
    try:
        for port in (srv.kmip_port, srv.https_port):
            assert s_client(port, srv, "-tls1_2") == "ECDHE-RSA-AES128-GCM-SHA256"
            assert s_client(port, srv, "-tls1_2", "-cipher", "AES128-SHA256") in (None, "(NONE)")
            assert s_client(port, srv, "-tls1_3") == "TLS_CHACHA20_POLY1305_SHA256"
            assert s_client(port, srv, "-tls1_3", "-ciphersuites",
                            "TLS_AES_128_GCM_SHA256") in (None, "(NONE)")
    finally:
        assert srv.stop() == 0
        srv.check_log()
    # A list OpenSSL does not accept stops the start, with the reason.
    bad = subprocess.run([BIN, "server", "--data", data,
                          "--kmip-listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0",
                          "--tls-ciphers", "NOT-A-CIPHER"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0
    assert "invalid TLS 1.2 cipher list" in bad.stdout + bad.stderr
