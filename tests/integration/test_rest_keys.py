"""/v1/keys over real HTTPS: create, get, list, lifecycle and material
through core, so KMIP's rules apply; a key created over REST is the same
object over KMIP (byte-identical material for the tenant's admin
certificate); a Reader never gets material nor creates; malformed bodies
get the right 4xx JSON errors. Every response is checked against
docs/openapi.json (test_rest.check_response)."""
import base64
import subprocess

import pytest

import kmipwire as W
from conftest import BIN
from helpers import ok, wire
from test_rest import api


def add_key(server, name, role, tenant="default"):
    out = subprocess.run([BIN, "identity", "add-key", "--data", server.data, "--name", name,
                          "--role", role, "--tenant", tenant],
                         check=True, capture_output=True, text=True)
    token = out.stdout.strip().split()[-1]
    assert token.startswith("cf1_") and len(token) == 80
    return token


@pytest.fixture(scope="module")
def tokens(server):
    return {role: add_key(server, "svc-" + role, role) for role in ("writer", "reader", "manager")}


def create(server, token, **kw):
    body = {"algorithm": "AES", "length": 256}
    body.update(kw)
    return api(server, "POST", "/v1/keys", body, token=token)


def test_create_get_and_material(server, tokens):
    status, headers, key = create(server, tokens["writer"], name="rest-a", activate=True,
                                  usage=["encrypt", "decrypt", "wrap_key"])
    assert status == 201
    assert headers["Location"] == "/v1/keys/" + key["id"]
    assert key["name"] == "rest-a" and key["algorithm"] == "AES" and key["length"] == 256
    assert key["state"] == "active" and key["type"] == "symmetric_key"
    assert sorted(key["usage"]) == ["decrypt", "encrypt", "wrap_key"]
    assert key["extractable"] is True
    status, _, got = api(server, "GET", "/v1/keys/" + key["id"], token=tokens["reader"])
    assert status == 200 and got["id"] == key["id"] and "material" not in got
    status, _, m = api(server, "GET", "/v1/keys/%s/material" % key["id"], token=tokens["writer"])
    assert status == 200 and m["format"] == "raw" and m["id"] == key["id"]
    assert len(base64.b64decode(m["material"], validate=True)) == 32


def test_defaults_pre_active_and_activate(server, tokens):
    status, _, key = create(server, tokens["writer"], length=128)
    assert status == 201 and key["state"] == "pre_active" and "name" not in key
    assert sorted(key["usage"]) == ["decrypt", "encrypt"] and key["length"] == 128
    status, _, k2 = api(server, "POST", "/v1/keys/%s/activate" % key["id"], token=tokens["writer"])
    assert status == 200 and k2["state"] == "active"
    status, _, err = api(server, "POST", "/v1/keys/%s/activate" % key["id"], token=tokens["writer"])
    assert status == 409 and err["error"]["code"] == "wrong_state"


def test_revoke_and_destroy(server, tokens):
    w = tokens["writer"]
    _, _, key = create(server, w, activate=True)
    path = "/v1/keys/" + key["id"]
    status, _, err = api(server, "DELETE", path, token=w)
    assert status == 409 and err["error"]["code"] == "wrong_state"  # Active: revoke first
    status, _, err = api(server, "POST", path + "/revoke", {"reason": "key_compromise", "message": "leaked"},
                         token=tokens["reader"])
    assert status == 403 and err["error"]["code"] == "permission_denied"
    status, _, k = api(server, "POST", path + "/revoke", {"reason": "cessation_of_operation"}, token=w)
    assert status == 200 and k["state"] == "deactivated"
    status, _, err = api(server, "GET", path + "/material", token=w)
    assert status == 409 and err["error"]["code"] == "wrong_state"
    status, _, k = api(server, "DELETE", path, token=w)
    assert status == 200 and k["state"] == "destroyed"
    status, _, err = api(server, "GET", path + "/material", token=w)
    assert status == 410 and err["error"]["code"] == "object_destroyed"
    _, _, key2 = create(server, w, activate=True)
    status, _, k = api(server, "POST", "/v1/keys/%s/revoke" % key2["id"], {"reason": "key_compromise"},
                       token=tokens["manager"])
    assert status == 200 and k["state"] == "compromised"


def test_reader_never_gets_material_nor_creates(server, tokens):
    _, _, key = create(server, tokens["writer"], activate=True)
    status, _, err = api(server, "GET", "/v1/keys/%s/material" % key["id"], token=tokens["reader"])
    assert status == 403 and err["error"]["code"] == "permission_denied"
    assert "material" not in err
    status, _, err = create(server, tokens["reader"])
    assert status == 403 and err["error"]["code"] == "permission_denied"


def test_not_extractable(server, tokens):
    _, _, key = create(server, tokens["writer"], activate=True, extractable=False)
    assert key["extractable"] is False and key["kind"] == "root"
    status, _, err = api(server, "GET", "/v1/keys/%s/material" % key["id"], token=tokens["manager"])
    assert status == 403 and err["error"]["code"] == "not_extractable"


def test_disabled_api_key_is_401(server):
    token = add_key(server, "soon-gone", "writer")
    status, _, _ = api(server, "GET", "/v1/keys?limit=1", token=token)
    assert status == 200
    ident = token[4:36]
    ident = "-".join([ident[:8], ident[8:12], ident[12:16], ident[16:20], ident[20:]])
    subprocess.run([BIN, "identity", "retire", "--data", server.data, "--id", ident],
                   check=True, capture_output=True)
    status, headers, err = api(server, "GET", "/v1/keys?limit=1", token=token)
    assert status == 401 and err["error"]["code"] == "unauthenticated"
    assert headers["WWW-Authenticate"].startswith("Bearer")
    # A valid-looking token whose secret is wrong: the same answer.
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    status, _, err = api(server, "GET", "/v1/keys?limit=1", token=forged)
    assert status == 401 and err["error"]["code"] == "unauthenticated"


def test_unknown_key_is_404(server, tokens):
    status, _, err = api(server, "GET", "/v1/keys/0190a000-0000-7000-8000-000000000000",
                         token=tokens["reader"])
    assert status == 404 and err["error"]["code"] == "not_found"


def test_list_paging_and_filters(server, tokens):
    w = tokens["writer"]
    made = [create(server, w, name="page-%d" % i)[2]["id"] for i in range(5)]
    status, _, page = api(server, "GET", "/v1/keys?limit=2&offset=0", token=tokens["reader"])
    assert status == 200 and len(page["keys"]) == 2 and page["limit"] == 2 and page["offset"] == 0
    total = page["total"]
    assert total >= 5
    seen = []
    for off in range(0, total, 3):
        _, _, p = api(server, "GET", "/v1/keys?limit=3&offset=%d" % off, token=tokens["reader"])
        seen += [k["id"] for k in p["keys"]]
    assert len(seen) == total == len(set(seen)) and set(made) <= set(seen)
    _, _, p = api(server, "GET", "/v1/keys?name=page-3", token=tokens["reader"])
    assert [k["id"] for k in p["keys"]] == [made[3]] and p["total"] == 1
    _, _, p = api(server, "GET", "/v1/keys?state=pre_active&limit=1000", token=tokens["reader"])
    assert set(made) <= {k["id"] for k in p["keys"]}
    assert all(k["state"] == "pre_active" for k in p["keys"])
    for q, code in [("limit=1001", "invalid_field"), ("limit=-1", "invalid_field"),
                    ("offset=x", "invalid_field"), ("state=bogus", "invalid_field"),
                    ("colour=red", "invalid_field"), ("limit=1&limit=2", "invalid_field")]:
        status, _, err = api(server, "GET", "/v1/keys?" + q, token=tokens["reader"])
        assert status == 400 and err["error"]["code"] == code, q


def test_malformed_bodies(server, tokens):
    w = tokens["writer"]
    j = {"Content-Type": "application/json"}
    cases = [
        (b'{"algorithm": "AES", "length": 256', j, 400, "invalid_message"),
        (b'{"algorithm": "AES", "algorithm": "AES", "length": 256}', j, 400, "invalid_message"),
        (b'{"algorithm": "AES", "length": 256} x', j, 400, "invalid_message"),
        (b'{"name": "\xff\xfe", "algorithm": "AES", "length": 256}', j, 400, "invalid_message"),
        (b'[1, 2]', j, 400, "invalid_message"),
        (b'{"algorithm": "AES", "length": 256, "colour": "red"}', j, 400, "invalid_field"),
        (b'{"algorithm": "AES", "length": "256"}', j, 400, "invalid_field"),
        (b'{"algorithm": "AES", "length": 512}', j, 400, "invalid_field"),
        (b'{"algorithm": "DES", "length": 256}', j, 400, "invalid_field"),
        (b'{"algorithm": "AES", "length": 256, "usage": ["fly"]}', j, 400, "invalid_field"),
        (b'{"algorithm": "AES", "length": 256, "usage": "encrypt"}', j, 400, "invalid_field"),
        (b'{"algorithm": "AES", "length": 256, "activate": 1}', j, 400, "invalid_field"),
        (b'{"length": 256}', j, 400, "missing_data"),
        (b'{"name": "", "algorithm": "AES", "length": 256}', j, 400, "invalid_field"),
        (b'{"name": "\\u0000", "algorithm": "AES", "length": 256}', j, 400, "invalid_message"),
        (b'{"algorithm": "AES", "length": 256.0}', j, 400, "invalid_field"),
        (b'{"algorithm": "AES", "length": 256, "usage": []}', j, 400, "invalid_field"),
        (b'{"algorithm": "AES", "length": 256}', {"Content-Type": "text/plain"}, 415,
         "unsupported_media_type"),
        (b'{"algorithm": "AES", "length": 256}', {}, 415, "unsupported_media_type"),
        (b'{"name": "' + b"a" * (300 * 1024) + b'"}', j, 413, "limit_exceeded"),
    ]
    for raw, headers, status, code in cases:
        st, _, err = api(server, "POST", "/v1/keys", token=w, raw=raw, headers=headers)
        assert (st, err["error"]["code"]) == (status, code), raw[:60]
    st, _, err = api(server, "POST", "/v1/keys", token=w, raw=b'{"length": 256,\n "x": }', headers=j)
    assert "line 2" in err["error"]["message"]
    st, _, err = api(server, "POST", "/v1/keys", token=w, raw=b'{"algorithm": "AES", "length": 256, "colour": 1}',
                     headers=j)
    assert '"colour"' in err["error"]["message"]


def test_rest_key_is_the_kmip_object(server, tokens):
    _, _, key = create(server, tokens["writer"], name="shared-with-kmip", activate=True)
    _, _, m = api(server, "GET", "/v1/keys/%s/material" % key["id"], token=tokens["writer"])
    pl = ok(wire(server, W.OP["GET"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, key["id"])]))
    block = W.child(W.child(pl, W.T["SYMMETRIC_KEY"]), W.T["KEY_BLOCK"])
    value = W.child(block, W.T["KEY_VALUE"])
    material = W.value(value, W.T["KEY_MATERIAL"])
    assert material == base64.b64decode(m["material"])
    assert W.value(pl, W.T["UNIQUE_IDENTIFIER"]) == key["id"]


# ===================================================== algorithms, kinds, pairs
import hashlib
import hmac
import os
import re
import tempfile
import uuid

from helpers import failed

TAG = dict(MAC=0x23, DATA=0x4200C2, MAC_DATA=0x4200C6, PRIVATE_KEY=0x420064,
           PUBLIC_KEY=0x42006D)
NOT_EXTRACTABLE = 0x17  # KMIP 1.4 Result Reason Not Extractable


def openssl(*args, data=None):
    out = subprocess.run(["openssl", *args], input=data, capture_output=True, check=True)
    return out.stdout


def pem_body(text):
    """The DER of a PEM text (one block)."""
    m = re.search(r"-----BEGIN ([A-Z ]+)-----\n(.*?)-----END \1-----", text, re.S)
    return base64.b64decode("".join(m.group(2).split()))


def pubout(pem_bytes):
    """openssl's SubjectPublicKeyInfo PEM of a private (or public) key."""
    with tempfile.NamedTemporaryFile(suffix=".pem") as f:
        f.write(pem_bytes)
        f.flush()
        try:
            return openssl("pkey", "-in", f.name, "-pubout")
        except subprocess.CalledProcessError:
            return openssl("pkey", "-pubin", "-in", f.name, "-pubout")


def get(server, token, kid):
    status, _, key = api(server, "GET", "/v1/keys/" + kid, token=token)
    assert status == 200
    return key


def material(server, token, kid, fmt=None):
    path = "/v1/keys/%s/material" % kid + ("?format=" + fmt if fmt else "")
    status, _, m = api(server, "GET", path, token=token)
    assert status == 200, m
    assert m["id"] == kid and m["format"] == (fmt or m["format"])
    return m


CREATE_CASES = [
    # body, algorithm, length, curve, usage
    ({"algorithm": "AES", "length": 128}, "AES", 128, None, ["encrypt", "decrypt"]),
    ({"algorithm": "AES", "length": 192}, "AES", 192, None, ["encrypt", "decrypt"]),
    ({"algorithm": "AES", "length": 256}, "AES", 256, None, ["encrypt", "decrypt"]),
    ({"algorithm": "HMAC-SHA256"}, "HMAC-SHA256", 256, None, ["mac_generate", "mac_verify"]),
    ({"algorithm": "HMAC-SHA384"}, "HMAC-SHA384", 384, None, ["mac_generate", "mac_verify"]),
    ({"algorithm": "HMAC-SHA512"}, "HMAC-SHA512", 512, None, ["mac_generate", "mac_verify"]),
    ({"algorithm": "HMAC-SHA512", "length": 136}, "HMAC-SHA512", 136, None,
     ["mac_generate", "mac_verify"]),
    ({"algorithm": "RSA", "length": 2048}, "RSA", 2048, None, ["sign", "verify"]),
    ({"algorithm": "RSA"}, "RSA", 3072, None, ["sign", "verify"]),
    ({"algorithm": "RSA", "length": 4096, "usage": ["decrypt", "sign", "unwrap_key"]}, "RSA",
     4096, None, ["decrypt", "sign", "unwrap_key"]),
    ({"algorithm": "EC"}, "EC", 256, "P-256", ["sign", "verify"]),
    ({"algorithm": "EC", "curve": "P-384"}, "EC", 384, "P-384", ["sign", "verify"]),
    ({"algorithm": "EC", "curve": "P-521", "length": 521}, "EC", 521, "P-521", ["sign", "verify"]),
]
PUBLIC_HALF = {"sign": "verify", "verify": "verify", "decrypt": "encrypt",
               "unwrap_key": "wrap_key"}


@pytest.mark.parametrize("case", CREATE_CASES, ids=lambda c: "-".join(str(v) for v in c[0].values()))
def test_create_each_algorithm(server, tokens, case):
    body, alg, length, curve, usage = case
    w = tokens["writer"]
    name = "alg-" + uuid.uuid4().hex[:12]
    status, headers, key = api(server, "POST", "/v1/keys",
                               dict(body, name=name, tags={"suite": "algs"}), token=w)
    assert status == 201, key
    assert headers["Location"] == "/v1/keys/" + key["id"]
    assert key["algorithm"] == alg and key["length"] == length
    assert key.get("curve") == curve
    assert sorted(key["usage"]) == sorted(usage)
    assert key["kind"] == "standard" and key["extractable"] is True
    assert key["name"] == name and "aliases" not in key
    assert key["tags"] == {"suite": "algs"} and key["state"] == "pre_active"
    if alg in ("RSA", "EC"):
        assert key["type"] == "private_key" and "private_key_id" not in key
        pub = get(server, tokens["reader"], key["public_key_id"])
        assert pub["type"] == "public_key" and pub["private_key_id"] == key["id"]
        assert "public_key_id" not in pub and "name" not in pub
        assert pub["algorithm"] == alg and pub["length"] == length and pub.get("curve") == curve
        assert sorted(pub["usage"]) == sorted({PUBLIC_HALF[u] for u in usage})
        assert pub["kind"] == "standard" and pub["tags"] == {"suite": "algs"}
    else:
        assert key["type"] == "symmetric_key" and "public_key_id" not in key


def test_create_bad_bodies(server, tokens):
    w = tokens["writer"]
    cases = [
        ({"algorithm": "AES"}, 400, "missing_data", '"length"'),
        ({"algorithm": "HMAC-SHA256", "length": 120}, 400, "invalid_field", '"length"'),
        ({"algorithm": "HMAC-SHA256", "length": 260}, 400, "invalid_field", '"length"'),
        ({"algorithm": "HMAC-SHA256", "length": 520}, 400, "invalid_field", '"length"'),
        ({"algorithm": "RSA", "length": 1024}, 400, "invalid_field", '"length"'),
        ({"algorithm": "EC", "curve": "P-192"}, 400, "invalid_field", '"curve"'),
        ({"algorithm": "EC", "curve": "P-384", "length": 256}, 400, "invalid_field", '"length"'),
        ({"algorithm": "AES", "length": 128, "curve": "P-256"}, 400, "invalid_field", '"curve"'),
        ({"algorithm": "ECDSA"}, 400, "invalid_field", '"algorithm"'),
        ({"algorithm": "AES", "length": 128, "kind": "master"}, 400, "invalid_field", '"kind"'),
        ({"algorithm": "AES", "length": 128, "kind": "root", "extractable": True}, 400,
         "invalid_field", '"extractable"'),
        ({"algorithm": "AES", "length": 128, "kind": "standard", "extractable": False}, 400,
         "invalid_field", '"extractable"'),
        ({"algorithm": "AES", "length": 128, "tags": {"bad key": "v"}}, 400, "invalid_field",
         '"tags"'),
        ({"algorithm": "AES", "length": 128, "tags": {"k": 1}}, 400, "invalid_field", '"tags"'),
        ({"algorithm": "AES", "length": 128, "tags": {"k": None}}, 400, "invalid_field",
         '"tags"'),
        ({"algorithm": "AES", "length": 128, "tags": {"k": "v" * 257}}, 400, "invalid_field",
         '"tags"'),
        ({"algorithm": "AES", "length": 128, "tags": {"k%d" % i: "v" for i in range(33)}}, 400,
         "invalid_field", '"tags"'),
        ({"algorithm": "AES", "length": 128, "tags": ["k"]}, 400, "invalid_field", '"tags"'),
        ({"algorithm": "AES", "length": 128, "name": "n" * 201}, 400, "invalid_field", '"name"'),
    ]
    for body, status, code, field in cases:
        st, _, err = api(server, "POST", "/v1/keys", body, token=w)
        assert (st, err["error"]["code"]) == (status, code), body
        assert field in err["error"]["message"], (body, err)
    # A tag key of 64 characters, 32 tags and 256-byte values are fine.
    tags = {"k%02d" % i: "v" * 256 for i in range(31)}
    tags["t" * 64] = ""
    st, _, key = api(server, "POST", "/v1/keys", {"algorithm": "AES", "length": 128, "tags": tags},
                     token=w)
    assert st == 201 and key["tags"] == tags


def test_root_keys(server, tokens):
    w, m = tokens["writer"], tokens["manager"]
    st, _, root = create(server, w, kind="root", activate=True)
    assert st == 201 and root["kind"] == "root" and root["extractable"] is False
    status, _, err = api(server, "GET", "/v1/keys/%s/material" % root["id"], token=m)
    assert status == 403 and err["error"]["code"] == "not_extractable"
    assert failed(wire(server, W.OP["GET"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, root["id"])])) == \
        NOT_EXTRACTABLE
    # The deprecated alias, and both agreeing.
    st, _, k = create(server, w, extractable=False)
    assert st == 201 and k["kind"] == "root"
    st, _, k = create(server, w, kind="root", extractable=False)
    assert st == 201 and k["kind"] == "root"
    st, _, k = create(server, w, kind="standard", extractable=True)
    assert st == 201 and k["kind"] == "standard"
    # An RSA root key: the private key is root, its public key is public.
    st, _, priv = api(server, "POST", "/v1/keys", {"algorithm": "RSA", "length": 2048,
                                                   "kind": "root", "activate": True}, token=w)
    assert st == 201 and priv["kind"] == "root" and priv["state"] == "active"
    pub = get(server, w, priv["public_key_id"])
    assert pub["kind"] == "standard" and pub["state"] == "active"
    status, _, err = api(server, "GET", "/v1/keys/%s/material" % priv["id"], token=m)
    assert status == 403 and err["error"]["code"] == "not_extractable"
    assert material(server, w, pub["id"])["format"] == "pem"


def test_rsa_material_pem_der_and_public_half(server, tokens):
    w = tokens["writer"]
    st, _, priv = api(server, "POST", "/v1/keys", {"algorithm": "RSA", "length": 2048,
                                                   "activate": True}, token=w)
    assert st == 201
    pem = material(server, w, priv["id"])
    assert pem["format"] == "pem"
    text = pem["material"]
    assert text.startswith("-----BEGIN PRIVATE KEY-----\n") and \
        text.endswith("-----END PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in text.splitlines())
    # openssl parses it as a 2048-bit RSA key, and its public half is the
    # public key object's material.
    info = openssl("pkey", "-noout", "-text", data=text.encode()).decode()
    assert "Private-Key: (2048 bit" in info
    pub_pem = material(server, w, priv["public_key_id"])["material"]
    assert pub_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert pubout(text.encode()).decode() == pub_pem
    der = material(server, w, priv["id"], "der")
    assert base64.b64decode(der["material"], validate=True) == pem_body(text)
    pub_der = material(server, w, priv["public_key_id"], "der")
    assert base64.b64decode(pub_der["material"]) == pem_body(pub_pem)
    # The same key over KMIP, as PKCS#8 (the stored form).
    pl = ok(wire(server, W.OP["GET"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, priv["id"])]))
    block = W.child(W.child(pl, TAG["PRIVATE_KEY"]), W.T["KEY_BLOCK"])
    assert W.value(W.child(block, W.T["KEY_VALUE"]), W.T["KEY_MATERIAL"]) == pem_body(text)
    # Formats that do not apply.
    for kid, fmt in [(priv["id"], "raw"), (priv["id"], "jwk")]:
        status, _, err = api(server, "GET", "/v1/keys/%s/material?format=%s" % (kid, fmt), token=w)
        assert status == 400 and err["error"]["code"] == "invalid_field"
        assert '"format"' in err["error"]["message"]
    _, _, aes = create(server, w, activate=True)
    for fmt in ("pem", "der"):
        status, _, err = api(server, "GET", "/v1/keys/%s/material?format=%s" % (aes["id"], fmt),
                             token=w)
        assert status == 400 and err["error"]["code"] == "invalid_field"
    assert len(base64.b64decode(material(server, w, aes["id"], "raw")["material"])) == 32


def test_ec_material_parses(server, tokens):
    w = tokens["writer"]
    st, _, priv = api(server, "POST", "/v1/keys", {"algorithm": "EC", "curve": "P-384"}, token=w)
    text = material(server, w, priv["id"])["material"]  # Pre-Active serves material too
    info = openssl("pkey", "-noout", "-text", data=text.encode()).decode()
    assert "NIST CURVE: P-384" in info or "secp384r1" in info
    assert pubout(text.encode()).decode() == material(server, w, priv["public_key_id"])["material"]


def test_hmac_key_macs_over_kmip(server, tokens):
    w = tokens["writer"]
    st, _, key = api(server, "POST", "/v1/keys", {"algorithm": "HMAC-SHA384", "activate": True},
                     token=w)
    assert st == 201 and key["state"] == "active"
    raw = base64.b64decode(material(server, w, key["id"])["material"])
    assert len(raw) == 48
    data = b"message authenticated by a REST-made key"
    pl = ok(wire(server, TAG["MAC"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, key["id"]),
                                      (TAG["DATA"], W.BYTES, data)]))
    assert W.value(pl, TAG["MAC_DATA"]) == hmac.new(raw, data, hashlib.sha384).digest()


# ================================================================ import
def imp(server, token, **body):
    return api(server, "POST", "/v1/keys/import", body, token=token)


def kmip_key_material(server, kid, tag):
    pl = ok(wire(server, W.OP["GET"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, kid)]))
    block = W.child(W.child(pl, tag), W.T["KEY_BLOCK"])
    return W.value(W.child(block, W.T["KEY_VALUE"]), W.T["KEY_MATERIAL"])


def test_import_raw_symmetric_is_byte_identical_over_kmip(server, tokens):
    w = tokens["writer"]
    secret = os.urandom(32)
    st, headers, key = imp(server, w, format="raw", material=base64.b64encode(secret).decode(),
                           algorithm="AES", name="imported-aes", activate=True,
                           tags={"origin": "byok"})
    assert st == 201 and headers["Location"] == "/v1/keys/" + key["id"]
    assert key["type"] == "symmetric_key" and key["algorithm"] == "AES" and key["length"] == 256
    assert sorted(key["usage"]) == ["decrypt", "encrypt"] and key["state"] == "active"
    assert key["name"] == "imported-aes" and key["tags"] == {"origin": "byok"}
    assert kmip_key_material(server, key["id"], W.T["SYMMETRIC_KEY"]) == secret
    assert base64.b64decode(material(server, w, key["id"])["material"]) == secret
    # HMAC, 48 bytes, root: never leaves, but MACs over KMIP.
    secret = os.urandom(48)
    st, _, key = imp(server, w, format="raw", material=base64.b64encode(secret).decode(),
                     algorithm="HMAC-SHA256", kind="root", activate=True)
    assert st == 201 and key["algorithm"] == "HMAC-SHA256" and key["length"] == 384
    assert key["kind"] == "root" and sorted(key["usage"]) == ["mac_generate", "mac_verify"]
    pl = ok(wire(server, TAG["MAC"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, key["id"]),
                                      (TAG["DATA"], W.BYTES, b"x")]))
    assert W.value(pl, TAG["MAC_DATA"]) == hmac.new(secret, b"x", hashlib.sha256).digest()
    status, _, err = api(server, "GET", "/v1/keys/%s/material" % key["id"], token=w)
    assert status == 403 and err["error"]["code"] == "not_extractable"


def test_import_ec_pem_forms(server, tokens):
    w = tokens["writer"]
    pkcs8 = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384")
    sec1 = openssl("pkey", "-traditional", data=pkcs8)
    with_params = openssl("ecparam", "-name", "prime256v1", "-genkey")
    assert b"EC PARAMETERS" in with_params and b"BEGIN EC PRIVATE KEY" in sec1
    for pem, curve, bits in [(pkcs8, "P-384", 384), (sec1, "P-384", 384),
                             (with_params, "P-256", 256)]:
        st, _, key = imp(server, w, format="pem", material=pem.decode(), usage=["sign"],
                         algorithm="EC")
        assert st == 201, key
        assert key["type"] == "private_key" and key["algorithm"] == "EC"
        assert key["curve"] == curve and key["length"] == bits and key["usage"] == ["sign"]
        got = material(server, w, key["id"])["material"]
        assert got.startswith("-----BEGIN PRIVATE KEY-----\n")
        assert pubout(got.encode()) == pubout(pem)
    # The public key alone (SubjectPublicKeyInfo PEM).
    spki = pubout(pkcs8)
    st, _, pub = imp(server, w, format="pem", material=spki.decode())
    assert st == 201 and pub["type"] == "public_key" and pub["curve"] == "P-384"
    assert pub["usage"] == ["verify"]
    assert material(server, w, pub["id"])["material"] == spki.decode()


def test_import_rsa_der_forms(server, tokens):
    w = tokens["writer"]
    pem = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
    forms = [openssl("pkey", "-outform", "DER", data=pem),                  # PKCS#8
             openssl("pkey", "-traditional", "-outform", "DER", data=pem)]  # PKCS#1
    for der in forms:
        st, _, key = imp(server, w, format="der", material=base64.b64encode(der).decode())
        assert st == 201, key
        assert key["type"] == "private_key" and key["algorithm"] == "RSA"
        assert key["length"] == 2048 and "curve" not in key
        assert sorted(key["usage"]) == ["sign", "verify"]
        got = material(server, w, key["id"])["material"]
        assert pubout(got.encode()) == pubout(pem)
    spki = openssl("pkey", "-pubout", "-outform", "DER", data=pem)
    rsa_pub = openssl("rsa", "-RSAPublicKey_out", "-outform", "DER", data=pem)
    for der in (spki, rsa_pub):
        st, _, key = imp(server, w, format="der", material=base64.b64encode(der).decode())
        assert st == 201 and key["type"] == "public_key" and key["length"] == 2048
        got = material(server, w, key["id"], "der")["material"]
        assert base64.b64decode(got) == spki  # served as SubjectPublicKeyInfo


def test_import_certificate(server, tokens):
    w = tokens["writer"]
    with open(os.path.join(server.pki, "ca.crt")) as f:
        pem = f.read()
    st, _, cert = imp(server, w, format="pem", material="Bag Attributes: ignored\n" + pem,
                      name="the-dev-ca")
    assert st == 201, cert
    assert cert["type"] == "certificate" and cert["name"] == "the-dev-ca"
    assert cert["usage"] == ["verify"] and cert["kind"] == "standard"
    got = material(server, w, cert["id"])
    assert got["format"] == "pem" and pem_body(got["material"]) == pem_body(pem)
    assert got["material"].startswith("-----BEGIN CERTIFICATE-----\n")
    der = material(server, w, cert["id"], "der")["material"]
    assert base64.b64decode(der) == pem_body(pem)
    st, _, cert2 = imp(server, w, format="der", material=der)
    assert st == 201 and cert2["type"] == "certificate"


def test_import_bad_inputs(server, tokens):
    w = tokens["writer"]
    ec = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256").decode()
    body = ec.split("-----")[2]
    b64 = lambda b: base64.b64encode(b).decode()
    enc = openssl("pkey", "-aes256", "-passout", "pass:x", data=ec.encode()).decode()
    ed = openssl("genpkey", "-algorithm", "ED25519").decode()
    cases = [
        (dict(format="raw", material="AAAA", algorithm="AES"), "invalid_field", "16, 24 or 32"),
        (dict(format="raw", material=b64(os.urandom(16))[:-1], algorithm="AES"), "invalid_field",
         "base64"),
        (dict(format="raw", material="AAAA*AAA" * 4, algorithm="AES"), "invalid_field",
         "character 4"),
        (dict(format="raw", material=" " + b64(os.urandom(16)), algorithm="AES"),
         "invalid_field", "base64"),
        (dict(format="raw", material=b64(os.urandom(16))), "missing_data", '"algorithm"'),
        (dict(format="raw", material=b64(os.urandom(16)), algorithm="RSA"), "invalid_field",
         '"algorithm"'),
        (dict(format="raw", material=b64(os.urandom(8)), algorithm="HMAC-SHA256"),
         "invalid_field", "HMAC key is 16 to 64 bytes"),
        (dict(format="jwk", material="{}"), "invalid_field", '"format"'),
        (dict(format="pem", material="hello"), "invalid_field", "no PEM block"),
        (dict(format="pem", material=ec.replace("-----END PRIVATE KEY-----", "")),
         "invalid_field", "no matching END"),
        (dict(format="pem", material=ec + ec), "invalid_field", "one PEM block"),
        (dict(format="pem", material=ec.replace("PRIVATE KEY", "SECRET THING")),
         "invalid_field", "SECRET THING"),
        (dict(format="pem", material=ec.replace(body, "\nAAAA\n")), "invalid_field",
         "PKCS#8 private key"),
        (dict(format="pem", material=ec.replace(body, "\n!!!!\n")), "invalid_field", "base64"),
        (dict(format="pem", material=ec.replace("PRIVATE KEY", "PUBLIC KEY")),
         "invalid_field", "SubjectPublicKeyInfo"),
        (dict(format="pem", material=enc), "invalid_field", "encrypted"),
        (dict(format="pem", material=ed), "invalid_field", "RSA or EC"),
        (dict(format="pem", material=ec, algorithm="RSA"), "invalid_field", "an EC key"),
        (dict(format="der", material=b64(b"\x30\x03\x02\x01\x00")), "invalid_field",
         "not an RSA or EC key"),
        (dict(format="der", material=b64(pem_body(ed))), "invalid_field", "not an RSA or EC"),
        (dict(format="der", material="@@@@"), "invalid_field", "base64"),
        (dict(format="pem"), "missing_data", '"material"'),
        (dict(material=ec), "missing_data", '"format"'),
        (dict(format="pem", material=ec, extractable=False), "invalid_field", '"extractable"'),
        (dict(format="pem", material=ec, tags={"a b": "c"}), "invalid_field", '"tags"'),
        (dict(format="pem", material=ec, usage=["fly"]), "invalid_field", '"usage"'),
    ]
    for b, code, fragment in cases:
        st, _, err = imp(server, w, **b)
        assert (st, err["error"]["code"]) == (400, code), (b, err)
        assert fragment in err["error"]["message"], (b, err)
        assert "-----" not in err["error"]["message"]  # no material echoed back


# ================================================================= PATCH
def kmip_attr(server, kid, name):
    """Values of attribute `name` over KMIP 1.4 Get Attributes."""
    pl = ok(wire(server, W.OP["GET_ATTRIBUTES"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, kid),
                                                  (W.T["ATTRIBUTE_NAME"], W.TEXT, name)]))
    return [W.value(a, W.T["ATTRIBUTE_VALUE"]) for a in W.children(pl, W.T["ATTRIBUTE"])]


def patch(server, token, kid, body):
    return api(server, "PATCH", "/v1/keys/" + kid, body, token=token)


def test_patch_tags_visible_over_kmip(server, tokens):
    w = tokens["writer"]
    _, _, key = create(server, w, tags={"env": "prod", "team": "a"})
    kid = key["id"]
    assert kmip_attr(server, kid, "x-tag-env") == ["prod"]
    st, _, k = patch(server, w, kid, {"tags": {"env": None, "team": "b", "cost.centre": "42"}})
    assert st == 200 and k["tags"] == {"team": "b", "cost.centre": "42"}
    assert kmip_attr(server, kid, "x-tag-env") == []
    assert kmip_attr(server, kid, "x-tag-team") == ["b"]
    assert kmip_attr(server, kid, "x-tag-cost.centre") == ["42"]
    st, _, k = patch(server, w, kid, {"tags": {"absent": None}})  # removing nothing: fine
    assert st == 200 and k["tags"] == {"team": "b", "cost.centre": "42"}
    st, _, k = patch(server, w, kid, {"tags": {"team": None, "cost.centre": None}})
    assert st == 200 and "tags" not in k
    # At most 32 once applied.
    st, _, k = patch(server, w, kid, {"tags": {"t%d" % i: "v" for i in range(32)}})
    assert st == 200 and len(k["tags"]) == 32
    st, _, err = patch(server, w, kid, {"tags": {"one-more": "v"}})
    assert st == 400 and err["error"]["code"] == "invalid_field" and '"tags"' in err["error"]["message"]
    st, _, k = patch(server, w, kid, {"tags": {"t0": None, "one-more": "v"}})
    assert st == 200 and len(k["tags"]) == 32 and "t0" not in k["tags"]
    for bad in [{"tags": {"bad/key": "v"}}, {"tags": {"k": 3}}, {"tags": "k"},
                {"tags": {"k": "v" * 257}}]:
        st, _, err = patch(server, w, kid, bad)
        assert st == 400 and err["error"]["code"] == "invalid_field", bad


def test_tags_set_over_kmip(server, tokens):
    """A tag a KMIP client adds is a REST tag; an "x-tag-" attribute REST
    could not have made (bad key syntax) stays a KMIP attribute only."""
    w = tokens["writer"]
    _, _, key = create(server, w)
    for name in ("x-tag-from-kmip", "x-tag-not a tag"):
        ok(wire(server, W.OP["ADD_ATTRIBUTE"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, key["id"]),
                                                W.attribute(name, W.TEXT, "v")]))
    k = get(server, w, key["id"])
    assert k["tags"] == {"from-kmip": "v"}
    _, _, page = api(server, "GET", "/v1/keys?tag=from-kmip:v", token=w)
    assert [x["id"] for x in page["keys"]] == [key["id"]]


def test_patch_names_and_aliases(server, tokens):
    w = tokens["writer"]
    p = "pn-" + uuid.uuid4().hex[:8] + "-"
    _, _, key = create(server, w, name=p + "a")
    kid = key["id"]
    st, _, k = patch(server, w, kid, {"aliases": [p + "b", p + "c"]})
    assert st == 200 and k["name"] == p + "a" and k["aliases"] == [p + "b", p + "c"]
    assert sorted(v[0][2] for v in kmip_attr(server, kid, "Name")) == [p + "a", p + "b", p + "c"]
    _, _, found = api(server, "GET", "/v1/keys?name=" + p + "c", token=tokens["reader"])
    assert [x["id"] for x in found["keys"]] == [kid]
    # Rename to a current alias, the old name becomes an alias.
    st, _, k = patch(server, w, kid, {"name": p + "b", "aliases": [p + "a"]})
    assert st == 200 and k["name"] == p + "b" and k["aliases"] == [p + "a"]
    st, _, k = patch(server, w, kid, {"name": p + "z"})
    assert st == 200 and k["name"] == p + "z" and k["aliases"] == [p + "a"]
    # Names stay unique in the tenant (core: 409 non_unique_name).
    _, _, other = create(server, w, name=p + "other")
    for body in ({"name": p + "other"}, {"aliases": [p + "a", p + "other"]}):
        st, _, err = patch(server, w, kid, body)
        assert st == 409 and err["error"]["code"] == "non_unique_name", body
    assert get(server, w, kid)["name"] == p + "z"
    # Refusals: an alias without a name, an alias equal to the name, twice.
    for body in ({"name": None}, {"aliases": [p + "z"]}, {"aliases": [p + "q", p + "q"]},
                 {"name": ""}, {"name": 5}, {"aliases": [1]}, {"aliases": "x"}):
        st, _, err = patch(server, w, kid, body)
        assert st == 400 and err["error"]["code"] == "invalid_field", body
    st, _, err = patch(server, w, kid, {})
    assert st == 400 and err["error"]["code"] == "missing_data"
    st, _, err = patch(server, w, kid, {"colour": "red"})
    assert st == 400 and err["error"]["code"] == "invalid_field"
    # No aliases, no name; then a name again.
    st, _, k = patch(server, w, kid, {"name": None, "aliases": []})
    assert st == 200 and "name" not in k and "aliases" not in k
    assert kmip_attr(server, kid, "Name") == []
    st, _, k = patch(server, w, kid, {"name": p + "other-2", "aliases": [p + "x"]})
    assert st == 200 and k["name"] == p + "other-2" and k["aliases"] == [p + "x"]
    st, _, err = patch(server, w, "0190a000-0000-7000-8000-000000000000", {"name": "n"})
    assert st == 404 and err["error"]["code"] == "not_found"


# ================================================================= lists
def test_list_filters(server, tokens):
    w, r = tokens["writer"], tokens["reader"]
    run = "run:" + uuid.uuid4().hex
    tag = {"run": run[4:]}
    made = [create(server, w, tags=tag)[2], create(server, w, length=128, tags=tag)[2],
            create(server, w, kind="root", tags=tag)[2]]
    for body in ({"algorithm": "HMAC-SHA256"}, {"algorithm": "EC"}):
        st, _, k = api(server, "POST", "/v1/keys", dict(body, tags=tag), token=w)
        assert st == 201
        made.append(k)
    create(server, w, tags={"run": "other"})

    def count(q):
        st, _, page = api(server, "GET", "/v1/keys?tag=%s&%s" % (run, q), token=r)
        assert st == 200, page
        assert page["total"] == len(page["keys"])
        return page["total"], {k["id"] for k in page["keys"]}

    total, ids = count("limit=1000")
    assert total == 6  # 3 AES, 1 HMAC, an EC pair (tags on both halves)
    assert {k["id"] for k in made} | {made[4]["public_key_id"]} == ids
    assert count("algorithm=AES")[0] == 3
    assert count("algorithm=AES&kind=root")[1] == {made[2]["id"]}
    assert count("kind=root")[0] == 1
    assert count("kind=standard")[0] == 5
    assert count("algorithm=HMAC-SHA256")[1] == {made[3]["id"]}
    assert count("algorithm=EC")[0] == 2
    assert count("type=public_key")[1] == {made[4]["public_key_id"]}
    assert count("type=private_key&algorithm=EC")[1] == {made[4]["id"]}
    assert count("type=symmetric_key")[0] == 4
    assert count("state=pre_active")[0] == 6
    assert count("algorithm=RSA")[0] == 0
    st, _, page = api(server, "GET", "/v1/keys?tag=run:nothing-" + run[4:], token=r)
    assert st == 200 and page["total"] == 0 and page["keys"] == []
    for q in ["tag=nocolon", "tag=bad%20key:v", "tag=:v", "kind=master", "algorithm=NOPE",
              "type=key", "limit=0", "tag=a:b&tag=c:d"]:
        st, _, err = api(server, "GET", "/v1/keys?" + q, token=r)
        assert st == 400 and err["error"]["code"] == "invalid_field", q


# ============================================================ deactivate
def test_deactivate(server, tokens):
    w = tokens["writer"]
    _, _, key = create(server, w, activate=True)
    path = "/v1/keys/%s/deactivate" % key["id"]
    st, _, k = api(server, "POST", path, token=w)
    assert st == 200 and k["state"] == "deactivated"
    assert kmip_attr(server, key["id"], "Deactivation Date") != []
    assert kmip_attr(server, key["id"], "Revocation Reason") == []
    status, _, err = api(server, "GET", "/v1/keys/%s/material" % key["id"], token=w)
    assert status == 409 and err["error"]["code"] == "wrong_state"
    st, _, err = api(server, "POST", path, token=w)
    assert st == 409 and err["error"]["code"] == "wrong_state"
    _, _, pre = create(server, w)
    st, _, err = api(server, "POST", "/v1/keys/%s/deactivate" % pre["id"], {}, token=w)
    assert st == 409 and err["error"]["code"] == "wrong_state"
    st, _, err = api(server, "POST", "/v1/keys/%s/deactivate" % pre["id"], {"now": True}, token=w)
    assert st == 400 and err["error"]["code"] == "invalid_field"
    # Then it can be destroyed (3.22: Deactivated -> Destroyed).
    st, _, k = api(server, "DELETE", "/v1/keys/" + key["id"], token=w)
    assert st == 200 and k["state"] == "destroyed"


# ================================================================= Reader
def test_reader_refused_on_every_write(server, tokens):
    r, w = tokens["reader"], tokens["writer"]
    _, _, key = create(server, w, name="reader-target-" + uuid.uuid4().hex[:6], activate=True)
    calls = [
        ("POST", "/v1/keys", {"algorithm": "AES", "length": 128}),
        ("POST", "/v1/keys", {"algorithm": "EC"}),
        ("POST", "/v1/keys/import", {"format": "raw", "algorithm": "AES",
                                     "material": base64.b64encode(os.urandom(16)).decode()}),
        # Refused before the body is judged: 403, not 400.
        ("POST", "/v1/keys", {"algorithm": "NOPE"}),
        ("POST", "/v1/keys/import", {"format": "pem", "material": "garbage"}),
        ("PATCH", "/v1/keys/" + key["id"], {"tags": {"x": "y"}}),
        ("PATCH", "/v1/keys/" + key["id"], {"aliases": [1]}),
        ("PATCH", "/v1/keys/" + key["id"], {"name": key["name"]}),  # even a no-op
        ("POST", "/v1/keys/%s/deactivate" % key["id"], None),
    ]
    for method, path, body in calls:
        st, _, err = api(server, method, path, body, token=r)
        assert st == 403 and err["error"]["code"] == "permission_denied", (method, path)
    k = get(server, r, key["id"])
    assert k["state"] == "active" and "tags" not in k
