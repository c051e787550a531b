"""Identities against the live server: the bootstrap (DIR/admin.token, the
development certificate admin.crt registered as a Manager of "default"), a
client certificate the dev CA signed but nobody registered (served, and
refused item by item with Authentication Not Successful, logged with its
subject, issuer, fingerprint and address), and restarts that create
nothing twice."""
import os
import re
import stat
import subprocess
import tempfile

import pytest
from kmip.core import enums
from kmip.pie import exceptions as pie_exceptions
from kmip.pie.client import ProxyKmipClient

import kmipwire as W
from conftest import Server

AUTH_NOT_SUCCESSFUL = 0x03
TOKEN_RE = re.compile(r"^cf1_[0-9a-f]{32}_[A-Za-z0-9_-]{43}\n$")
QUERY = (W.OP["QUERY"], [(W.T["QUERY_FUNCTION"], W.ENUM, 1)], None)
CREATE = (W.OP["CREATE"], [
    (W.T["OBJECT_TYPE"], W.ENUM, 2),
    (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
        W.attribute("Cryptographic Algorithm", W.ENUM, 3),
        W.attribute("Cryptographic Length", W.INTEGER, 256)])], b"\x01")


def items(resp):
    return W.children(W.decode(resp), W.T["BATCH_ITEM"])


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def intruder(server, tmp_path_factory):
    """A client certificate signed by the server's dev CA, never registered."""
    d = str(tmp_path_factory.mktemp("intruder"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=Coffre dev/CN=intruder",
        "-keyout", d + "/intruder.key", "-out", d + "/intruder.csr")
    run("openssl", "x509", "-req", "-in", d + "/intruder.csr",
        "-CA", os.path.join(server.pki, "ca.crt"), "-CAkey", os.path.join(server.pki, "ca.key"),
        "-CAserial", d + "/ca.srl", "-CAcreateserial", "-days", "2", "-sha256",
        "-extfile", ext, "-out", d + "/intruder.crt")
    fp = run("openssl", "x509", "-in", d + "/intruder.crt", "-noout", "-fingerprint", "-sha256")
    sha = fp.strip().split("=", 1)[1].replace(":", "").lower()
    return {"crt": d + "/intruder.crt", "key": d + "/intruder.key", "sha256": sha}


def intruder_ctx(server, intruder):
    ctx = server.tls_context(cert=None)
    ctx.load_cert_chain(intruder["crt"], intruder["key"])
    return ctx


def test_admin_token_written_once(server):
    path = os.path.join(server.data, "admin.token")
    st = os.stat(path)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    with open(path) as f:
        token = f.read()
    assert TOKEN_RE.match(token), token[:4]
    log = server.read_log()
    assert token.strip() not in log
    assert token.strip()[37:] not in log          # not even the secret part
    assert "the operator API key is in %s (mode 0600)" % path in log
    assert log.count("bootstrap: tenant default and operator identity") == 1
    assert log.count("registered as Manager of tenant default") == 1
    assert not os.path.exists(path + ".tmp")


def test_admin_certificate_is_a_manager(server):
    conn = server.connect()
    try:
        resp = items(conn.roundtrip(W.request([QUERY, CREATE], major=1, minor=4)))
    finally:
        conn.close()
    assert [W.value(i, W.T["RESULT_STATUS"]) for i in resp] == [W.SUCCESS, W.SUCCESS]
    client = ProxyKmipClient(hostname="127.0.0.1", port=server.kmip_port,
                             cert=os.path.join(server.pki, "admin.crt"),
                             key=os.path.join(server.pki, "admin.key"),
                             ca=os.path.join(server.pki, "ca.crt"), config_file="/dev/null",
                             kmip_version=enums.KMIPVersion.KMIP_1_2)
    with client:
        uid = client.create(enums.CryptographicAlgorithm.AES, 256)
        assert len(client.get(uid).value) == 32
        client.destroy(uid)                    # a Manager (and the owner) may


def test_unregistered_certificate_is_refused_per_item(server, intruder):
    conn = server.connect(ctx=intruder_ctx(server, intruder))
    try:
        # Continue: every item answered, each refused, operation and id echoed.
        resp = W.decode(conn.roundtrip(W.request([QUERY, CREATE], major=1, minor=4,
                                                 continuation=1)))
        got = W.children(resp, W.T["BATCH_ITEM"])
        assert W.value(W.child(resp, W.T["RESPONSE_HEADER"]), W.T["BATCH_COUNT"]) == 2
        assert [W.value(i, W.T["OPERATION"]) for i in got] == [W.OP["QUERY"], W.OP["CREATE"]]
        assert W.value(got[1], W.T["UNIQUE_BATCH_ITEM_ID"]) == b"\x01"
        for i in got:
            assert W.value(i, W.T["RESULT_STATUS"]) == W.FAILED
            assert W.value(i, W.T["RESULT_REASON"]) == AUTH_NOT_SUCCESSFUL
            assert "not registered" in W.value(i, W.T["RESULT_MESSAGE"])
            assert W.child(i, W.T["RESPONSE_PAYLOAD"]) is None
        # Stop (the default): the first refusal ends the batch. Same connection.
        resp = W.decode(conn.roundtrip(W.request([QUERY, CREATE], major=2, minor=0)))
        got = W.children(resp, W.T["BATCH_ITEM"])
        assert len(got) == 1
        assert W.value(got[0], W.T["RESULT_REASON"]) == AUTH_NOT_SUCCESSFUL
    finally:
        conn.close()
    line = [l for l in server.read_log().splitlines() if intruder["sha256"] in l]
    assert line, "no log line for the refused certificate"
    assert "client certificate refused (no identity) from 127.0.0.1:" in line[0]
    assert 'subject "CN=intruder,O=Coffre dev"' in line[0]
    assert 'issuer "' in line[0] and "Coffre" in line[0].split('issuer "')[1]
    assert " warn " in line[0]
    # The admin certificate is unaffected.
    conn = server.connect()
    try:
        got = items(conn.roundtrip(W.request([QUERY], major=1, minor=4)))
        assert W.value(got[0], W.T["RESULT_STATUS"]) == W.SUCCESS
    finally:
        conn.close()


def test_unregistered_certificate_with_pykmip(server, intruder):
    client = ProxyKmipClient(hostname="127.0.0.1", port=server.kmip_port, cert=intruder["crt"],
                             key=intruder["key"], ca=os.path.join(server.pki, "ca.crt"),
                             config_file="/dev/null", kmip_version=enums.KMIPVersion.KMIP_1_2)
    with client:
        with pytest.raises(pie_exceptions.KmipOperationFailure) as e:
            client.create(enums.CryptographicAlgorithm.AES, 128)
    assert e.value.reason == enums.ResultReason.AUTHENTICATION_NOT_SUCCESSFUL


def test_restart_creates_nothing_twice():
    with tempfile.TemporaryDirectory(prefix="coffre-it-id-") as d:
        srv = Server(os.path.join(d, "data"))
        os.makedirs(srv.data, mode=0o700)
        srv.start()
        try:
            with open(os.path.join(srv.data, "admin.token")) as f:
                first = f.read()
            assert srv.stop() == 0
            srv.start()
            conn = srv.connect()
            try:
                got = items(conn.roundtrip(W.request([CREATE], major=1, minor=4)))
                assert W.value(got[0], W.T["RESULT_STATUS"]) == W.SUCCESS
            finally:
                conn.close()
        finally:
            rc = srv.stop()
            srv.check_log()
        assert rc == 0
        with open(os.path.join(srv.data, "admin.token")) as f:
            assert f.read() == first
        log = srv.read_log()
        assert log.count("bootstrap: tenant default and operator identity") == 1
        assert log.count("the operator API key is in") == 1
        assert log.count("coffre 0.1.0 serving KMIP") == 2 or log.count("serving KMIP on") == 2
