"""10,000 mutated and truncated messages derived from the KMIP 1.1 test
vectors, sent to the live (sanitizer) server. Nothing may crash, every
well-framed message gets a well-formed answer, and a valid client is still
served afterwards. The fixture fails the module on any sanitizer report.
"""
import random
import socket
import struct

import kmipwire as W
from vectors import vector_messages

TOTAL = 10000


def reframe(body):
    """Keep the outer header consistent so the server reads exactly one frame."""
    if len(body) < 8:
        body = body + b"\0" * (8 - len(body))
    return body[:3] + b"\x01" + struct.pack(">I", len(body) - 8) + body[8:]


def mutate(rng, msg):
    b = bytearray(msg)
    kind = rng.randrange(9)
    if kind == 0:                                   # flip bits
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(8, len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 1:                                 # random bytes
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(8, len(b))] = rng.randrange(256)
    elif kind == 2:                                 # inner length fields
        offs = [i for i in range(8, len(b) - 8, 8)]
        i = rng.choice(offs)
        b[i + 4:i + 8] = struct.pack(">I", rng.choice(
            [0, 1, 7, 0xFFFFFFFF, 0x7FFFFFFF, int.from_bytes(b[i + 4:i + 8], "big") + 1,
             max(0, int.from_bytes(b[i + 4:i + 8], "big") - 1), rng.randrange(1 << 32)]))
    elif kind == 3:                                 # item types
        i = rng.choice(range(8, len(b) - 8, 8))
        b[i + 3] = rng.choice([0, 1, 2, 5, 6, 7, 8, 9, 0x0B, 0x0C, 0xFF])
    elif kind == 4:                                 # truncate (reframed)
        b = b[:rng.randrange(8, len(b))]
    elif kind == 5:                                 # insert garbage
        i = rng.randrange(8, len(b))
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.choice([1, 3, 8, 16])))
    elif kind == 6:                                 # duplicate a slice (count bombs)
        i = rng.randrange(8, len(b))
        j = min(len(b), i + rng.choice([8, 16, 24, 48]))
        b[j:j] = b[i:j] * rng.randint(1, 50)
    elif kind == 7:                                 # tags
        i = rng.choice(range(8, len(b) - 8, 8))
        b[i:i + 3] = rng.choice([b"\x00\x00\x00", b"\xff\xff\xff", b"\x54\x00\x01",
                                 b"\x42\xff\xff", b"\x42\x00\x78"])
    else:                                           # protocol version / batch count
        i = rng.choice(range(8, len(b) - 8, 8))
        b[i + 8:i + 12] = struct.pack(">i", rng.choice([-1, 0, 2, 3, 255, 1 << 30]))
    return reframe(bytes(b))


def valid_create_get(server):
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([(W.OP["CREATE"], [
            (W.T["OBJECT_TYPE"], W.ENUM, 2),
            (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
                W.attribute("Cryptographic Algorithm", W.ENUM, 3),
                W.attribute("Cryptographic Length", W.INTEGER, 256)])], None),
            (W.OP["GET"], [], None)])))
        items = W.children(resp, W.T["BATCH_ITEM"])
        assert [W.value(i, W.T["RESULT_STATUS"]) for i in items] == [W.SUCCESS, W.SUCCESS]
    finally:
        conn.close()


def test_mutated_messages(server):
    seeds = vector_messages("request")
    assert len(seeds) >= 100, "test vectors not found or unreadable"
    rng = random.Random(20261123)
    conn = server.connect()
    answered = closed = 0
    for n in range(TOTAL):
        msg = mutate(rng, rng.choice(seeds))
        try:
            resp = conn.roundtrip(msg)
        except (ConnectionError, socket.timeout, OSError):
            closed += 1
            conn.close()
            conn = server.connect()
            continue
        answered += 1
        root = W.decode(resp)
        assert root[0] == W.T["RESPONSE_MESSAGE"]
        assert W.child(root, W.T["RESPONSE_HEADER"]) is not None
        if n % 2000 == 0:
            valid_create_get(server)   # a well-behaved client keeps working
    conn.close()
    assert answered + closed == TOTAL
    # Well-framed messages are always answered, never dropped.
    assert answered == TOTAL, "server closed %d well-framed connections" % closed
    valid_create_get(server)


def test_broken_frames(server):
    """Frames the server cannot delimit: it closes that connection only."""
    cases = [
        b"\x42\x00\x78\x01\xff\xff\xff\xff",          # declared 4 GiB
        b"\x42\x00\x78\x01\x00\x20\x00\x01",          # just over the 1 MiB limit... and more
        b"\x42\x00\x78\x02\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x00",  # not a Structure
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for data in cases:
        conn = server.connect()
        conn.send(data)
        conn.sock.settimeout(10)
        try:
            got = conn.sock.recv(1 << 16)
        except (ConnectionError, OSError):
            got = b""
        assert got == b"", "server answered an unframeable message"
        conn.close()
    # Truncated message then close: nothing to answer, nothing breaks.
    seed = vector_messages("request")[0]
    for cut in (1, 7, 8, 9, len(seed) // 2, len(seed) - 1):
        conn = server.connect()
        conn.send(seed[:cut])
        conn.close()
    # TLS handshake garbage on the raw socket.
    for junk in (b"\x16\x03\x01\x00\x05hello", b"\x00" * 64, bytes(range(256))):
        s = socket.create_connection(("127.0.0.1", server.kmip_port), timeout=10)
        s.sendall(junk)
        try:
            s.recv(1024)
        except OSError:
            pass
        s.close()
    valid_create_get(server)
