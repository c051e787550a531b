"""vCenter's key-provider conversation (shared/docs/vcenter.md), driven with
PyKMIP's client through /usr/bin/python3: one TLS connection per operation,
at protocol 1.1 like vCenter 7.0.3, and again at 1.2 and 1.4.

Every response field vCenter relies on is checked.
"""
import struct

import pytest
from kmip.core import enums
from kmip.core.factories.attributes import AttributeFactory
from kmip.core.objects import TemplateAttribute

import kmipwire as W

VERSIONS = [
    (enums.KMIPVersion.KMIP_1_1, 1, 1),
    (enums.KMIPVersion.KMIP_1_2, 1, 2),
    (enums.KMIPVersion.KMIP_1_4, 1, 4),
]


def one_shot(server, version, fn):
    """vCenter opens a short TLS connection per operation."""
    proxy = server.pykmip_proxy(version)
    proxy.open()
    try:
        return fn(proxy)
    finally:
        proxy.close()


def qlkc(n):
    return b"QLKC" + struct.pack("<I", n)


@pytest.mark.parametrize("version,major,minor", VERSIONS)
def test_vcenter_sequence(server, version, major, minor):
    # 1. DiscoverVersions with an empty payload: every version, newest first.
    res = one_shot(server, version, lambda p: p.discover_versions())
    assert res.result_status.value == enums.ResultStatus.SUCCESS
    got = [(v.major, v.minor) for v in res.protocol_versions]
    assert got == [(2, 1), (2, 0), (1, 4), (1, 3), (1, 2), (1, 1), (1, 0)]

    # 2. Query(Server Information): a Vendor Identification.
    res = one_shot(server, version, lambda p: p.query(
        query_functions=[enums.QueryFunction.QUERY_SERVER_INFORMATION]))
    assert res.result_status.value == enums.ResultStatus.SUCCESS
    assert res.vendor_identification == "Coffre"

    # 3. Create(SymmetricKey; AES, 256, Usage Mask 12) with nothing else.
    factory = AttributeFactory()
    template = TemplateAttribute(attributes=[
        factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                                 enums.CryptographicAlgorithm.AES),
        factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK,
                                 [enums.CryptographicUsageMask.ENCRYPT,
                                  enums.CryptographicUsageMask.DECRYPT]),  # = 12
        factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256),
    ])
    res = one_shot(server, version,
                   lambda p: p.create(enums.ObjectType.SYMMETRIC_KEY, template))
    assert res.result_status.value == enums.ResultStatus.SUCCESS, res.result_message
    assert res.object_type == enums.ObjectType.SYMMETRIC_KEY
    uid = res.uuid
    assert isinstance(uid, str) and 0 < len(uid) <= 64

    # 4. GetAttributes(uid, "x-Product_Version"): Success with no attribute.
    res = one_shot(server, version,
                   lambda p: p.get_attributes(uuid=uid, attribute_names=["x-Product_Version"]))
    assert res.result_status.value == enums.ResultStatus.SUCCESS
    assert res.uuid == uid
    assert res.attributes == []

    # 5. One message, three AddAttribute items with 8-byte batch item IDs.
    values = [("x-Product_Version", "7.0.3 build-19480866"),
              ("x-Vendor", "VMware, Inc."), ("x-Product", "VMware vSphere")]
    items = [(W.OP["ADD_ATTRIBUTE"],
              [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid), W.attribute(n, W.TEXT, v)],
              qlkc(i + 1)) for i, (n, v) in enumerate(values)]
    msg = W.request(items, major, minor)

    def send_batch(p):
        p.protocol.write(msg)
        return W.decode(bytes(p.protocol.read().buffer))
    resp = one_shot(server, version, send_batch)
    hdr = W.child(resp, W.T["RESPONSE_HEADER"])
    pv = W.child(hdr, W.T["PROTOCOL_VERSION"])
    assert (W.value(pv, W.T["PROTOCOL_VERSION_MAJOR"]),
            W.value(pv, W.T["PROTOCOL_VERSION_MINOR"])) == (major, minor)
    assert W.value(hdr, W.T["BATCH_COUNT"]) == 3
    batch = W.children(resp, W.T["BATCH_ITEM"])
    assert len(batch) == 3
    for i, item in enumerate(batch):
        assert W.value(item, W.T["OPERATION"]) == W.OP["ADD_ATTRIBUTE"]
        assert W.value(item, W.T["UNIQUE_BATCH_ITEM_ID"]) == qlkc(i + 1)
        assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS
        payload = W.child(item, W.T["RESPONSE_PAYLOAD"])
        assert W.value(payload, W.T["UNIQUE_IDENTIFIER"]) == uid
        attr = W.child(payload, W.T["ATTRIBUTE"])
        assert W.value(attr, W.T["ATTRIBUTE_NAME"]) == values[i][0]
        assert W.value(attr, W.T["ATTRIBUTE_VALUE"]) == values[i][1]

    # 6. GetAttributes again: now the value is there.
    res = one_shot(server, version,
                   lambda p: p.get_attributes(uuid=uid, attribute_names=["x-Product_Version"]))
    assert res.result_status.value == enums.ResultStatus.SUCCESS
    assert len(res.attributes) == 1
    assert res.attributes[0].attribute_name.value == "x-Product_Version"
    assert res.attributes[0].attribute_value.value == "7.0.3 build-19480866"

    # 7. Get(uid), no format, no wrapping: Raw, 32 bytes, AES, 256, in plaintext.
    res = one_shot(server, version, lambda p: p.get(uuid=uid))
    assert res.result_status.value == enums.ResultStatus.SUCCESS, res.result_message
    assert res.object_type == enums.ObjectType.SYMMETRIC_KEY
    assert res.uuid == uid
    block = res.secret.key_block
    assert block.key_format_type.value == enums.KeyFormatType.RAW
    assert block.cryptographic_algorithm.value == enums.CryptographicAlgorithm.AES
    assert block.cryptographic_length.value == 256
    material = block.key_value.key_material.value
    assert isinstance(material, bytes) and len(material) == 32
    assert material != b"\0" * 32

    # 8. Older vCenters ask for the State: Pre-Active (no Activation Date).
    res = one_shot(server, version,
                   lambda p: p.get_attributes(uuid=uid, attribute_names=["State"]))
    assert res.result_status.value == enums.ResultStatus.SUCCESS
    assert len(res.attributes) == 1
    assert res.attributes[0].attribute_value.value == enums.State.PRE_ACTIVE

    # The same key again on a new connection: byte-identical (stable forever).
    res = one_shot(server, version, lambda p: p.get(uuid=uid))
    assert res.secret.key_block.key_value.key_material.value == material


def test_vcenter_get_attributes_all_names_for_1_1(server):
    """No names: every attribute, with explicit Attribute Index, and none that
    KMIP 1.1 does not define."""
    conn = server.connect()
    try:
        create = W.request([(W.OP["CREATE"], [
            (W.T["OBJECT_TYPE"], W.ENUM, 2),
            (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
                W.attribute("Cryptographic Algorithm", W.ENUM, 3),
                W.attribute("Cryptographic Length", W.INTEGER, 128),
                W.attribute("Cryptographic Usage Mask", W.INTEGER, 12)])], None)])
        resp = W.decode(conn.roundtrip(create))
        item = W.child(resp, W.T["BATCH_ITEM"])
        assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS
        uid = W.value(W.child(item, W.T["RESPONSE_PAYLOAD"]), W.T["UNIQUE_IDENTIFIER"])
        resp = W.decode(conn.roundtrip(W.request([(W.OP["GET_ATTRIBUTES"], [
            (W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid)], None)])))
        payload = W.child(W.child(resp, W.T["BATCH_ITEM"]), W.T["RESPONSE_PAYLOAD"])
        attrs = {W.value(a, W.T["ATTRIBUTE_NAME"]): a
                 for a in W.children(payload, W.T["ATTRIBUTE"])}
        for name in ("Unique Identifier", "Object Type", "State", "Cryptographic Algorithm",
                     "Cryptographic Length", "Cryptographic Usage Mask", "Initial Date",
                     "Last Change Date"):
            assert name in attrs, name
            assert W.value(attrs[name], W.T["ATTRIBUTE_INDEX"]) == 0
        assert W.value(attrs["Cryptographic Length"], W.T["ATTRIBUTE_VALUE"]) == 128
        # Attributes introduced after 1.1 are never sent to a 1.1 client.
        for later in ("Sensitive", "Description", "Comment", "Random Number Generator",
                      "Alternative Name", "Key Value Present"):
            assert later not in attrs
    finally:
        conn.close()
