"""Cryptographic operations against the live server: Encrypt/Decrypt,
Sign/Signature Verify, MAC/MAC Verify, Derive Key, RNG Retrieve/Seed.

Driven with PyKMIP's ProxyKmipClient where it can express the exchange, and
with kmipwire where PyKMIP 0.10 cannot:
- AES-GCM: ProxyKmipClient.encrypt/decrypt have no Authenticated Encryption
  Additional Data or Tag arguments (its KMIPProxy does not pass them either);
- MAC Verify: not in PyKMIP 0.10's client at all;
- RNG Retrieve / RNG Seed: not in PyKMIP 0.10's client;
- KMIP 2.x Result Reasons.
Every result is checked independently with `cryptography` / hashlib on key
material read back with Get, so the server is not checked against itself.
"""
import hashlib
import hmac
import itertools
import os

import pytest
from cryptography.hazmat.primitives import hashes, padding as sympad, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode

from kmip.core import enums
from kmip.pie import objects
from kmip.pie.exceptions import KmipOperationFailure

import kmipwire as W
from helpers import client, failed, ok, reason, wire

R = enums.ResultReason
ALG = enums.CryptographicAlgorithm
MASK = enums.CryptographicUsageMask
BCM = enums.BlockCipherMode
PAD = enums.PaddingMethod
HASH = enums.HashingAlgorithm

# Tags and values kmipwire does not name (KMIP 1.4 section 9.1.3).
TAG = dict(
    BLOCK_CIPHER_MODE=0x420011, CRYPTOGRAPHIC_PARAMETERS=0x42002B, IV_COUNTER_NONCE=0x42003D,
    DATA=0x4200C2, DATA_LENGTH=0x4200C4, MAC_DATA=0x4200C6, TAG_LENGTH=0x4200CE,
    RANDOM_IV=0x4200C5, VALIDITY_INDICATOR=0x42009B, AAD=0x4200FE, AE_TAG=0x4200FF,
    CRYPTOGRAPHIC_ALGORITHM=0x420028, LINK=0x42004A, LINK_TYPE=0x42004B,
    LINKED_OBJECT_IDENTIFIER=0x42004C,
)
OP = dict(ENCRYPT=0x1F, DECRYPT=0x20, MAC_VERIFY=0x24, RNG_RETRIEVE=0x25, RNG_SEED=0x26)
GCM, VALID, INVALID = 9, 1, 2
# KMIP 2.x Result Reasons (2.1 section 11.46).
INCOMPATIBLE_USAGE_MASK, WRONG_LIFECYCLE_STATE = 0x29, 0x43


_NAMES = itertools.count(1)


def named(obj):
    """PyKMIP names every object it registers after its type ("Symmetric
    Key"); Names are unique (KMIP 2.1 section 4.32): each gets its own."""
    obj.names = ["%s %d" % (type(obj).__name__, next(_NAMES))]
    return obj


def active_key(c, alg, value, masks, **kw):
    uid = c.register(named(objects.SymmetricKey(alg, len(value) * 8, value, masks=masks,
                                                **kw)))
    c.activate(uid)
    return uid


def gcm_params(tag_len=16, random_iv=False):
    kids = [(TAG["BLOCK_CIPHER_MODE"], W.ENUM, GCM), (TAG["TAG_LENGTH"], W.INTEGER, tag_len)]
    if random_iv:
        kids.append((TAG["RANDOM_IV"], W.BOOL, True))
    return (TAG["CRYPTOGRAPHIC_PARAMETERS"], W.STRUCTURE, kids)


# ------------------------------------------------------- Encrypt / Decrypt
def test_encrypt_decrypt_cbc_pkcs5_with_server_iv(server):
    data = b"attack at dawn, bring 33 bytes.."[:33].ljust(33, b"!")
    params = {"block_cipher_mode": BCM.CBC, "padding_method": PAD.PKCS5, "random_iv": True}
    with client(server) as c:
        uid = c.create(ALG.AES, 256, cryptographic_usage_mask=[MASK.ENCRYPT, MASK.DECRYPT])
        c.activate(uid)
        ct, iv = c.encrypt(data, uid=uid, cryptographic_parameters=params)
        assert len(iv) == 16 and len(ct) == 48
        assert c.decrypt(ct, uid=uid, cryptographic_parameters=params, iv_counter_nonce=iv) == data
        key = c.get(uid).value
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    u = sympad.PKCS7(128).unpadder()
    assert u.update(d.update(ct) + d.finalize()) + u.finalize() == data


def test_encrypt_ctr_and_ecb_match_cryptography(server):
    key = os.urandom(16)
    data = os.urandom(40)
    with client(server) as c:
        uid = active_key(c, ALG.AES, key, [MASK.ENCRYPT, MASK.DECRYPT])
        ct, iv = c.encrypt(data, uid=uid, cryptographic_parameters={"block_cipher_mode": BCM.CTR})
        assert len(iv) == 16
        e = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
        assert ct == e.update(data) + e.finalize()
        ct, iv = c.encrypt(data[:32], uid=uid,
                           cryptographic_parameters={"block_cipher_mode": BCM.ECB})
        assert iv is None
        e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        assert ct == e.update(data[:32]) + e.finalize()


def test_gcm_with_aad_on_the_wire(server):
    key, aad, data = os.urandom(32), b"header", b"secret payload"
    with client(server) as c:
        uid = active_key(c, ALG.AES, key, [MASK.ENCRYPT, MASK.DECRYPT])
    p = ok(wire(server, OP["ENCRYPT"], [
        (W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid), gcm_params(16, True),
        (TAG["DATA"], W.BYTES, data), (TAG["AAD"], W.BYTES, aad)]))
    ct, iv, tag = (W.value(p, TAG["DATA"]), W.value(p, TAG["IV_COUNTER_NONCE"]),
                   W.value(p, TAG["AE_TAG"]))
    assert len(iv) == 12 and len(tag) == 16
    assert AESGCM(key).decrypt(iv, ct + tag, aad) == data
    base = [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid), gcm_params(16),
            (TAG["DATA"], W.BYTES, ct), (TAG["IV_COUNTER_NONCE"], W.BYTES, iv),
            (TAG["AAD"], W.BYTES, aad)]
    p = ok(wire(server, OP["DECRYPT"], base + [(TAG["AE_TAG"], W.BYTES, tag)]))
    assert W.value(p, TAG["DATA"]) == data
    bad = bytes([tag[0] ^ 1]) + tag[1:]
    assert failed(wire(server, OP["DECRYPT"], base + [(TAG["AE_TAG"], W.BYTES, bad)])) == \
        R.CRYPTOGRAPHIC_FAILURE.value
    # The same exchange at KMIP 1.2 cannot carry a tag: refused.
    assert failed(wire(server, OP["ENCRYPT"], [
        (W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid), gcm_params(16),
        (TAG["DATA"], W.BYTES, data)], minor=2)) == R.INVALID_FIELD.value


def test_blowfish_legacy_round_trip(server):
    key, data = os.urandom(16), b"legacy algorithms still exist"
    params = {"block_cipher_mode": BCM.CBC, "padding_method": PAD.PKCS5}
    with client(server) as c:
        uid = active_key(c, ALG.BLOWFISH, key, [MASK.ENCRYPT, MASK.DECRYPT])
        ct, iv = c.encrypt(data, uid=uid, cryptographic_parameters=params)
        assert len(iv) == 8 and len(ct) == 32
        assert c.decrypt(ct, uid=uid, cryptographic_parameters=params, iv_counter_nonce=iv) == data


def test_encrypt_refusals(server):
    data = os.urandom(16)
    ecb = {"block_cipher_mode": BCM.ECB}
    with client(server) as c:
        enc_only = active_key(c, ALG.AES, os.urandom(16), [MASK.ENCRYPT])
        inactive = c.create(ALG.AES, 128, cryptographic_usage_mask=[MASK.ENCRYPT, MASK.DECRYPT])
        with pytest.raises(KmipOperationFailure) as e:  # usage mask
            c.decrypt(data, uid=enc_only, cryptographic_parameters=ecb)
        assert reason(e) == R.PERMISSION_DENIED
        with pytest.raises(KmipOperationFailure) as e:  # Pre-Active
            c.encrypt(data, uid=inactive, cryptographic_parameters=ecb)
        assert reason(e) == R.PERMISSION_DENIED
        with pytest.raises(KmipOperationFailure) as e:  # a mode not offered
            c.encrypt(data, uid=enc_only, cryptographic_parameters={"block_cipher_mode": BCM.XTS})
        assert reason(e) == R.INVALID_FIELD
        with pytest.raises(KmipOperationFailure) as e:
            c.encrypt(data, uid="no-such-key", cryptographic_parameters=ecb)
        assert reason(e) == R.ITEM_NOT_FOUND
    # KMIP 2.x reasons for the same refusals.
    params = (TAG["CRYPTOGRAPHIC_PARAMETERS"], W.STRUCTURE, [(TAG["BLOCK_CIPHER_MODE"], W.ENUM, 2)])
    assert failed(wire(server, OP["DECRYPT"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, enc_only), params,
                                               (TAG["DATA"], W.BYTES, data)], 2, 0)) == \
        INCOMPATIBLE_USAGE_MASK
    assert failed(wire(server, OP["ENCRYPT"], [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, inactive), params,
                                               (TAG["DATA"], W.BYTES, data)], 2, 1)) == \
        WRONG_LIFECYCLE_STATE


# ----------------------------------------------------- Sign / Signature Verify
def test_sign_verify_rsa_pss_and_pkcs1(server):
    msg = b"sign me"
    pss = {"cryptographic_algorithm": ALG.RSA, "padding_method": PAD.PSS,
           "hashing_algorithm": HASH.SHA_256}
    pkcs1 = {"digital_signature_algorithm":
             enums.DigitalSignatureAlgorithm.SHA384_WITH_RSA_ENCRYPTION}
    with client(server) as c:
        pub, priv = c.create_key_pair(ALG.RSA, 2048, public_usage_mask=[MASK.VERIFY],
                                      private_usage_mask=[MASK.SIGN])
        c.activate(pub)
        c.activate(priv)
        sig = c.sign(msg, uid=priv, cryptographic_parameters=pss)
        assert c.signature_verify(msg, sig, uid=pub, cryptographic_parameters=pss) == \
            enums.ValidityIndicator.VALID
        assert c.signature_verify(msg + b"!", sig, uid=pub, cryptographic_parameters=pss) == \
            enums.ValidityIndicator.INVALID
        sig2 = c.sign(msg, uid=priv, cryptographic_parameters=pkcs1)
        assert c.signature_verify(msg, sig2, uid=pub, cryptographic_parameters=pkcs1) == \
            enums.ValidityIndicator.VALID
        public = serialization.load_der_public_key(c.get(pub).value)
        with pytest.raises(KmipOperationFailure) as e:  # a public key cannot sign
            c.sign(msg, uid=pub, cryptographic_parameters=pss)
        assert reason(e) == R.ILLEGAL_OPERATION  # wrong object type (1.4 11.12)
    public.verify(sig, msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    public.verify(sig2, msg, padding.PKCS1v15(), hashes.SHA384())


def test_sign_verify_ecdsa(server):
    msg = b"elliptic"
    params = {"digital_signature_algorithm": enums.DigitalSignatureAlgorithm.ECDSA_WITH_SHA256}
    with client(server) as c:
        pub, priv = c.create_key_pair(ALG.EC, 256, public_usage_mask=[MASK.VERIFY],
                                      private_usage_mask=[MASK.SIGN])
        c.activate(pub)
        c.activate(priv)
        sig = c.sign(msg, uid=priv, cryptographic_parameters=params)
        assert c.signature_verify(msg, sig, uid=pub, cryptographic_parameters=params) == \
            enums.ValidityIndicator.VALID
        public = serialization.load_der_public_key(c.get(pub).value)
    public.verify(sig, msg, ec.ECDSA(hashes.SHA256()))


# ------------------------------------------------------------- MAC
def test_mac_and_mac_verify(server):
    key, data = os.urandom(32), b"authenticate this"
    want = hmac.new(key, data, hashlib.sha256).digest()
    with client(server) as c:
        uid = active_key(c, ALG.HMAC_SHA256, key, [MASK.MAC_GENERATE, MASK.MAC_VERIFY])
        assert c.mac(data, uid=uid, algorithm=ALG.HMAC_SHA256) == (uid, want)
        gen_only = active_key(c, ALG.HMAC_SHA512, key, [MASK.MAC_GENERATE])
        assert c.mac(data, uid=gen_only, algorithm=ALG.HMAC_SHA512)[1] == \
            hmac.new(key, data, hashlib.sha512).digest()
    base = [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, uid), (TAG["DATA"], W.BYTES, data)]
    p = ok(wire(server, OP["MAC_VERIFY"], base + [(TAG["MAC_DATA"], W.BYTES, want)]))
    assert W.value(p, TAG["VALIDITY_INDICATOR"]) == VALID
    p = ok(wire(server, OP["MAC_VERIFY"], base + [(TAG["MAC_DATA"], W.BYTES, want[:-1] + b"\0")]))
    assert W.value(p, TAG["VALIDITY_INDICATOR"]) == INVALID
    assert failed(wire(server, OP["MAC_VERIFY"], [
        (W.T["UNIQUE_IDENTIFIER"], W.TEXT, gen_only), (TAG["DATA"], W.BYTES, data),
        (TAG["MAC_DATA"], W.BYTES, want)])) == R.PERMISSION_DENIED.value


# ------------------------------------------------------------ Derive Key
def test_derive_key_pbkdf2_from_secret_data(server):
    with client(server) as c:
        pw = c.register(named(objects.SecretData(b"passwd", enums.SecretDataType.PASSWORD,
                                                 masks=[MASK.DERIVE_KEY])))
        c.activate(pw)
        uid = c.derive_key(enums.ObjectType.SYMMETRIC_KEY, [pw], enums.DerivationMethod.PBKDF2,
                           {"cryptographic_parameters": {"hashing_algorithm": HASH.SHA_256},
                            "salt": b"salt", "iteration_count": 1000},
                           cryptographic_length=256, cryptographic_algorithm=ALG.AES)
        k = c.get(uid)
    assert k.cryptographic_algorithm == ALG.AES and k.cryptographic_length == 256
    assert k.value == hashlib.pbkdf2_hmac("sha256", b"passwd", b"salt", 1000, 32)


def test_derive_key_nist800_108_and_encrypt(server):
    base, label = os.urandom(32), b"label\0context"
    with client(server) as c:
        kdk = active_key(c, ALG.HMAC_SHA256, base, [MASK.DERIVE_KEY])
        uid = c.derive_key(enums.ObjectType.SYMMETRIC_KEY, [kdk],
                           enums.DerivationMethod.NIST800_108_C,
                           {"cryptographic_parameters": {"hashing_algorithm": HASH.SHA_256},
                            "derivation_data": label},
                           cryptographic_length=128, cryptographic_algorithm=ALG.AES)
        got = c.get(uid).value
        aes = active_key(c, ALG.AES, base, [MASK.DERIVE_KEY])
        uid2 = c.derive_key(enums.ObjectType.SECRET_DATA, [aes], enums.DerivationMethod.ENCRYPT,
                            {"cryptographic_parameters": {"block_cipher_mode": BCM.ECB},
                             "derivation_data": b"0123456789abcdef"},
                            cryptographic_length=128)
        got2 = c.get(uid2).value
        with pytest.raises(KmipOperationFailure) as e:  # no Derive Key bit
            c.derive_key(enums.ObjectType.SYMMETRIC_KEY,
                         [active_key(c, ALG.AES, base, [MASK.ENCRYPT])],
                         enums.DerivationMethod.ENCRYPT,
                         {"cryptographic_parameters": {"block_cipher_mode": BCM.ECB},
                          "derivation_data": b"0123456789abcdef"},
                         cryptographic_length=128, cryptographic_algorithm=ALG.AES)
        assert reason(e) == R.PERMISSION_DENIED
    want = KBKDFHMAC(hashes.SHA256(), Mode.CounterMode, 16, 4, None,
                     CounterLocation.BeforeFixed, None, None, label).derive(base)
    assert got == want
    e = Cipher(algorithms.AES(base), modes.ECB()).encryptor()
    assert got2 == e.update(b"0123456789abcdef") + e.finalize()


# ------------------------------------------------------------------ RNG
def test_rng_retrieve_and_seed(server):
    p = ok(wire(server, OP["RNG_RETRIEVE"], [(TAG["DATA_LENGTH"], W.INTEGER, 32)], 1, 2))
    a = W.value(p, TAG["DATA"])
    p = ok(wire(server, OP["RNG_RETRIEVE"], [(TAG["DATA_LENGTH"], W.INTEGER, 32)], 2, 1))
    assert len(a) == 32 and len(W.value(p, TAG["DATA"])) == 32 and a != W.value(p, TAG["DATA"])
    assert failed(wire(server, OP["RNG_RETRIEVE"], [(TAG["DATA_LENGTH"], W.INTEGER, -1)])) == \
        R.INVALID_FIELD.value
    p = ok(wire(server, OP["RNG_SEED"], [(TAG["DATA"], W.BYTES, os.urandom(24))]))
    assert W.value(p, TAG["DATA_LENGTH"]) == 24
