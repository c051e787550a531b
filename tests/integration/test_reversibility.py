"""Reversibility (docs/export.md): a tenant's keys leave Coffre A for Coffre B
and for PyKMIP's reference server, and everything made with them before the
move still works after it.

In A: a root key wraps DEKs (with AAD), rotates (DEKs under both versions),
then a standard AES key, an RSA pair, a Secret Data (KMIP Register), a
destroyed key. A's tenant is exported wrapped for B's RSA public key and
imported into B: every DEK unwraps in B to the same plaintext, the standard
keys' bytes are the same (REST material, KMIP Get), the versions and states
are kept, the uids too. The same tenant, exported for a key pair generated
here, moves to pykmip-server through scripts/export_to_kmip.py: Get from
PyKMIP gives the same bytes, and a DEK wrapped in A opens with the root key
version PyKMIP now holds (the format of docs/envelope.md, rebuilt here).

Also: a Writer cannot export or import (403); an altered document fails the
import of the altered object only, with nothing of it left behind, while
the others import; a destroyed key exports as metadata only; the document
must be imported with the key it was wrapped for; rsa_oaep_sha256 refuses
keys too large for it; every object and version exported is audited; the
CLI round trip (coffre export / import) and a move into a tenant of another
name (its DEKs still unwrap). Every REST answer is checked against
docs/openapi.json (test_rest.api)."""
import base64
import copy
import hashlib
import json
import os
import signal
import struct
import subprocess
import tempfile
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import BIN, ROOT, Server, free_port
from helpers import client as pykmip_client
from test_rest import api
from test_rest_keys import add_key

SCRIPT = os.path.join(ROOT, "scripts", "export_to_kmip.py")
PYKMIP_SERVER = "/usr/bin/pykmip-server"


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    return base64.b64decode(s, validate=True)


def ok(status, doc, want=200):
    assert status == want, doc
    return doc


def call(srv, token, method, path, body=None, want=200):
    status, _, doc = api(srv, method, path, body, token=token)
    return ok(status, doc, want)


# ------------------------------------------------------------ servers
def start_coffre(tmp):
    data = os.path.join(tmp, "data")
    os.makedirs(data, mode=0o700)
    srv = Server(data)
    srv.start()
    return srv


def stop_coffre(srv):
    rc = srv.stop()
    srv.check_log()
    assert rc == 0, srv.read_log()[-4000:]


@pytest.fixture(scope="module")
def b():
    """Coffre B: the destination, its own data directory and PKI."""
    with tempfile.TemporaryDirectory(prefix="coffre-it-b-") as d:
        srv = start_coffre(d)
        try:
            yield srv
        finally:
            stop_coffre(srv)


@pytest.fixture(scope="module")
def pykmip(server, tmp_path_factory):
    """PyKMIP's reference server with A's development PKI (bench/run.sh)."""
    if not os.access(PYKMIP_SERVER, os.X_OK):
        pytest.skip(PYKMIP_SERVER + " missing (Debian package python3-pykmip)")
    d = str(tmp_path_factory.mktemp("pykmip"))
    os.makedirs(os.path.join(d, "policies"))
    port = free_port()
    conf = os.path.join(d, "server.conf")
    with open(conf, "w") as f:
        f.write("[server]\nhostname=127.0.0.1\nport=%d\ncertificate_path=%s\nkey_path=%s\n"
                "ca_path=%s\nauth_suite=TLS1.2\npolicy_path=%s\nenable_tls_client_auth=True\n"
                "logging_level=WARNING\ndatabase_path=%s\n"
                % (port, os.path.join(server.pki, "server.crt"),
                   os.path.join(server.pki, "server.key"), os.path.join(server.pki, "ca.crt"),
                   os.path.join(d, "policies"), os.path.join(d, "pykmip.db")))
    log = open(os.path.join(d, "out.log"), "wb")
    proc = subprocess.Popen([PYKMIP_SERVER, "-f", conf, "-l", os.path.join(d, "server.log")],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        import socket
        while True:
            assert proc.poll() is None, open(os.path.join(d, "out.log")).read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline, "pykmip-server did not start"
                time.sleep(0.2)
        yield port
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def pykmip_at(server, port):
    """A ProxyKmipClient for PyKMIP's server (A's admin certificate)."""
    from kmip.core import enums
    from kmip.pie.client import ProxyKmipClient
    return ProxyKmipClient(hostname="127.0.0.1", port=port,
                           cert=os.path.join(server.pki, "admin.crt"),
                           key=os.path.join(server.pki, "admin.key"),
                           ca=os.path.join(server.pki, "ca.crt"), config_file="/dev/null",
                           kmip_version=enums.KMIPVersion.KMIP_1_2)


# ------------------------------------------------------ envelope format
def aad_encoding(aad):
    """docs/envelope.md: the canonical encoding of the caller's AAD."""
    if aad is None:
        return b"\x00"
    if isinstance(aad, list):
        out = b"\x01" + struct.pack(">I", len(aad))
        for s in aad:
            out += struct.pack(">I", len(s.encode())) + s.encode()
        return out
    out = b"\x02" + struct.pack(">I", len(aad))
    for k in sorted(aad, key=lambda x: x.encode()):
        out += struct.pack(">I", len(k.encode())) + k.encode()
        out += struct.pack(">I", len(aad[k].encode())) + aad[k].encode()
    return out


def open_wrapped(key, tenant, wrapped, aad):
    """Unwrap a Coffre wrapped DEK with the root key version's bytes, here."""
    n = wrapped[5]
    header_len = 6 + n + 4 + 12
    header, body = wrapped[:header_len], wrapped[header_len:]
    nonce = header[6 + n + 4:]
    gcm_aad = header + bytes([len(tenant)]) + tenant.encode() + aad_encoding(aad)
    return AESGCM(key).decrypt(nonce, body, gcm_aad)


# ---------------------------------------------------------------- the move
class Tenant:
    """What A's tenant holds, and what the test knows of it."""


def rsa_pem_pair(bits=3072):
    k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    priv = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())
    pub = k.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    return priv, pub.decode()


def destination_key(srv, token, bits=3072):
    """The destination's RSA pair (a root key: its private half never leaves);
    (private key id, public key PEM)."""
    k = call(srv, token, "POST", "/v1/keys", {"algorithm": "RSA", "length": bits, "kind": "root",
                                               "usage": ["unwrap_key"], "activate": True},
             want=201)
    assert k["extractable"] is False and k["usage"] == ["unwrap_key"]
    pem = call(srv, token, "GET", "/v1/keys/%s/material?format=pem" % k["public_key_id"])
    return k["id"], pem["material"]


def wrap(srv, token, kid, pt, aad=None):
    body = {"plaintext": b64(pt)}
    if aad is not None:
        body["aad"] = aad
    return call(srv, token, "POST", "/v1/keys/%s/wrap" % kid, body)


def material(srv, token, kid, fmt=None):
    q = "?format=" + fmt if fmt else ""
    return call(srv, token, "GET", "/v1/keys/%s/material%s" % (kid, q))["material"]


@pytest.fixture(scope="module")
def src(server):
    """A's tenant "default": a rotated root key with DEKs under both
    versions, standard keys, a secret, a destroyed key."""
    from kmip.core import enums
    from kmip.pie import objects
    t = Tenant()
    t.manager = add_key(server, "rev-manager", "manager")
    t.writer = add_key(server, "rev-writer", "writer")
    m = t.manager
    root = call(server, m, "POST", "/v1/keys",
                {"algorithm": "AES", "length": 256, "kind": "root", "name": "rev-root",
                 "usage": ["wrap_key", "unwrap_key"], "activate": True}, want=201)
    t.root = root["id"]
    t.deks = []
    for i, aad in enumerate((["bucket:photos", "object:cat.jpg"], {"bucket": "photos"}, None)):
        if i == 2:
            assert call(server, m, "POST", "/v1/keys/%s/rotate" % t.root)["version"] == 2
        pt = os.urandom(32)
        w = wrap(server, m, t.root, pt, aad)
        assert w["key_version"] == (1 if i < 2 else 2)
        t.deks.append((pt, w["ciphertext"], aad, w["key_version"]))
    t.aes = call(server, m, "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                  "name": "rev-aes", "activate": True},
                 want=201)["id"]
    t.aes_bytes = unb64(material(server, m, t.aes))
    pair = call(server, m, "POST", "/v1/keys", {"algorithm": "RSA", "length": 2048,
                                                 "name": "rev-rsa", "activate": True}, want=201)
    t.priv, t.pub = pair["id"], pair["public_key_id"]
    t.priv_der = unb64(material(server, m, t.priv, "der"))
    t.pub_der = unb64(material(server, m, t.pub, "der"))
    t.secret_bytes = os.urandom(24)
    with pykmip_client(server, enums.KMIPVersion.KMIP_1_2) as c:
        t.secret = c.register(objects.SecretData(t.secret_bytes, enums.SecretDataType.PASSWORD,
                                                 [enums.CryptographicUsageMask.DERIVE_KEY],
                                                 name="rev-secret"))
        c.activate(t.secret)
        with open(os.path.join(server.pki, "admin.crt"), "rb") as f:
            from cryptography import x509
            t.cert_der = x509.load_pem_x509_certificate(f.read()).public_bytes(
                serialization.Encoding.DER)
        t.cert = c.register(objects.X509Certificate(t.cert_der, name="rev-cert"))
        t.opaque_bytes = os.urandom(40)
        t.opaque = c.register(objects.OpaqueObject(t.opaque_bytes, enums.OpaqueDataType.NONE,
                                                   name="rev-opaque"))
    t.gone = call(server, m, "POST", "/v1/keys", {"algorithm": "AES", "length": 128,
                                                   "name": "rev-gone"}, want=201)["id"]
    call(server, m, "DELETE", "/v1/keys/" + t.gone)
    t.live = {t.root, t.aes, t.priv, t.pub, t.secret, t.cert, t.opaque}
    return t


def by_uid(doc):
    return {o["uid"]: o for o in doc["objects"]}


def test_tenant_moves_to_another_coffre(server, b, src):
    mb = add_key(b, "rev-b-manager", "manager")
    unwrap_id, pem = destination_key(b, mb)
    doc = call(server, src.manager, "POST", "/v1/export", {"wrapping_key": pem})
    objs = by_uid(doc)
    assert set(objs) >= src.live and src.gone not in objs        # live objects only
    assert doc["total"] == len(doc["objects"]) and doc["offset"] == 0
    assert doc["source"]["tenant"] == "default"
    spki = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert doc["wrapping"] == {"algorithm": "rsa_aes_key_wrap_sha256",
                               "public_key_sha256": hashlib.sha256(spki).hexdigest()}
    root = objs[src.root]
    assert "material" not in root and [v["version"] for v in root["versions"]] == [1, 2]
    assert all("material" in v and not v["destroyed"] for v in root["versions"])
    assert root["attributes"]["summary"]["kind"] == "root"
    assert objs[src.aes]["material_form"] == "key_block"
    assert objs[src.cert]["material_form"] == "certificate"
    assert objs[src.opaque]["material_form"] == "opaque"
    # Never in clear: no key bytes the test knows appear in the document.
    text = json.dumps(doc).encode()
    for secret in (src.aes_bytes, src.priv_der, src.secret_bytes, src.opaque_bytes):
        assert b64(secret).encode() not in text and secret.hex().encode() not in text
    # Import into B, keeping the uids.
    res = call(b, mb, "POST", "/v1/import", {"document": doc, "unwrapping_key_id": unwrap_id})
    assert res["failed"] == 0 and res["imported"] == len(doc["objects"]), res
    assert [r["uid"] for r in res["results"]] == [o["uid"] for o in doc["objects"]]
    # Every DEK wrapped in A unwraps in B, both versions.
    for pt, ct, aad, version in src.deks:
        body = {"ciphertext": ct}
        if aad is not None:
            body["aad"] = aad
        out = call(b, mb, "POST", "/v1/keys/%s/unwrap" % src.root, body)
        assert unb64(out["plaintext"]) == pt and out["key_version"] == version
    versions = call(b, mb, "GET", "/v1/keys/%s/versions" % src.root)
    assert [v["version"] for v in versions["versions"]] == [2, 1]
    assert all(v["encryptions"] >= 1 for v in versions["versions"])  # the ceiling goes on
    # The root key still wraps in B, under version 2, and A's data rewraps.
    assert wrap(b, mb, src.root, b"\x07" * 32)["key_version"] == 2
    # Standard keys: identical bytes; metadata as in A.
    assert unb64(material(b, mb, src.aes)) == src.aes_bytes
    assert unb64(material(b, mb, src.priv, "der")) == src.priv_der
    assert unb64(material(b, mb, src.pub, "der")) == src.pub_der
    for kid in (src.root, src.aes, src.priv, src.pub):
        ka = call(server, src.manager, "GET", "/v1/keys/" + kid)
        kb = call(b, mb, "GET", "/v1/keys/" + kid)
        for f in ("type", "state", "name", "algorithm", "length", "usage", "kind", "created",
                  "public_key_id", "private_key_id"):
            assert ka.get(f) == kb.get(f), (kid, f)
    from kmip.core import enums
    with pykmip_client(b, enums.KMIPVersion.KMIP_1_2) as c:
        assert c.get(src.secret).value == src.secret_bytes
        assert c.get(src.cert).value == src.cert_der
        assert c.get(src.opaque).value == src.opaque_bytes
    # A second import: every uid is taken, 409 each, nothing changes.
    again = call(b, mb, "POST", "/v1/import", {"document": doc, "unwrapping_key_id": unwrap_id})
    assert again["imported"] == 0 and again["failed"] == len(doc["objects"])
    assert {(r["error"]["code"], r["error"]["status"]) for r in again["results"]} == {
        ("already_exists", 409)}


def test_tenant_moves_to_pykmip(server, src, pykmip, tmp_path):
    priv_pem, pub_pem = rsa_pem_pair()
    doc = call(server, src.manager, "POST", "/v1/export", {"wrapping_key": pub_pem})
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    (tmp_path / "dest.key").write_bytes(priv_pem)
    out = subprocess.run(
        ["/usr/bin/python3", SCRIPT, "--document", str(tmp_path / "doc.json"),
         "--private-key", str(tmp_path / "dest.key"), "--port", str(pykmip),
         "--cert", os.path.join(server.pki, "admin.crt"),
         "--key", os.path.join(server.pki, "admin.key"),
         "--ca", os.path.join(server.pki, "ca.crt")],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    moved = json.loads(out.stdout)
    assert set(moved) == {o["uid"] for o in doc["objects"]}
    assert len(moved[src.root]) == 2                      # one key per version
    from kmip.core import enums
    with pykmip_at(server, pykmip) as c:
        assert c.get(moved[src.aes][0]).value == src.aes_bytes
        assert c.get(moved[src.secret][0]).value == src.secret_bytes
        assert c.get(moved[src.cert][0]).value == src.cert_der
        assert c.get(moved[src.opaque][0]).value == src.opaque_bytes
        priv = c.get(moved[src.priv][0])
        assert priv.value == src.priv_der and priv.key_format_type == enums.KeyFormatType.PKCS_8
        assert c.get(moved[src.pub][0]).value == src.pub_der
        v1, v2 = (c.get(u) for u in moved[src.root])
        names = [c.get_attributes(u, ["Name"])[1][0].attribute_value.name_value.value
                 for u in moved[src.root]]
        assert names == ["rev-root@v1", "rev-root@v2"]
        for uid in (moved[src.aes][0], moved[src.root][1]):
            state = c.get_attributes(uid, ["State"])[1][0].attribute_value.value
            assert state == enums.State.ACTIVE
        keys = {1: v1.value, 2: v2.value}
    # A DEK wrapped in A opens with the version PyKMIP now holds.
    for pt, ct, aad, version in src.deks:
        assert open_wrapped(keys[version], "default", unb64(ct), aad) == pt
    # The document was wrapped for this key only: another key refuses it.
    other, _ = rsa_pem_pair(2048)
    (tmp_path / "other.key").write_bytes(other)
    bad = subprocess.run(["/usr/bin/python3", SCRIPT, "--document", str(tmp_path / "doc.json"),
                          "--private-key", str(tmp_path / "other.key"), "--port", str(pykmip),
                          "--cert", "x", "--key", "x", "--ca", "x"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "wrapped for another public key" in bad.stderr


# ------------------------------------------------------------ refusals
@pytest.fixture(scope="module")
def dest(b):
    """A fresh tenant of B with a Manager and an unwrapping key."""
    op = open(os.path.join(b.data, "admin.token")).read().strip()
    call(b, op, "POST", "/v1/tenants", {"id": "acme"}, want=201)
    d = Tenant()
    d.manager = add_key(b, "acme-manager", "manager", tenant="acme")
    d.writer = add_key(b, "acme-writer", "writer", tenant="acme")
    d.key, d.pem = destination_key(b, d.manager)
    return d


def test_writer_cannot_export_or_import(server, b, src, dest):
    _, pem = rsa_pem_pair(2048)
    for path in ("/v1/export", "/v1/keys/%s/export" % src.aes):
        status, _, doc = api(server, "POST", path, {"wrapping_key": pem}, token=src.writer)
        assert (status, doc["error"]["code"]) == (403, "permission_denied"), doc
    doc = call(server, src.manager, "POST", "/v1/keys/%s/export" % src.aes,
               {"wrapping_key": dest.pem})
    status, _, out = api(b, "POST", "/v1/import", {"document": doc,
                                                   "unwrapping_key_id": dest.key},
                         token=dest.writer)
    assert (status, out["error"]["code"]) == (403, "permission_denied"), out
    status, _, _ = api(b, "GET", "/v1/keys/" + src.aes, token=dest.manager)
    assert status == 404


def tampered_attrs(obj, fn):
    """Change a value inside the object's attribute TTLV (still valid TTLV)."""
    raw = bytearray(unb64(obj["attributes"]["ttlv"]))
    fn(raw)
    obj["attributes"]["ttlv"] = b64(bytes(raw))


def test_altered_document_fails_that_object_only(server, b, src, dest):
    doc = call(server, src.manager, "POST", "/v1/export", {"wrapping_key": dest.pem})
    objs = by_uid(doc)
    # 1. The AES key's Cryptographic Length (tag 42002A) says 128 instead of 256.
    def length(raw):
        i = raw.index(bytes.fromhex("42002a0200000004"))
        raw[i + 8:i + 12] = struct.pack(">i", 128)
    tampered_attrs(objs[src.aes], length)
    # 2. The root key's two versions swapped.
    v = objs[src.root]["versions"]
    v[0]["material"], v[1]["material"] = v[1]["material"], v[0]["material"]
    # 3. A byte of the private key's wrapped material flipped.
    m = bytearray(unb64(objs[src.priv]["material"]))
    m[len(m) // 2] ^= 1
    objs[src.priv]["material"] = b64(bytes(m))
    res = call(b, dest.manager, "POST", "/v1/import", {"document": doc,
                                                       "unwrapping_key_id": dest.key})
    results = {r["uid"]: r for r in res["results"]}
    bad = {src.aes, src.root, src.priv}
    for uid in bad:
        r = results[uid]
        assert r["result"] == "failed" and r["error"]["code"] == "cryptographic_failure", r
        # Nothing of it is left: neither the object nor its versions.
        status, _, _ = api(b, "GET", "/v1/keys/" + uid, token=dest.manager)
        assert status == 404
        status, _, _ = api(b, "GET", "/v1/keys/%s/versions" % uid, token=dest.manager)
        assert status == 404
    assert "altered" in results[src.aes]["error"]["message"]
    assert "version" in results[src.root]["error"]["message"]
    assert res["failed"] == 3 and res["imported"] == len(doc["objects"]) - 3
    assert all(results[u]["result"] == "imported" for u in set(results) - bad)
    # The untouched document imports them now, into tenant "acme": A's DEKs
    # still unwrap there (they bind A's tenant id, which the key keeps).
    good = call(server, src.manager, "POST", "/v1/export", {"wrapping_key": dest.pem})
    good["objects"] = [o for o in good["objects"] if o["uid"] in bad]
    res = call(b, dest.manager, "POST", "/v1/import", {"document": good,
                                                       "unwrapping_key_id": dest.key})
    assert res["imported"] == 3, res
    for pt, ct, aad, version in src.deks:
        body = {"ciphertext": ct, "aad": aad} if aad is not None else {"ciphertext": ct}
        out = call(b, dest.manager, "POST", "/v1/keys/%s/unwrap" % src.root, body)
        assert unb64(out["plaintext"]) == pt


def test_destroyed_key_exports_metadata_only(server, b, src, dest):
    doc = call(server, src.manager, "POST", "/v1/keys/%s/export" % src.gone,
               {"wrapping_key": dest.pem})
    (o,) = doc["objects"]
    assert o["uid"] == src.gone and o["state"] == "destroyed"
    assert "material" not in o and "material_form" not in o and "versions" not in o
    assert o["attributes"]["summary"]["name"] == "rev-gone"
    every = call(server, src.manager, "POST", "/v1/export", {"wrapping_key": dest.pem,
                                                               "include_destroyed": True})
    assert src.gone in by_uid(every) and every["total"] == len(every["objects"])
    res = call(b, dest.manager, "POST", "/v1/import", {"document": doc,
                                                       "unwrapping_key_id": dest.key})
    assert res["imported"] == 1, res
    k = call(b, dest.manager, "GET", "/v1/keys/" + src.gone)
    assert k["state"] == "destroyed" and k["name"] == "rev-gone"


def test_wrong_key_and_methods(server, b, src, dest):
    doc = call(server, src.manager, "POST", "/v1/keys/%s/export" % src.aes,
               {"wrapping_key": dest.pem})
    other, _ = destination_key(b, dest.manager, 2048)
    status, _, out = api(b, "POST", "/v1/import", {"document": doc, "unwrapping_key_id": other},
                         token=dest.manager)
    assert (status, out["error"]["code"]) == (400, "invalid_field")
    assert "wrapped for the public key" in out["error"]["message"]
    # rsa_oaep_sha256: an AES key fits, a 2048-bit private key does not.
    doc = call(server, src.manager, "POST", "/v1/keys/%s/export" % src.aes,
               {"wrapping_key": dest.pem, "wrapping": "rsa_oaep_sha256"})
    assert doc["wrapping"]["algorithm"] == "rsa_oaep_sha256"
    status, _, out = api(server, "POST", "/v1/keys/%s/export" % src.priv,
                         {"wrapping_key": dest.pem, "wrapping": "rsa_oaep_sha256"},
                         token=src.manager)
    assert (status, out["error"]["code"]) == (400, "invalid_field")
    assert "rsa_aes_key_wrap_sha256" in out["error"]["message"]
    for body, code in (({"wrapping_key": "not a key"}, "invalid_field"),
                       ({}, "missing_data"),
                       ({"wrapping_key": dest.pem, "wrapping": "des"}, "invalid_field"),
                       ({"wrapping": "aes_kwp"}, "missing_data")):
        status, _, out = api(server, "POST", "/v1/export", body, token=src.manager)
        assert (status, out["error"]["code"]) == (400, code), (body, out)
    ec = call(server, src.manager, "POST", "/v1/keys", {"algorithm": "EC", "curve": "P-256"},
              want=201)
    ec_pem = material(server, src.manager, ec["public_key_id"], "pem")
    status, _, out = api(server, "POST", "/v1/export", {"wrapping_key": ec_pem},
                         token=src.manager)
    assert status == 400, out
    bad = copy.deepcopy(doc)
    bad["version"] = 2
    status, _, out = api(b, "POST", "/v1/import", {"document": bad,
                                                   "unwrapping_key_id": dest.key},
                         token=dest.manager)
    assert (status, out["error"]["code"]) == (400, "feature_not_supported")


def test_aes_kwp_between_tenants(server, b, src, dest):
    """aes_kwp: under an AES key both sides hold (moved once with RSA)."""
    m = src.manager
    kek = call(server, m, "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                "usage": ["wrap_key", "unwrap_key"],
                                                "activate": True}, want=201)["id"]
    first = call(server, m, "POST", "/v1/keys/%s/export" % kek, {"wrapping_key": dest.pem})
    assert call(b, dest.manager, "POST", "/v1/import",
                {"document": first, "unwrapping_key_id": dest.key})["imported"] == 1
    k = call(server, m, "POST", "/v1/keys", {"algorithm": "AES", "length": 192,
                                              "activate": True}, want=201)["id"]
    doc = call(server, m, "POST", "/v1/keys/%s/export" % k, {"wrapping": "aes_kwp",
                                                              "wrapping_key_id": kek})
    assert doc["wrapping"] == {"algorithm": "aes_kwp", "key_id": kek}
    res = call(b, dest.manager, "POST", "/v1/import", {"document": doc,
                                                       "unwrapping_key_id": kek})
    assert res["imported"] == 1, res
    assert material(b, dest.manager, k) == material(server, m, k)


def test_exports_are_audited(server, src, dest):
    before = call(server, src.manager, "GET", "/v1/audit?operation=exportObject&limit=1000")
    call(server, src.manager, "POST", "/v1/keys/%s/export" % src.root,
         {"wrapping_key": dest.pem})
    after = call(server, src.manager, "GET", "/v1/audit?operation=exportObject&limit=1000")
    new = after["records"][len(before["records"]):]
    assert [(r["object"]["id"], r["object"]["version"]) for r in new] == [
        (src.root, 1), (src.root, 2)], new
    call_rec = call(server, src.manager, "GET", "/v1/audit?operation=exportKey&limit=1000")
    assert call_rec["records"][-1]["object"]["id"] == src.root


def test_cli_round_trip(server, b, src, dest, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path))
    for k in list(env):
        if k.startswith("COFFRE_"):
            del env[k]
    pem = tmp_path / "dest.pem"
    pem.write_text(dest.pem)
    tok_a, tok_b = tmp_path / "a.token", tmp_path / "b.token"
    tok_a.write_text(src.manager + "\n")
    tok_b.write_text(dest.manager + "\n")
    os.chmod(tok_a, 0o600)
    os.chmod(tok_b, 0o600)

    def coffre(srv, tok, *args):
        return subprocess.run([BIN, "--addr", "https://127.0.0.1:%d" % srv.https_port,
                               "--cacert", os.path.join(srv.pki, "ca.crt"), "--token-file",
                               str(tok), *args], capture_output=True, text=True, env=env,
                              timeout=120)
    k = call(server, src.manager, "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                        "activate": True}, want=201)["id"]
    one = tmp_path / "one.json"
    p = coffre(server, tok_a, "key", "export", k, "--wrapping-key", str(pem), "--out", str(one))
    assert p.returncode == 0, p.stderr
    assert json.loads(one.read_text())["objects"][0]["uid"] == k
    assert oct(os.stat(one).st_mode & 0o777) == "0o600"
    whole = tmp_path / "tenant.json"
    p = coffre(server, tok_a, "export", "--wrapping-key", str(pem), "--out", str(whole))
    assert p.returncode == 0, p.stderr
    doc = json.loads(whole.read_text())
    assert k in by_uid(doc) and doc["total"] == len(doc["objects"])
    p = coffre(b, tok_b, "import", "--file", str(one), "--unwrapping-key", dest.key)
    assert p.returncode == 0 and "imported 1 of 1 objects" in p.stdout, p.stderr
    # The whole tenant: the objects B's "acme" already holds fail (409, exit 6).
    p = coffre(b, tok_b, "--json", "import", "--file", str(whole), "--unwrapping-key",
               dest.key)
    assert p.returncode == 6, p.stderr
    out = json.loads(p.stdout)
    assert out["imported"] + out["failed"] == len(doc["objects"]) and out["failed"] >= 1
    assert [r["index"] for r in out["results"]] == list(range(len(doc["objects"])))
    assert material(b, dest.manager, k) == material(server, src.manager, k)
