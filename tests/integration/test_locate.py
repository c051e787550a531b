"""Locate against the live server with PyKMIP's high-level ProxyKmipClient
(/usr/bin/python3), exact result counts for every criterion kind the issue
lists, and Located Items checked on the wire (ProxyKmipClient does not
expose it) with kmipwire.

The module's server starts empty; every test but the first scopes its
objects with its own Name or Object Group so the counts stay exact whatever
ran before. The first test checks the server is still empty, because it
counts by Object Type and algorithm alone.
"""
import os

import pytest
from kmip.core import enums
from kmip.core.factories.attributes import AttributeFactory
from kmip.core.objects import TemplateAttribute
from kmip.pie import objects as pie_objects
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure

import kmipwire as W

A = AttributeFactory()
LOCATE = 8
TAG = dict(MAXIMUM_ITEMS=0x42004F, OFFSET_ITEMS=0x4200D4, LOCATED_ITEMS=0x4200D5)
ENC, DEC = enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT
SIGN, VERIFY = enums.CryptographicUsageMask.SIGN, enums.CryptographicUsageMask.VERIFY


def client(server, version=enums.KMIPVersion.KMIP_1_4):
    conf = os.path.join(server.data, "pykmip.conf")
    return ProxyKmipClient(hostname="127.0.0.1", port=server.kmip_port,
                           cert=os.path.join(server.pki, "admin.crt"),
                           key=os.path.join(server.pki, "admin.key"),
                           ca=os.path.join(server.pki, "ca.crt"),
                           config_file=conf if os.path.exists(conf) else "/dev/null",
                           kmip_version=version)


def attr(kind, value):
    return A.create_attribute(kind, value)


def create(c, length=256, name=None, group=None, mask=(ENC, DEC)):
    """An AES key; Object Group needs the low-level create (pie's has none)."""
    attrs = [attr(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.AES),
             attr(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, length),
             attr(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, list(mask))]
    if name is not None:
        attrs.append(attr(enums.AttributeType.NAME, name))
    if group is not None:
        attrs.append(attr(enums.AttributeType.OBJECT_GROUP, group))
    res = c.proxy.create(enums.ObjectType.SYMMETRIC_KEY, TemplateAttribute(attributes=attrs))
    assert res.result_status.value == enums.ResultStatus.SUCCESS, res.result_message
    return res.uuid


def group(name):
    return attr(enums.AttributeType.OBJECT_GROUP, name)


def raw_locate(server, payload, minor=4):
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([(LOCATE, payload, None)], 1, minor)))
    finally:
        conn.close()
    item = W.child(resp, W.T["BATCH_ITEM"])
    assert W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS, W.value(item, W.T["RESULT_MESSAGE"])
    pl = W.child(item, W.T["RESPONSE_PAYLOAD"])
    return (W.value(pl, TAG["LOCATED_ITEMS"]),
            [u[2] for u in W.children(pl, W.T["UNIQUE_IDENTIFIER"])])


def test_object_type_and_algorithm_on_empty_server(server):
    with client(server) as c:
        assert c.locate() == [], "this test needs the module's server to start empty"
        keys = [create(c, 128), create(c, 256), create(c, 256)]
        secret = None
        try:
            secret = c.register(pie_objects.SecretData(b"\x01" * 16,
                                                       enums.SecretDataType.PASSWORD))
        except KmipOperationFailure as e:
            assert e.reason == enums.ResultReason.OPERATION_NOT_SUPPORTED, e
        aes = [attr(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.SYMMETRIC_KEY),
               attr(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                    enums.CryptographicAlgorithm.AES)]
        found = c.locate(attributes=aes)
        assert found == keys[::-1]  # exactly the three keys, newest first
        assert len(c.locate(attributes=aes + [
            attr(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256)])) == 2
        assert c.locate(attributes=[attr(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                                         enums.CryptographicAlgorithm.RSA)]) == []
        secrets = c.locate(attributes=[attr(enums.AttributeType.OBJECT_TYPE,
                                            enums.ObjectType.SECRET_DATA)])
        assert secrets == ([secret] if secret else [])
        assert len(c.locate()) == 3 + (1 if secret else 0)


@pytest.mark.parametrize("version", [enums.KMIPVersion.KMIP_1_2, enums.KMIPVersion.KMIP_1_4,
                                     enums.KMIPVersion.KMIP_2_0])
def test_by_name(server, version):
    tag = "loc-name-%s" % version.name
    with client(server, version) as c:
        a = create(c, name=tag + "-a", group=tag)
        b = create(c, name=tag + "-b", group=tag)
        assert c.locate(attributes=[attr(enums.AttributeType.NAME, tag + "-a")]) == [a]
        assert c.locate(attributes=[attr(enums.AttributeType.NAME, tag + "-b")]) == [b]
        assert c.locate(attributes=[attr(enums.AttributeType.NAME, tag + "-c")]) == []
        # Names are unique (2.1 section 4.32): a second "-b" is refused, 1.x
        # with Invalid Field (1.4 section 11.2), 2.x Non Unique Name Attribute.
        res = c.proxy.create(enums.ObjectType.SYMMETRIC_KEY, TemplateAttribute(attributes=[
            attr(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.AES),
            attr(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 128),
            attr(enums.AttributeType.NAME, tag + "-b"),
            attr(enums.AttributeType.OBJECT_GROUP, tag)]))
        assert res.result_status.value == enums.ResultStatus.OPERATION_FAILED
        assert res.result_reason.value == (enums.ResultReason.NON_UNIQUE_NAME_ATTRIBUTE
                                           if version == enums.KMIPVersion.KMIP_2_0
                                           else enums.ResultReason.INVALID_FIELD)
        assert c.locate(attributes=[group(tag)]) == [b, a]
        assert c.locate(maximum_items=1, attributes=[group(tag)]) == [b]


def test_by_state_after_activation(server):
    with client(server) as c:
        keys = [create(c, group="loc-state") for _ in range(3)]
        try:
            c.activate(keys[1])
        except KmipOperationFailure as e:
            if e.reason == enums.ResultReason.OPERATION_NOT_SUPPORTED:
                pytest.skip("Activate is not implemented yet (Operation Not Supported)")
            raise

        def by_state(state):
            return c.locate(attributes=[group("loc-state"),
                                        attr(enums.AttributeType.STATE, state)])
        assert by_state(enums.State.ACTIVE) == [keys[1]]
        assert by_state(enums.State.PRE_ACTIVE) == [keys[2], keys[0]]
        assert by_state(enums.State.DEACTIVATED) == []


def test_by_operation_policy_name(server):
    with client(server) as c:
        keys = [create(c, group="loc-policy") for _ in range(2)]

        def by_policy(name):
            return c.locate(attributes=[group("loc-policy"), attr(
                enums.AttributeType.OPERATION_POLICY_NAME, name)])
        assert by_policy("default") == keys[::-1]
        assert by_policy("other") == []


def test_initial_date_ranges(server):
    with client(server) as c:
        keys = [create(c, group="loc-date") for _ in range(2)]
        dates = []
        for k in keys:
            _, attrs = c.get_attributes(k, ["Initial Date"])
            dates.append(attrs[0].attribute_value.value)
        lo, hi = min(dates), max(dates)

        def between(a, b):
            return c.locate(attributes=[group("loc-date"),
                                        attr(enums.AttributeType.INITIAL_DATE, a),
                                        attr(enums.AttributeType.INITIAL_DATE, b)])
        assert between(lo - 1, hi + 1) == keys[::-1]
        assert between(hi + 1, lo - 1) == keys[::-1]  # either order
        assert between(lo, hi) == keys[::-1]            # limits included
        assert between(hi + 1000, hi + 2000) == []
        same = [k for k, d in zip(keys, dates) if d == lo]
        assert c.locate(attributes=[group("loc-date"),
                                    attr(enums.AttributeType.INITIAL_DATE, lo)]) == same[::-1]


def test_usage_mask_is_a_subset_match(server):
    with client(server) as c:
        both = create(c, group="loc-mask", mask=(ENC, DEC))
        enc = create(c, group="loc-mask", mask=(ENC,))
        sign = create(c, group="loc-mask", mask=(SIGN, VERIFY))

        def by_mask(*bits):
            return c.locate(attributes=[group("loc-mask"), attr(
                enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, list(bits))])
        assert by_mask(ENC) == [enc, both]
        assert by_mask(ENC, DEC) == [both]
        assert by_mask(SIGN) == [sign]
        assert by_mask(ENC, SIGN) == []


def test_object_group(server):
    with client(server) as c:
        x = [create(c, group="loc-grp-x") for _ in range(4)]
        y = create(c, group="loc-grp-y")
        assert c.locate(attributes=[group("loc-grp-x")]) == x[::-1]
        assert c.locate(attributes=[group("loc-grp-y")]) == [y]
        assert c.locate(attributes=[group("loc-grp-z")]) == []


def test_custom_attribute_added_later(server):
    with client(server) as c:
        keys = [create(c, group="loc-custom") for _ in range(3)]
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([(W.OP["ADD_ATTRIBUTE"], [
            (W.T["UNIQUE_IDENTIFIER"], W.TEXT, keys[1]),
            W.attribute("x-Team", W.TEXT, "blue")], None)], 1, 4)))
        assert W.value(W.child(resp, W.T["BATCH_ITEM"]), W.T["RESULT_STATUS"]) == W.SUCCESS
    finally:
        conn.close()
    with client(server) as c:
        assert c.locate(attributes=[attr("x-Team", "blue")]) == [keys[1]]
        assert c.locate(attributes=[group("loc-custom"), attr("x-Team", "blue")]) == [keys[1]]
        assert c.locate(attributes=[attr("x-Team", "red")]) == []


def test_maximum_and_offset_items(server):
    with client(server) as c:
        keys = [create(c, group="loc-page") for _ in range(7)][::-1]  # newest first
        crit = [group("loc-page")]
        pages = [c.locate(maximum_items=3, offset_items=o, attributes=crit)
                 for o in (0, 3, 6, 7)]
        assert pages == [keys[0:3], keys[3:6], keys[6:7], []]
        assert c.locate(offset_items=5, attributes=crit) == keys[5:]
    # Located Items counts every match, whatever the page (1.3+).
    crit = [W.attribute("Object Group", W.TEXT, "loc-page")]
    count, uids = raw_locate(server, [(TAG["MAXIMUM_ITEMS"], W.INTEGER, 3),
                                      (TAG["OFFSET_ITEMS"], W.INTEGER, 2)] + crit)
    assert (count, uids) == (7, keys[2:5])
    count, uids = raw_locate(server, [(TAG["MAXIMUM_ITEMS"], W.INTEGER, 0)] + crit)
    assert (count, uids) == (7, [])
    count, uids = raw_locate(server, [(TAG["MAXIMUM_ITEMS"], W.INTEGER, 2)] + crit, minor=1)
    assert (count, uids) == (None, keys[0:2])  # 1.1 has no Located Items


def raw_failure(server, payload, minor=4):
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([(LOCATE, payload, None)], 1, minor)))
    finally:
        conn.close()
    item = W.child(resp, W.T["BATCH_ITEM"])
    assert W.value(item, W.T["RESULT_STATUS"]) == W.FAILED
    return W.value(item, W.T["RESULT_REASON"])


def test_refusals_carry_the_right_reason(server):
    invalid_field = enums.ResultReason.INVALID_FIELD.value
    assert raw_failure(server, [W.attribute("Frobnication", W.TEXT, "x")]) == invalid_field
    assert raw_failure(server, [W.attribute("Cryptographic Algorithm", W.INTEGER, 3)]) \
        == invalid_field  # wrong type: an Enumeration
    assert raw_failure(server, [W.attribute("Cryptographic Parameters", W.STRUCTURE, [])]) \
        == enums.ResultReason.FEATURE_NOT_SUPPORTED.value
    with client(server) as c:
        with pytest.raises(KmipOperationFailure) as e:
            c.locate(maximum_items=-1)
        assert e.value.reason == enums.ResultReason.INVALID_FIELD
