"""Client helpers shared by the integration tests that drive the live server
both with PyKMIP and on the wire (test_crypto_ops.py, test_objects.py):

- client(): a ProxyKmipClient with the admin certificate of the server's PKI;
- wire(): one batch item sent with kmipwire, the response Batch Item back;
- ok() / failed(): the payload of a success, the Result Reason of a failure,
  asserting the Result Status on the way;
- reason(): the Result Reason of a KmipOperationFailure caught by
  pytest.raises.
"""
import os

from kmip.core import enums
from kmip.pie.client import ProxyKmipClient

import kmipwire as W


def client(server, version=enums.KMIPVersion.KMIP_1_2):
    return ProxyKmipClient(hostname="127.0.0.1", port=server.kmip_port,
                           cert=os.path.join(server.pki, "admin.crt"),
                           key=os.path.join(server.pki, "admin.key"),
                           ca=os.path.join(server.pki, "ca.crt"),
                           config_file="/dev/null", kmip_version=version)


def wire(server, op, payload, major=1, minor=4):
    """One batch item on the wire; returns the response Batch Item."""
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([(op, payload, None)], major=major,
                                                 minor=minor)))
    finally:
        conn.close()
    return W.child(resp, W.T["BATCH_ITEM"])


def ok(item):
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS, W.value(item, W.T["RESULT_MESSAGE"])
    return W.child(item, W.T["RESPONSE_PAYLOAD"])


def failed(item):
    assert W.value(item, W.T["RESULT_STATUS"]) == W.FAILED
    return W.value(item, W.T["RESULT_REASON"])


def reason(exc):
    return exc.value.reason
