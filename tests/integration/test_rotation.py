"""Rotation of root keys end to end (docs/rotation.md): policies over REST with
their validation, a forced scheduler pass on a server started with
--test-clock proving that a 14-day policy rotates a key once 14 days have
passed (and only once), data wrapped before a rotation unwrapping after it,
KMIP ReKey of a root key adding a version under the same Unique Identifier,
the tenant default, and the refusals (Reader, deactivated key, "at" without
the test clock, a pass run by anyone but the operator)."""
import base64
import calendar
import os
import tempfile
import time

import pytest

import kmipwire as W
from conftest import Server
from test_rest import api
from test_rest_keys import add_key

DAY = 86400
REKEY = 4
DEACTIVATED = 3


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


@pytest.fixture(scope="module")
def clock():
    """A server of its own, started with --test-clock (and a pass every
    second, so the scheduler thread runs alongside the forced passes)."""
    with tempfile.TemporaryDirectory(prefix="coffre-rot-") as d:
        data = os.path.join(d, "data")
        os.makedirs(data, mode=0o700)
        srv = Server(data)
        srv.start(extra=("--test-clock", "--rotation-check", "1"))
        try:
            with open(os.path.join(data, "admin.token")) as f:
                srv.operator = f.read().strip()
            srv.tokens = {r: add_key(srv, "rot-" + r, r) for r in ("reader", "writer", "manager")}
            yield srv
        finally:
            rc = srv.stop()
            srv.check_log()
            log = srv.read_log()
            assert rc == 0, log[-4000:]
            assert "--test-clock: POST /v1/rotation/run accepts" in log
            assert "rotation scheduler: a pass every 1 s" in log


def root_key(srv, token=None, **kw):
    body = {"algorithm": "AES", "length": 256, "kind": "root", "activate": True,
            "usage": ["wrap_key", "unwrap_key"]}
    body.update(kw)
    status, _, key = api(srv, "POST", "/v1/keys", body, token=token or srv.tokens["writer"])
    assert status == 201, key
    assert key["kind"] == "root" and key["state"] == "active"
    return key


def run(srv, at=None, token=None):
    return api(srv, "POST", "/v1/rotation/run", {"at": rfc3339(at)} if at else None,
               token=token or srv.operator)


def versions(srv, kid):
    status, _, body = api(srv, "GET", "/v1/keys/%s/versions" % kid, token=srv.tokens["reader"])
    assert status == 200, body
    return body


def policy(srv, kid, method="GET", body=None, token=None):
    return api(srv, method, "/v1/keys/%s/rotation-policy" % kid, body,
               token=token or srv.tokens["writer"])


def test_policy_set_get_delete_and_validation(clock):
    key = root_key(clock)
    kid, created = key["id"], epoch(key["created"])
    status, _, body = policy(clock, kid, token=clock.tokens["reader"])
    assert (status, body) == (200, {"source": "none"})

    status, _, body = policy(clock, kid, "PUT", {"interval": "14d"})
    assert status == 200
    assert body == {"source": "key", "interval": "14d", "interval_seconds": 14 * DAY,
                    "next_rotation": rfc3339(created + 14 * DAY)}
    status, _, body = policy(clock, kid, "PUT", {"interval": 43200, "max_encryptions": 1000})
    assert status == 200 and body["interval"] == "12h" and body["max_encryptions"] == 1000
    status, _, body = policy(clock, kid, "PUT", {"interval": "3m"})   # months of 30 days
    assert status == 200 and body["interval"] == "90d" and "max_encryptions" not in body
    status, _, body = policy(clock, kid, "PUT", {"max_encryptions": 4294967296})
    assert status == 200 and body["source"] == "key" and "next_rotation" not in body

    for bad in ({}, {"interval": "59m2"}, {"interval": "14x"}, {"interval": "d"},
                {"interval": "1s"}, {"interval": 3599}, {"interval": 0}, {"interval": -3600},
                {"interval": "3651d"}, {"interval": 14.5}, {"interval": True},
                {"max_encryptions": 0}, {"max_encryptions": 4294967297},
                {"max_encryptions": "10"}, {"interval": "14d", "next_rotation": "x"}):
        status, _, body = policy(clock, kid, "PUT", bad)
        assert (status, body["error"]["code"]) == (400, "invalid_field"), (bad, body)
    status, _, body = policy(clock, kid, "PUT", {"interval": "1h"})
    assert status == 200 and body["interval_seconds"] == 3600
    status, _, body = policy(clock, kid, "PUT", {"interval": "10y"})
    assert status == 200 and body["interval"] == "3650d"

    # A Reader reads it, never changes it; a standard key has no policy.
    status, _, body = policy(clock, kid, "PUT", {"interval": "14d"}, token=clock.tokens["reader"])
    assert (status, body["error"]["code"]) == (403, "permission_denied")
    status, _, body = policy(clock, kid, "DELETE", token=clock.tokens["reader"])
    assert status == 403
    status, _, std = api(clock, "POST", "/v1/keys", {"algorithm": "AES", "length": 256},
                         token=clock.tokens["writer"])
    status, _, body = policy(clock, std["id"], "PUT", {"interval": "14d"})
    assert (status, body["error"]["code"]) == (400, "wrong_object_type")
    status, _, body = policy(clock, "no-such-key", "PUT", {"interval": "14d"})
    assert status == 404

    status, _, body = policy(clock, kid, "DELETE")
    assert (status, body) == (200, {"source": "none"})
    status, _, body = policy(clock, kid)
    assert (status, body) == (200, {"source": "none"})


def test_forced_pass_rotates_a_14_day_policy_once(clock):
    key = root_key(clock)
    kid, created = key["id"], epoch(key["created"])
    assert policy(clock, kid, "PUT", {"interval": "14d"})[0] == 200
    status, _, wrapped = api(clock, "POST", "/v1/keys/%s/wrap" % kid, {"aad": ["rotation"]},
                             token=clock.tokens["writer"])
    assert status == 200 and wrapped["key_version"] == 1

    status, _, body = run(clock, created + 13 * DAY)
    assert status == 200 and body == {"rotated": 0, "skipped": 0, "failed": 0,
                                      "at": rfc3339(created + 13 * DAY)}
    assert versions(clock, kid)["versions"][0]["version"] == 1
    status, _, body = run(clock, created + 14 * DAY + 1)
    assert status == 200 and (body["rotated"], body["skipped"], body["failed"]) == (1, 0, 0)
    v = versions(clock, kid)
    assert v["total"] == 2 and [x["version"] for x in v["versions"]] == [2, 1]
    # The same moment again, and an hour later: nothing more.
    for at in (created + 14 * DAY + 1, created + 14 * DAY + 3600):
        status, _, body = run(clock, at)
        assert status == 200 and (body["rotated"], body["failed"]) == (0, 0)
    assert versions(clock, kid)["total"] == 2
    status, _, body = policy(clock, kid)
    assert body["next_rotation"] == rfc3339(created + 28 * DAY)

    # Data wrapped under version 1 unwraps after the rotation; rewrap moves it.
    status, _, out = api(clock, "POST", "/v1/keys/%s/unwrap" % kid,
                         {"ciphertext": wrapped["ciphertext"], "aad": ["rotation"]},
                         token=clock.tokens["writer"])
    assert status == 200 and out["key_version"] == 1
    assert base64.b64decode(out["plaintext"]) == base64.b64decode(wrapped["plaintext"])
    status, _, out = api(clock, "POST", "/v1/keys/%s/rewrap" % kid,
                         {"ciphertext": wrapped["ciphertext"], "aad": ["rotation"]},
                         token=clock.tokens["writer"])
    assert status == 200 and out["key_version"] == 2

    status, _, body = run(clock, created + 28 * DAY)
    assert status == 200 and body["rotated"] == 1
    assert versions(clock, kid)["total"] == 3
    # Now (the real clock): nothing is due.
    status, _, body = run(clock)
    assert status == 200 and body["rotated"] == 0 and body["failed"] == 0
    assert policy(clock, kid, "DELETE")[0] == 200


def test_rotate_on_demand_and_refusals(clock):
    kid = root_key(clock)["id"]
    status, _, body = api(clock, "POST", "/v1/keys/%s/rotate" % kid, token=clock.tokens["writer"])
    assert (status, body) == (200, {"key_id": kid, "version": 2})
    status, _, body = api(clock, "POST", "/v1/keys/%s/rotate" % kid, token=clock.tokens["reader"])
    assert (status, body["error"]["code"]) == (403, "permission_denied")
    assert versions(clock, kid)["total"] == 2

    status, _, _ = api(clock, "POST", "/v1/keys/%s/deactivate" % kid,
                       token=clock.tokens["manager"])
    assert status == 200
    status, _, body = api(clock, "POST", "/v1/keys/%s/rotate" % kid, token=clock.tokens["writer"])
    assert (status, body["error"]["code"]) == (409, "wrong_state")
    status, _, body = policy(clock, kid, "PUT", {"interval": "14d"})
    assert (status, body["error"]["code"]) == (409, "wrong_state")
    assert versions(clock, kid)["total"] == 2


def test_pass_is_the_operators(clock, server):
    status, _, body = run(clock, token=clock.tokens["manager"])
    assert (status, body["error"]["code"]) == (403, "permission_denied")
    # Without --test-clock, "at" is refused; a pass now is allowed.
    with open(os.path.join(server.data, "admin.token")) as f:
        operator = f.read().strip()
    status, _, body = run(server, time.time() + 14 * DAY, token=operator)
    assert (status, body["error"]["code"]) == (403, "permission_denied")
    status, _, body = run(server, token=operator)
    assert status == 200 and body["failed"] == 0
    status, _, body = api(clock, "POST", "/v1/rotation/run", {"at": "2026-11-23 06:14:34"},
                          token=clock.operator)
    assert (status, body["error"]["code"]) == (400, "invalid_field")


def kmip_rekey(srv, uid):
    conn = srv.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request(
            [(REKEY, [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid)], None)], 1, 4)))
    finally:
        conn.close()
    return W.child(resp, W.T["BATCH_ITEM"])


def test_kmip_rekey_of_a_root_key_adds_a_version(clock):
    kid = root_key(clock)["id"]
    item = kmip_rekey(clock, kid)
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS
    assert W.value(W.child(item, W.T["RESPONSE_PAYLOAD"]), W.T["UNIQUE_IDENTIFIER"]) == kid
    assert versions(clock, kid)["total"] == 2
    item = kmip_rekey(clock, kid)
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS
    assert versions(clock, kid)["total"] == 3
    # A standard key keeps KMIP's ReKey: a new object.
    status, _, std = api(clock, "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                     "activate": True},
                         token=clock.tokens["writer"])
    item = kmip_rekey(clock, std["id"])
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS
    assert W.value(W.child(item, W.T["RESPONSE_PAYLOAD"]), W.T["UNIQUE_IDENTIFIER"]) != std["id"]


def test_tenant_default(clock):
    tenant = "rot-t"
    status, _, _ = api(clock, "POST", "/v1/tenants", {"id": tenant}, token=clock.operator)
    assert status == 201
    manager = add_key(clock, "rot-t-manager", "manager", tenant=tenant)
    writer = add_key(clock, "rot-t-writer", "writer", tenant=tenant)
    path = "/v1/tenants/%s/rotation-policy" % tenant
    old = root_key(clock, token=writer)
    own = root_key(clock, token=writer)
    assert policy(clock, own["id"], "PUT", {"interval": "30d"}, token=writer)[0] == 200

    status, _, body = api(clock, "GET", path, token=manager)
    assert (status, body) == (200, {"source": "none"})
    status, _, body = api(clock, "PUT", path, {"interval": "7d"}, token=writer)
    assert (status, body["error"]["code"]) == (403, "permission_denied")
    status, _, body = api(clock, "PUT", path, {"interval": "7d"}, token=clock.tokens["manager"])
    assert status == 404  # another tenant's Manager: the tenant does not exist for it
    status, _, body = api(clock, "PUT", path, {"interval": "7h", "max_encryptions": 0},
                          token=manager)
    assert (status, body["error"]["code"]) == (400, "invalid_field")
    status, _, body = api(clock, "PUT", path, {"interval": "7d"}, token=manager)
    assert (status, body) == (200, {"source": "tenant", "interval": "7d",
                                    "interval_seconds": 7 * DAY, "rescheduled": 1})
    status, _, body = api(clock, "GET", path, token=clock.operator)
    assert status == 200 and body["interval"] == "7d"
    status, _, body = policy(clock, old["id"], token=writer)
    assert body["source"] == "tenant"
    assert body["next_rotation"] == rfc3339(epoch(old["created"]) + 7 * DAY)

    new = root_key(clock, token=writer)       # made after the default: the pass adopts it
    at = epoch(new["created"]) + 7 * DAY + 1
    status, _, body = run(clock, at)
    assert status == 200 and body["rotated"] == 2 and body["failed"] == 0  # old and new
    for k, n in ((old, 2), (new, 2), (own, 1)):
        status, _, v = api(clock, "GET", "/v1/keys/%s/versions" % k["id"], token=writer)
        assert status == 200 and v["total"] == n, (k["id"], v)

    status, _, body = api(clock, "DELETE", path, token=clock.operator)
    assert (status, body) == (200, {"source": "none", "rescheduled": 2})
    status, _, body = policy(clock, new["id"], token=writer)
    assert body == {"source": "none"}
