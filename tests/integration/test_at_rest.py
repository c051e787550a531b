"""Key material at rest: the created keys' bytes appear nowhere in the data
directory (database, WAL, master key, PKI) or in the server log, in raw or
hex form, while the server runs and after it stops."""
import os

import kmipwire as W
from conftest import Server


def create_and_get(conn, bits):
    resp = W.decode(conn.roundtrip(W.request([(W.OP["CREATE"], [
        (W.T["OBJECT_TYPE"], W.ENUM, 2),
        (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
            W.attribute("Cryptographic Algorithm", W.ENUM, 3),
            W.attribute("Cryptographic Length", W.INTEGER, bits)])], None),
        (W.OP["GET"], [], None)])))
    get = W.children(resp, W.T["BATCH_ITEM"])[1]
    assert W.value(get, W.T["RESULT_STATUS"]) == W.SUCCESS
    key = W.child(W.child(W.child(W.child(W.child(get, W.T["RESPONSE_PAYLOAD"]),
                  W.T["SYMMETRIC_KEY"]), W.T["KEY_BLOCK"]), W.T["KEY_VALUE"]),
                  W.T["KEY_MATERIAL"])[2]
    assert len(key) == bits // 8
    return key


def scan(root, needles):
    hits = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                data = fh.read()
            low = data.lower()
            for k in needles:
                if k in data or k.hex().encode() in low:
                    hits.append(p)
    return hits


def test_key_bytes_never_at_rest(tmp_path):
    data = str(tmp_path / "data")
    os.makedirs(data, mode=0o700)
    server = Server(data)
    server.start()
    try:
        conn = server.connect()
        try:
            keys = [create_and_get(conn, bits) for bits in (128, 192, 256) for _ in range(20)]
        finally:
            conn.close()
        # 16-byte prefixes are unique enough and catch partial copies too.
        needles = [k[:16] for k in keys]
        assert scan(data, needles) == [], "key bytes found while running"
    finally:
        assert server.stop() == 0
    server.check_log()
    assert scan(data, needles) == [], "key bytes found after shutdown"
    # The data directory holds what we expect, private files 0600.
    for name in ("master.key", "pki/server.key", "pki/admin.key", "pki/ca.key"):
        assert os.stat(os.path.join(data, name)).st_mode & 0o077 == 0, name
