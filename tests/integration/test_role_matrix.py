"""The role matrix, over real HTTPS and over KMIP: every REST operation of the
API contract and every KMIP operation Coffre implements, run by each kind of
caller, against the expected answer written down in the two tables below.

The tables are derived from the permission table of src/core/core_authz.c
(copied in docs/tenants.md) and the contract, not from watching the server:
each row names the core action that decides it. Callers:

  M  a Manager of tenant "default"      W  a Writer of "default", the owner of
  P  another Writer of "default" (a        the objects the cells act on
     peer: not the owner)               R  a Reader of "default"
  O  a Manager of another tenant        X  an expired identity (a Manager whose
  N  no identity (REST: no                 expiry has passed)
     Authorization header; KMIP: a      OP the operator (REST only: operator
     certificate the dev CA signed         identities are API keys)
     that nobody registered)

Rules applied (docs/tenants.md): below Writer no key material and no key
use; Revoke, Destroy (and REST deactivate, which is the Revoke rule) only for
the owner or a Manager; another tenant's objects, identities and tenants do
not exist for the caller (404 / Item Not Found); unauthenticated and expired
callers are refused before anything else (401 / Authentication Not
Successful); the operator manages tenants and identities, never objects
(creating one: 403; naming one: 404, objects are keyed by tenant).

Every cell that mutates acts on fresh objects (made by W, or tenants and
identities made by the operator). Every answer to a Reader is scanned: no
"material" field and no bytes of a key made here in the raw REST body; no
Key Value or Key Material in the KMIP response, nor any key bytes.
"""
import base64
import datetime
import hashlib
import itertools
import json
import os
import subprocess
import time

import pytest

import kmipwire as W
from conftest import BIN
from test_identity_cli import client_cert
from test_rest import check_response, request
from test_rest_keys import add_key

CALLERS = ("M", "W", "P", "R", "O", "X", "N", "OP")
KMIP_CALLERS = CALLERS[:-1]

# KMIP Result Reasons (1.4 section 9.1.3.2.29; 2.x where the row says 2.0).
OK = "ok"
NOT_FOUND, AUTH, DENIED = 0x01, 0x03, 0x0C
NOT_FOUND_2 = 0x37  # KMIP 2.x Object Not Found

# ------------------------------------------------------------------ KMIP
# operation: (core action, expected for M, W, P, R, O, X, N)
KMIP_TABLE = {
    "Create":             ("create",        (OK, OK, OK, DENIED, OK, AUTH, AUTH)),
    "Register":           ("create",        (OK, OK, OK, DENIED, OK, AUTH, AUTH)),
    "Create Key Pair":    ("create",        (OK, OK, OK, DENIED, OK, AUTH, AUTH)),
    "Get":                ("read-material", (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Get Attributes":     ("read-metadata", (OK, OK, OK, OK, NOT_FOUND, AUTH, AUTH)),
    "Get Attribute List": ("read-metadata", (OK, OK, OK, OK, NOT_FOUND, AUTH, AUTH)),
    "Locate":             ("read-metadata", (OK, OK, OK, OK, OK, AUTH, AUTH)),
    "Check":              ("read-metadata", (OK, OK, OK, OK, NOT_FOUND, AUTH, AUTH)),
    "Add Attribute":      ("modify",        (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Modify Attribute":   ("modify",        (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Delete Attribute":   ("modify",        (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Set Attribute (2.0)": ("modify",       (OK, OK, OK, DENIED, NOT_FOUND_2, AUTH, AUTH)),
    "Activate":           ("lifecycle",     (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Revoke":             ("revoke",        (OK, OK, DENIED, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Destroy":            ("destroy",       (OK, OK, DENIED, DENIED, NOT_FOUND, AUTH, AUTH)),
    "ReKey":              ("rekey",         (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "ReKey Key Pair":     ("rekey",         (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Encrypt":            ("encrypt",       (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Decrypt":            ("decrypt",       (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Sign":               ("sign",          (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Signature Verify":   ("verify",        (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "MAC":                ("mac",           (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "MAC Verify":         ("mac-verify",    (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Derive Key":         ("derive",        (OK, OK, OK, DENIED, NOT_FOUND, AUTH, AUTH)),
    "Query":              ("query",         (OK, OK, OK, OK, OK, AUTH, AUTH)),
    "Discover Versions":  ("query",         (OK, OK, OK, OK, OK, AUTH, AUTH)),
    "RNG Retrieve":       ("query",         (OK, OK, OK, OK, OK, AUTH, AUTH)),
    "RNG Seed":           ("query",         (OK, OK, OK, OK, OK, AUTH, AUTH)),
    "Log (2.0)":          ("query",         (OK, OK, OK, OK, OK, AUTH, AUTH)),
}

# ------------------------------------------------------------------ REST
# route: (core action, expected HTTP status for M, W, P, R, O, X, N, OP)
PUBLIC = (200,) * 8
REST_TABLE = {
    "GET /health":                    ("-",                 PUBLIC),
    "GET /v1/openapi.json":           ("-",                 PUBLIC),
    "GET /v1/me":                     ("authenticated",     (200, 200, 200, 200, 200, 401, 401, 200)),
    "POST /v1/tenants":               ("manage-tenants",    (403, 403, 403, 403, 403, 401, 401, 201)),
    "GET /v1/tenants":                ("manage-tenants",    (403, 403, 403, 403, 403, 401, 401, 200)),
    "GET /v1/tenants/{t}":            ("own tenant",        (200, 200, 200, 200, 404, 401, 401, 200)),
    "PATCH /v1/tenants/{t}":          ("manage-tenants",    (403, 403, 403, 403, 403, 401, 401, 200)),
    "DELETE /v1/tenants/{t}":         ("manage-tenants",    (403, 403, 403, 403, 403, 401, 401, 200)),
    "POST /v1/tenants/{t}/identities": ("manage-identities", (201, 403, 403, 403, 404, 401, 401, 201)),
    "GET /v1/tenants/{t}/identities": ("manage-identities", (200, 403, 403, 403, 404, 401, 401, 200)),
    "GET /v1/tenants/{t}/identities/{id}": ("manage-identities",
                                            (200, 403, 403, 403, 404, 401, 401, 200)),
    "PATCH /v1/tenants/{t}/identities/{id}": ("manage-identities",
                                              (200, 403, 403, 403, 404, 401, 401, 200)),
    "DELETE /v1/tenants/{t}/identities/{id}": ("manage-identities",
                                               (200, 403, 403, 403, 404, 401, 401, 200)),
    "POST /v1/tenants/{t}/identities/{id}/retire": ("manage-identities",
                                                    (200, 403, 403, 403, 404, 401, 401, 200)),
    "POST /v1/keys":                  ("create",            (201, 201, 201, 403, 201, 401, 401, 403)),
    "POST /v1/keys/import":           ("create",            (201, 201, 201, 403, 201, 401, 401, 403)),
    "GET /v1/keys":                   ("read-metadata",     (200, 200, 200, 200, 200, 401, 401, 403)),
    "GET /v1/keys/{id}":              ("read-metadata",     (200, 200, 200, 200, 404, 401, 401, 404)),
    "PATCH /v1/keys/{id}":            ("modify",            (200, 200, 200, 403, 404, 401, 401, 404)),
    "DELETE /v1/keys/{id}":           ("destroy",           (200, 200, 403, 403, 404, 401, 401, 404)),
    "POST /v1/keys/{id}/activate":    ("lifecycle",         (200, 200, 200, 403, 404, 401, 401, 404)),
    "POST /v1/keys/{id}/deactivate":  ("revoke",            (200, 200, 403, 403, 404, 401, 401, 404)),
    "POST /v1/keys/{id}/revoke":      ("revoke",            (200, 200, 403, 403, 404, 401, 401, 404)),
    "GET /v1/keys/{id}/material":     ("read-material",     (200, 200, 200, 403, 404, 401, 401, 404)),
    # BYOK (docs/byok.md): a token is the caller's tenant's; importing a version is a rotation.
    "POST /v1/import-tokens":         ("create",            (201, 201, 201, 403, 201, 401, 401, 403)),
    "GET /v1/import-tokens/{id}":     ("read-metadata",     (200, 200, 200, 200, 404, 401, 401, 404)),
    "POST /v1/keys/{id}/versions":    ("rekey",             (201, 201, 201, 403, 404, 401, 401, 404)),
    "GET /v1/keys/{id}/versions":     ("read-metadata",     (200, 200, 200, 200, 404, 401, 401, 404)),
    # Reversibility (docs/export.md): a Manager's, of its own tenant's objects.
    "POST /v1/keys/{id}/export":      ("export",            (200, 403, 403, 403, 404, 401, 401, 404)),
    "POST /v1/export":                ("export",            (200, 403, 403, 403, 200, 401, 401, 403)),
    "POST /v1/import":                ("import",            (200, 403, 403, 403, 404, 401, 401, 403)),
}

# Tags and values kmipwire does not name (KMIP 1.4 section 9.1.3).
TAG = dict(
    NAME=0x420053, NAME_VALUE=0x420055, NAME_TYPE=0x420054, KEY_FORMAT_TYPE=0x420042,
    COMMON_TEMPLATE=0x42001F, PRIVATE_TEMPLATE=0x420065, PUBLIC_TEMPLATE=0x42006E,
    PRIVATE_KEY_UID=0x420066, PUBLIC_KEY_UID=0x42006F, REVOCATION_REASON=0x420081,
    REVOCATION_REASON_CODE=0x420082, CRYPTOGRAPHIC_PARAMETERS=0x42002B,
    BLOCK_CIPHER_MODE=0x420011, DATA=0x4200C2, DATA_LENGTH=0x4200C4, MAC_DATA=0x4200C6,
    SIGNATURE_DATA=0x4200C3, DIGITAL_SIGNATURE_ALGORITHM=0x4200AE, HASHING_ALGORITHM=0x420038,
    DERIVATION_METHOD=0x420031, DERIVATION_PARAMETERS=0x420032, DERIVATION_DATA=0x420030,
    CONTACT_INFORMATION=0x420022, LOG_MESSAGE=0x420141, PRIVATE_KEY=0x420064,
)
OPS = dict(CREATE=1, CREATE_KEY_PAIR=2, REGISTER=3, REKEY=4, DERIVE_KEY=5, LOCATE=8, CHECK=9,
           GET=10, GET_ATTRIBUTES=11, GET_ATTRIBUTE_LIST=12, ADD_ATTRIBUTE=13,
           MODIFY_ATTRIBUTE=14, DELETE_ATTRIBUTE=15, ACTIVATE=18, REVOKE=19, DESTROY=20,
           QUERY=24, REKEY_KEY_PAIR=29, DISCOVER_VERSIONS=30, ENCRYPT=31, DECRYPT=32, SIGN=33,
           SIGNATURE_VERIFY=34, MAC=35, MAC_VERIFY=36, RNG_RETRIEVE=37, RNG_SEED=38, LOG=0x2C,
           SET_ATTRIBUTE=0x31)
AES, HMAC_SHA256, EC = 3, 9, 0x1A
U_SIGN, U_VERIFY, U_ENCRYPT, U_DECRYPT = 1, 2, 4, 8
U_MAC, U_MAC_VERIFY, U_DERIVE = 128, 256, 512
# Tags that carry key material: Key Value, Key Material, and the transparent
# key structures' secret parts never go to a Reader.
MATERIAL_TAGS = {W.T["KEY_VALUE"], W.T["KEY_MATERIAL"], TAG["PRIVATE_KEY"]}

_SEQ = itertools.count(1)


def uid_of(uid):
    return (W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid)


def usage(mask):
    return W.attribute("Cryptographic Usage Mask", W.INTEGER, mask)


def symmetric_key(material, alg=AES):
    return (W.T["SYMMETRIC_KEY"], W.STRUCTURE, [(W.T["KEY_BLOCK"], W.STRUCTURE, [
        (TAG["KEY_FORMAT_TYPE"], W.ENUM, 1),
        (W.T["KEY_VALUE"], W.STRUCTURE, [(W.T["KEY_MATERIAL"], W.BYTES, material)]),
        (W.T["CRYPTOGRAPHIC_ALGORITHM"], W.ENUM, alg),
        (W.T["CRYPTOGRAPHIC_LENGTH"], W.INTEGER, len(material) * 8)])])


def register_payload(material, mask, alg=AES, name=None):
    attrs = [usage(mask)]
    if name:
        attrs.append((W.T["ATTRIBUTE"], W.STRUCTURE, [
            (W.T["ATTRIBUTE_NAME"], W.TEXT, "Name"),
            (W.T["ATTRIBUTE_VALUE"], W.STRUCTURE, [(TAG["NAME_VALUE"], W.TEXT, name),
                                                  (TAG["NAME_TYPE"], W.ENUM, 1)])]))
    return [(W.T["OBJECT_TYPE"], W.ENUM, 2), (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, attrs),
            symmetric_key(material, alg)]


def key_pair_payload():
    return [(TAG["COMMON_TEMPLATE"], W.STRUCTURE, [
                W.attribute("Cryptographic Algorithm", W.ENUM, EC),
                W.attribute("Cryptographic Length", W.INTEGER, 256)]),
            (TAG["PRIVATE_TEMPLATE"], W.STRUCTURE, [usage(U_SIGN)]),
            (TAG["PUBLIC_TEMPLATE"], W.STRUCTURE, [usage(U_VERIFY)])]


def walk(item):
    yield item
    if item[1] == W.STRUCTURE:
        for c in item[2]:
            yield from walk(c)


class Matrix:
    """The server, the callers' credentials and the objects cells act on."""

    def __init__(self, server, tmp):
        self.server = server
        self.tmp = tmp
        self.materials = []       # every key's bytes the test knows
        self.tokens = {}
        self.certs = {}
        self.disagree = []

    # ------------------------------------------------------------ KMIP
    def kmip(self, caller, op, payload, major=1, minor=4):
        """One batch item as `caller`: (OK or Result Reason, batch item, raw bytes)."""
        ctx = self.server.tls_context(cert=None)
        ctx.load_cert_chain(*self.certs[caller])
        conn = self.server.connect(ctx=ctx)
        try:
            raw = conn.roundtrip(W.request([(op, payload, None)], major=major, minor=minor))
        finally:
            conn.close()
        item = W.child(W.decode(raw), W.T["BATCH_ITEM"])
        if W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS:
            return OK, item, raw
        return W.value(item, W.T["RESULT_REASON"]), item, raw

    def kmip_ok(self, caller, op, payload, major=1, minor=4):
        result, item, _ = self.kmip(caller, op, payload, major, minor)
        assert result == OK, (caller, op, result, W.value(item, W.T["RESULT_MESSAGE"]))
        return W.child(item, W.T["RESPONSE_PAYLOAD"])

    def kmip_key(self, mask=U_ENCRYPT | U_DECRYPT, active=False, alg=AES, name=None,
                 owner="W"):
        """A fresh symmetric key registered by `owner`, with bytes we know."""
        material = os.urandom(32)
        self.materials.append(material)
        pl = self.kmip_ok(owner, OPS["REGISTER"], register_payload(material, mask, alg, name))
        uid = W.value(pl, W.T["UNIQUE_IDENTIFIER"])
        if active:
            self.kmip_ok(owner, OPS["ACTIVATE"], [uid_of(uid)])
        return uid

    def kmip_pair(self, owner="W"):
        pl = self.kmip_ok(owner, OPS["CREATE_KEY_PAIR"], key_pair_payload())
        priv, pub = W.value(pl, TAG["PRIVATE_KEY_UID"]), W.value(pl, TAG["PUBLIC_KEY_UID"])
        for uid in (priv, pub):
            self.kmip_ok(owner, OPS["ACTIVATE"], [uid_of(uid)])
        return priv, pub

    # ------------------------------------------------------------ REST
    def rest(self, caller, method, path, body=None):
        """One REST call as `caller`, checked against the OpenAPI document:
        (status, decoded JSON, raw body)."""
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.tokens.get(caller):
            h["Authorization"] = "Bearer " + self.tokens[caller]
        status, rh, raw = request(self.server, method, path, body=data, headers=h)
        assert rh["Content-Type"] == "application/json"
        return status, check_response(method, path, status, raw), raw

    def rest_ok(self, caller, method, path, body=None, want=200):
        status, doc, _ = self.rest(caller, method, path, body)
        assert status == want, (caller, method, path, status, doc)
        return doc

    def rest_key(self, active=False, owner="W"):
        """A fresh AES key created by `owner` over REST; its bytes recorded."""
        k = self.rest_ok(owner, "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                    "activate": active}, want=201)
        m = self.rest_ok(owner, "GET", "/v1/keys/%s/material" % k["id"])
        self.materials.append(base64.b64decode(m["material"]))
        return k["id"]

    def fresh_tenant(self):
        tid = "mx-%d" % next(_SEQ)
        self.rest_ok("OP", "POST", "/v1/tenants", {"id": tid}, want=201)
        return tid

    def fresh_identity(self, tenant="default"):
        doc = self.rest_ok("OP", "POST", "/v1/tenants/%s/identities" % tenant,
                           {"kind": "api_key", "name": "mx-id-%d" % next(_SEQ),
                            "role": "reader"}, want=201)
        return doc["identity"]["id"]

    # -------------------------------------------------------- scanning
    def scan_kmip(self, raw, item):
        for it in walk(item):
            assert it[0] not in MATERIAL_TAGS, "key material tag %06X to a Reader" % it[0]
        for m in self.materials:
            assert m not in raw, "key bytes in a Reader's KMIP response"

    def scan_rest(self, raw, doc, document=False):
        """document: the OpenAPI document, which names the field (describing
        it) and carries no key: only key bytes are looked for."""
        for m in self.materials:
            for form in (base64.b64encode(m), base64.urlsafe_b64encode(m).rstrip(b"="),
                         m.hex().encode(), m):
                assert form not in raw, "key bytes in a Reader's REST response"
        if document:
            return
        assert b'"material"' not in raw, raw[:200]

        def keys(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    yield k
                    yield from keys(x)
            elif isinstance(v, list):
                for x in v:
                    yield from keys(x)
        assert "material" not in set(keys(doc))


# ------------------------------------------------------------ fixtures
def register_cert(server, tmp, name, tenant, role):
    crt, key = client_cert(tmp, name, os.path.join(server.pki, "ca.crt"),
                           os.path.join(server.pki, "ca.key"))
    if role:
        subprocess.run([BIN, "identity", "add-cert", "--data", server.data, "--cert", crt,
                        "--tenant", tenant, "--role", role, "--name", name],
                       check=True, capture_output=True)
    return crt, key


def rfc3339(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def mx(server, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("matrix"))
    m = Matrix(server, tmp)
    with open(os.path.join(server.data, "admin.token")) as f:
        m.tokens["OP"] = f.read().strip()
    m.rest_ok("OP", "POST", "/v1/tenants", {"id": "other", "name": "Other"}, want=201)
    for c, role in (("M", "manager"), ("W", "writer"), ("P", "writer"), ("R", "reader")):
        m.tokens[c] = add_key(server, "mx-" + c, role)
        m.certs[c] = register_cert(server, tmp, "mx-" + c, "default", role)
    m.tokens["O"] = add_key(server, "mx-O", "manager", tenant="other")
    m.certs["O"] = register_cert(server, tmp, "mx-O", "other", "manager")
    m.tokens["N"] = None
    m.certs["N"] = register_cert(server, tmp, "mx-N", "default", None)
    # Shared objects for the cells that do not change them.
    m.aes = m.kmip_key(U_ENCRYPT | U_DECRYPT, active=True, name="mx-locate")
    m.hmac = m.kmip_key(U_MAC | U_MAC_VERIFY | U_DERIVE, active=True, alg=HMAC_SHA256)
    m.priv, m.pub = m.kmip_pair()
    pl = m.kmip_ok("W", OPS["SIGN"], sign_payload(m.priv))
    m.signature = W.value(pl, TAG["SIGNATURE_DATA"])
    m.rest_aes = m.rest_key(active=True)
    m.rest_identity = m.fresh_identity()
    # The expired identities: a Manager API key and a Manager certificate
    # that work now (checked), and expire a few seconds later (core refuses
    # an expiry in the past).
    crt, key = client_cert(tmp, "mx-X", os.path.join(server.pki, "ca.crt"),
                           os.path.join(server.pki, "ca.key"))
    m.certs["X"] = (crt, key)
    expires = time.time() + 4
    doc = m.rest_ok("OP", "POST", "/v1/tenants/default/identities",
                    {"kind": "api_key", "name": "mx-X", "role": "manager",
                     "expires": rfc3339(expires)}, want=201)
    m.tokens["X"] = doc["token"]
    with open(crt) as f:
        m.rest_ok("OP", "POST", "/v1/tenants/default/identities",
                  {"kind": "certificate", "name": "mx-X-cert", "role": "manager",
                   "certificate": f.read(), "expires": rfc3339(expires)}, want=201)
    assert m.rest("X", "GET", "/v1/me")[0] == 200
    assert m.kmip("X", OPS["QUERY"], [(0x420074, W.ENUM, 1)])[0] == OK
    time.sleep(max(0.0, int(expires) + 1.5 - time.time()))
    assert m.rest("X", "GET", "/v1/me")[0] == 401
    return m


# ----------------------------------------------------------- KMIP cells
def sign_payload(priv):
    return [uid_of(priv), (TAG["CRYPTOGRAPHIC_PARAMETERS"], W.STRUCTURE, [
        (TAG["DIGITAL_SIGNATURE_ALGORITHM"], W.ENUM, 0x0E)]), (TAG["DATA"], W.BYTES, b"matrix")]


def ecb():
    return (TAG["CRYPTOGRAPHIC_PARAMETERS"], W.STRUCTURE, [(TAG["BLOCK_CIPHER_MODE"], W.ENUM, 2)])


def x_attr(value):
    return W.attribute("x-matrix", W.TEXT, value)


def cell_kmip(mx, op, c):
    """Run one KMIP cell as caller c; (OK or Result Reason, item, raw)."""
    k = mx.kmip
    if op == "Create":
        return k(c, OPS["CREATE"], [(W.T["OBJECT_TYPE"], W.ENUM, 2),
                                    (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
                                        W.attribute("Cryptographic Algorithm", W.ENUM, AES),
                                        W.attribute("Cryptographic Length", W.INTEGER, 256),
                                        usage(U_ENCRYPT)])])
    if op == "Register":
        material = os.urandom(32)
        mx.materials.append(material)
        return k(c, OPS["REGISTER"], register_payload(material, U_ENCRYPT))
    if op == "Create Key Pair":
        return k(c, OPS["CREATE_KEY_PAIR"], key_pair_payload())
    if op in ("Get", "Get Attributes", "Get Attribute List", "Check"):
        return k(c, OPS[op.upper().replace(" ", "_")], [uid_of(mx.aes)])
    if op == "Locate":
        r = k(c, OPS["LOCATE"], [(W.T["ATTRIBUTE"], W.STRUCTURE, [
            (W.T["ATTRIBUTE_NAME"], W.TEXT, "Name"),
            (W.T["ATTRIBUTE_VALUE"], W.STRUCTURE, [(TAG["NAME_VALUE"], W.TEXT, "mx-locate"),
                                                  (TAG["NAME_TYPE"], W.ENUM, 1)])])])
        if r[0] == OK:   # the tenant's callers find it; another tenant finds nothing
            found = [x[2] for x in W.children(W.child(r[1], W.T["RESPONSE_PAYLOAD"]),
                                              W.T["UNIQUE_IDENTIFIER"])]
            assert found == ([] if c == "O" else [mx.aes]), (c, found)
        return r
    if op == "Add Attribute":
        return k(c, OPS["ADD_ATTRIBUTE"], [uid_of(mx.kmip_key()), x_attr("added")])
    if op in ("Modify Attribute", "Delete Attribute"):
        uid = mx.kmip_key()
        mx.kmip_ok("W", OPS["ADD_ATTRIBUTE"], [uid_of(uid), x_attr("before")])
        if op == "Modify Attribute":
            return k(c, OPS["MODIFY_ATTRIBUTE"], [uid_of(uid), x_attr("after")])
        return k(c, OPS["DELETE_ATTRIBUTE"], [uid_of(uid),
                                              (W.T["ATTRIBUTE_NAME"], W.TEXT, "x-matrix")])
    if op == "Set Attribute (2.0)":
        return k(c, OPS["SET_ATTRIBUTE"], [uid_of(mx.kmip_key()), (W.T["NEW_ATTRIBUTE"], W.STRUCTURE, [
            (TAG["CONTACT_INFORMATION"], W.TEXT, "matrix")])], major=2, minor=0)
    if op == "Activate":
        return k(c, OPS["ACTIVATE"], [uid_of(mx.kmip_key())])
    if op == "Revoke":
        return k(c, OPS["REVOKE"], [uid_of(mx.kmip_key(active=True)),
                                    (TAG["REVOCATION_REASON"], W.STRUCTURE, [
                                        (TAG["REVOCATION_REASON_CODE"], W.ENUM, 1)])])
    if op == "Destroy":
        return k(c, OPS["DESTROY"], [uid_of(mx.kmip_key())])
    if op == "ReKey":
        return k(c, OPS["REKEY"], [uid_of(mx.kmip_key(active=True))])
    if op == "ReKey Key Pair":
        return k(c, OPS["REKEY_KEY_PAIR"], [(TAG["PRIVATE_KEY_UID"], W.TEXT, mx.kmip_pair()[0])])
    if op in ("Encrypt", "Decrypt"):
        return k(c, OPS[op.upper()], [uid_of(mx.aes), ecb(), (TAG["DATA"], W.BYTES, b"\x11" * 16)])
    if op == "Sign":
        return k(c, OPS["SIGN"], sign_payload(mx.priv))
    if op == "Signature Verify":
        return k(c, OPS["SIGNATURE_VERIFY"], sign_payload(mx.pub)[:3] + [
            (TAG["SIGNATURE_DATA"], W.BYTES, mx.signature)])
    if op in ("MAC", "MAC Verify"):
        pl = [uid_of(mx.hmac), (TAG["CRYPTOGRAPHIC_PARAMETERS"], W.STRUCTURE, [
            (W.T["CRYPTOGRAPHIC_ALGORITHM"], W.ENUM, HMAC_SHA256)]),
            (TAG["DATA"], W.BYTES, b"matrix")]
        if op == "MAC":
            return k(c, OPS["MAC"], pl)
        mac = W.value(mx.kmip_ok("W", OPS["MAC"], pl), TAG["MAC_DATA"])
        return k(c, OPS["MAC_VERIFY"], pl + [(TAG["MAC_DATA"], W.BYTES, mac)])
    if op == "Derive Key":
        return k(c, OPS["DERIVE_KEY"], [
            (W.T["OBJECT_TYPE"], W.ENUM, 2), uid_of(mx.hmac),
            (TAG["DERIVATION_METHOD"], W.ENUM, 5),
            (TAG["DERIVATION_PARAMETERS"], W.STRUCTURE, [
                (TAG["CRYPTOGRAPHIC_PARAMETERS"], W.STRUCTURE, [
                    (TAG["HASHING_ALGORITHM"], W.ENUM, 6)]),
                (TAG["DERIVATION_DATA"], W.BYTES, b"label\0context")]),
            (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
                W.attribute("Cryptographic Algorithm", W.ENUM, AES),
                W.attribute("Cryptographic Length", W.INTEGER, 128)])])
    if op == "Query":
        return k(c, OPS["QUERY"], [(W.T["QUERY_FUNCTION"], W.ENUM, 1)])
    if op == "Discover Versions":
        return k(c, OPS["DISCOVER_VERSIONS"], [])
    if op == "RNG Retrieve":
        return k(c, OPS["RNG_RETRIEVE"], [(TAG["DATA_LENGTH"], W.INTEGER, 16)])
    if op == "RNG Seed":
        return k(c, OPS["RNG_SEED"], [(TAG["DATA"], W.BYTES, os.urandom(16))])
    if op == "Log (2.0)":
        return k(c, OPS["LOG"], [(TAG["LOG_MESSAGE"], W.TEXT, "role matrix")], major=2, minor=0)
    raise AssertionError("no cell for " + op)


@pytest.mark.parametrize("op", list(KMIP_TABLE))
def test_kmip_matrix(mx, op):
    action, expected = KMIP_TABLE[op]
    got = {}
    for c, want in zip(KMIP_CALLERS, expected):
        result, item, raw = cell_kmip(mx, op, c)
        got[c] = result
        if c == "R":
            mx.scan_kmip(raw, item)
    wrong = {c: (got[c], w) for c, w in zip(KMIP_CALLERS, expected) if got[c] != w}
    assert not wrong, "KMIP %s (%s): caller: (got, table) %r" % (op, action, wrong)


# ----------------------------------------------------------- REST cells
def cell_rest(mx, route, c):
    """Run one REST cell as caller c: (status, doc, raw)."""
    method, tmpl = route.split(" ", 1)
    r = mx.rest
    if tmpl in ("/health", "/v1/openapi.json"):
        status, _, raw = request(mx.server, method, tmpl, headers=(
            {"Authorization": "Bearer " + mx.tokens[c]} if mx.tokens.get(c) else {}))
        return status, json.loads(raw), raw
    if tmpl == "/v1/me":
        return r(c, method, tmpl)
    if tmpl == "/v1/tenants":
        if method == "POST":
            return r(c, method, tmpl, {"id": "mx-new-%d" % next(_SEQ)})
        return r(c, method, tmpl)
    if tmpl == "/v1/tenants/{t}":
        if method == "GET":
            return r(c, method, "/v1/tenants/default")
        path = "/v1/tenants/" + mx.fresh_tenant()
        return r(c, method, path, {"name": "renamed"} if method == "PATCH" else None)
    base = "/v1/tenants/default/identities"
    if tmpl == "/v1/tenants/{t}/identities":
        if method == "POST":
            return r(c, method, base, {"kind": "api_key", "name": "mx-made-%d" % next(_SEQ),
                                       "role": "reader"})
        return r(c, method, base)
    if tmpl.startswith("/v1/tenants/{t}/identities/{id}"):
        ident = mx.rest_identity if method == "GET" else mx.fresh_identity()
        path = base + "/" + ident + tmpl[len("/v1/tenants/{t}/identities/{id}"):]
        body = {"PATCH": {"name": "renamed"}, "POST": {"mode": "refuse"}}.get(method)
        return r(c, method, path, body)
    if tmpl == "/v1/keys":
        if method == "POST":
            return r(c, method, tmpl, {"algorithm": "AES", "length": 256})
        st, doc, raw = r(c, method, tmpl + "?limit=1000")
        if st == 200:      # another tenant's caller does not see ours
            ids = {k["id"] for k in doc["keys"]}
            assert (mx.rest_aes in ids) == (c != "O"), (c, len(ids))
        return st, doc, raw
    if tmpl == "/v1/keys/import":
        material = os.urandom(32)
        mx.materials.append(material)
        return r(c, method, tmpl, {"format": "raw", "algorithm": "AES",
                                   "material": base64.b64encode(material).decode()})
    if tmpl.startswith("/v1/import-tokens") or tmpl == "/v1/keys/{id}/versions":
        return cell_byok(mx, method, tmpl, c)
    if tmpl in ("/v1/keys/{id}/export", "/v1/export", "/v1/import"):
        return cell_export(mx, method, tmpl, c)
    if method == "GET":      # metadata, material: the shared key
        return r(c, method, tmpl.replace("{id}", mx.rest_aes))
    active = tmpl.endswith("/deactivate") or tmpl.endswith("/revoke")
    path = tmpl.replace("{id}", mx.rest_key(active=active))
    body = {"PATCH": {"tags": {"matrix": "1"}}}.get(method)
    if tmpl.endswith("/revoke"):
        body = {"reason": "cessation_of_operation"}
    return r(c, method, path, body)


def cell_byok(mx, method, tmpl, c):
    """BYOK cells: tokens made by W (one of 100 uses for the version imports),
    versions imported into fresh root keys of W."""
    from test_byok import wrap_for
    if not hasattr(mx, "byok_token"):
        mx.byok_token = mx.rest_ok("W", "POST", "/v1/import-tokens", {"max_uses": 100}, want=201)
        mx.byok_root = mx.rest_ok("W", "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                          "kind": "root", "activate": True},
                                  want=201)["id"]
    tok = mx.byok_token
    if tmpl == "/v1/import-tokens":
        return mx.rest(c, method, tmpl, {})
    if tmpl == "/v1/import-tokens/{id}":
        return mx.rest(c, method, "/v1/import-tokens/" + tok["id"])
    if method == "GET":
        return mx.rest(c, method, "/v1/keys/%s/versions" % mx.byok_root)
    root = mx.rest_ok("W", "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                               "kind": "root", "activate": True}, want=201)
    material = os.urandom(32)
    mx.materials.append(material)
    return mx.rest(c, method, "/v1/keys/%s/versions" % root["id"], {
        "import_token": tok["id"], "wrapping": "rsa_aes_key_wrap_sha256",
        "material": base64.b64encode(wrap_for(tok["public_key"], material)).decode()})


def cell_export(mx, method, tmpl, c):
    """Reversibility cells: exports wrapped for the public half of M's RSA
    unwrapping key; an import of a document without objects for that key
    (another tenant's caller does not see the key: 404)."""
    if not hasattr(mx, "unwrap"):
        from cryptography.hazmat.primitives import serialization
        k = mx.rest_ok("M", "POST", "/v1/keys", {"algorithm": "RSA", "length": 2048,
                                                  "kind": "root", "usage": ["unwrap_key"],
                                                  "activate": True}, want=201)
        pem = mx.rest_ok("M", "GET", "/v1/keys/%s/material?format=pem" % k["public_key_id"])
        spki = serialization.load_pem_public_key(pem["material"].encode()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        mx.unwrap, mx.unwrap_pem = k["id"], pem["material"]
        mx.unwrap_spki = hashlib.sha256(spki).hexdigest()
    if tmpl == "/v1/import":
        doc = {"format": "coffre-export", "version": 1, "created": "2026-11-23T06:14:34Z",
               "source": {"server": "coffre", "tenant": "default"},
               "wrapping": {"algorithm": "rsa_aes_key_wrap_sha256",
                            "public_key_sha256": mx.unwrap_spki}, "objects": []}
        return mx.rest(c, method, tmpl, {"document": doc, "unwrapping_key_id": mx.unwrap})
    body = {"wrapping_key": mx.unwrap_pem}
    if tmpl == "/v1/export":
        body["limit"] = 5
    return mx.rest(c, method, tmpl.replace("{id}", mx.rest_aes), body)


@pytest.mark.parametrize("route", list(REST_TABLE))
def test_rest_matrix(mx, route):
    action, expected = REST_TABLE[route]
    got = {}
    for c, want in zip(CALLERS, expected):
        status, doc, raw = cell_rest(mx, route, c)
        got[c] = status
        if c == "R":
            mx.scan_rest(raw, doc, document=route == "GET /v1/openapi.json")
    wrong = {c: (got[c], w) for c, w in zip(CALLERS, expected) if got[c] != w}
    assert not wrong, "REST %s (%s): caller: (got, table) %r" % (route, action, wrong)


KMIP_CODES = {
    "Create": 1, "Register": 3, "Create Key Pair": 2, "Get": 10, "Get Attributes": 11,
    "Get Attribute List": 12, "Locate": 8, "Check": 9, "Add Attribute": 13,
    "Modify Attribute": 14, "Delete Attribute": 15, "Set Attribute (2.0)": 0x31, "Activate": 18,
    "Revoke": 19, "Destroy": 20, "ReKey": 4, "ReKey Key Pair": 29, "Encrypt": 31, "Decrypt": 32,
    "Sign": 33, "Signature Verify": 34, "MAC": 35, "MAC Verify": 36, "Derive Key": 5,
    "Query": 24, "Discover Versions": 30, "RNG Retrieve": 37, "RNG Seed": 38, "Log (2.0)": 0x2C,
}


def test_tables_cover_every_operation(mx):
    """The KMIP table has a row for every operation the server lists in Query
    (at 2.0, so the 2.0-only ones too), and the REST table one for every
    operation the OpenAPI document gives the contract's paths."""
    from test_rest import OPENAPI
    assert set(KMIP_CODES) == set(KMIP_TABLE)
    pl = mx.kmip_ok("M", OPS["QUERY"], [(W.T["QUERY_FUNCTION"], W.ENUM, 1)], major=2, minor=0)
    served = {x[2] for x in W.children(pl, W.T["OPERATION"])}
    assert served == set(KMIP_CODES.values()), (served ^ set(KMIP_CODES.values()))
    contract = {"/health", "/v1/openapi.json", "/v1/me", "/v1/tenants", "/v1/tenants/{t}",
                "/v1/tenants/{t}/identities", "/v1/tenants/{t}/identities/{id}",
                "/v1/tenants/{t}/identities/{id}/retire", "/v1/keys", "/v1/keys/import",
                "/v1/keys/{id}", "/v1/keys/{id}/activate", "/v1/keys/{id}/deactivate",
                "/v1/keys/{id}/revoke", "/v1/keys/{id}/material",
                "/v1/import-tokens", "/v1/import-tokens/{id}", "/v1/keys/{id}/versions",
                "/v1/keys/{id}/export", "/v1/export", "/v1/import"}
    documented = set()
    for path, item in OPENAPI["paths"].items():
        norm = path.replace("{tenant}", "{t}")
        if norm in contract:
            documented |= {"%s %s" % (m.upper(), norm) for m in item if m != "parameters"}
    assert documented == set(REST_TABLE), documented ^ set(REST_TABLE)


def test_reader_scan_catches_material(mx):
    """The scans above would see material: a Writer's answers that carry it fail them."""
    _, doc, raw = mx.rest("W", "GET", "/v1/keys/%s/material" % mx.rest_aes)
    with pytest.raises(AssertionError):
        mx.scan_rest(raw, doc)
    _, item, raw = mx.kmip("W", OPS["GET"], [uid_of(mx.aes)])
    with pytest.raises(AssertionError):
        mx.scan_kmip(raw, item)
    with pytest.raises(AssertionError):   # the bytes alone, without the tags
        mx.scan_kmip(raw, (W.T["RESPONSE_PAYLOAD"], W.STRUCTURE, []))
