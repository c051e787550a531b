"""The audit trail against the live (ASan) server (issue 7, docs/audit.md).

- A table of REST routes and KMIP operations, each with a success and a
  refusal: every call leaves exactly one record, in the expected chain, with
  the expected operation, result, object and identity kind.
- A Reader exports its tenant's trail; `coffre audit verify` passes offline
  with the public key; editing, deleting, reordering one record or dropping
  the last ones in the exported file, and the same in a copy of the SQLite
  store, is detected with the record named.
- Never a token, key material or an object name in clear in the audit table
  or the mirror file.
- Fail closed: when the store refuses audit records (a trigger injected into
  the live database) or the mirror file cannot be written (/dev/full),
  operations are refused: 503 audit_unavailable, KMIP General Failure.
"""
import base64
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid

import pytest

import kmipwire as W
from conftest import BIN, Server
from test_rest import api

OP_ID = dict(CREATE=0x01, GET=0x0A, ACTIVATE=0x12, DESTROY=0x14)
GENERAL_FAILURE = 0x100
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehavior")


def add_key(server, name, role, tenant="default"):
    out = subprocess.run([BIN, "identity", "add-key", "--data", server.data, "--name", name,
                          "--role", role, "--tenant", tenant],
                         check=True, capture_output=True, text=True)
    token = out.stdout.strip().split()[-1]
    assert token.startswith("cf1_")
    return token


@pytest.fixture(scope="module")
def ids(server):
    with open(os.path.join(server.data, "admin.token")) as f:
        op = f.read().strip()
    t = {"operator": op, "writer": add_key(server, "audit-writer", "writer"),
         "reader": add_key(server, "audit-reader", "reader")}
    for role in ("writer", "reader"):
        _, _, me = api(server, "GET", "/v1/me", token=t[role])
        t[role + "_id"] = me["id"]
    return t


def records(server, ids, chain, after=0):
    """Every record of chain after seq `after`, read by the operator (whose
    own reads go to the operator chain)."""
    out = []
    while True:
        status, _, page = api(server, "GET", "/v1/audit?chain=%s&after_seq=%d&limit=1000"
                              % (chain, after), token=ids["operator"])
        assert status == 200, page
        out += page["records"]
        if "next_after_seq" not in page:
            return out
        after = page["next_after_seq"]


def last_seq(server, ids, chain):
    recs = records(server, ids, chain)
    return recs[-1]["seq"] if recs else 0


def own_reads(r):
    return r["operation"] == "listAudit" and r["identity"]["kind"] == "operator"


def new_records(server, ids, chain, before):
    """What happened in chain since seq `before` (the operator's reads of
    the trail left out of the operator chain)."""
    return [r for r in records(server, ids, chain, before) if not own_reads(r)]


# ---------------------------------------------------------------- REST table

def aes(server, ids, **kw):
    body = {"algorithm": "AES", "length": 256}
    body.update(kw)
    status, _, key = api(server, "POST", "/v1/keys", body, token=ids["writer"])
    assert status == 201, key
    return key["id"]


def _created(ans):
    return ans["id"]


# (name, method, path (with {key} / {active}), body, caller, status,
#  operation, result, object ("key", "active", "created", "none", a literal), kind, chain)
MISSING = str(uuid.uuid4())
REST_CASES = [
    ("create", "POST", "/v1/keys", {"algorithm": "AES", "length": 128}, "writer", 201,
     "createKey", "ok", "created", "api_key", "default"),
    ("create refused", "POST", "/v1/keys", {"algorithm": "AES", "length": 128}, "reader", 403,
     "createKey", "permission_denied", "none", "api_key", "default"),
    ("import", "POST", "/v1/keys/import",
     {"format": "raw", "algorithm": "AES", "material": base64.b64encode(b"k" * 32).decode()},
     "writer", 201, "importKey", "ok", "created", "api_key", "default"),
    ("import refused", "POST", "/v1/keys/import",
     {"format": "raw", "algorithm": "AES", "material": base64.b64encode(b"k" * 32).decode()},
     "reader", 403, "importKey", "permission_denied", "none", "api_key", "default"),
    ("update", "PATCH", "/v1/keys/{key}", {"tags": {"team": "audit"}}, "writer", 200,
     "updateKey", "ok", "key", "api_key", "default"),
    ("get", "GET", "/v1/keys/{key}", None, "reader", 200,
     "getKey", "ok", "key", "api_key", "default"),
    ("get missing", "GET", "/v1/keys/" + MISSING, None, "reader", 404,
     "getKey", "not_found", MISSING, "api_key", "default"),
    ("list", "GET", "/v1/keys", None, "reader", 200,
     "listKeys", "ok", "none", "api_key", "default"),
    ("material", "GET", "/v1/keys/{active}/material", None, "writer", 200,
     "getKeyMaterial", "ok", "active", "api_key", "default"),
    ("material refused", "GET", "/v1/keys/{active}/material", None, "reader", 403,
     "getKeyMaterial", "permission_denied", "active", "api_key", "default"),
    ("activate", "POST", "/v1/keys/{key}/activate", None, "writer", 200,
     "activateKey", "ok", "key", "api_key", "default"),
    ("destroy refused", "DELETE", "/v1/keys/{active}", None, "writer", 409,
     "destroyKey", "wrong_state", "active", "api_key", "default"),
    ("destroy", "DELETE", "/v1/keys/{fresh}", None, "writer", 200,
     "destroyKey", "ok", "fresh", "api_key", "default"),
    ("me", "GET", "/v1/me", None, "reader", 200, "getMe", "ok", "none", "api_key", "default"),
    ("tenants refused", "GET", "/v1/tenants", None, "writer", 403,
     "listTenants", "permission_denied", "none", "api_key", "default"),
    ("tenants", "GET", "/v1/tenants", None, "operator", 200,
     "listTenants", "ok", "none", "operator", "_operator"),
    ("401", "GET", "/v1/keys", None, "nobody", 401,
     "listKeys", "unauthenticated", "none", "none", "_operator"),
    ("public key", "GET", "/v1/audit/public-key", None, "reader", 200,
     "getAuditPublicKey", "ok", "none", "api_key", "default"),
    ("audit read", "GET", "/v1/audit", None, "reader", 200,
     "listAudit", "ok", "none", "api_key", "default"),
    ("audit of another tenant", "GET", "/v1/audit?chain=_operator", None, "reader", 404,
     "listAudit", "not_found", "none", "api_key", "default"),
]


@pytest.mark.parametrize("case", REST_CASES, ids=[c[0] for c in REST_CASES])
def test_rest_route_leaves_its_record(server, ids, case):
    (_, method, path, body, caller, status, operation, result, obj, kind, chain) = case
    keys = {"key": aes(server, ids), "active": aes(server, ids, activate=True),
            "fresh": aes(server, ids)}
    path = path.format(**keys)
    token = ids.get(caller, "cf1_" + "0" * 32 + "_" + "A" * 43)
    before = last_seq(server, ids, chain)
    got, _, ans = api(server, method, path, body, token=token)
    assert got == status, ans
    new = new_records(server, ids, chain, before)
    assert len(new) == 1, json.dumps(new, indent=1)
    r = new[0]
    assert (r["operation"], r["result"], r["identity"]["kind"], r["frontend"]) == \
        (operation, result, kind, "rest")
    expected_obj = {"created": ans.get("id"), "none": None}.get(obj, keys.get(obj, obj))
    assert r["object"].get("id") == expected_obj
    assert r["tenant"] == (None if chain == "_operator" else chain)
    assert r["source"].startswith("127.0.0.1:")
    if result == "ok":
        assert "reason" not in r
    else:
        assert r["reason"] == ans["error"]["message"]
    if kind == "api_key":
        assert r["identity"]["id"] == ids[caller + "_id"]
    if kind == "none":
        assert "id" not in r["identity"]
    uuid.UUID(r["request_id"])


# ---------------------------------------------------------------- KMIP table

def template(*attrs):
    return (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, list(attrs))


CREATE_AES = [(W.T["OBJECT_TYPE"], W.ENUM, 2),
              template(W.attribute("Cryptographic Algorithm", W.ENUM, 3),
                       W.attribute("Cryptographic Length", W.INTEGER, 256),
                       W.attribute("Cryptographic Usage Mask", W.INTEGER, 12))]
CREATE_BAD = [(W.T["OBJECT_TYPE"], W.ENUM, 2),
              template(W.attribute("Cryptographic Algorithm", W.ENUM, 3),
                       W.attribute("Cryptographic Length", W.INTEGER, 100))]


def kmip(server, op, payload, ctx=None, bid=b"\x01\x02"):
    conn = server.connect(ctx=ctx) if ctx else server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([(op, payload, bid)], major=1, minor=4)))
    finally:
        conn.close()
    return W.child(resp, W.T["BATCH_ITEM"])


def uid_of(item):
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS, W.value(item, W.T["RESULT_MESSAGE"])
    return W.value(W.child(item, W.T["RESPONSE_PAYLOAD"]), W.T["UNIQUE_IDENTIFIER"])


def uid_payload(uid):
    return [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid)]


@pytest.fixture(scope="module")
def admin_sha256(server):
    out = subprocess.run(["openssl", "x509", "-in", os.path.join(server.pki, "admin.crt"),
                          "-noout", "-fingerprint", "-sha256"],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").lower()


KMIP_CASES = [
    # name, operation code, payload (uid: "{key}" / "{active}" / "{missing}"), result, object
    ("Create", OP_ID["CREATE"], CREATE_AES, "ok", "created"),
    ("Create refused", OP_ID["CREATE"], CREATE_BAD, "invalid_field", None),
    ("Get", OP_ID["GET"], "{key}", "ok", "key"),
    ("Get missing", OP_ID["GET"], "{missing}", "not_found", "missing"),
    ("Destroy", OP_ID["DESTROY"], "{key}", "ok", "key"),
    ("Destroy refused", OP_ID["DESTROY"], "{active}", "wrong_state", "active"),
]


@pytest.mark.parametrize("case", KMIP_CASES, ids=[c[0] for c in KMIP_CASES])
def test_kmip_operation_leaves_its_record(server, ids, admin_sha256, case):
    name, op, payload, result, obj = case
    keys = {"key": uid_of(kmip(server, OP_ID["CREATE"], CREATE_AES)), "missing": MISSING}
    keys["active"] = uid_of(kmip(server, OP_ID["CREATE"], CREATE_AES))
    uid_of(kmip(server, OP_ID["ACTIVATE"], uid_payload(keys["active"])))
    if isinstance(payload, str):
        payload = uid_payload(payload.format(**keys))
    before = last_seq(server, ids, "default")
    item = kmip(server, op, payload, bid=b"\xab\xcd")
    new = new_records(server, ids, "default", before)
    assert len(new) == 1, json.dumps(new, indent=1)
    r = new[0]
    expected_op = name.split()[0]
    assert (r["operation"], r["result"], r["frontend"], r["batch_item_id"]) == \
        (expected_op, result, "kmip", "abcd")
    if obj == "created":
        assert r["object"]["id"] == uid_of(item)
    else:
        assert r["object"].get("id") == keys.get(obj)
    assert r["identity"]["kind"] == "certificate"
    assert r["identity"]["cert_sha256"] == admin_sha256
    assert r["identity"]["subject"] == "CN=admin,O=Coffre dev"
    assert r["tenant"] == "default"


@pytest.fixture(scope="module")
def intruder(server, tmp_path_factory):
    """A client certificate of the server's CA that no identity holds."""
    d = str(tmp_path_factory.mktemp("intruder"))
    with open(d + "/ext.cnf", "w") as f:
        f.write("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, text=True).stdout
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=Coffre dev/CN=intruder",
        "-keyout", d + "/i.key", "-out", d + "/i.csr")
    run("openssl", "x509", "-req", "-in", d + "/i.csr", "-CA", server.pki + "/ca.crt",
        "-CAkey", server.pki + "/ca.key", "-CAserial", d + "/ca.srl", "-CAcreateserial",
        "-days", "2", "-sha256", "-extfile", d + "/ext.cnf", "-out", d + "/i.crt")
    fp = run("openssl", "x509", "-in", d + "/i.crt", "-noout", "-fingerprint", "-sha256")
    ctx = server.tls_context(cert=None)
    ctx.load_cert_chain(d + "/i.crt", d + "/i.key")
    return ctx, fp.strip().split("=", 1)[1].replace(":", "").lower()


def test_kmip_failed_authentication_is_recorded(server, ids, intruder):
    ctx, sha = intruder
    before = last_seq(server, ids, "_operator")
    item = kmip(server, OP_ID["CREATE"], CREATE_AES, ctx=ctx)
    assert W.value(item, W.T["RESULT_STATUS"]) == W.FAILED
    new = new_records(server, ids, "_operator", before)
    assert len(new) == 1, new
    r = new[0]
    assert (r["operation"], r["result"], r["identity"]["kind"]) == \
        ("Create", "unauthenticated", "none")
    assert r["identity"]["cert_sha256"] == sha
    assert r["identity"]["subject"] == "CN=intruder,O=Coffre dev"
    assert r["tenant"] is None and "id" not in r["identity"]


# ------------------------------------------------- export and offline verify

def verify(*args):
    p = subprocess.run([BIN, "audit", "verify", *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


@pytest.fixture(scope="module")
def exported(server, ids, tmp_path_factory):
    """A Reader's export of its tenant's trail and the server's public key."""
    for _ in range(3):
        aes(server, ids, activate=True)
    d = tmp_path_factory.mktemp("export")
    status, _, exp = api(server, "GET", "/v1/audit/export", token=ids["reader"])
    assert status == 200
    status, _, pub = api(server, "GET", "/v1/audit/public-key", token=ids["reader"])
    assert status == 200 and pub["algorithm"] == "Ed25519"
    assert exp["public_key"] == pub["public_key"]
    with open(d / "pub.pem", "w") as f:
        f.write(pub["public_key"])
    return exp, str(d / "pub.pem"), d


def write(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)
    return str(path)


def test_reader_export_verifies_offline(exported):
    exp, pub, d = exported
    assert exp["chain"] == "default" and exp["first_seq"] == 1
    recs = exp["records"]
    assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1))
    assert exp["last_seq"] == recs[-1]["seq"]
    assert exp["checkpoint"]["seq"] == recs[-1]["seq"]
    assert exp["checkpoint"]["hash"] == recs[-1]["hash"]
    assert any(c["seq"] == 1 for c in exp["checkpoints"])  # a chain's first record is signed
    rc, out = verify("--file", write(d / "ok.json", exp), "--public-key", pub)
    assert rc == 0, out
    assert "OK: 1 chain, %d records verified" % len(recs) in out


def tampered(exp, change):
    doc = json.loads(json.dumps(exp))
    change(doc["records"])
    return doc


def test_export_tampering_is_detected(exported):
    exp, pub, d = exported
    recs = exp["records"]
    n = len(recs)
    assert n >= 10
    k = n // 2
    seq = recs[k]["seq"]

    def edit(rs):
        rs[k]["result"] = "ok" if rs[k]["result"] != "ok" else "permission_denied"

    def delete(rs):
        del rs[k]

    def reorder(rs):
        rs[k], rs[k + 1] = rs[k + 1], rs[k]

    def truncate(rs):
        del rs[-2:]

    cases = [(edit, "record seq %d of chain default: hash mismatch (edited?)" % seq),
             (delete, "chain default: seq %d missing (deleted?)" % seq),
             (reorder, "chain default: seq %d before seq %d (reordered?)" % (seq + 1, seq)),
             (truncate, "chain default: 2 records after seq %d are missing: a checkpoint signs "
                        "seq %d (truncated?)" % (n - 2, n))]
    for change, msg in cases:
        rc, out = verify("--file", write(d / (change.__name__ + ".json"), tampered(exp, change)),
                         "--public-key", pub)
        assert rc == 1, out
        assert "FAILED: " + msg in out, out
    # A checkpoint signed by another key (a forged export) is refused.
    other = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], check=True,
                           capture_output=True).stdout
    otherpub = subprocess.run(["openssl", "pkey", "-pubout"], input=other, check=True,
                              capture_output=True).stdout
    with open(d / "other.pem", "wb") as f:
        f.write(otherpub)
    rc, out = verify("--file", str(d / "ok.json"), "--public-key", str(d / "other.pem"))
    assert rc == 1 and "signed by another key" in out, out


def db_copy(server, d):
    """A consistent copy of the live store (WAL included) in d/coffre.db."""
    os.makedirs(d, exist_ok=True)
    src = sqlite3.connect(os.path.join(server.data, "coffre.db"))
    dst = sqlite3.connect(os.path.join(d, "coffre.db"))
    src.backup(dst)
    src.close()
    dst.close()
    return d


def test_store_tampering_is_detected(server, ids, exported, tmp_path):
    exported  # the export left a checkpoint signing the chain's head at that time
    aes(server, ids)
    rc, out = verify("--data", db_copy(server, str(tmp_path / "ok")))
    assert rc == 0, out
    assert "OK: " in out and "chain default:" in out and "chain _operator:" in out
    head = last_seq(server, ids, "default")
    k = head // 2

    def run_sql(name, *stmts):
        d = db_copy(server, str(tmp_path / name))
        db = sqlite3.connect(os.path.join(d, "coffre.db"))
        for s in stmts:
            db.execute(s)
        db.commit()
        db.close()
        return verify("--data", d)

    q = "FROM audit_records WHERE chain = 'default' AND seq = %d"
    rc, out = run_sql("edit", "UPDATE audit_records SET record = replace(record, "
                              "'\"request_id\":\"0', '\"request_id\":\"f') "
                              "WHERE chain = 'default' AND seq = %d" % k)
    assert rc == 1 and "FAILED: record seq %d of chain default: hash mismatch (edited?)" % k \
        in out, out
    rc, out = run_sql("delete", "DELETE " + q % k)
    assert rc == 1 and "FAILED: chain default: seq %d missing (deleted?)" % k in out, out
    rc, out = run_sql("reorder",
                      "UPDATE audit_records SET seq = -1 WHERE chain = 'default' AND seq = %d" % k,
                      "UPDATE audit_records SET seq = %d WHERE chain = 'default' AND seq = %d"
                      % (k, k + 1),
                      "UPDATE audit_records SET seq = %d WHERE chain = 'default' AND seq = -1"
                      % (k + 1))
    assert rc == 1 and "FAILED: chain default: seq %d before seq %d (reordered?)" % (k + 1, k) \
        in out, out
    rc, out = run_sql("truncate", "DELETE FROM audit_records WHERE chain = 'default' AND seq > %d"
                      % (head - 2))
    assert rc == 1 and "FAILED: chain default: 2 records after seq %d are missing" % (head - 2) \
        in out and "(truncated?)" in out, out


def test_no_secret_in_the_trail(server, ids, tmp_path):
    name = "audit-secret-name-%s" % uuid.uuid4().hex[:8]
    kid = aes(server, ids, name=name, activate=True)
    status, _, m = api(server, "GET", "/v1/keys/%s/material" % kid, token=ids["writer"])
    assert status == 200
    material = base64.b64decode(m["material"])
    # KMIP Get of the same key: its material on the wire too.
    item = kmip(server, OP_ID["GET"], uid_payload(kid))
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS
    rows = sqlite3.connect(os.path.join(server.data, "coffre.db")).execute(
        "SELECT record FROM audit_records").fetchall()
    table = "\n".join(r[0] for r in rows).encode()
    assert kid.encode() in table  # the key's records are there
    needles = [material, m["material"].encode(), material.hex().encode(), name.encode()]
    needles += [ids[r].encode() for r in ("operator", "writer", "reader")]
    needles += [ids[r][37:].encode() for r in ("operator", "writer", "reader")]  # secrets
    for n in needles:
        assert n not in table
    # The whole database (WAL included): no token, no plaintext key.
    for f in ("coffre.db", "coffre.db-wal"):
        p = os.path.join(server.data, f)
        if os.path.exists(p):
            blob = open(p, "rb").read()
            for n in needles[:3] + needles[4:]:
                assert n not in blob, (f, n[:12])
    # The name is searchable through its HMAC, by the tenant.
    status, _, page = api(server, "GET", "/v1/audit?name=%s" % name, token=ids["reader"])
    assert status == 200 and len(page["records"]) >= 2
    assert {r["object"]["id"] for r in page["records"]} == {kid}
    assert all(len(r["hmac"]["name"]) == 64 for r in page["records"])


# ------------------------------------------------------------- fail closed

def start_private(tmp, extra=()):
    data = os.path.join(tmp, "data")
    os.makedirs(data, mode=0o700)
    srv = Server(data)
    srv.start(extra)
    return srv


def stop_private(srv):
    rc = srv.stop()
    bad = [l for l in srv.read_log().splitlines() if SANITIZER.search(l)]
    assert not bad, "\n".join(bad[:20])
    assert rc == 0


def test_fail_closed_when_the_store_refuses_records():
    with tempfile.TemporaryDirectory(prefix="coffre-audit-") as tmp:
        srv = start_private(tmp)
        try:
            with open(os.path.join(srv.data, "admin.token")) as f:
                op = f.read().strip()
            status, _, me = api(srv, "GET", "/v1/me", token=op)
            assert status == 200
            db = sqlite3.connect(os.path.join(srv.data, "coffre.db"), timeout=30)
            db.execute("CREATE TRIGGER no_audit BEFORE INSERT ON audit_records "
                       "BEGIN SELECT RAISE(ABORT, 'injected'); END")
            db.commit()
            status, _, err = api(srv, "GET", "/v1/me", token=op)
            assert status == 503 and err["error"]["code"] == "audit_unavailable"
            status, _, err = api(srv, "GET", "/v1/me", token="cf1_nope")
            assert status == 503 and err["error"]["code"] == "audit_unavailable"
            objects = db.execute("SELECT count(*) FROM objects").fetchone()[0]
            # KMIP: an answer that cannot be backed by its record is not
            # sent; the connection closes (group commit settles the answer
            # after it was built, docs/audit.md). The Create's record joins
            # its own transaction, so the key is not kept either.
            with pytest.raises(ConnectionError):
                kmip(srv, OP_ID["CREATE"], CREATE_AES)
            assert db.execute("SELECT count(*) FROM objects").fetchone()[0] == objects
            db.execute("DROP TRIGGER no_audit")
            db.commit()
            db.close()
            status, _, me = api(srv, "GET", "/v1/me", token=op)
            assert status == 200
            assert "could not be written" in srv.read_log()
        finally:
            stop_private(srv)


def test_fail_closed_when_the_mirror_cannot_be_written():
    with tempfile.TemporaryDirectory(prefix="coffre-audit-") as tmp:
        srv = start_private(tmp, ("--audit-file", "/dev/full"))
        try:
            with open(os.path.join(srv.data, "admin.token")) as f:
                op = f.read().strip()
            status, _, err = api(srv, "GET", "/v1/me", token=op)
            assert status == 503 and err["error"]["code"] == "audit_unavailable"
            with pytest.raises(ConnectionError):
                kmip(srv, OP_ID["GET"], uid_payload(MISSING))
        finally:
            stop_private(srv)


def test_mirror_file_verifies(tmp_path):
    with tempfile.TemporaryDirectory(prefix="coffre-audit-") as tmp:
        mirror = os.path.join(tmp, "audit.jsonl")
        srv = start_private(tmp, ("--audit-file", mirror, "--audit-sync", "full"))
        try:
            with open(os.path.join(srv.data, "admin.token")) as f:
                op = f.read().strip()
            for _ in range(3):
                api(srv, "GET", "/v1/me", token=op)
            uid_of(kmip(srv, OP_ID["CREATE"], CREATE_AES))
            status, _, pub = api(srv, "GET", "/v1/audit/public-key", token=op)
            assert oct(os.stat(mirror).st_mode & 0o777) == "0o600"
        finally:
            stop_private(srv)
        with open(tmp_path / "pub.pem", "w") as f:
            f.write(pub["public_key"])
        rc, out = verify("--file", mirror, "--public-key", str(tmp_path / "pub.pem"))
        assert rc == 0, out
        assert "chain _operator: 4 records" in out and "chain default: 1 records" in out, out
        # A record deleted from the mirror is named.
        lines = open(mirror).read().splitlines()
        at = [i for i, l in enumerate(lines) if '"chain":"_operator"' in l and '"seq":2,' in l
              and not l.startswith('{"checkpoint"')]
        assert len(at) == 1
        del lines[at[0]]
        with open(tmp_path / "cut.jsonl", "w") as f:
            f.write("\n".join(lines) + "\n")
        rc, out = verify("--file", str(tmp_path / "cut.jsonl"), "--public-key",
                         str(tmp_path / "pub.pem"))
        assert rc == 1 and "FAILED: chain _operator: seq 2 missing (deleted?)" in out, out
