"""Envelope encryption with root keys over real HTTPS (rest_envelope.c over
core_envelope.c): wrap / unwrap / rewrap with and without AAD (lists and
maps), generated DEKs, the wrapped format's header, tampering, another
key's ciphertext, rotation (data wrapped under v1 unwraps after v2 exists,
rewrap moves it, rewrap_recommended), the key versions listing, states
(deactivated: unwrap only; destroyed: nothing), roles (a Reader is refused)
and a service key restricted to wrap+unwrap of one root key, batches with
mixed per-item failures, standard keys refused, limits. Every answer is
checked against docs/openapi.json (test_rest.api)."""
import base64
import struct

import pytest

from test_rest import api
from test_rest_keys import add_key


@pytest.fixture(scope="module")
def tokens(server):
    return {role: add_key(server, "env-" + role, role) for role in ("writer", "reader", "manager")}


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    return base64.b64decode(s, validate=True)


def root_key(server, token, length=256, usage=("wrap_key", "unwrap_key")):
    status, _, key = api(server, "POST", "/v1/keys",
                         {"algorithm": "AES", "length": length, "kind": "root",
                          "usage": list(usage), "activate": True}, token=token)
    assert status == 201, key
    assert key["kind"] == "root" and key["extractable"] is False and key["state"] == "active"
    return key["id"]


def call(server, token, kid, op, body=None):
    return api(server, "POST", "/v1/keys/%s/%s" % (kid, op), body, token=token)


def error(status, doc, want_status, want_code):
    assert (status, doc["error"]["code"]) == (want_status, want_code), doc


def wrap(server, token, kid, pt, aad=None):
    body = {"plaintext": b64(pt)}
    if aad is not None:
        body["aad"] = aad
    status, _, doc = call(server, token, kid, "wrap", body)
    assert status == 200, doc
    assert doc["key_id"] == kid and "plaintext" not in doc
    return doc


def unwrap(server, token, kid, ct, aad=None):
    body = {"ciphertext": ct}
    if aad is not None:
        body["aad"] = aad
    return call(server, token, kid, "unwrap", body)


def test_wrap_unwrap_and_the_format(server, tokens):
    w = tokens["writer"]
    kid = root_key(server, w)
    doc = wrap(server, w, kid, b"\x01" * 32)
    assert doc["key_version"] == 1
    raw = unb64(doc["ciphertext"])
    # "CFW", format 1, AES-256-GCM, key id, version 1, nonce, ciphertext, tag.
    assert raw[:6] == b"CFW\x01\x03" + bytes([len(kid)])
    assert raw[6:6 + len(kid)] == kid.encode()
    assert struct.unpack(">I", raw[6 + len(kid):10 + len(kid)])[0] == 1
    assert len(raw) == 6 + len(kid) + 4 + 12 + 32 + 16
    status, _, out = unwrap(server, w, kid, doc["ciphertext"])
    assert status == 200
    assert out == {"key_id": kid, "key_version": 1, "plaintext": b64(b"\x01" * 32),
                   "rewrap_recommended": False}
    # Two wraps of one DEK differ (a fresh nonce each).
    assert wrap(server, w, kid, b"\x01" * 32)["ciphertext"] != doc["ciphertext"]


def test_generated_dek(server, tokens):
    w = tokens["writer"]
    kid = root_key(server, w)
    for body in ({}, None, {"aad": ["x"]}):
        status, _, doc = call(server, w, kid, "wrap", body)
        assert status == 200
        dek = unb64(doc["plaintext"])
        assert len(dek) == 32
        status, _, out = unwrap(server, w, kid, doc["ciphertext"],
                                body.get("aad") if body else None)
        assert status == 200 and unb64(out["plaintext"]) == dek


def test_aad_list_and_map(server, tokens):
    w = tokens["writer"]
    kid = root_key(server, w)
    lst = ["bucket:photos", "object:cat.jpg"]
    ct = wrap(server, w, kid, b"dek-list", lst)["ciphertext"]
    status, _, out = unwrap(server, w, kid, ct, lst)
    assert status == 200 and unb64(out["plaintext"]) == b"dek-list"
    for wrong in (list(reversed(lst)), None, [], ["bucket:photos"], ["bucket:photos", "object:dog"],
                  ["bucket:photo", "sobject:cat.jpg"], {"bucket:photos": "object:cat.jpg"}):
        status, _, doc = unwrap(server, w, kid, ct, wrong)
        error(status, doc, 400, "cryptographic_failure")
    m = {"object": "cat.jpg", "bucket": "photos"}
    ct = wrap(server, w, kid, b"dek-map", m)["ciphertext"]
    status, _, out = unwrap(server, w, kid, ct, {"bucket": "photos", "object": "cat.jpg"})
    assert status == 200 and unb64(out["plaintext"]) == b"dek-map"  # order of a map is free
    for wrong in (["photos", "cat.jpg"], {"bucket": "photos"}, {"bucket": "photos", "object": "x"},
                  None):
        status, _, doc = unwrap(server, w, kid, ct, wrong)
        error(status, doc, 400, "cryptographic_failure")
    # No AAD at wrap: unwrap without it only.
    ct = wrap(server, w, kid, b"dek-none")["ciphertext"]
    status, _, doc = unwrap(server, w, kid, ct, [])
    error(status, doc, 400, "cryptographic_failure")


def test_tampered_foreign_and_malformed(server, tokens):
    w = tokens["writer"]
    kid, other = root_key(server, w), root_key(server, w)
    ct = wrap(server, w, kid, b"secret-dek")["ciphertext"]
    raw = bytearray(unb64(ct))
    for i in (0, 3, 4, 5, 6, 6 + len(kid) + 3, 6 + len(kid) + 4, len(raw) - 20, len(raw) - 1):
        t = bytearray(raw)
        t[i] ^= 0x01
        status, _, doc = unwrap(server, w, kid, b64(bytes(t)))
        error(status, doc, 400, "cryptographic_failure")
    for t in (raw[:-1], raw[:20], b"\x00" * 80):
        status, _, doc = unwrap(server, w, kid, b64(bytes(t)))
        error(status, doc, 400, "cryptographic_failure")
    # Another root key's ciphertext: the message names the key that wrapped it.
    status, _, doc = unwrap(server, w, other, ct)
    error(status, doc, 400, "invalid_field")
    assert kid in doc["error"]["message"]
    for bad in ("not base64!", "QUJD=", "QQ==QQ==", 17):
        status, _, doc = unwrap(server, w, kid, bad)
        error(status, doc, 400, "invalid_field")
    status, _, doc = call(server, w, kid, "unwrap", {"aad": []})
    error(status, doc, 400, "missing_data")
    status, _, doc = call(server, w, kid, "wrap", {"ciphertext": ct})
    error(status, doc, 400, "invalid_field")
    status, _, doc = call(server, w, kid, "unwrap", {"ciphertext": ct, "plaintext": "QQ=="})
    error(status, doc, 400, "invalid_field")
    status, _, doc = call(server, w, kid, "unwrap", {"ciphertext": ct, "aad": [1]})
    error(status, doc, 400, "invalid_field")
    status, _, doc = call(server, w, kid, "unwrap", {"ciphertext": ct, "aad": "x"})
    error(status, doc, 400, "invalid_field")
    status, _, doc = call(server, w, "no-such-key", "wrap", {})
    error(status, doc, 404, "not_found")


def test_rotation_versions_and_rewrap(server, tokens):
    w, r = tokens["writer"], tokens["reader"]
    kid = root_key(server, w)
    v1 = wrap(server, w, kid, b"under-v1", ["ctx"])
    status, _, rot = api(server, "POST", "/v1/keys/%s/rotate" % kid, token=w)
    assert status == 200 and rot["version"] == 2
    status, _, out = unwrap(server, w, kid, v1["ciphertext"], ["ctx"])
    assert status == 200
    assert out["key_version"] == 1 and out["rewrap_recommended"] is True
    assert unb64(out["plaintext"]) == b"under-v1"
    status, _, rw = call(server, w, kid, "rewrap", {"ciphertext": v1["ciphertext"], "aad": ["ctx"]})
    assert status == 200 and rw["key_version"] == 2 and "plaintext" not in rw
    assert rw["key_id"] == kid
    status, _, out = unwrap(server, w, kid, rw["ciphertext"], ["ctx"])
    assert status == 200 and out["key_version"] == 2 and out["rewrap_recommended"] is False
    assert unb64(out["plaintext"]) == b"under-v1"
    status, _, doc = call(server, w, kid, "rewrap", {"ciphertext": v1["ciphertext"], "aad": ["x"]})
    error(status, doc, 400, "cryptographic_failure")
    assert wrap(server, w, kid, b"new")["key_version"] == 2
    # Versions (any role may list them), newest first, paged.
    status, _, vl = api(server, "GET", "/v1/keys/%s/versions" % kid, token=r)
    assert status == 200 and vl["total"] == 2 and vl["limit"] == 100 and vl["offset"] == 0
    assert [v["version"] for v in vl["versions"]] == [2, 1]
    assert not any(v["destroyed"] for v in vl["versions"])
    assert vl["versions"][1]["encryptions"] >= 1 and vl["versions"][0]["encryptions"] >= 2
    status, _, vl = api(server, "GET", "/v1/keys/%s/versions?limit=1&offset=1" % kid, token=r)
    assert status == 200 and [v["version"] for v in vl["versions"]] == [1] and vl["total"] == 2
    status, _, doc = api(server, "GET", "/v1/keys/%s/versions?limit=0" % kid, token=r)
    error(status, doc, 400, "invalid_field")
    # A key never rotated nor used has one version: itself.
    fresh = root_key(server, w)
    status, _, vl = api(server, "GET", "/v1/keys/%s/versions" % fresh, token=r)
    assert status == 200 and vl["total"] == 1
    assert vl["versions"][0]["version"] == 1 and vl["versions"][0]["encryptions"] == 0


def test_deactivated_then_destroyed(server, tokens):
    w = tokens["writer"]
    kid = root_key(server, w)
    ct = wrap(server, w, kid, b"keep-me")["ciphertext"]
    status, _, k = api(server, "POST", "/v1/keys/%s/deactivate" % kid, token=w)
    assert status == 200 and k["state"] == "deactivated"
    status, _, doc = call(server, w, kid, "wrap", {"plaintext": b64(b"x")})
    error(status, doc, 409, "wrong_state")
    status, _, doc = call(server, w, kid, "wrap", {})
    error(status, doc, 409, "wrong_state")
    status, _, doc = call(server, w, kid, "rewrap", {"ciphertext": ct})
    error(status, doc, 409, "wrong_state")
    status, _, out = unwrap(server, w, kid, ct)
    assert status == 200 and unb64(out["plaintext"]) == b"keep-me"
    status, _, k = api(server, "DELETE", "/v1/keys/" + kid, token=w)
    assert status == 200 and k["state"] == "destroyed"
    status, _, doc = unwrap(server, w, kid, ct)
    error(status, doc, 409, "wrong_state")
    status, _, doc = call(server, w, kid, "wrap", {})
    error(status, doc, 409, "wrong_state")
    status, _, vl = api(server, "GET", "/v1/keys/%s/versions" % kid, token=w)
    assert status == 200 and [v["destroyed"] for v in vl["versions"]] == [True]


def test_reader_refused(server, tokens):
    w, r = tokens["writer"], tokens["reader"]
    kid = root_key(server, w)
    ct = wrap(server, w, kid, b"dek")["ciphertext"]
    for op, body in (("wrap", {}), ("wrap", {"plaintext": b64(b"x")}),
                     ("unwrap", {"ciphertext": ct}), ("rewrap", {"ciphertext": ct})):
        status, _, doc = call(server, r, kid, op, body)
        error(status, doc, 403, "permission_denied")
    status, _, doc = call(server, r, kid, "batch", {"items": [{"op": "unwrap", "ciphertext": ct}]})
    assert status == 200 and doc["results"][0]["error"]["code"] == "permission_denied"
    # A Manager may.
    status, _, out = unwrap(server, tokens["manager"], kid, ct)
    assert status == 200 and unb64(out["plaintext"]) == b"dek"


def test_service_key_restricted_to_one_root_key(server, tokens):
    w, m = tokens["writer"], tokens["manager"]
    kid, other = root_key(server, w), root_key(server, w)
    status, _, doc = api(server, "POST", "/v1/tenants/default/identities",
                         {"kind": "api_key", "name": "storage-service", "role": "writer",
                          "restriction": {"actions": ["wrap", "unwrap"], "keys": [kid]}}, token=m)
    assert status == 201, doc
    svc = doc["token"]
    made = wrap(server, svc, kid, b"svc-dek", {"volume": "vol-1"})
    status, _, out = unwrap(server, svc, kid, made["ciphertext"], {"volume": "vol-1"})
    assert status == 200 and unb64(out["plaintext"]) == b"svc-dek"
    status, _, gen = call(server, svc, kid, "wrap", {})
    assert status == 200 and len(unb64(gen["plaintext"])) == 32
    status, _, rw = call(server, svc, kid, "rewrap", {"ciphertext": made["ciphertext"],
                                                     "aad": {"volume": "vol-1"}})
    assert status == 200 and rw["key_version"] == 1
    # Nothing else: another key is invisible, other actions refused.
    status, _, doc = call(server, svc, other, "wrap", {})
    error(status, doc, 404, "not_found")
    for method, path, body in (("POST", "/v1/keys/%s/rotate" % kid, None),
                               ("GET", "/v1/keys/" + kid, None),
                               ("GET", "/v1/keys/%s/versions" % kid, None),
                               ("GET", "/v1/keys", None),
                               ("POST", "/v1/keys/%s/deactivate" % kid, None),
                               ("POST", "/v1/keys", {"algorithm": "AES", "length": 256})):
        status, _, doc = api(server, method, path, body, token=svc)
        error(status, doc, 403, "permission_denied")
    # What it wrapped unwraps for the key's owner too (same key, same AAD).
    status, _, out = unwrap(server, w, kid, made["ciphertext"], {"volume": "vol-1"})
    assert status == 200 and unb64(out["plaintext"]) == b"svc-dek"


def test_batch_with_mixed_failures(server, tokens):
    w = tokens["writer"]
    kid, other = root_key(server, w), root_key(server, w)
    good = wrap(server, w, kid, b"batch-dek", ["a"])["ciphertext"]
    foreign = wrap(server, w, other, b"x")["ciphertext"]
    t = bytearray(unb64(good))
    t[-1] ^= 0x80
    items = [
        {"op": "wrap", "plaintext": b64(b"p1"), "aad": ["a"]},
        {"op": "wrap"},
        {"op": "unwrap", "ciphertext": good, "aad": ["a"]},
        {"op": "unwrap", "ciphertext": b64(bytes(t)), "aad": ["a"]},
        {"op": "rewrap", "ciphertext": good, "aad": ["a"]},
        {"op": "unwrap", "ciphertext": good, "aad": ["b"]},
        {"op": "sign", "ciphertext": good},
        {"op": "unwrap"},
        {"op": "wrap", "plaintext": b64(b"\x00" * 4097)},
        {"op": "unwrap", "ciphertext": foreign},
        {"op": "wrap", "ciphertext": good},
        {"ciphertext": good},
    ]
    status, _, doc = call(server, w, kid, "batch", {"items": items})
    assert status == 200
    res = doc["results"]
    assert len(res) == len(items)
    assert res[0]["key_id"] == kid and "plaintext" not in res[0]
    assert len(unb64(res[1]["plaintext"])) == 32
    assert unb64(res[2]["plaintext"]) == b"batch-dek" and res[2]["rewrap_recommended"] is False
    assert res[4]["key_version"] == 1 and "plaintext" not in res[4]
    codes = [r["error"]["code"] if "error" in r else "ok" for r in res]
    assert codes == ["ok", "ok", "ok", "cryptographic_failure", "ok", "cryptographic_failure",
                     "invalid_field", "missing_data", "invalid_field", "invalid_field",
                     "invalid_field", "missing_data"]
    # The batch's own wraps unwrap one by one.
    for i, aad in ((0, ["a"]), (1, None), (4, ["a"])):
        status, _, out = unwrap(server, w, kid, res[i]["ciphertext"], aad)
        assert status == 200
    # The items list itself: 1 to 100 operations.
    for body, code in (({"items": []}, "invalid_field"),
                       ({"items": [{"op": "wrap"}] * 101}, "invalid_field"),
                       ({}, "missing_data"), ({"items": {}}, "invalid_field")):
        status, _, doc = call(server, w, kid, "batch", body)
        error(status, doc, 400, code)
    status, _, doc = call(server, w, kid, "batch", {"items": [{"op": "wrap"}] * 100})
    assert status == 200 and len(doc["results"]) == 100
    assert all(len(unb64(r["plaintext"])) == 32 for r in doc["results"])


def test_standard_and_non_root_keys_refused(server, tokens):
    w = tokens["writer"]
    status, _, std = api(server, "POST", "/v1/keys",
                         {"algorithm": "AES", "length": 256, "usage": ["wrap_key", "unwrap_key"],
                          "activate": True}, token=w)
    assert status == 201 and std["kind"] == "standard"
    for op, body in (("wrap", {}), ("unwrap", {"ciphertext": b64(b"x" * 80)})):
        status, _, doc = call(server, w, std["id"], op, body)
        error(status, doc, 400, "wrong_object_type")
    status, _, doc = api(server, "GET", "/v1/keys/%s/versions" % std["id"], token=w)
    error(status, doc, 400, "wrong_object_type")
    # A root key whose usage has unwrap only cannot wrap.
    kid = root_key(server, w, usage=("unwrap_key",))
    status, _, doc = call(server, w, kid, "wrap", {})
    error(status, doc, 403, "incompatible_usage_mask")


def test_limits_and_key_sizes(server, tokens):
    w = tokens["writer"]
    kid = root_key(server, w)
    ct = wrap(server, w, kid, b"\x07" * 4096)["ciphertext"]
    status, _, out = unwrap(server, w, kid, ct)
    assert status == 200 and unb64(out["plaintext"]) == b"\x07" * 4096
    for body in ({"plaintext": b64(b"\x07" * 4097)}, {"plaintext": ""},
                 {"aad": ["x"] * 33}, {"aad": ["y" * 1025]},
                 {"aad": {"k%d" % i: "v" for i in range(33)}}, {"aad": {"k": "y" * 1025}}):
        status, _, doc = call(server, w, kid, "wrap", body)
        error(status, doc, 400, "invalid_field")
    assert wrap(server, w, kid, b"d", ["x"] * 32)["key_version"] == 1
    for length, alg in ((128, 1), (192, 2)):
        k = root_key(server, w, length=length)
        ct = wrap(server, w, k, b"sized")["ciphertext"]
        assert unb64(ct)[4] == alg
        status, _, out = unwrap(server, w, k, ct)
        assert status == 200 and unb64(out["plaintext"]) == b"sized"
