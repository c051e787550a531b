"""BYOK import over real HTTPS (docs/byok.md; core_byok.c, rest_byok.c,
rest_keys_import.c):

- the documented customer side runs exactly as written in docs/byok.md (its
  marked ```sh blocks: curl, openssl, jq, and the coffre client), and the
  imported key is proven to hold the customer's bytes: a DEK wrapped over
  REST is opened here with the customer's key.bin (AES-256-GCM of the
  documented wrapped format), independently of Coffre;
- the RSA-OAEP-only path for a 32-byte key; a new version of a root key
  from imported material (data wrapped before still unwraps, new wraps use
  the new version, whose bytes are the customer's);
- refusals with their exact codes: an expired token (a TTL of seconds), a
  used-up one (reused), another tenant's, a blob for another token, the
  other wrapping, tampering, lengths, fields; a Reader; nothing spent by a
  failed import; two imports racing for a token's last use: one wins.
Every answer is checked against docs/openapi.json (test_rest.api)."""
import base64
import json
import os
import re
import subprocess
import threading
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from conftest import BIN, ROOT
from test_rest import api
from test_rest_keys import add_key

SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehavior")
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_SEQ = iter(range(1, 1000))


# ------------------------------------------------------------------ helpers
def b64(b):
    return base64.b64encode(b).decode()


def doc_blocks():
    """The marked blocks of docs/byok.md: {name: shell text}."""
    with open(os.path.join(ROOT, "docs", "byok.md")) as f:
        text = f.read()
    blocks = dict(re.findall(r"<!-- byok:(\S+) -->\n```sh\n(.*?)```", text, re.S))
    assert set(blocks) == {"token", "wrap", "import", "cli-token", "cli-import", "oaep",
                           "version"}, set(blocks)
    return blocks


BLOCKS = doc_blocks()


@pytest.fixture(scope="module")
def op(server):
    with open(os.path.join(server.data, "admin.token")) as f:
        return f.read().strip()


def tenant_writer(server, op, prefix):
    """A fresh tenant and a Writer API key in it."""
    tid = "%s-%d" % (prefix, next(_SEQ))
    status, _, doc = api(server, "POST", "/v1/tenants", {"id": tid}, token=op)
    assert status == 201, doc
    return tid, add_key(server, "byok-" + tid, "writer", tenant=tid)


@pytest.fixture(scope="module")
def tokens(server):
    return {role: add_key(server, "byok-" + role, role) for role in ("writer", "reader", "manager")}


class Customer:
    """A working directory and the environment the documentation assumes."""

    def __init__(self, server, tmp, token):
        self.dir = tmp
        bindir = os.path.join(str(tmp), "bin")
        os.mkdir(bindir)
        os.symlink(BIN, os.path.join(bindir, "coffre"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COFFRE_")}
        self.env.update(HOME=str(tmp), PATH=bindir + ":" + os.environ["PATH"],
                        COFFRE_ADDR="https://127.0.0.1:%d" % server.https_port,
                        COFFRE_CACERT=os.path.join(server.pki, "ca.crt"), COFFRE_TOKEN=token)
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")

    def run(self, *names, ok=True):
        for name in names:
            p = subprocess.run(["bash", "-euo", "pipefail", "-c", BLOCKS[name]], cwd=self.dir,
                               env=self.env, capture_output=True, text=True, timeout=300)
            assert not SANITIZER.search(p.stderr), p.stderr
            if ok:
                assert p.returncode == 0, (name, p.returncode, p.stdout, p.stderr)
            elif p.returncode != 0:
                return p
        return p

    def read(self, name, mode="r"):
        with open(os.path.join(str(self.dir), name), mode) as f:
            return f.read()

    def json(self, name):
        return json.loads(self.read(name))


def open_wrapped(ct, key, tenant):
    """Open a wrapped DEK (docs/envelope.md's format) with the root key's
    bytes: AES-GCM, AAD = header || u8 len(tenant) || tenant || 00 (no AAD)."""
    assert ct[:4] == b"CFW\x01"
    n = ct[5]
    hdr = 6 + n + 4 + 12
    nonce = ct[hdr - 12:hdr]
    version = int.from_bytes(ct[6 + n:10 + n], "big")
    aad = ct[:hdr] + bytes([len(tenant)]) + tenant.encode() + b"\x00"
    return version, AESGCM(key).decrypt(nonce, ct[hdr:], aad)


def wrap_dek(server, token, kid, dek):
    status, _, doc = api(server, "POST", "/v1/keys/%s/wrap" % kid, {"plaintext": b64(dek)},
                         token=token)
    assert status == 200, doc
    return doc


def token_of(server, token, **body):
    status, headers, doc = api(server, "POST", "/v1/import-tokens", body, token=token)
    assert status == 201, doc
    assert headers["Location"] == "/v1/import-tokens/" + doc["id"]
    return doc


def wrap_for(pem, material, wrapping="rsa_aes_key_wrap_sha256"):
    """The customer's side in Python (cryptography): for the refusal cases."""
    pub = serialization.load_pem_public_key(pem.encode())
    if wrapping == "rsa_oaep_sha256":
        return pub.encrypt(material, OAEP)
    eph = os.urandom(32)
    return pub.encrypt(eph, OAEP) + aes_key_wrap_with_padding(eph, material)


def import_wrapped(server, token, tok, blob, wrapping="rsa_aes_key_wrap_sha256", **kw):
    body = {"format": "wrapped", "import_token": tok, "wrapping": wrapping,
            "material": b64(blob), "algorithm": "AES"}
    body.update(kw)
    return api(server, "POST", "/v1/keys/import", body, token=token)


def error(status, doc, want_status, want_code):
    assert (status, doc.get("error", {}).get("code")) == (want_status, want_code), doc


def uses(server, token, tid):
    status, _, doc = api(server, "GET", "/v1/import-tokens/" + tid, token=token)
    assert status == 200, doc
    return doc["uses"]


# ------------------------------------------------------- the documentation
def test_documented_round_trip(server, op, tmp_path):
    """Steps 1-3 of docs/byok.md as written; Coffre's key is the customer's."""
    tenant, writer = tenant_writer(server, op, "byok-doc")
    c = Customer(server, tmp_path, writer)
    c.run("token", "wrap", "import")
    tok = c.json("token.json")
    assert tok["key_size"] == 3072 and tok["max_uses"] == 1 and tok["uses"] == 0
    assert c.read("token.pem") == tok["public_key"]
    assert len(c.read("key.wrapped", "rb")) == 384 + 40
    assert not os.path.exists(tmp_path / "ephemeral.bin")
    key = c.json("key.json")
    assert (key["kind"], key["algorithm"], key["length"], key["state"], key["name"]) == \
        ("root", "AES", 256, "active", "my-root-key")
    assert sorted(key["usage"]) == ["unwrap_key", "wrap_key"] and key["extractable"] is False
    assert uses(server, writer, tok["id"]) == 1

    # The customer's bytes: a DEK wrapped by Coffre opens with key.bin here.
    dek = os.urandom(32)
    w = wrap_dek(server, writer, key["id"], dek)
    assert open_wrapped(base64.b64decode(w["ciphertext"]), c.read("key.bin", "rb"), tenant) == \
        (1, dek)

    # The same token again (the import block re-run): used up, nothing stored.
    p = c.run("import", ok=False)
    assert p.returncode == 22, p.stderr          # curl --fail-with-body: HTTP >= 400
    error(403, c.json("key.json"), 403, "usage_limit_exceeded")
    status, _, keys = api(server, "GET", "/v1/keys", token=writer)
    assert status == 200 and keys["total"] == 1


def test_documented_cli(server, op, tmp_path):
    """The coffre client's version of steps 1 and 3, step 2 in between."""
    tenant, writer = tenant_writer(server, op, "byok-cli")
    c = Customer(server, tmp_path, writer)
    c.run("cli-token", "wrap", "cli-import")
    tok = c.json("token.json")
    assert c.read("token.pem") == tok["public_key"]
    status, _, keys = api(server, "GET", "/v1/keys?name=my-root-key", token=writer)
    assert status == 200 and keys["total"] == 1
    key = keys["keys"][0]
    assert key["kind"] == "root" and key["state"] == "active"
    dek = os.urandom(16)
    w = wrap_dek(server, writer, key["id"], dek)
    assert open_wrapped(base64.b64decode(w["ciphertext"]), c.read("key.bin", "rb"), tenant) == \
        (1, dek)
    assert uses(server, writer, tok["id"]) == 1


def test_documented_rsa_oaep(server, op, tmp_path):
    """RSA-OAEP alone for a 32-byte key, as documented."""
    tenant, writer = tenant_writer(server, op, "byok-oaep")
    c = Customer(server, tmp_path, writer)
    c.run("token", "wrap", "oaep")                 # wrap: key.bin; oaep re-wraps it alone
    assert len(c.read("key.wrapped", "rb")) == 384
    key = c.json("small-key.json")
    assert key["kind"] == "root" and key["length"] == 256 and key["name"] == "my-small-key"
    dek = os.urandom(32)
    w = wrap_dek(server, writer, key["id"], dek)
    assert open_wrapped(base64.b64decode(w["ciphertext"]), c.read("key.bin", "rb"), tenant) == \
        (1, dek)


def test_documented_new_version(server, op, tmp_path):
    """A root key's new version from imported material: older wraps still
    unwrap, new ones use the new version, whose bytes are the customer's."""
    tenant, writer = tenant_writer(server, op, "byok-ver")
    c = Customer(server, tmp_path, writer)
    c.run("token", "wrap", "import")
    kid = c.json("key.json")["id"]
    v1 = c.read("key.bin", "rb")
    dek1 = os.urandom(32)
    w1 = wrap_dek(server, writer, kid, dek1)
    p = c.run("token", "wrap", "version")          # a new token, new material
    assert json.loads(p.stdout) == {"key_id": kid, "version": 2}
    v2 = c.read("key.bin", "rb")
    assert v1 != v2
    status, _, doc = api(server, "POST", "/v1/keys/%s/unwrap" % kid,
                         {"ciphertext": w1["ciphertext"]}, token=writer)
    assert status == 200 and base64.b64decode(doc["plaintext"]) == dek1, doc
    assert doc["key_version"] == 1 and doc["rewrap_recommended"] is True
    dek2 = os.urandom(32)
    w2 = wrap_dek(server, writer, kid, dek2)
    assert w2["key_version"] == 2
    assert open_wrapped(base64.b64decode(w2["ciphertext"]), v2, tenant) == (2, dek2)
    assert open_wrapped(base64.b64decode(w1["ciphertext"]), v1, tenant) == (1, dek1)
    status, _, vs = api(server, "GET", "/v1/keys/%s/versions" % kid, token=writer)
    assert status == 200 and [v["version"] for v in vs["versions"]] == [2, 1]
    # The CLI form of the same, with a third version.
    tok = token_of(server, writer)
    v3 = os.urandom(32)
    (tmp_path / "v3.wrapped").write_bytes(wrap_for(tok["public_key"], v3))
    p = subprocess.run([BIN, "--json", "key", "import-version", kid, "--import-token", tok["id"],
                        "--wrapping", "rsa-aes-key-wrap-sha256", "--file", "v3.wrapped"],
                       cwd=tmp_path, env=c.env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and json.loads(p.stdout) == {"key_id": kid, "version": 3}, p.stderr
    w3 = wrap_dek(server, writer, kid, dek2)
    assert open_wrapped(base64.b64decode(w3["ciphertext"]), v3, tenant) == (3, dek2)


# ----------------------------------------------------------------- refusals
def test_expired_token(server, tokens):
    tok = token_of(server, tokens["writer"], ttl=2)
    blob = wrap_for(tok["public_key"], os.urandom(32))
    time.sleep(3)
    status, _, doc = import_wrapped(server, tokens["writer"], tok["id"], blob)
    error(status, doc, 409, "wrong_state")
    assert "expired" in doc["error"]["message"]
    assert uses(server, tokens["writer"], tok["id"]) == 0
    # A duration string works the same way.
    tok = token_of(server, tokens["writer"], ttl="2s")
    status, _, got = api(server, "GET", "/v1/import-tokens/" + tok["id"], token=tokens["writer"])
    assert status == 200 and got == tok


def test_reused_token(server, tokens):
    w = tokens["writer"]
    tok = token_of(server, w)
    status, _, key = import_wrapped(server, w, tok["id"], wrap_for(tok["public_key"],
                                                                   os.urandom(32)))
    assert status == 201, key
    status, _, doc = import_wrapped(server, w, tok["id"], wrap_for(tok["public_key"],
                                                                   os.urandom(32)))
    error(status, doc, 403, "usage_limit_exceeded")
    assert uses(server, w, tok["id"]) == 1
    # Two uses: two imports (a Manager may use the Writer's token), then refused.
    tok = token_of(server, w, max_uses=2)
    for who in ("writer", "manager"):
        status, _, key = import_wrapped(server, tokens[who], tok["id"],
                                        wrap_for(tok["public_key"], os.urandom(16)))
        assert status == 201 and key["length"] == 128, key
    status, _, doc = import_wrapped(server, w, tok["id"], wrap_for(tok["public_key"],
                                                                   os.urandom(16)))
    error(status, doc, 403, "usage_limit_exceeded")
    assert uses(server, w, tok["id"]) == 2


def test_bad_blobs_spend_nothing(server, tokens):
    w = tokens["writer"]
    tok, other = token_of(server, w), token_of(server, w)
    m = os.urandom(32)
    blob = wrap_for(tok["public_key"], m)
    cases = [
        (wrap_for(other["public_key"], m), "rsa_aes_key_wrap_sha256"),   # another token's key
        (blob, "rsa_oaep_sha256"),                                        # the other wrapping
        (blob[:-1], "rsa_aes_key_wrap_sha256"),                           # truncated
        (blob[:100] + bytes([blob[100] ^ 1]) + blob[101:], "rsa_aes_key_wrap_sha256"),
        (blob[:-3] + bytes([blob[-3] ^ 0x80]) + blob[-2:], "rsa_aes_key_wrap_sha256"),
        (serialization.load_pem_public_key(tok["public_key"].encode()).encrypt(m, padding.OAEP(
            mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)),
         "rsa_oaep_sha256"),                                              # SHA-1 OAEP
    ]
    for b, wrapping in cases:
        status, _, doc = import_wrapped(server, w, tok["id"], b, wrapping=wrapping)
        error(status, doc, 400, "cryptographic_failure")
    # Lengths and fields, after the unwrap: refused, nothing spent either.
    for material, kw, code in (
            (os.urandom(20), {}, "invalid_field"),                        # AES of 20 bytes
            (os.urandom(32), {"length": 128}, "invalid_field"),           # length disagrees
            (os.urandom(65), {"algorithm": "HMAC-SHA256"}, "invalid_field"),
            (os.urandom(32), {"algorithm": "HMAC-SHA256", "kind": "root"}, "invalid_field")):
        status, _, doc = import_wrapped(server, w, tok["id"], wrap_for(tok["public_key"],
                                                                       material), **kw)
        error(status, doc, 400, code)
    assert uses(server, w, tok["id"]) == 0
    # The good blob still imports with it afterwards; HMAC keys are standard.
    status, _, key = import_wrapped(server, w, tok["id"], blob, name="byok-after-refusals")
    assert status == 201 and key["kind"] == "root", key
    status, _, key = import_wrapped(server, w, other["id"],
                                    wrap_for(other["public_key"], os.urandom(64)),
                                    algorithm="HMAC-SHA512")
    assert status == 201, key
    assert (key["kind"], key["length"], sorted(key["usage"])) == \
        ("standard", 512, ["mac_generate", "mac_verify"])


def test_fields(server, tokens):
    w = tokens["writer"]
    for body in ({"ttl": "8d"}, {"ttl": 604801}, {"ttl": 0}, {"ttl": "24x"}, {"max_uses": 0},
                 {"max_uses": 101}, {"key_size": 2048}, {"key_size": "3072"}, {"other": 1}):
        status, _, doc = api(server, "POST", "/v1/import-tokens", body, token=w)
        error(status, doc, 400, "invalid_field")
    tok = token_of(server, w, ttl="7d", max_uses=100)
    assert tok["max_uses"] == 100 and tok["wrappings"] == ["rsa_aes_key_wrap_sha256",
                                                            "rsa_oaep_sha256"]
    blob = b64(wrap_for(tok["public_key"], os.urandom(32)))
    for body, st, code in (
            ({"format": "wrapped", "wrapping": "rsa_oaep_sha256", "material": blob,
              "algorithm": "AES"}, 400, "missing_data"),
            ({"format": "wrapped", "import_token": tok["id"], "wrapping": "rsa_pkcs1",
              "material": blob, "algorithm": "AES"}, 400, "invalid_field"),
            ({"format": "wrapped", "import_token": tok["id"], "wrapping": "rsa_oaep_sha256",
              "material": blob}, 400, "missing_data"),
            ({"format": "wrapped", "import_token": tok["id"], "wrapping": "rsa_oaep_sha256",
              "material": "not base64!", "algorithm": "AES"}, 400, "invalid_field"),
            ({"format": "raw", "import_token": tok["id"], "material": blob,
              "algorithm": "AES"}, 400, "invalid_field"),
            ({"format": "wrapped", "import_token": "no-such-token",
              "wrapping": "rsa_oaep_sha256", "material": blob, "algorithm": "AES"}, 404,
             "not_found")):
        status, _, doc = api(server, "POST", "/v1/keys/import", body, token=w)
        error(status, doc, st, code)
    assert uses(server, w, tok["id"]) == 0


def test_rsa_4096_token(server, tokens):
    tok = token_of(server, tokens["writer"], key_size=4096)
    pub = serialization.load_pem_public_key(tok["public_key"].encode())
    assert tok["key_size"] == 4096 and pub.key_size == 4096
    blob = wrap_for(tok["public_key"], os.urandom(24))
    assert len(blob) == 512 + 32
    status, _, key = import_wrapped(server, tokens["writer"], tok["id"], blob)
    assert status == 201 and key["length"] == 192, key


def test_reader_and_other_tenant(server, tokens, op):
    r, w = tokens["reader"], tokens["writer"]
    status, _, doc = api(server, "POST", "/v1/import-tokens", {}, token=r)
    error(status, doc, 403, "permission_denied")
    tok = token_of(server, w)
    assert api(server, "GET", "/v1/import-tokens/" + tok["id"], token=r)[0] == 200
    blob = wrap_for(tok["public_key"], os.urandom(32))
    status, _, doc = import_wrapped(server, r, tok["id"], blob)
    error(status, doc, 403, "permission_denied")
    status, _, root = api(server, "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                      "kind": "root", "activate": True}, token=w)
    assert status == 201, root
    body = {"import_token": tok["id"], "wrapping": "rsa_aes_key_wrap_sha256",
            "material": b64(blob)}
    status, _, doc = api(server, "POST", "/v1/keys/%s/versions" % root["id"], body, token=r)
    error(status, doc, 403, "permission_denied")
    # Another tenant: the token does not exist there.
    _, other = tenant_writer(server, op, "byok-other")
    status, _, doc = api(server, "GET", "/v1/import-tokens/" + tok["id"], token=other)
    error(status, doc, 404, "not_found")
    status, _, doc = import_wrapped(server, other, tok["id"], blob)
    error(status, doc, 404, "not_found")
    # The operator makes no tokens.
    status, _, doc = api(server, "POST", "/v1/import-tokens", {}, token=op)
    error(status, doc, 403, "permission_denied")
    assert uses(server, w, tok["id"]) == 0
    # A standard key has no versions to import into; a wrong length neither.
    status, _, std = api(server, "POST", "/v1/keys", {"algorithm": "AES", "length": 256},
                         token=w)
    status, _, doc = api(server, "POST", "/v1/keys/%s/versions" % std["id"], body, token=w)
    error(status, doc, 400, "wrong_object_type")
    body["material"] = b64(wrap_for(tok["public_key"], os.urandom(16)))
    status, _, doc = api(server, "POST", "/v1/keys/%s/versions" % root["id"], body, token=w)
    error(status, doc, 400, "invalid_field")
    assert uses(server, w, tok["id"]) == 0


def test_racing_for_the_last_use(server, tokens):
    """Several imports with a one-use token at once: exactly one key."""
    w = tokens["writer"]
    for _ in range(3):
        tok = token_of(server, w)
        blobs = [wrap_for(tok["public_key"], os.urandom(32)) for _ in range(4)]
        results = [None] * len(blobs)
        gate = threading.Barrier(len(blobs))

        def go(i):
            gate.wait()
            results[i] = import_wrapped(server, w, tok["id"], blobs[i])

        threads = [threading.Thread(target=go, args=(i,)) for i in range(len(blobs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r[0] for r in results)
        assert statuses == [201, 403, 403, 403], [r[2] for r in results]
        for st, _, doc in results:
            if st == 403:
                assert doc["error"]["code"] == "usage_limit_exceeded"
        assert uses(server, w, tok["id"]) == 1


def test_token_creation_is_audited(server, tokens):
    tok = token_of(server, tokens["writer"])
    status, _, page = api(server, "GET", "/v1/audit?operation=createImportToken&limit=1000",
                          token=tokens["reader"])
    assert status == 200, page
    assert tok["id"] in {r["object"].get("id") for r in page["records"]}
