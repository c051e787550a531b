"""/v1/me, /v1/tenants and /v1/tenants/{tenant}/identities over real HTTPS.

The operator (DIR/admin.token) creates, lists, suspends and deletes
tenants; a tenant's Manager creates API keys (the token works at once) and
certificate identities (the certificate then works over KMIP with the role
given), restricts, changes, disables and retires them; core answers who
may do what (Writers and Readers get 403, another tenant 404). Every answer
is checked against docs/openapi.json (test_rest.api); tokens never reach
the server log."""
import hashlib
import os
import ssl

import pytest

from test_identity_cli import client_cert, create_as
from test_rest import api

AUTH_NOT_SUCCESSFUL = 0x03
PERMISSION_DENIED = 0x0C
TOKENS = []          # every token this module saw: none may be in the log


def operator(server):
    with open(os.path.join(server.data, "admin.token")) as f:
        return f.read().strip()


def error(status, doc, want_status, code):
    assert (status, doc["error"]["code"]) == (want_status, code), doc
    return doc["error"]["message"]


def new_tenant(server, tid, name=None):
    body = {"id": tid}
    if name:
        body["name"] = name
    status, headers, t = api(server, "POST", "/v1/tenants", body, token=operator(server))
    assert status == 201, t
    assert headers["Location"] == "/v1/tenants/" + tid
    return t


def new_key_identity(server, tenant, name, role, token=None, **extra):
    body = dict({"kind": "api_key", "name": name, "role": role}, **extra)
    status, headers, doc = api(server, "POST", "/v1/tenants/%s/identities" % tenant, body,
                               token=token or operator(server))
    assert status == 201, doc
    ident = doc["identity"]
    assert headers["Location"] == "/v1/tenants/%s/identities/%s" % (tenant, ident["id"])
    assert doc["token"].startswith("cf1_") and len(doc["token"]) == 80
    TOKENS.append(doc["token"])
    return ident, doc["token"]


def new_aes(server, token, activate=False):
    status, _, k = api(server, "POST", "/v1/keys", {"algorithm": "AES", "length": 128,
                                                    "activate": activate}, token=token)
    assert status == 201, k
    return k["id"]


def me(server, token):
    return api(server, "GET", "/v1/me", token=token)


@pytest.fixture(scope="module", autouse=True)
def no_token_in_log(server):
    yield
    log = server.read_log()
    assert TOKENS and not [t for t in TOKENS + [operator(server)] if t in log]


# ------------------------------------------------------------------ who am I
def test_me_operator_and_unauthenticated(server):
    status, _, doc = me(server, operator(server))
    assert status == 200
    assert doc["role"] == "operator" and doc["kind"] == "api_key"
    assert "tenant" not in doc and "expires" not in doc and "restriction" not in doc
    for method, path in [("GET", "/v1/me"), ("POST", "/v1/tenants"), ("GET", "/v1/tenants"),
                         ("GET", "/v1/tenants/default"), ("PATCH", "/v1/tenants/default"),
                         ("DELETE", "/v1/tenants/default"),
                         ("POST", "/v1/tenants/default/identities"),
                         ("GET", "/v1/tenants/default/identities"),
                         ("GET", "/v1/tenants/default/identities/x"),
                         ("PATCH", "/v1/tenants/default/identities/x"),
                         ("DELETE", "/v1/tenants/default/identities/x"),
                         ("POST", "/v1/tenants/default/identities/x/retire")]:
        status, headers, doc = api(server, method, path)
        error(status, doc, 401, "unauthenticated")
        assert headers["WWW-Authenticate"].startswith("Bearer")


# ------------------------------------------------------------------- tenants
def test_tenant_create_duplicate_and_bad_ids(server):
    op = operator(server)
    t = new_tenant(server, "t-alpha", "Alpha Corp")
    assert (t["id"], t["name"], t["state"]) == ("t-alpha", "Alpha Corp", "active")
    t2 = new_tenant(server, "t-noname")
    assert t2["name"] == "t-noname"
    status, _, doc = api(server, "POST", "/v1/tenants", {"id": "t-alpha"}, token=op)
    error(status, doc, 409, "already_exists")
    for bad in ["Upper", "-lead", "a" * 64, "", "x/y", "sp ace", "é"]:
        status, _, doc = api(server, "POST", "/v1/tenants", {"id": bad}, token=op)
        error(status, doc, 400, "invalid_field")
    status, _, doc = api(server, "POST", "/v1/tenants", {"id": 7}, token=op)
    error(status, doc, 400, "invalid_field")
    status, _, doc = api(server, "POST", "/v1/tenants", {"name": "no id"}, token=op)
    error(status, doc, 400, "missing_data")
    status, _, doc = api(server, "POST", "/v1/tenants", {"id": "t-x", "owner": "me"}, token=op)
    assert "owner" in error(status, doc, 400, "invalid_field")
    status, _, doc = api(server, "POST", "/v1/tenants", {"id": "t-x", "name": ""}, token=op)
    error(status, doc, 400, "invalid_field")
    # Only the operator manages tenants: a Manager of "default" is refused.
    _, mgr = new_key_identity(server, "default", "default-manager", "manager")
    status, _, doc = api(server, "POST", "/v1/tenants", {"id": "t-mine"}, token=mgr)
    error(status, doc, 403, "permission_denied")
    status, _, doc = api(server, "GET", "/v1/tenants", token=mgr)
    error(status, doc, 403, "permission_denied")
    # ... who sees its own tenant, and no other.
    status, _, doc = api(server, "GET", "/v1/tenants/default", token=mgr)
    assert status == 200 and doc["id"] == "default"
    status, _, doc = api(server, "GET", "/v1/tenants/t-alpha", token=mgr)
    error(status, doc, 404, "not_found")
    status, _, doc = api(server, "GET", "/v1/tenants/t-alpha", token=op)
    assert status == 200 and doc == t
    status, _, doc = api(server, "GET", "/v1/tenants/t-none", token=op)
    error(status, doc, 404, "not_found")


def test_tenant_list_paging(server):
    op = operator(server)
    for i in range(5):
        new_tenant(server, "t-page-%d" % i)
    status, _, full = api(server, "GET", "/v1/tenants?limit=1000", token=op)
    assert status == 200 and full["limit"] == 1000 and full["offset"] == 0
    ids = [t["id"] for t in full["tenants"]]
    assert full["total"] == len(ids) and ids == sorted(ids)
    assert {"default", "t-page-0", "t-page-4"} <= set(ids)
    status, _, page = api(server, "GET", "/v1/tenants?limit=2&offset=1", token=op)
    assert status == 200 and (page["total"], page["limit"], page["offset"]) == (len(ids), 2, 1)
    assert [t["id"] for t in page["tenants"]] == ids[1:3]
    status, _, page = api(server, "GET", "/v1/tenants?offset=%d" % len(ids), token=op)
    assert status == 200 and page["tenants"] == [] and page["limit"] == 100
    for q in ["limit=0", "limit=1001", "offset=-1", "limit=x", "limit=", "offset=1000001",
              "limit=1&limit=2", "sort=id"]:
        status, _, doc = api(server, "GET", "/v1/tenants?" + q, token=op)
        error(status, doc, 400, "invalid_field")


def test_tenant_patch_suspend_and_reactivate(server):
    op = operator(server)
    new_tenant(server, "t-susp")
    _, writer = new_key_identity(server, "t-susp", "svc", "writer")
    assert api(server, "GET", "/v1/keys", token=writer)[0] == 200
    status, _, t = api(server, "PATCH", "/v1/tenants/t-susp", {"state": "suspended"}, token=op)
    assert status == 200 and t["state"] == "suspended" and t["name"] == "t-susp"
    status, _, doc = api(server, "GET", "/v1/keys", token=writer)
    error(status, doc, 401, "unauthenticated")
    status, _, doc = me(server, writer)
    error(status, doc, 401, "unauthenticated")
    status, _, t = api(server, "PATCH", "/v1/tenants/t-susp", {"state": "active",
                                                                "name": "Back"}, token=op)
    assert status == 200 and (t["state"], t["name"]) == ("active", "Back")
    assert api(server, "GET", "/v1/keys", token=writer)[0] == 200
    status, _, t = api(server, "PATCH", "/v1/tenants/t-susp", {"name": "Renamed"}, token=op)
    assert status == 200 and (t["state"], t["name"]) == ("active", "Renamed")
    for body in [{}, {"state": "gone"}, {"state": 1}, {"name": None}, {"id": "t-x"}]:
        status, _, doc = api(server, "PATCH", "/v1/tenants/t-susp", body, token=op)
        assert status == 400, (body, doc)
    status, _, doc = api(server, "PATCH", "/v1/tenants/t-susp", {"state": "suspended"},
                         token=writer)
    error(status, doc, 403, "permission_denied")
    status, _, doc = api(server, "PATCH", "/v1/tenants/t-none", {"name": "x"}, token=op)
    error(status, doc, 404, "not_found")


def test_tenant_delete_refused_while_a_key_lives(server):
    op = operator(server)
    new_tenant(server, "t-del")
    _, writer = new_key_identity(server, "t-del", "svc", "writer")
    kid = new_aes(server, writer)
    status, _, doc = api(server, "DELETE", "/v1/tenants/t-del", token=op)
    assert "1 objects" in error(status, doc, 409, "wrong_state")
    status, _, doc = api(server, "DELETE", "/v1/tenants/t-del", token=writer)
    error(status, doc, 403, "permission_denied")
    _, outsider = new_key_identity(server, "default", "outsider", "manager")
    status, _, doc = api(server, "DELETE", "/v1/tenants/t-del", token=outsider)
    error(status, doc, 403, "permission_denied")       # operator-only, not "no such tenant"
    status, _, k = api(server, "DELETE", "/v1/keys/" + kid, token=writer)
    assert status == 200 and k["state"] == "destroyed"
    status, _, t = api(server, "DELETE", "/v1/tenants/t-del", token=op)
    assert status == 200 and (t["id"], t["state"]) == ("t-del", "active")
    status, _, doc = api(server, "GET", "/v1/tenants/t-del", token=op)
    error(status, doc, 404, "not_found")
    status, _, doc = api(server, "DELETE", "/v1/tenants/t-del", token=op)
    error(status, doc, 404, "not_found")
    status, _, doc = api(server, "GET", "/v1/keys", token=writer)   # its identities went too
    error(status, doc, 401, "unauthenticated")


# ---------------------------------------------------------------- identities
def test_manager_creates_api_keys_in_its_own_tenant_only(server):
    new_tenant(server, "t-mgr")
    mgr_ident, mgr = new_key_identity(server, "t-mgr", "boss", "manager")
    assert (mgr_ident["tenant"], mgr_ident["role"], mgr_ident["kind"]) == \
        ("t-mgr", "manager", "api_key")
    assert mgr_ident["disabled"] is False and "expires" not in mgr_ident
    ident, svc = new_key_identity(server, "t-mgr", "svc", "writer", token=mgr)
    status, _, doc = me(server, svc)
    assert status == 200
    assert doc == {"id": ident["id"], "name": "svc", "kind": "api_key", "tenant": "t-mgr",
                   "role": "writer"}
    assert new_aes(server, svc)                       # the token works at once
    _, reader = new_key_identity(server, "t-mgr", "ro", "reader", token=mgr)
    # Writer and Reader manage nobody.
    for tok in (svc, reader):
        status, _, doc = api(server, "POST", "/v1/tenants/t-mgr/identities",
                             {"kind": "api_key", "name": "x", "role": "reader"}, token=tok)
        error(status, doc, 403, "permission_denied")
        status, _, doc = api(server, "GET", "/v1/tenants/t-mgr/identities", token=tok)
        error(status, doc, 403, "permission_denied")
        status, _, doc = api(server, "DELETE", "/v1/tenants/t-mgr/identities/" + ident["id"],
                             token=tok)
        error(status, doc, 403, "permission_denied")
    # Another tenant does not exist for this Manager.
    new_tenant(server, "t-other")
    other, _ = new_key_identity(server, "t-other", "theirs", "writer")
    status, _, doc = api(server, "POST", "/v1/tenants/t-other/identities",
                         {"kind": "api_key", "name": "x", "role": "reader"}, token=mgr)
    error(status, doc, 404, "not_found")
    for method, path in [("GET", "/v1/tenants/t-other/identities"),
                         ("GET", "/v1/tenants/t-other/identities/" + other["id"]),
                         ("DELETE", "/v1/tenants/t-other/identities/" + other["id"]),
                         ("POST", "/v1/tenants/t-other/identities/%s/retire" % other["id"]),
                         ("GET", "/v1/tenants/t-other")]:
        status, _, doc = api(server, method, path, token=mgr)
        error(status, doc, 404, "not_found")
    status, _, doc = api(server, "PATCH", "/v1/tenants/t-other/identities/" + other["id"],
                         {"disabled": True}, token=mgr)
    error(status, doc, 404, "not_found")
    # ... nor by id through its own tenant.
    status, _, doc = api(server, "GET", "/v1/tenants/t-mgr/identities/" + other["id"], token=mgr)
    error(status, doc, 404, "not_found")
    # Listing: oldest first, paged, never a secret.
    status, _, lst = api(server, "GET", "/v1/tenants/t-mgr/identities", token=mgr)
    assert status == 200 and (lst["total"], lst["limit"], lst["offset"]) == (3, 100, 0)
    assert [i["name"] for i in lst["identities"]] == ["boss", "svc", "ro"]
    assert "token" not in str(lst)
    status, _, lst = api(server, "GET", "/v1/tenants/t-mgr/identities?limit=1&offset=2", token=mgr)
    assert [i["name"] for i in lst["identities"]] == ["ro"] and lst["total"] == 3
    status, _, got = api(server, "GET", "/v1/tenants/t-mgr/identities/" + ident["id"], token=mgr)
    assert status == 200 and got == ident


def der_sha256(pem_path):
    with open(pem_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def test_certificate_identity_works_over_kmip(server, tmp_path):
    new_tenant(server, "t-cert")
    _, mgr = new_key_identity(server, "t-cert", "boss", "manager")
    ca_crt, ca_key = os.path.join(server.pki, "ca.crt"), os.path.join(server.pki, "ca.key")
    w_crt, w_key = client_cert(str(tmp_path), "rest-writer", ca_crt, ca_key)
    r_crt, r_key = client_cert(str(tmp_path), "rest-reader", ca_crt, ca_key)
    assert create_as(server, w_crt, w_key) == (None, AUTH_NOT_SUCCESSFUL)
    path = "/v1/tenants/t-cert/identities"
    with open(w_crt) as f:
        pem = f.read()
    status, headers, doc = api(server, "POST", path, {"kind": "certificate", "name": "host-w",
                                                      "role": "writer", "certificate": pem},
                               token=mgr)
    assert status == 201 and "token" not in doc
    ident = doc["identity"]
    assert headers["Location"] == "%s/%s" % (path, ident["id"])
    assert (ident["kind"], ident["role"], ident["tenant"]) == ("certificate", "writer", "t-cert")
    assert ident["certificate_sha256"] == der_sha256(w_crt)
    assert "ca_sha256" not in ident and "subject" not in ident
    # The Writer certificate creates over KMIP; the key is the tenant's.
    uid, reason = create_as(server, w_crt, w_key)
    assert reason is None and uid
    status, _, k = api(server, "GET", "/v1/keys/" + uid, token=mgr)
    assert status == 200 and k["id"] == uid
    # A Reader certificate, registered by its fingerprint (upper-case hex), may not.
    status, _, doc = api(server, "POST", path, {"kind": "certificate", "name": "host-r",
                                                "role": "reader",
                                                "certificate_sha256": der_sha256(r_crt).upper()},
                         token=mgr)
    assert status == 201 and doc["identity"]["certificate_sha256"] == der_sha256(r_crt)
    assert create_as(server, r_crt, r_key) == (None, PERMISSION_DENIED)
    # One certificate, one identity.
    status, _, doc = api(server, "POST", path, {"kind": "certificate", "name": "again",
                                                "role": "writer", "certificate": pem}, token=mgr)
    error(status, doc, 409, "already_exists")
    # A CA rule for one subject of the dev CA.
    c_crt, c_key = client_cert(str(tmp_path), "rest-ca-client", ca_crt, ca_key)
    with open(ca_crt) as f:
        ca_pem = f.read()
    status, _, doc = api(server, "POST", path, {"kind": "certificate", "name": "rule",
                                                "role": "writer", "ca_certificate": ca_pem,
                                                "subject": "CN=rest-ca-client"}, token=mgr)
    assert status == 201, doc
    assert doc["identity"]["ca_sha256"] == der_sha256(ca_crt)
    assert doc["identity"]["subject"] == "CN=rest-ca-client"
    assert "certificate_sha256" not in doc["identity"]
    uid2, reason = create_as(server, c_crt, c_key)
    assert reason is None and uid2


def test_certificate_fields_are_checked(server):
    _, mgr = new_key_identity(server, "default", "cert-checker", "manager")
    path = "/v1/tenants/default/identities"
    with open(os.path.join(server.pki, "admin.crt")) as f:
        leaf = f.read()
    base = {"kind": "certificate", "name": "c", "role": "reader"}
    cases = [
        ({"certificate": "not a certificate"}, "certificate"),
        ({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
         "certificate"),
        ({"certificate_sha256": "ab" * 31}, "certificate_sha256"),
        ({"certificate_sha256": "g" * 64}, "certificate_sha256"),
        ({"certificate_sha256": "ab" * 33}, "certificate_sha256"),
        ({"certificate": leaf, "certificate_sha256": "ab" * 32}, "certificate"),
        ({"ca_certificate": leaf}, "ca_certificate"),         # a leaf is no CA
        ({"ca_sha256": "xyz"}, "ca_sha256"),
    ]
    for extra, field in cases:
        status, _, doc = api(server, "POST", path, dict(base, **extra), token=mgr)
        assert field in error(status, doc, 400, "invalid_field"), extra
    status, _, doc = api(server, "POST", path, base, token=mgr)          # neither pin nor rule
    error(status, doc, 400, "missing_data")
    status, _, doc = api(server, "POST", path, {"kind": "api_key", "name": "k", "role": "reader",
                                                "certificate_sha256": "ab" * 32}, token=mgr)
    error(status, doc, 400, "invalid_field")


def test_restriction_is_stored_and_echoed(server):
    _, mgr = new_key_identity(server, "default", "restrictor", "manager")
    _, writer = new_key_identity(server, "default", "restricted-owner", "writer")
    kid = new_aes(server, writer, activate=True)
    restriction = {"actions": ["encrypt"], "keys": [kid]}
    ident, tok = new_key_identity(server, "default", "enc-only", "writer", token=mgr,
                                  restriction=restriction)
    assert ident["restriction"] == restriction
    status, _, got = api(server, "GET", "/v1/tenants/default/identities/" + ident["id"],
                         token=mgr)
    assert status == 200 and got["restriction"] == restriction
    status, _, doc = me(server, tok)
    assert status == 200 and doc["restriction"] == restriction
    # It may encrypt with that key only: reading metadata or listing is not encrypting.
    status, _, doc = api(server, "GET", "/v1/keys/" + kid, token=tok)
    error(status, doc, 403, "permission_denied")
    status, _, doc = api(server, "GET", "/v1/keys", token=tok)
    error(status, doc, 403, "permission_denied")
    # A restricted Manager cannot mint unrestricted identities.
    _, rmgr = new_key_identity(server, "default", "r-mgr", "manager", token=mgr,
                               restriction={"actions": ["read-metadata"]})
    status, _, doc = api(server, "POST", "/v1/tenants/default/identities",
                         {"kind": "api_key", "name": "x", "role": "writer"}, token=rmgr)
    error(status, doc, 403, "permission_denied")
    bad = [({"actions": ["fly"]}, 400, "invalid_field"), ({"actions": []}, 400, "invalid_field"),
           ({"keys": []}, 400, "invalid_field"), ({}, 400, "invalid_field"),
           ({"actions": "encrypt"}, 400, "invalid_field"), ({"keys": [1]}, 400, "invalid_field"),
           ({"colour": "red"}, 400, "invalid_field"), ([], 400, "invalid_field"),
           ({"keys": ["no-such-key"]}, 404, "not_found"),
           ({"keys": ["k%d" % i for i in range(65)]}, 400, "invalid_field")]
    for r, want, code in bad:
        status, _, doc = api(server, "POST", "/v1/tenants/default/identities",
                             {"kind": "api_key", "name": "x", "role": "writer", "restriction": r},
                             token=mgr)
        error(status, doc, want, code)
    # PATCH replaces it, null removes it.
    path = "/v1/tenants/default/identities/" + ident["id"]
    status, _, got = api(server, "PATCH", path, {"restriction": {"actions": ["encrypt",
                                                                             "decrypt"]}},
                         token=mgr)
    assert status == 200 and got["restriction"] == {"actions": ["encrypt", "decrypt"]}
    status, _, got = api(server, "PATCH", path, {"restriction": None}, token=mgr)
    assert status == 200 and "restriction" not in got
    status, _, doc = api(server, "GET", "/v1/keys/" + kid, token=tok)
    assert status == 200


def test_patch_role_expiry_and_disabled(server):
    _, mgr = new_key_identity(server, "default", "patcher", "manager")
    ident, tok = new_key_identity(server, "default", "changing", "writer", token=mgr,
                                  expires="2099-05-06T07:08:09.123+00:00")
    assert ident["expires"] == "2099-05-06T07:08:09Z"
    path = "/v1/tenants/default/identities/" + ident["id"]
    status, _, got = api(server, "PATCH", path, {"role": "reader", "name": "changed"}, token=mgr)
    assert status == 200 and (got["role"], got["name"]) == ("reader", "changed")
    assert got["id"] == ident["id"] and got["created"] == ident["created"]
    status, _, doc = me(server, tok)
    assert (doc["role"], doc["name"], doc["expires"]) == ("reader", "changed",
                                                          "2099-05-06T07:08:09Z")
    status, _, doc = api(server, "POST", "/v1/keys", {"algorithm": "AES", "length": 128},
                         token=tok)
    error(status, doc, 403, "permission_denied")
    status, _, got = api(server, "PATCH", path, {"expires": "2098-01-02T03:04:05Z"}, token=mgr)
    assert status == 200 and got["expires"] == "2098-01-02T03:04:05Z"
    status, _, got = api(server, "PATCH", path, {"expires": "2096-02-29T23:59:59z"}, token=mgr)
    assert status == 200 and got["expires"] == "2096-02-29T23:59:59Z"      # a leap day
    status, _, doc = api(server, "PATCH", path, {"expires": "2100-02-29T00:00:00Z"}, token=mgr)
    error(status, doc, 400, "invalid_field")                               # not one
    status, _, got = api(server, "PATCH", path, {"expires": None}, token=mgr)
    assert status == 200 and "expires" not in got
    status, _, doc = api(server, "PATCH", path, {"expires": "2001-01-01T00:00:00Z"}, token=mgr)
    assert "future" in error(status, doc, 400, "invalid_field")
    status, _, got = api(server, "PATCH", path, {"disabled": True}, token=mgr)
    assert status == 200 and got["disabled"] is True
    status, _, doc = me(server, tok)
    error(status, doc, 401, "unauthenticated")
    status, _, got = api(server, "PATCH", path, {"disabled": False}, token=mgr)
    assert status == 200 and got["disabled"] is False
    assert me(server, tok)[0] == 200
    for body in [{}, {"role": "operator"}, {"role": "admin"}, {"disabled": "yes"},
                 {"disabled": None}, {"expires": 5}, {"expires": "soon"}, {"kind": "api_key"},
                 {"name": ""}, {"restriction": "none"}]:
        status, _, doc = api(server, "PATCH", path, body, token=mgr)
        assert status == 400, (body, doc)
    status, _, doc = api(server, "PATCH", "/v1/tenants/default/identities/nobody",
                         {"disabled": True}, token=mgr)
    error(status, doc, 404, "not_found")


def test_delete_identity(server):
    _, mgr = new_key_identity(server, "default", "deleter", "manager")
    ident, tok = new_key_identity(server, "default", "doomed", "reader", token=mgr)
    path = "/v1/tenants/default/identities/" + ident["id"]
    status, _, got = api(server, "DELETE", path, token=mgr)
    assert status == 200 and got == ident
    for method in ("GET", "DELETE"):
        status, _, doc = api(server, method, path, token=mgr)
        error(status, doc, 404, "not_found")
    status, _, doc = me(server, tok)
    error(status, doc, 401, "unauthenticated")


def test_retire_refuse_then_destroy_keys(server):
    new_tenant(server, "t-ret")
    _, mgr = new_key_identity(server, "t-ret", "boss", "manager")
    ident, w = new_key_identity(server, "t-ret", "vcenter", "writer", token=mgr)
    _, w2 = new_key_identity(server, "t-ret", "bystander", "writer", token=mgr)
    k_active = new_aes(server, w, activate=True)
    k_pre = new_aes(server, w)
    k_gone = new_aes(server, w)
    assert api(server, "DELETE", "/v1/keys/" + k_gone, token=w)[0] == 200
    k_other = new_aes(server, w2, activate=True)
    path = "/v1/tenants/t-ret/identities/%s/retire" % ident["id"]
    for body in ({"mode": "refuse"}, None):
        status, _, doc = api(server, "POST", path, body, token=mgr)
        error(status, doc, 409, "wrong_state")
        assert sorted(doc["error"]["details"]["keys"]) == sorted([k_active, k_pre])
        assert doc["error"]["details"]["total"] == 2
    assert me(server, w)[0] == 200                      # refusing changed nothing
    status, _, doc = api(server, "POST", path, {"mode": "nuke"}, token=mgr)
    assert "mode" in error(status, doc, 400, "invalid_field")
    status, _, doc = api(server, "POST", path, {"mode": "refuse", "force": True}, token=mgr)
    error(status, doc, 400, "invalid_field")
    status, _, doc = api(server, "POST", path, {"mode": "destroy_keys"}, token=w2)
    error(status, doc, 403, "permission_denied")
    status, _, doc = api(server, "POST", path, {"mode": "destroy_keys"}, token=mgr)
    assert status == 200
    assert sorted(doc["destroyed"]) == sorted([k_active, k_pre])
    assert doc["identity"]["id"] == ident["id"] and doc["identity"]["disabled"] is True
    for kid in (k_active, k_pre, k_gone):
        status, _, k = api(server, "GET", "/v1/keys/" + kid, token=mgr)
        assert status == 200 and k["state"] == "destroyed", (kid, k)
    status, _, k = api(server, "GET", "/v1/keys/" + k_other, token=mgr)
    assert status == 200 and k["state"] == "active"
    status, _, doc = me(server, w)
    error(status, doc, 401, "unauthenticated")
    # An identity without live keys: refuse retires it with nothing destroyed.
    ident2, w3 = new_key_identity(server, "t-ret", "idle", "writer", token=mgr)
    status, _, doc = api(server, "POST", "/v1/tenants/t-ret/identities/%s/retire" % ident2["id"],
                         token=mgr)
    assert status == 200 and doc["destroyed"] == [] and doc["identity"]["disabled"] is True
    status, _, doc = me(server, w3)
    error(status, doc, 401, "unauthenticated")


def test_malformed_identity_bodies(server):
    op = operator(server)
    path = "/v1/tenants/default/identities"
    ok = {"kind": "api_key", "name": "m", "role": "writer"}
    cases = [
        (dict(ok, colour="red"), "invalid_field", "colour"),
        (dict(ok, name=5), "invalid_field", "name"),
        (dict(ok, role="admin"), "invalid_field", "role"),
        (dict(ok, role="operator"), "invalid_field", "role"),
        (dict(ok, kind="password"), "invalid_field", "kind"),
        (dict(ok, expires="tomorrow"), "invalid_field", "expires"),
        (dict(ok, expires="2099-01-01T00:00:00+01:00"), "invalid_field", "expires"),
        (dict(ok, expires="2099-02-30T00:00:00Z"), "invalid_field", "expires"),
        (dict(ok, expires="2099-01-01 00:00:00Z"), "invalid_field", "expires"),
        (dict(ok, expires="2099-01-01T24:00:00Z"), "invalid_field", "expires"),
        (dict(ok, expires="2099-01-01T00:00:00.Z"), "invalid_field", "expires"),
        (dict(ok, expires="2099-01-01T00:00:00Zjunk"), "invalid_field", "expires"),
        (dict(ok, expires=4102444800), "invalid_field", "expires"),
        (dict(ok, expires=None), "invalid_field", "expires"),
        (dict(ok, expires="2001-01-01T00:00:00Z"), "invalid_field", "future"),
        (dict(ok, name=""), "invalid_field", "name"),
        ({"kind": "api_key", "role": "writer"}, "missing_data", "name"),
        ({"name": "m", "role": "writer"}, "missing_data", "kind"),
        ({"kind": "api_key", "name": "m"}, "missing_data", "role"),
    ]
    for body, code, word in cases:
        status, _, doc = api(server, "POST", path, body, token=op)
        assert word in error(status, doc, 400, code), body
    status, _, doc = api(server, "POST", path, raw=b'{"kind": "api_key",', token=op,
                         headers={"Content-Type": "application/json"})
    error(status, doc, 400, "invalid_message")
    status, _, doc = api(server, "POST", path, raw=b'[1]', token=op,
                         headers={"Content-Type": "application/json"})
    error(status, doc, 400, "invalid_message")
    status, _, doc = api(server, "POST", path, raw=b'{"kind":"api_key","kind":"api_key"}',
                         token=op, headers={"Content-Type": "application/json"})
    error(status, doc, 400, "invalid_message")
    status, _, doc = api(server, "POST", path, raw=b'kind=api_key', token=op,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    error(status, doc, 415, "unsupported_media_type")
    status, _, doc = api(server, "POST", "/v1/tenants/t-none/identities", ok, token=op)
    error(status, doc, 404, "not_found")
    status, _, lst = api(server, "GET", path + "?limit=1000", token=op)
    assert status == 200 and "m" not in [i["name"] for i in lst["identities"]]
