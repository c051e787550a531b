"""The KMIP listener's TLS rules seen from real clients: client certificate
required and verified, failures logged with the peer address and harmless
to other clients, session resumption with client authentication (vSAN
hosts reconnecting in bursts), and the high-level PyKMIP client."""
import os
import socket
import ssl
import subprocess

import pytest
from kmip.core import enums
from kmip.pie.client import ProxyKmipClient

import kmipwire as W

QUERY = W.request([(W.OP["QUERY"], [(W.T["QUERY_FUNCTION"], W.ENUM, 3)], None)])


def query_ok(conn):
    resp = W.decode(conn.roundtrip(QUERY))
    return W.value(W.child(resp, W.T["BATCH_ITEM"]), W.T["RESULT_STATUS"]) == W.SUCCESS


def test_client_without_certificate_is_refused(server):
    ctx = server.tls_context(cert=None)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        conn = server.connect(ctx=ctx)
        conn.roundtrip(QUERY)      # TLS 1.3 reports the refusal on first read
    conn = server.connect()
    assert query_ok(conn)
    conn.close()
    assert "127.0.0.1" in server.read_log()


def test_certificate_from_another_ca_is_refused(server, tmp_path):
    d = str(tmp_path)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rogue CA",
        "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rogue",
        "-keyout", d + "/c.key", "-out", d + "/c.csr")
    run("openssl", "x509", "-req", "-in", d + "/c.csr", "-CA", d + "/ca.crt", "-CAkey",
        d + "/ca.key", "-CAcreateserial", "-days", "2", "-out", d + "/c.crt")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(server.pki, "ca.crt"))
    ctx.load_cert_chain(d + "/c.crt", d + "/c.key")
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        conn = server.connect(ctx=ctx)
        conn.roundtrip(QUERY)
    conn = server.connect()
    assert query_ok(conn)
    conn.close()


@pytest.mark.parametrize("tls_version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_session_resumption_with_client_auth(server, tls_version):
    ctx = server.tls_context()
    ctx.minimum_version = ctx.maximum_version = tls_version
    first = server.connect(ctx=ctx)
    assert query_ok(first)            # in TLS 1.3 the ticket arrives with the data
    session = first.sock.session
    first.close()
    assert session is not None
    reused = 0
    for _ in range(5):
        raw = socket.create_connection(("127.0.0.1", server.kmip_port), timeout=10)
        s = ctx.wrap_socket(raw, session=session)
        s.sendall(QUERY)
        head = s.recv(8)
        assert len(head) == 8
        reused += 1 if s.session_reused else 0
        session = s.session or session
        s.close()
    assert reused == 5


def test_old_tls_versions_are_refused(server):
    ctx = server.tls_context()
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        server.connect(ctx=ctx).roundtrip(QUERY)


def test_pykmip_high_level_client(server):
    client = ProxyKmipClient(hostname="127.0.0.1", port=server.kmip_port,
                             cert=os.path.join(server.pki, "admin.crt"),
                             key=os.path.join(server.pki, "admin.key"),
                             ca=os.path.join(server.pki, "ca.crt"),
                             config_file=os.path.join(server.data, "pykmip.conf")
                             if os.path.exists(os.path.join(server.data, "pykmip.conf"))
                             else "/dev/null",
                             kmip_version=enums.KMIPVersion.KMIP_1_2)
    with client:
        uid = client.create(enums.CryptographicAlgorithm.AES, 128)
        key = client.get(uid)
        assert key.cryptographic_algorithm == enums.CryptographicAlgorithm.AES
        assert len(key.value) == 16
        uid2, attrs = client.get_attributes(uid, ["State", "Cryptographic Length"])
        assert uid2 == uid
        got = {a.attribute_name.value: a.attribute_value.value for a in attrs}
        assert got == {"State": enums.State.PRE_ACTIVE, "Cryptographic Length": 128}
        names = client.get_attribute_list(uid)
        assert "Cryptographic Algorithm" in names and "Initial Date" in names
