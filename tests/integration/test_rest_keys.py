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
    assert key["extractable"] is False
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
