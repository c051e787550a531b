"""Tenant isolation end to end: a key created over REST in tenant "default"
is fetched byte-identical over KMIP by a certificate of the same tenant and
is invisible — over REST and over KMIP — to the identities of another
tenant ("acme", created with `coffre tenant create`)."""
import base64
import os
import subprocess

import kmipwire as W
from conftest import BIN
from test_identity_cli import client_cert
from test_rest import api
from test_rest_keys import add_key


def kmip_as(server, crt, key, items):
    ctx = server.tls_context(cert=None)
    ctx.load_cert_chain(crt, key)
    conn = server.connect(ctx=ctx)
    try:
        return W.children(W.decode(conn.roundtrip(W.request(items))), W.T["BATCH_ITEM"])
    finally:
        conn.close()


def test_other_tenant_sees_nothing(server, tmp_path):
    out = subprocess.run([BIN, "tenant", "create", "--data", server.data, "--id", "acme",
                          "--name", "ACME Corp"], check=True, capture_output=True, text=True)
    assert out.stdout.startswith("acme\t")
    listing = subprocess.run([BIN, "tenant", "list", "--data", server.data], check=True,
                             capture_output=True, text=True).stdout
    assert "default" in listing and "acme" in listing

    ours = add_key(server, "owner-svc", "writer")
    theirs = add_key(server, "acme-svc", "manager", tenant="acme")
    crt, key = client_cert(str(tmp_path), "acme-host", os.path.join(server.pki, "ca.crt"),
                           os.path.join(server.pki, "ca.key"))
    subprocess.run([BIN, "identity", "add-cert", "--data", server.data, "--cert", crt,
                    "--tenant", "acme", "--role", "manager"], check=True, capture_output=True)

    status, _, body = api(server, "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                    "name": "tenant-iso-key"}, token=ours)
    assert status == 201
    kid = body["id"]
    status, _, mat = api(server, "GET", "/v1/keys/%s/material" % kid, token=ours)
    assert status == 200
    material = base64.b64decode(mat["material"])

    # Same tenant over KMIP (admin.crt is a Manager of "default"): identical bytes.
    get = (W.OP["GET"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, kid)], None)
    item = kmip_as(server, os.path.join(server.pki, "admin.crt"),
                   os.path.join(server.pki, "admin.key"), [get])[0]
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS
    kb = W.child(W.child(W.child(item, W.T["RESPONSE_PAYLOAD"]), W.T["SYMMETRIC_KEY"]),
                 W.T["KEY_BLOCK"])
    assert W.value(W.child(kb, W.T["KEY_VALUE"]), W.T["KEY_MATERIAL"]) == material

    # The other tenant, over REST: not found, not listed.
    status, _, body = api(server, "GET", "/v1/keys/" + kid, token=theirs)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _, body = api(server, "GET", "/v1/keys/%s/material" % kid, token=theirs)
    assert status == 404
    status, _, body = api(server, "GET", "/v1/keys", token=theirs)
    assert status == 200 and body["total"] == 0 and body["keys"] == []

    # The other tenant, over KMIP: Get, Get Attributes, Locate by Name, Destroy all miss.
    locate = (W.OP.get("LOCATE", 8), [(W.T["ATTRIBUTE"], W.STRUCTURE, [
        (W.T["ATTRIBUTE_NAME"], W.TEXT, "Name"),
        (W.T["ATTRIBUTE_VALUE"], W.STRUCTURE, [(0x420055, W.TEXT, "tenant-iso-key"),
                                                (0x420054, W.ENUM, 1)])])], None)
    attrs = (W.OP["GET_ATTRIBUTES"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, kid)], None)
    destroy = (20, [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, kid)], None)
    for op in (get, attrs, destroy):
        item = kmip_as(server, crt, key, [op])[0]
        assert W.value(item, W.T["RESULT_STATUS"]) == 1
        assert W.value(item, W.T["RESULT_REASON"]) == 1      # Item Not Found
    item = kmip_as(server, crt, key, [locate])[0]
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS
    assert W.children(W.child(item, W.T["RESPONSE_PAYLOAD"]), W.T["UNIQUE_IDENTIFIER"]) == []
    # ... while the owner's tenant still finds it.
    item = kmip_as(server, os.path.join(server.pki, "admin.crt"),
                   os.path.join(server.pki, "admin.key"), [locate])[0]
    assert W.value(W.child(item, W.T["RESPONSE_PAYLOAD"]), W.T["UNIQUE_IDENTIFIER"]) == kid
