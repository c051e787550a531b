"""A small, independent TTLV codec for tests (not shared with the C code).

Items are tuples (tag, type, value); a Structure's value is a list of items.
Used to craft exact messages (vCenter's batches, hostile mutations) and to
inspect responses field by field.
"""
import struct

STRUCTURE, INTEGER, LONG, BIGINT, ENUM, BOOL, TEXT, BYTES, DATETIME, INTERVAL = range(1, 11)

# Tags used by the tests (KMIP 1.4 section 9.1.3.1).
T = dict(
    ATTRIBUTE=0x420008, ATTRIBUTE_INDEX=0x420009, ATTRIBUTE_NAME=0x42000A,
    ATTRIBUTE_VALUE=0x42000B, BATCH_COUNT=0x42000D, BATCH_ERROR_CONTINUATION_OPTION=0x42000E,
    BATCH_ITEM=0x42000F, CRYPTOGRAPHIC_ALGORITHM=0x420028, CRYPTOGRAPHIC_LENGTH=0x42002A,
    KEY_BLOCK=0x420040, KEY_FORMAT_TYPE=0x420042, KEY_MATERIAL=0x420043, KEY_VALUE=0x420045,
    OBJECT_TYPE=0x420057, OPERATION=0x42005C, PROTOCOL_VERSION=0x420069,
    PROTOCOL_VERSION_MAJOR=0x42006A, PROTOCOL_VERSION_MINOR=0x42006B, QUERY_FUNCTION=0x420074,
    REQUEST_HEADER=0x420077, REQUEST_MESSAGE=0x420078, REQUEST_PAYLOAD=0x420079,
    RESPONSE_HEADER=0x42007A, RESPONSE_MESSAGE=0x42007B, RESPONSE_PAYLOAD=0x42007C,
    RESULT_MESSAGE=0x42007D, RESULT_REASON=0x42007E, RESULT_STATUS=0x42007F,
    SYMMETRIC_KEY=0x42008F, TEMPLATE_ATTRIBUTE=0x420091, TIME_STAMP=0x420092,
    UNIQUE_BATCH_ITEM_ID=0x420093, UNIQUE_IDENTIFIER=0x420094, VENDOR_IDENTIFICATION=0x42009D,
    SERVER_INFORMATION=0x420088, ATTRIBUTES=0x420125, ATTRIBUTE_REFERENCE=0x42013B,
    NEW_ATTRIBUTE=0x42013D, CURRENT_ATTRIBUTE=0x42013C,
)
OP = dict(CREATE=1, GET=10, GET_ATTRIBUTES=11, GET_ATTRIBUTE_LIST=12, ADD_ATTRIBUTE=13,
          QUERY=24, DISCOVER_VERSIONS=30)
SUCCESS, FAILED = 0, 1


def encode(item):
    tag, typ, val = item
    if typ == STRUCTURE:
        body = b"".join(encode(c) for c in val)
    elif typ in (INTEGER, ENUM, INTERVAL):
        body = struct.pack(">i" if typ == INTEGER else ">I", val)
    elif typ in (LONG, DATETIME):
        body = struct.pack(">q", val)
    elif typ == BOOL:
        body = struct.pack(">Q", 1 if val else 0)
    elif typ == TEXT:
        body = val.encode("utf-8")
    else:
        body = bytes(val)
    head = struct.pack(">I", tag)[1:] + bytes([typ]) + struct.pack(">I", len(body))
    pad = (-len(body)) % 8
    return head + body + b"\0" * pad


def decode(buf):
    item, n = _decode_at(memoryview(buf), 0)
    if n != len(buf):
        raise ValueError("trailing bytes")
    return item


def _decode_at(buf, off):
    if len(buf) - off < 8:
        raise ValueError("truncated header")
    tag = int.from_bytes(buf[off:off + 3], "big")
    typ = buf[off + 3]
    ln = int.from_bytes(buf[off + 4:off + 8], "big")
    body_off = off + 8
    padded = ln + ((-ln) % 8) if typ in (TEXT, BYTES) else ln
    if typ in (INTEGER, ENUM, INTERVAL):
        padded = 8
    end = body_off + padded
    if end > len(buf):
        raise ValueError("truncated body")
    b = bytes(buf[body_off:body_off + ln])
    if typ == STRUCTURE:
        kids, o = [], body_off
        while o < body_off + ln:
            k, o = _decode_at(buf, o)
            kids.append(k)
        val = kids
    elif typ == INTEGER:
        val = struct.unpack(">i", b)[0]
    elif typ in (ENUM, INTERVAL):
        val = struct.unpack(">I", b)[0]
    elif typ in (LONG, DATETIME):
        val = struct.unpack(">q", b)[0]
    elif typ == BOOL:
        val = struct.unpack(">Q", b)[0] == 1
    elif typ == TEXT:
        val = b.decode("utf-8")
    else:
        val = b
    return (tag, typ, val), end


def children(item, tag):
    return [c for c in item[2] if c[0] == tag]


def child(item, tag):
    c = children(item, tag)
    return c[0] if c else None


def value(item, tag):
    c = child(item, tag)
    return None if c is None else c[2]


def request(items, major=1, minor=1, continuation=None):
    """A Request Message; items = [(operation, payload_children, batch_id or None)]."""
    hdr = [(T["PROTOCOL_VERSION"], STRUCTURE, [
        (T["PROTOCOL_VERSION_MAJOR"], INTEGER, major),
        (T["PROTOCOL_VERSION_MINOR"], INTEGER, minor)])]
    if continuation is not None:
        hdr.append((T["BATCH_ERROR_CONTINUATION_OPTION"], ENUM, continuation))
    hdr.append((T["BATCH_COUNT"], INTEGER, len(items)))
    batch = []
    for op, payload, bid in items:
        kids = [(T["OPERATION"], ENUM, op)]
        if bid is not None:
            kids.append((T["UNIQUE_BATCH_ITEM_ID"], BYTES, bid))
        kids.append((T["REQUEST_PAYLOAD"], STRUCTURE, payload))
        batch.append((T["BATCH_ITEM"], STRUCTURE, kids))
    return encode((T["REQUEST_MESSAGE"], STRUCTURE,
                   [(T["REQUEST_HEADER"], STRUCTURE, hdr)] + batch))


def attribute(name, typ, val, tag_value=None):
    return (T["ATTRIBUTE"], STRUCTURE, [
        (T["ATTRIBUTE_NAME"], TEXT, name),
        (T["ATTRIBUTE_VALUE"], typ, val)])
