"""Object lifecycle and attribute edits against the live server, driven with
PyKMIP's ProxyKmipClient (1.x and 2.0, the forms PyKMIP 0.10 speaks) and,
for the exact 2.1 wire forms and the ID placeholder, with kmipwire.

Checks the state machine (KMIP 1.4 section 3.22): Activate, Revoke with a
compromise and with another reason, Destroy refused on Active keys with the
reason each version gives (1.4 section 11.22: Permission Denied; 2.1: Wrong
Key Lifecycle State), Get after Destroy (Item Not Found; 2.x Object
Destroyed), dates that drive the state, and the Modify / Delete / Set
Attribute rules.
"""
import os
import time

import pytest
from kmip.core import enums, objects as cobjects, primitives
from kmip.core.attributes import Name
from kmip.core.factories.attributes import AttributeFactory
from kmip.core.objects import TemplateAttribute
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure
from kmip.core.exceptions import OperationFailure

import kmipwire as W

R = enums.ResultReason
S = enums.State
F = AttributeFactory()

# Tags and operations kmipwire does not name (KMIP 2.1 section 11.56, 11.36).
TAG = dict(ACTIVATION_DATE=0x420001, COMPROMISE_DATE=0x420020,
           COMPROMISE_OCCURRENCE_DATE=0x420021, CONTACT_INFORMATION=0x420022,
           CRYPTOGRAPHIC_USAGE_MASK=0x42002C, DESTROY_DATE=0x420033, NAME=0x420053,
           NAME_TYPE=0x420054, NAME_VALUE=0x420055, OBJECT_GROUP=0x420056,
           REVOCATION_MESSAGE=0x420080, REVOCATION_REASON=0x420081,
           REVOCATION_REASON_CODE=0x420082, STATE=0x42008D, DESCRIPTION=0x4200FC,
           CURRENT_ATTRIBUTE=0x42013C, NEW_ATTRIBUTE=0x42013D)
OPS = dict(ACTIVATE=0x12, REVOKE=0x13, DESTROY=0x14, MODIFY_ATTRIBUTE=0x0E,
           DELETE_ATTRIBUTE=0x0F, SET_ATTRIBUTE=0x31)


def client(server, version=enums.KMIPVersion.KMIP_1_2):
    return ProxyKmipClient(hostname="127.0.0.1", port=server.kmip_port,
                           cert=os.path.join(server.pki, "admin.crt"),
                           key=os.path.join(server.pki, "admin.key"),
                           ca=os.path.join(server.pki, "ca.crt"),
                           config_file="/dev/null", kmip_version=version)


def attrs(c, uid, names):
    """{name: [values by index]} from a 1.x Get Attributes."""
    got_uid, lst = c.get_attributes(uid, names)
    assert got_uid == uid
    out = {}
    for a in lst:
        idx = a.attribute_index.value if a.attribute_index is not None else 0
        out.setdefault(a.attribute_name.value, {})[idx] = a.attribute_value
    return out


def state(c, uid):
    return attrs(c, uid, ["State"])["State"][0].value


def reason_of(exc):
    return exc.value.reason


def revocation_reason(server, uid):
    """(code, message) of the Revocation Reason, read on the wire: PyKMIP 0.10
    cannot decode that attribute (its AttributeValueFactory raises
    NotImplementedError for Revocation Reason, as for Link and Usage Limits)."""
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request(
            [(W.OP["GET_ATTRIBUTES"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid),
                                       (W.T["ATTRIBUTE_NAME"], W.TEXT, "Revocation Reason")],
              None)], major=1, minor=4)))
    finally:
        conn.close()
    pl = W.child(W.child(resp, W.T["BATCH_ITEM"]), W.T["RESPONSE_PAYLOAD"])
    attrs_ = W.children(pl, W.T["ATTRIBUTE"])
    assert len(attrs_) == 1
    assert W.value(attrs_[0], W.T["ATTRIBUTE_INDEX"]) == 0
    v = W.child(attrs_[0], W.T["ATTRIBUTE_VALUE"])
    return W.value(v, TAG["REVOCATION_REASON_CODE"]), W.value(v, TAG["REVOCATION_MESSAGE"])


# ------------------------------------------------------------ lifecycle, 1.x

@pytest.mark.parametrize("version", [enums.KMIPVersion.KMIP_1_2, enums.KMIPVersion.KMIP_1_4])
def test_create_activate_compromise_destroy(server, version):
    with client(server, version) as c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 256, name="sklc-compromise")
        assert state(c, uid) == S.PRE_ACTIVE
        assert len(c.get(uid).value) == 32          # Get works on Pre-Active keys
        before = int(time.time())
        c.activate(uid)
        a = attrs(c, uid, ["State", "Activation Date", "Deactivation Date"])
        assert a["State"][0].value == S.ACTIVE
        assert a["Activation Date"][0].value >= before
        assert "Deactivation Date" not in a
        key = c.get(uid)
        assert len(key.value) == 32
        # Destroying an Active key fails (1.4 11.22: Permission Denied).
        with pytest.raises(KmipOperationFailure) as e:
            c.destroy(uid)
        assert reason_of(e) == R.PERMISSION_DENIED
        assert state(c, uid) == S.ACTIVE
        with pytest.raises(KmipOperationFailure) as e:
            c.activate(uid)
        assert reason_of(e) == R.PERMISSION_DENIED
        # Compromise: Compromise Date now, Occurrence Date from the request.
        c.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid, "laptop stolen", 6)
        a = attrs(c, uid, ["State", "Compromise Occurrence Date", "Compromise Date"])
        assert a["State"][0].value == S.COMPROMISED
        assert a["Compromise Occurrence Date"][0].value == 6
        assert a["Compromise Date"][0].value >= before
        assert revocation_reason(server, uid) == (
            enums.RevocationReasonCode.KEY_COMPROMISE.value, "laptop stolen")
        c.destroy(uid)
        a = attrs(c, uid, ["State", "Destroy Date", "Name"])
        assert a["State"][0].value == S.DESTROYED_COMPROMISED
        assert a["Destroy Date"][0].value >= before
        assert a["Name"][0].name_value.value == "sklc-compromise"   # metadata kept
        with pytest.raises(KmipOperationFailure) as e:
            c.get(uid)
        assert reason_of(e) == R.ITEM_NOT_FOUND
        with pytest.raises(KmipOperationFailure) as e:
            c.destroy(uid)                          # already destroyed
        assert reason_of(e) == R.PERMISSION_DENIED


def test_cessation_of_operation_then_destroy(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 128)
        c.activate(uid)
        before = int(time.time())
        c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid, "retired")
        a = attrs(c, uid, ["State", "Deactivation Date", "Compromise Date"])
        assert a["State"][0].value == S.DEACTIVATED
        assert a["Deactivation Date"][0].value >= before
        assert "Compromise Date" not in a
        assert revocation_reason(server, uid) == (
            enums.RevocationReasonCode.CESSATION_OF_OPERATION.value, "retired")
        # Deactivated -> Deactivated is not a transition; Compromised is.
        with pytest.raises(KmipOperationFailure) as e:
            c.revoke(enums.RevocationReasonCode.SUPERSEDED, uid)
        assert reason_of(e) == R.PERMISSION_DENIED
        c.destroy(uid)
        assert state(c, uid) == S.DESTROYED
        with pytest.raises(KmipOperationFailure) as e:
            c.get(uid)
        assert reason_of(e) == R.ITEM_NOT_FOUND
        # Destroyed -> Destroyed Compromised (3.22 item 10).
        c.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid)
        a = attrs(c, uid, ["State", "Compromise Occurrence Date", "Initial Date"])
        assert a["State"][0].value == S.DESTROYED_COMPROMISED
        assert a["Compromise Occurrence Date"][0].value == a["Initial Date"][0].value


def test_pre_active_destroy_and_revoke(server):
    with client(server, enums.KMIPVersion.KMIP_1_1) as c:
        a = c.create(enums.CryptographicAlgorithm.AES, 128)
        c.destroy(a)                                # no Revoke needed
        with pytest.raises(KmipOperationFailure) as e:
            c.get(a)
        assert reason_of(e) == R.ITEM_NOT_FOUND
        b = c.create(enums.CryptographicAlgorithm.AES, 128)
        with pytest.raises(KmipOperationFailure) as e:
            c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, b)
        assert reason_of(e) == R.PERMISSION_DENIED  # Pre-Active -> Deactivated: not in 3.22
        c.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, b)
        assert state(c, b) == S.COMPROMISED
        with pytest.raises(KmipOperationFailure) as e:
            c.activate(b)
        assert reason_of(e) == R.PERMISSION_DENIED
        with pytest.raises(KmipOperationFailure) as e:
            c.activate("no-such-object")
        assert reason_of(e) == R.ITEM_NOT_FOUND


def test_2_0_reasons(server):
    with client(server, enums.KMIPVersion.KMIP_2_0) as c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 128)
        c.activate(uid)
        with pytest.raises(KmipOperationFailure) as e:
            c.destroy(uid)
        assert reason_of(e) == R.WRONG_KEY_LIFECYCLE_STATE
        c.revoke(enums.RevocationReasonCode.AFFILIATION_CHANGED, uid)
        c.destroy(uid)
        with pytest.raises(KmipOperationFailure) as e:
            c.get(uid)
        assert reason_of(e) == R.OBJECT_DESTROYED
        with pytest.raises(KmipOperationFailure) as e:
            c.destroy(uid)
        assert reason_of(e) == R.OBJECT_DESTROYED
        with pytest.raises(KmipOperationFailure) as e:
            c.get("no-such-object")
        assert reason_of(e) == R.OBJECT_NOT_FOUND


# ------------------------------------------------------ dates drive the state

def create_dated(server, **dates):
    proxy = server.pykmip_proxy(enums.KMIPVersion.KMIP_1_4)
    proxy.open()
    try:
        tpl = [F.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                                  enums.CryptographicAlgorithm.AES),
               F.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 128)]
        for name, when in dates.items():
            tpl.append(F.create_attribute(getattr(enums.AttributeType, name), when))
        res = proxy.create(enums.ObjectType.SYMMETRIC_KEY, TemplateAttribute(attributes=tpl))
        assert res.result_status.value == enums.ResultStatus.SUCCESS, res.result_message
        return res.uuid
    finally:
        proxy.close()


def test_dates_drive_the_state(server):
    now = int(time.time())
    past = create_dated(server, ACTIVATION_DATE=now - 3600)
    future = create_dated(server, ACTIVATION_DATE=now + 3600)
    retired = create_dated(server, ACTIVATION_DATE=now - 7200, DEACTIVATION_DATE=now - 60)
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        a = attrs(c, past, ["State", "Activation Date"])
        assert a["State"][0].value == S.ACTIVE
        assert a["Activation Date"][0].value == now - 3600   # kept as given
        assert state(c, future) == S.PRE_ACTIVE
        assert state(c, retired) == S.DEACTIVATED
        c.destroy(retired)                       # Deactivated: destroyable at once
        with pytest.raises(KmipOperationFailure) as e:
            c.destroy(past)
        assert reason_of(e) == R.PERMISSION_DENIED
        # Moving the Activation Date of a Pre-Active key to the past activates it.
        c.modify_attribute(future, attribute=F.create_attribute(
            enums.AttributeType.ACTIVATION_DATE, now - 1, 0))
        assert state(c, future) == S.ACTIVE
        # ... and once Active it is frozen (SKLC-M-3-14).
        with pytest.raises(OperationFailure) as e:
            c.modify_attribute(future, attribute=F.create_attribute(
                enums.AttributeType.ACTIVATION_DATE, now + 100, 0))
        assert reason_of(e) == R.PERMISSION_DENIED


# ------------------------------------------------------- attribute edits, 1.x

def name_attr(value, index=None):
    return F.create_attribute(enums.AttributeType.NAME,
                              Name.create(value, enums.NameType.UNINTERPRETED_TEXT_STRING),
                              index)


def test_modify_delete_attribute_1x(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 128, name="first")
        got_uid, attr = c.modify_attribute(uid, attribute=name_attr("renamed", 0))
        assert got_uid == uid
        assert attr.attribute_name.value == "Name"
        assert attr.attribute_value.name_value.value == "renamed"
        names = attrs(c, uid, ["Name"])["Name"]
        assert sorted(names) == [0]
        assert names[0].name_value.value == "renamed"
        # Refusals with the 1.4 section 11.16 / 11.17 reasons.
        with pytest.raises(OperationFailure) as e:          # no instance 3
            c.modify_attribute(uid, attribute=name_attr("x", 3))
        assert reason_of(e) == R.ITEM_NOT_FOUND
        with pytest.raises(OperationFailure) as e:          # not there: add it first
            c.modify_attribute(uid, attribute=F.create_attribute(
                enums.AttributeType.CONTACT_INFORMATION, "ops@example.com", 0))
        assert reason_of(e) == R.INVALID_FIELD
        with pytest.raises(OperationFailure) as e:          # server-set
            c.modify_attribute(uid, attribute=F.create_attribute(
                enums.AttributeType.INITIAL_DATE, 5, 0))
        assert reason_of(e) == R.PERMISSION_DENIED
        with pytest.raises(OperationFailure) as e:          # set once, at creation
            c.modify_attribute(uid, attribute=F.create_attribute(
                enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256, 0))
        assert reason_of(e) == R.PERMISSION_DENIED
        with pytest.raises(OperationFailure) as e:
            c.delete_attribute(uid, attribute_name="Unique Identifier")
        assert reason_of(e) == R.PERMISSION_DENIED
        with pytest.raises(OperationFailure) as e:
            c.delete_attribute(uid, attribute_name="Contact Information")
        assert reason_of(e) == R.ITEM_NOT_FOUND
        got_uid, deleted = c.delete_attribute(uid, attribute_name="Name", attribute_index=0)
        assert got_uid == uid
        assert deleted.attribute_value.name_value.value == "renamed"
        assert "Name" not in attrs(c, uid, ["Name"])
        with pytest.raises(OperationFailure) as e:
            c.delete_attribute(uid, attribute_name="Name")
        assert reason_of(e) == R.ITEM_NOT_FOUND


def test_custom_attribute_index_1x(server):
    """x- attributes on the wire: indexes stay put (1.4 section 2.1.1)."""
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 128)
    conn = server.connect()
    try:
        for v in ("one", "two", "three"):
            resp = W.decode(conn.roundtrip(W.request(
                [(W.OP["ADD_ATTRIBUTE"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid),
                                          W.attribute("x-tag", W.TEXT, v)], None)],
                major=1, minor=4)))
            assert W.value(W.child(resp, W.T["BATCH_ITEM"]), W.T["RESULT_STATUS"]) == W.SUCCESS
        # Delete index 1; modify index 2: index 2 is still "three"'s.
        resp = W.decode(conn.roundtrip(W.request(
            [(OPS["DELETE_ATTRIBUTE"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid),
                                        (W.T["ATTRIBUTE_NAME"], W.TEXT, "x-tag"),
                                        (W.T["ATTRIBUTE_INDEX"], W.INTEGER, 1)], None),
             (OPS["MODIFY_ATTRIBUTE"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid),
                                        (W.T["ATTRIBUTE"], W.STRUCTURE, [
                                            (W.T["ATTRIBUTE_NAME"], W.TEXT, "x-tag"),
                                            (W.T["ATTRIBUTE_INDEX"], W.INTEGER, 2),
                                            (W.T["ATTRIBUTE_VALUE"], W.TEXT, "THREE")])],
              None)], major=1, minor=4)))
        items = W.children(resp, W.T["BATCH_ITEM"])
        assert [W.value(i, W.T["RESULT_STATUS"]) for i in items] == [W.SUCCESS, W.SUCCESS]
        deleted = W.child(W.child(items[0], W.T["RESPONSE_PAYLOAD"]), W.T["ATTRIBUTE"])
        assert W.value(deleted, W.T["ATTRIBUTE_INDEX"]) == 1
        assert W.value(deleted, W.T["ATTRIBUTE_VALUE"]) == "two"
    finally:
        conn.close()
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        tags = attrs(c, uid, ["x-tag"])["x-tag"]
        assert sorted(tags) == [0, 2]
        assert tags[0].value == "one" and tags[2].value == "THREE"


# ------------------------------------------------------- attribute edits, 2.0

def text2(tag, value):
    return primitives.TextString(value, tag=getattr(enums.Tags, tag))


def test_set_modify_delete_attribute_2_0(server):
    with client(server, enums.KMIPVersion.KMIP_2_0) as c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 128)
        assert c.set_attribute(uid, attribute_name="Contact Information",
                               attribute_value="a@example.com") == uid
        got_uid, attr = c.modify_attribute(uid, new_attribute=cobjects.NewAttribute(
            attribute=text2("CONTACT_INFORMATION", "b@example.com")))
        assert got_uid == uid and attr is None   # 2.x: Unique Identifier only
        with pytest.raises(OperationFailure) as e:  # current value does not match
            c.modify_attribute(uid, current_attribute=cobjects.CurrentAttribute(
                attribute=text2("CONTACT_INFORMATION", "zzz")),
                new_attribute=cobjects.NewAttribute(
                    attribute=text2("CONTACT_INFORMATION", "c@example.com")))
        assert reason_of(e) == R.ATTRIBUTE_INSTANCE_NOT_FOUND
        with pytest.raises(OperationFailure) as e:  # absent
            c.modify_attribute(uid, new_attribute=cobjects.NewAttribute(
                attribute=text2("DESCRIPTION", "d")))
        assert reason_of(e) == R.ATTRIBUTE_NOT_FOUND
        with pytest.raises(OperationFailure) as e:  # read-only (BL-M-7-21)
            c.modify_attribute(uid, new_attribute=cobjects.NewAttribute(
                attribute=primitives.Enumeration(enums.State, S.COMPROMISED,
                                                 tag=enums.Tags.STATE)))
        assert reason_of(e) == R.ATTRIBUTE_READ_ONLY
        with pytest.raises(OperationFailure) as e:
            c.set_attribute(uid, attribute_name="Cryptographic Length", attribute_value=64)
        assert reason_of(e) == R.ATTRIBUTE_READ_ONLY
        # An Activation Date in the past, set while Pre-Active, activates.
        c.set_attribute(uid, attribute_name="Activation Date",
                        attribute_value=int(time.time()) - 10)
        with pytest.raises(OperationFailure) as e:
            c.set_attribute(uid, attribute_name="Activation Date",
                            attribute_value=int(time.time()))
        assert reason_of(e) == R.WRONG_KEY_LIFECYCLE_STATE
        # Delete by reference (PyKMIP sends the structure form), then again.
        got_uid, attr = c.delete_attribute(uid, attribute_reference=cobjects.AttributeReference(
            vendor_identification="", attribute_name="Contact Information"))
        assert got_uid == uid and attr is None
        with pytest.raises(OperationFailure) as e:
            c.delete_attribute(uid, attribute_reference=cobjects.AttributeReference(
                vendor_identification="", attribute_name="Contact Information"))
        assert reason_of(e) == R.ATTRIBUTE_NOT_FOUND
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        a = attrs(c, uid, ["State", "Contact Information"])
        assert a["State"][0].value == S.ACTIVE
        assert "Contact Information" not in a


# ------------------------------------------------------ 2.1 wire, exact forms

def one(conn, op, payload, major=2, minor=1):
    resp = W.decode(conn.roundtrip(W.request([(op, payload, None)], major=major, minor=minor)))
    item = W.child(resp, W.T["BATCH_ITEM"])
    return (W.value(item, W.T["RESULT_STATUS"]), W.value(item, W.T["RESULT_REASON"]),
            W.child(item, W.T["RESPONSE_PAYLOAD"]))


def fail(reason):
    return (W.FAILED, reason.value)


def uid_of(payload):
    return W.value(payload, W.T["UNIQUE_IDENTIFIER"])


def get_attrs_21(conn, uid, *tags):
    st, _, pl = one(conn, W.OP["GET_ATTRIBUTES"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid)] +
                    [(W.T["ATTRIBUTE_REFERENCE"], W.ENUM, t) for t in tags])
    assert st == W.SUCCESS
    return W.child(pl, W.T["ATTRIBUTES"])


def name21(tag, value):
    return (tag, W.STRUCTURE, [(TAG["NAME"], W.STRUCTURE, [
        (TAG["NAME_VALUE"], W.TEXT, value), (TAG["NAME_TYPE"], W.ENUM, 1)])])


def test_symmetric_key_lifecycle_2_1_wire(server):
    """SKLC-M-2-21 / SKLC-M-3-21 with Set/Modify/Delete in the 2.1 forms."""
    conn = server.connect()
    try:
        st, _, pl = one(conn, W.OP["CREATE"], [
            (W.T["OBJECT_TYPE"], W.ENUM, 2),
            (W.T["ATTRIBUTES"], W.STRUCTURE, [
                (W.T["CRYPTOGRAPHIC_ALGORITHM"], W.ENUM, 3),
                (W.T["CRYPTOGRAPHIC_LENGTH"], W.INTEGER, 256),
                (TAG["CRYPTOGRAPHIC_USAGE_MASK"], W.INTEGER, 12),
                name21(TAG["NAME"], "sklc-21")[2][0]])])
        assert st == W.SUCCESS
        uid = uid_of(pl)
        ref = [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid)]
        assert W.value(get_attrs_21(conn, uid, TAG["STATE"]), TAG["STATE"]) == 1
        assert one(conn, OPS["ACTIVATE"], ref)[0] == W.SUCCESS
        a = get_attrs_21(conn, uid, TAG["STATE"], TAG["ACTIVATION_DATE"])
        assert W.value(a, TAG["STATE"]) == 2
        assert W.value(a, TAG["ACTIVATION_DATE"]) is not None
        assert one(conn, OPS["DESTROY"], ref)[:2] == fail(R.WRONG_KEY_LIFECYCLE_STATE)
        new_act = (TAG["NEW_ATTRIBUTE"], W.STRUCTURE,
                   [(TAG["ACTIVATION_DATE"], W.DATETIME, int(time.time()))])
        assert (one(conn, OPS["MODIFY_ATTRIBUTE"], ref + [new_act])[:2]
                == fail(R.WRONG_KEY_LIFECYCLE_STATE))
        # Two names: Modify without Current Attribute is ambiguous.
        assert one(conn, W.OP["ADD_ATTRIBUTE"], ref + [name21(TAG["NEW_ATTRIBUTE"],
                                                             "second")])[0] == W.SUCCESS
        assert one(conn, OPS["MODIFY_ATTRIBUTE"], ref + [
            name21(TAG["NEW_ATTRIBUTE"], "x")])[:2] == fail(R.MULTI_VALUED_ATTRIBUTE)
        assert one(conn, OPS["MODIFY_ATTRIBUTE"], ref + [
            name21(TAG["CURRENT_ATTRIBUTE"], "second"),
            name21(TAG["NEW_ATTRIBUTE"], "renamed")])[0] == W.SUCCESS
        assert one(conn, OPS["SET_ATTRIBUTE"], ref + [
            name21(TAG["NEW_ATTRIBUTE"], "y")])[:2] == fail(R.MULTI_VALUED_ATTRIBUTE)
        names = W.children(get_attrs_21(conn, uid, TAG["NAME"]), TAG["NAME"])
        assert sorted(W.value(n, TAG["NAME_VALUE"]) for n in names) == ["renamed", "sklc-21"]
        # Delete by Current Attribute (that one), by reference (all of them).
        assert one(conn, OPS["DELETE_ATTRIBUTE"], ref + [
            name21(TAG["CURRENT_ATTRIBUTE"], "renamed")])[0] == W.SUCCESS
        assert len(W.children(get_attrs_21(conn, uid, TAG["NAME"]), TAG["NAME"])) == 1
        assert one(conn, OPS["DELETE_ATTRIBUTE"], ref + [
            (W.T["ATTRIBUTE_REFERENCE"], W.ENUM, TAG["NAME"])])[0] == W.SUCCESS
        assert W.children(get_attrs_21(conn, uid, TAG["NAME"]), TAG["NAME"]) == []
        assert one(conn, OPS["DELETE_ATTRIBUTE"], ref + [
            (W.T["ATTRIBUTE_REFERENCE"], W.ENUM, TAG["STATE"])])[:2] == fail(R.ATTRIBUTE_READ_ONLY)
        # Compromise with an occurrence date (SKLC-M-2-21), then Destroy.
        assert one(conn, OPS["REVOKE"], ref + [
            (TAG["REVOCATION_REASON"], W.STRUCTURE, [
                (TAG["REVOCATION_REASON_CODE"], W.ENUM, 2)]),
            (TAG["COMPROMISE_OCCURRENCE_DATE"], W.DATETIME, 6)])[0] == W.SUCCESS
        a = get_attrs_21(conn, uid, TAG["STATE"], TAG["COMPROMISE_OCCURRENCE_DATE"])
        assert W.value(a, TAG["STATE"]) == 4
        assert W.value(a, TAG["COMPROMISE_OCCURRENCE_DATE"]) == 6
        assert one(conn, OPS["DESTROY"], ref)[0] == W.SUCCESS
        assert one(conn, W.OP["GET"], ref)[:2] == fail(R.OBJECT_DESTROYED)
        a = get_attrs_21(conn, uid, TAG["STATE"], TAG["DESTROY_DATE"])    # BL-M-9-21
        assert W.value(a, TAG["STATE"]) == 6
        assert W.value(a, TAG["DESTROY_DATE"]) is not None
        assert one(conn, OPS["SET_ATTRIBUTE"], ref + [
            (TAG["NEW_ATTRIBUTE"], W.STRUCTURE, [(TAG["DESCRIPTION"], W.TEXT, "late")])
        ])[:2] == fail(R.WRONG_KEY_LIFECYCLE_STATE)
    finally:
        conn.close()


def test_batch_create_activate_with_placeholder(server):
    conn = server.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([
            (W.OP["CREATE"], [(W.T["OBJECT_TYPE"], W.ENUM, 2),
                              (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
                                  W.attribute("Cryptographic Algorithm", W.ENUM, 3),
                                  W.attribute("Cryptographic Length", W.INTEGER, 128)])], None),
            (OPS["ACTIVATE"], [], None),
            (W.OP["GET_ATTRIBUTES"], [(W.T["ATTRIBUTE_NAME"], W.TEXT, "State")], None),
        ], major=1, minor=4)))
        items = W.children(resp, W.T["BATCH_ITEM"])
        assert [W.value(i, W.T["RESULT_STATUS"]) for i in items] == [W.SUCCESS] * 3
        st = W.child(W.child(items[2], W.T["RESPONSE_PAYLOAD"]), W.T["ATTRIBUTE"])
        assert W.value(st, W.T["ATTRIBUTE_VALUE"]) == 2
    finally:
        conn.close()
