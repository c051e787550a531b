"""Every object type, Register / Get, Create Key Pair, ReKey and key wrapping
against the live server, driven with PyKMIP's ProxyKmipClient (and its
low-level KMIPProxy), and with kmipwire where PyKMIP 0.10 cannot express or
decode the exchange:

- Links: PyKMIP 0.10's attribute factory raises NotImplementedError for Link
  values, so links are read on the wire.
- Get with a Key Wrapping Specification: the answer's Key Value is a Byte
  String (KMIP 1.4 section 2.1.4, and the OASIS test cases AX-M-2-14 and the
  1.1 test case "AES key wrap"); PyKMIP 0.10 decodes a Key Value only as a
  structure, so that exchange is checked with kmipwire and unwrapped with
  `cryptography`.
"""
import itertools
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from cryptography import x509
from cryptography.x509.oid import NameOID
import datetime

from kmip.core import enums
from kmip.pie import objects
from kmip.pie.exceptions import KmipOperationFailure

import kmipwire as W
from helpers import client, failed, ok, reason, wire

R = enums.ResultReason
KFT = enums.KeyFormatType
ALG = enums.CryptographicAlgorithm
MASK = enums.CryptographicUsageMask

# Tags and values kmipwire does not name (KMIP 1.4 section 9.1.3).
TAG = dict(
    BLOCK_CIPHER_MODE=0x420011, CRYPTOGRAPHIC_PARAMETERS=0x42002B,
    CRYPTOGRAPHIC_USAGE_MASK=0x42002C, ENCRYPTION_KEY_INFORMATION=0x420036,
    KEY_WRAPPING_DATA=0x420046, KEY_WRAPPING_SPECIFICATION=0x420047, LINK=0x42004A,
    LINK_TYPE=0x42004B, LINKED_OBJECT_IDENTIFIER=0x42004C, PADDING_METHOD=0x42005F,
    HASHING_ALGORITHM=0x420038, WRAPPING_METHOD=0x42009E, ENCODING_OPTION=0x4200A3,
    PRIVATE_KEY=0x420064, PUBLIC_KEY=0x42006D, SECRET_DATA=0x420085,
    SECRET_DATA_TYPE=0x420086, KEY_WRAPPING=0x420046, OFFSET=0x420058,
    KEY_COMPRESSION_TYPE=0x420041,
)
OP = dict(REGISTER=3, REKEY=4, ACTIVATE=0x12)
LINK = dict(PUBLIC=0x102, PRIVATE=0x103, REPLACEMENT=0x106, REPLACED=0x107)
NIST_KEY_WRAP, AES_KEY_WRAP_PADDING = 0x0D, 0x0C
NO_ENCODING, TTLV_ENCODING = 1, 2


_NAMES = itertools.count(1)


def named(obj):
    """PyKMIP names every object it registers after its type ("Symmetric
    Key"); Names are unique (KMIP 2.1 section 4.32): each gets its own."""
    obj.names = ["%s %d" % (type(obj).__name__, next(_NAMES))]
    return obj


def links(server, uid):
    """{link type: [linked uid]} read on the wire."""
    p = ok(wire(server, W.OP["GET_ATTRIBUTES"], [
        (W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid), (W.T["ATTRIBUTE_NAME"], W.TEXT, "Link")]))
    out = {}
    for a in W.children(p, W.T["ATTRIBUTE"]):
        v = W.child(a, W.T["ATTRIBUTE_VALUE"])
        out.setdefault(W.value(v, TAG["LINK_TYPE"]), []).append(
            W.value(v, TAG["LINKED_OBJECT_IDENTIFIER"]))
    return out


# ------------------------------------------------------------ material
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def der_private(key, fmt):
    return key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())


def certificate():
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coffre objects test")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(EC_KEY.public_key()).serial_number(42)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(EC_KEY, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def registered_objects():
    # PyKMIP's PrivateKey accepts Raw, PKCS#1 and PKCS#8 only (ECPrivateKey
    # and the transparent forms are covered by tests/unit/keys_test.c).
    pkcs8 = serialization.PrivateFormat.PKCS8
    trad = serialization.PrivateFormat.TraditionalOpenSSL
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pub = RSA_KEY.public_key()
    return [
        objects.SymmetricKey(ALG.AES, 256, os.urandom(32)),
        objects.SymmetricKey(ALG.AES, 128, os.urandom(16), masks=[MASK.ENCRYPT]),
        objects.SymmetricKey(ALG.HMAC_SHA256, 256, os.urandom(32)),
        objects.PublicKey(ALG.RSA, 2048, pub.public_bytes(serialization.Encoding.DER, spki),
                          KFT.X_509),
        objects.PublicKey(ALG.RSA, 2048, pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1), KFT.PKCS_1),
        objects.PrivateKey(ALG.RSA, 2048, der_private(RSA_KEY, pkcs8), KFT.PKCS_8),
        objects.PrivateKey(ALG.RSA, 2048, der_private(RSA_KEY, trad), KFT.PKCS_1),
        objects.PrivateKey(ALG.EC, 256, der_private(EC_KEY, pkcs8), KFT.PKCS_8),
        objects.PublicKey(ALG.EC, 256, EC_KEY.public_key().public_bytes(
            serialization.Encoding.DER, spki), KFT.X_509),
        objects.X509Certificate(certificate()),
        objects.SecretData(b"correct horse battery staple", enums.SecretDataType.PASSWORD),
        objects.SecretData(os.urandom(48), enums.SecretDataType.SEED),
        objects.OpaqueObject(b"\x00opaque\xff" * 3, enums.OpaqueDataType.NONE),
        objects.SplitKey(cryptographic_algorithm=ALG.AES, cryptographic_length=128,
                         key_value=os.urandom(16), split_key_parts=3, key_part_identifier=2,
                         split_key_threshold=2, split_key_method=enums.SplitKeyMethod.XOR),
    ]


# ------------------------------------------------------------- Register
@pytest.mark.parametrize("version", [enums.KMIPVersion.KMIP_1_2, enums.KMIPVersion.KMIP_2_0])
def test_register_every_object_type_get_equal(server, version):
    sent = registered_objects()
    with client(server, version) as c:
        uids = [c.register(named(o)) for o in sent]
        assert len(set(uids)) == len(sent)
        for o, uid in zip(sent, uids):
            got = c.get(uid)
            assert type(got) is type(o)
            assert got.value == o.value
            if hasattr(o, "key_format_type"):
                assert got.key_format_type == o.key_format_type
            if hasattr(o, "cryptographic_algorithm"):
                assert got.cryptographic_algorithm == o.cryptographic_algorithm
                assert got.cryptographic_length == o.cryptographic_length
            if isinstance(o, objects.SecretData):
                assert got.data_type == o.data_type
            if isinstance(o, objects.OpaqueObject):
                assert got.opaque_type == o.opaque_type
            if isinstance(o, objects.SplitKey):
                assert (got.split_key_parts, got.key_part_identifier, got.split_key_threshold,
                        got.split_key_method) == (3, 2, 2, enums.SplitKeyMethod.XOR)


def test_register_fills_digest(server):
    value = os.urandom(32)
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        uid = c.register(named(objects.SymmetricKey(ALG.AES, 256, value)))
        got = c.get_attributes(uid, ["Digest"])[1]
    assert len(got) == 1
    d = got[0].attribute_value
    assert d.hashing_algorithm.value == enums.HashingAlgorithm.SHA_256
    digest = hashes.Hash(hashes.SHA256())
    digest.update(value)
    assert d.digest_value.value == digest.finalize()
    assert d.key_format_type.value == KFT.RAW


def register_wire(server, obj_type, obj_item):
    return wire(server, OP["REGISTER"], [
        (W.T["OBJECT_TYPE"], W.ENUM, obj_type),
        (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, []), obj_item])


def key_block(fmt, material, alg=None, length=None):
    kids = [(W.T["KEY_FORMAT_TYPE"], W.ENUM, fmt),
            (W.T["KEY_VALUE"], W.STRUCTURE, [(W.T["KEY_MATERIAL"], W.BYTES, material)])]
    if alg is not None:
        kids += [(W.T["CRYPTOGRAPHIC_ALGORITHM"], W.ENUM, alg),
                 (W.T["CRYPTOGRAPHIC_LENGTH"], W.INTEGER, length)]
    return (W.T["KEY_BLOCK"], W.STRUCTURE, kids)


def test_register_refusals(server):
    sym = enums.ObjectType.SYMMETRIC_KEY.value
    # an AES key of 15 bytes
    item = (W.T["SYMMETRIC_KEY"], W.STRUCTURE, [key_block(1, os.urandom(15), 3, 120)])
    assert failed(register_wire(server, sym, item)) == R.INVALID_FIELD.value
    # a length that does not match the bytes
    item = (W.T["SYMMETRIC_KEY"], W.STRUCTURE, [key_block(1, os.urandom(16), 3, 256)])
    assert failed(register_wire(server, sym, item)) == R.INVALID_FIELD.value
    # the object does not match the Object Type
    assert failed(register_wire(server, enums.ObjectType.PRIVATE_KEY.value, item)) == \
        R.INVALID_FIELD.value
    # PKCS#8 bytes said to be PKCS#1, and garbage DER
    pkcs8 = der_private(RSA_KEY, serialization.PrivateFormat.PKCS8)
    for material in (pkcs8, b"\x30\x03\x02\x01\x00"):
        item = (TAG["PRIVATE_KEY"], W.STRUCTURE, [key_block(KFT.PKCS_1.value, material, 4, 2048)])
        assert failed(register_wire(server, enums.ObjectType.PRIVATE_KEY.value, item)) == \
            R.INVALID_FIELD.value
    # a Public Key cannot be Raw
    item = (TAG["PUBLIC_KEY"], W.STRUCTURE, [key_block(KFT.RAW.value, os.urandom(32), 4, 256)])
    assert failed(register_wire(server, enums.ObjectType.PUBLIC_KEY.value, item)) == \
        R.INVALID_FIELD.value
    # Secret Data without its type
    item = (TAG["SECRET_DATA"], W.STRUCTURE, [key_block(KFT.OPAQUE.value, b"pw")])
    assert failed(register_wire(server, enums.ObjectType.SECRET_DATA.value, item)) == \
        R.MISSING_DATA.value


# ----------------------------------------------------------- Key formats
def get_format(server, uid, fmt):
    from kmip.core.misc import KeyFormatType
    proxy = server.pykmip_proxy(enums.KMIPVersion.KMIP_1_4)
    proxy.open()
    try:
        return proxy.get(uid, key_format_type=KeyFormatType(fmt))
    finally:
        proxy.close()


def test_get_converts_formats(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        priv = c.register(named(objects.PrivateKey(
            ALG.RSA, 2048, der_private(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL),
            KFT.PKCS_1)))
        sym = c.register(named(objects.SymmetricKey(ALG.AES, 128, os.urandom(16))))
    res = get_format(server, priv, KFT.PKCS_8)
    assert res.result_status.value == enums.ResultStatus.SUCCESS
    kb = res.secret.key_block
    assert kb.key_format_type.value == KFT.PKCS_8
    assert kb.key_value.key_material.value == der_private(RSA_KEY, serialization.PrivateFormat.PKCS8)
    # Transparent Symmetric Key: PyKMIP 0.10 cannot decode a Key Material
    # structure, so on the wire: Key Material { Key } holds the same bytes.
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        raw = c.get(sym).value
    p = ok(wire(server, W.OP["GET"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, sym),
                                      (W.T["KEY_FORMAT_TYPE"], W.ENUM,
                                       KFT.TRANSPARENT_SYMMETRIC_KEY.value)]))
    kb = W.child(W.child(p, W.T["SYMMETRIC_KEY"]), W.T["KEY_BLOCK"])
    assert W.value(kb, W.T["KEY_FORMAT_TYPE"]) == KFT.TRANSPARENT_SYMMETRIC_KEY.value
    km = W.child(W.child(kb, W.T["KEY_VALUE"]), W.T["KEY_MATERIAL"])
    assert W.value(km, 0x42003F) == raw  # Key
    # formats the specification does not define for the object
    for uid, fmt in ((priv, KFT.X_509), (priv, KFT.RAW), (sym, KFT.PKCS_8)):
        res = get_format(server, uid, fmt)
        assert res.result_status.value == enums.ResultStatus.OPERATION_FAILED
        assert res.result_reason.value == R.KEY_FORMAT_TYPE_NOT_SUPPORTED


# ------------------------------------------------------- Create Key Pair
def test_create_key_pair_rsa_linked(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        pub, priv = c.create_key_pair(ALG.RSA, 2048, public_usage_mask=[MASK.VERIFY],
                                      private_usage_mask=[MASK.SIGN])
        assert links(server, priv) == {LINK["PUBLIC"]: [pub]}
        assert links(server, pub) == {LINK["PRIVATE"]: [priv]}
        masks = c.get_attributes(pub, ["Cryptographic Usage Mask"])[1]
        assert masks[0].attribute_value.value == MASK.VERIFY.value
        masks = c.get_attributes(priv, ["Cryptographic Usage Mask"])[1]
        assert masks[0].attribute_value.value == MASK.SIGN.value
        k = c.get(priv)
        assert k.key_format_type == KFT.PKCS_8
        assert k.cryptographic_length == 2048
        p = c.get(pub)
        assert p.key_format_type == KFT.X_509
    # the pair matches
    private = serialization.load_der_private_key(k.value, None)
    public = serialization.load_der_public_key(p.value)
    assert private.public_key().public_numbers() == public.public_numbers()


def test_create_key_pair_ec_p256(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        pub, priv = c.create_key_pair(ALG.ECDSA, 256)
        assert links(server, priv) == {LINK["PUBLIC"]: [pub]}
        k = c.get(priv)
        assert k.cryptographic_algorithm == ALG.ECDSA
    key = serialization.load_der_private_key(k.value, None)
    assert key.curve.name == "secp256r1"


def test_create_key_pair_ec_p384_on_the_wire(server):
    """2.0 form with a Recommended Curve (PyKMIP cannot express it)."""
    p = ok(wire(server, 0x02, [
        (0x420126, W.STRUCTURE, [(W.T["CRYPTOGRAPHIC_ALGORITHM"], W.ENUM, ALG.EC.value),
                                 (0x420029, W.STRUCTURE, [(0x420075, W.ENUM, 0x0A)])])],
        major=2, minor=0))
    priv = W.value(p, 0x420066)
    with client(server, enums.KMIPVersion.KMIP_2_0) as c:
        assert c.get(priv).cryptographic_length == 384


def test_create_key_pair_refusals(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        with pytest.raises(KmipOperationFailure) as e:
            c.create_key_pair(ALG.AES, 256)
        assert reason(e) == R.INVALID_FIELD
        with pytest.raises(KmipOperationFailure) as e:
            c.create_key_pair(ALG.RSA, 1000)
        assert reason(e) == R.INVALID_FIELD
        with pytest.raises(KmipOperationFailure) as e:
            c.create_key_pair(ALG.ECDSA, 192)
        assert reason(e) == R.INVALID_FIELD


# ----------------------------------------------------------------- ReKey
def test_rekey(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        old = c.create(ALG.AES, 256, name="rekey-me",
                       cryptographic_usage_mask=[MASK.ENCRYPT, MASK.DECRYPT])
        new = c.rekey(uid=old)
        assert new != old
        assert links(server, old) == {LINK["REPLACEMENT"]: [new]}
        assert links(server, new) == {LINK["REPLACED"]: [old]}
        assert c.get(new).value != c.get(old).value
        assert c.get(new).cryptographic_length == 256
        names = c.get_attributes(new, ["Name"])[1]
        assert [n.attribute_value.name_value.value for n in names] == ["rekey-me"]
        assert c.get_attributes(old, ["Name"])[1] == []
        mask = c.get_attributes(new, ["Cryptographic Usage Mask"])[1][0].attribute_value.value
        assert mask == MASK.ENCRYPT.value | MASK.DECRYPT.value
        pub, priv = c.create_key_pair(ALG.RSA, 1024)
        with pytest.raises(KmipOperationFailure) as e:
            c.rekey(uid=pub)
        assert reason(e) == R.PERMISSION_DENIED


# ------------------------------------------------------------- Wrapping
def kws(kek, mode=None, encoding=None, pad=None, hash_alg=None):
    params = []
    if mode is not None:
        params.append((TAG["BLOCK_CIPHER_MODE"], W.ENUM, mode))
    if pad is not None:
        params.append((TAG["PADDING_METHOD"], W.ENUM, pad))
    if hash_alg is not None:
        params.append((TAG["HASHING_ALGORITHM"], W.ENUM, hash_alg))
    eki = [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, kek)]
    if params:
        eki.append((TAG["CRYPTOGRAPHIC_PARAMETERS"], W.STRUCTURE, params))
    kids = [(TAG["WRAPPING_METHOD"], W.ENUM, 1),
            (TAG["ENCRYPTION_KEY_INFORMATION"], W.STRUCTURE, eki)]
    if encoding is not None:
        kids.append((TAG["ENCODING_OPTION"], W.ENUM, encoding))
    return (TAG["KEY_WRAPPING_SPECIFICATION"], W.STRUCTURE, kids)


def get_wrapped(server, uid, spec, tag=None):
    item = wire(server, W.OP["GET"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid), spec])
    return item


def wrapped_value(item, tag=None):
    p = ok(item)
    kb = W.child(W.child(p, tag or W.T["SYMMETRIC_KEY"]), W.T["KEY_BLOCK"])
    kv = W.child(kb, W.T["KEY_VALUE"])
    assert kv[1] == W.BYTES  # 1.4 section 2.1.4: wrapped Key Value is a Byte String
    assert W.child(kb, TAG["KEY_WRAPPING_DATA"]) is not None
    return kv[2]


@pytest.fixture(scope="module")
def kek(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        uid = c.create(ALG.AES, 256, cryptographic_usage_mask=[MASK.WRAP_KEY, MASK.UNWRAP_KEY])
        c.activate(uid)
        return uid, c.get(uid).value


def test_get_wrapped_nist_key_wrap(server, kek):
    kek_uid, kek_bytes = kek
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        data = c.create(ALG.AES, 128, cryptographic_usage_mask=[MASK.ENCRYPT])
        plain = c.get(data).value
    # No Encoding: RFC 3394 over the key bytes
    wrapped = wrapped_value(get_wrapped(server, data, kws(kek_uid, NIST_KEY_WRAP, NO_ENCODING)))
    assert len(wrapped) == 24
    assert aes_key_unwrap(kek_bytes, wrapped) == plain
    # default (TTLV Encoding): the wrapped bytes are the TTLV Key Value
    wrapped = wrapped_value(get_wrapped(server, data, kws(kek_uid, NIST_KEY_WRAP)))
    kv = W.decode(aes_key_unwrap(kek_bytes, wrapped))
    assert kv[0] == W.T["KEY_VALUE"]
    assert W.value(kv, W.T["KEY_MATERIAL"]) == plain


def test_get_wrapped_with_padding_and_secret_data(server, kek):
    from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding
    kek_uid, kek_bytes = kek
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        sd = c.register(named(objects.SecretData(b"pass-phrase!",
                                                 enums.SecretDataType.PASSWORD)))
    wrapped = wrapped_value(get_wrapped(server, sd, kws(kek_uid, AES_KEY_WRAP_PADDING,
                                                        NO_ENCODING)), TAG["SECRET_DATA"])
    assert aes_key_unwrap_with_padding(kek_bytes, wrapped) == b"pass-phrase!"
    # RFC 3394 cannot wrap 12 bytes
    assert failed(get_wrapped(server, sd, kws(kek_uid, NIST_KEY_WRAP, NO_ENCODING))) == \
        R.INVALID_FIELD.value


def test_get_wrapped_rsa_oaep(server):
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        pub = c.register(named(objects.PublicKey(
            ALG.RSA, 2048, RSA_KEY.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
            KFT.X_509, masks=[MASK.WRAP_KEY])))
        c.activate(pub)
        data = c.create(ALG.AES, 256)
        plain = c.get(data).value
    wrapped = wrapped_value(get_wrapped(server, data, kws(pub, None, NO_ENCODING, pad=2,
                                                          hash_alg=6)))
    assert RSA_KEY.decrypt(wrapped, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()),
                                                  algorithm=hashes.SHA256(), label=None)) == plain


def test_get_wrapped_refusals(server, kek):
    kek_uid, _ = kek
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        data = c.create(ALG.AES, 128)
        no_wrap = c.create(ALG.AES, 256, cryptographic_usage_mask=[MASK.ENCRYPT])
        c.activate(no_wrap)
        pre_active = c.create(ALG.AES, 256, cryptographic_usage_mask=[MASK.WRAP_KEY])
        sd = c.register(named(objects.SecretData(b"x" * 16, enums.SecretDataType.SEED)))
    # 1.4 section 11.12
    assert failed(get_wrapped(server, data, kws("no-such-key"))) == R.ITEM_NOT_FOUND.value
    assert failed(get_wrapped(server, data, kws(no_wrap))) == R.PERMISSION_DENIED.value
    assert failed(get_wrapped(server, data, kws(pre_active))) == R.PERMISSION_DENIED.value
    assert failed(get_wrapped(server, data, kws(sd))) == R.ILLEGAL_OPERATION.value
    assert failed(get_wrapped(server, data, kws(kek_uid, 0x01))) == \
        R.FEATURE_NOT_SUPPORTED.value  # CBC is not a key wrap mode


def test_register_wrapped_key(server, kek):
    """PyKMIP's form of a wrapped key (Key Value structure + Key Wrapping
    Data) comes back exactly as registered."""
    kek_uid, _ = kek
    wrapping = {
        "wrapping_method": enums.WrappingMethod.ENCRYPT,
        "encryption_key_information": {
            "unique_identifier": kek_uid,
            "cryptographic_parameters": {"block_cipher_mode": enums.BlockCipherMode.NIST_KEY_WRAP},
        },
        "encoding_option": enums.EncodingOption.NO_ENCODING,
    }
    blob = os.urandom(40)
    with client(server, enums.KMIPVersion.KMIP_1_4) as c:
        uid = c.register(named(objects.SymmetricKey(ALG.AES, 320, blob,
                                                    key_wrapping_data=wrapping)))
        got = c.get(uid)
    assert got.value == blob
    assert got.key_wrapping_data["wrapping_method"] == enums.WrappingMethod.ENCRYPT
    assert got.key_wrapping_data["encryption_key_information"]["unique_identifier"] == kek_uid
    # it cannot be converted: the server does not hold it in clear
    res = get_format(server, uid, KFT.TRANSPARENT_SYMMETRIC_KEY)
    assert res.result_reason.value == R.KEY_FORMAT_TYPE_NOT_SUPPORTED
