"""`coffre identity` on the data directory of a running server: the vCenter
flow of docs/vcenter.md. A certificate the server's CA signed but nobody
registered is refused; `identity add-cert` pins it (the change applies to
the running server at once); `identity list` shows it; `identity retire`
refuses while it owns keys, and with --destroy-keys revokes and destroys
them and disables it. Also a CA rule for a foreign (vCenter) CA placed in
pki/trusted/."""
import os
import subprocess

import kmipwire as W
from conftest import BIN, Server

AUTH_NOT_SUCCESSFUL = 0x03
CREATE = (W.OP["CREATE"], [
    (W.T["OBJECT_TYPE"], W.ENUM, 2),
    (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
        W.attribute("Cryptographic Algorithm", W.ENUM, 3),
        W.attribute("Cryptographic Length", W.INTEGER, 256)])], None)


def run(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def client_cert(d, name, ca_crt, ca_key):
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
        "-keyout", d + "/" + name + ".key", "-out", d + "/" + name + ".csr")
    run("openssl", "x509", "-req", "-in", d + "/" + name + ".csr", "-CA", ca_crt, "-CAkey", ca_key,
        "-CAcreateserial", "-CAserial", d + "/" + name + ".srl", "-days", "2", "-sha256",
        "-extfile", ext, "-out", d + "/" + name + ".crt")
    return d + "/" + name + ".crt", d + "/" + name + ".key"


def create_as(server, crt, key):
    ctx = server.tls_context(cert=None)
    ctx.load_cert_chain(crt, key)
    conn = server.connect(ctx=ctx)
    try:
        item = W.children(W.decode(conn.roundtrip(W.request([CREATE]))), W.T["BATCH_ITEM"])[0]
        if W.value(item, W.T["RESULT_STATUS"]) != W.SUCCESS:
            return None, W.value(item, W.T["RESULT_REASON"])
        return W.value(W.child(item, W.T["RESPONSE_PAYLOAD"]), W.T["UNIQUE_IDENTIFIER"]), None
    finally:
        conn.close()


def test_pin_list_retire(server, tmp_path):
    d = str(tmp_path)
    crt, key = client_cert(d, "vcenter", os.path.join(server.pki, "ca.crt"),
                           os.path.join(server.pki, "ca.key"))
    assert create_as(server, crt, key) == (None, AUTH_NOT_SUCCESSFUL)

    out = run(BIN, "identity", "add-cert", "--data", server.data, "--cert", crt,
              "--role", "writer", "--name", "vcenter-prod").stdout
    ident = out.split("\t")[0]
    assert len(ident) == 36 and "pinned" in out
    uid, reason = create_as(server, crt, key)
    assert reason is None and uid

    listing = run(BIN, "identity", "list", "--data", server.data).stdout
    assert ident in listing and "vcenter-prod" in listing

    # The same certificate cannot map to two identities.
    again = run(BIN, "identity", "add-cert", "--data", server.data, "--cert", crt, check=False)
    assert again.returncode == 1 and "already_exists" in again.stderr

    # Retiring refuses while it owns live keys, and names them.
    r = run(BIN, "identity", "retire", "--data", server.data, "--id", ident, check=False)
    assert r.returncode == 1 and uid in r.stdout
    r = run(BIN, "identity", "retire", "--data", server.data, "--id", ident, "--destroy-keys")
    assert uid in r.stdout
    assert create_as(server, crt, key) == (None, AUTH_NOT_SUCCESSFUL)
    # The admin sees the key destroyed: Get fails, the metadata says so.
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([(W.OP["GET_ATTRIBUTES"], [
            (W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid),
            (W.T["ATTRIBUTE_NAME"], W.TEXT, "State")], None)])))
        attr = W.child(W.child(W.child(resp, W.T["BATCH_ITEM"]), W.T["RESPONSE_PAYLOAD"]),
                       W.T["ATTRIBUTE"])
        assert W.value(attr, W.T["ATTRIBUTE_VALUE"]) == 5   # Destroyed
    finally:
        conn.close()


def test_foreign_ca_rule(tmp_path):
    """vCenter's own root CA in pki/trusted/ plus a CA rule admits the
    certificates it issues (the 'vCenter Root CA certificate' method)."""
    d = str(tmp_path)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=vCenter root",
        "-keyout", d + "/vca.key", "-out", d + "/vca.crt", "-days", "2")
    crt, key = client_cert(d, "kmipClient", d + "/vca.crt", d + "/vca.key")
    data = os.path.join(d, "data")
    os.makedirs(data, mode=0o700)
    server = Server(data)
    server.start()
    try:
        server.stop()            # first start made the PKI; now trust vCenter's CA
        os.makedirs(os.path.join(data, "pki", "trusted"))
        with open(d + "/vca.crt", "rb") as src, \
                open(os.path.join(data, "pki", "trusted", "vcenter-root.pem"), "wb") as dst:
            dst.write(src.read())
        server.start()
        assert create_as(server, crt, key) == (None, AUTH_NOT_SUCCESSFUL)
        run(BIN, "identity", "add-cert", "--data", data, "--cert", d + "/vca.crt", "--ca-rule",
            "--role", "writer")
        uid, reason = create_as(server, crt, key)
        assert reason is None and uid
    finally:
        assert server.stop() == 0
    server.check_log()
