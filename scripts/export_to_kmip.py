#!/usr/bin/python3
"""Move the objects of a Coffre export document into any KMIP server.

Reversibility, the last step (docs/export.md): a Coffre tenant exported with
POST /v1/export (or `coffre export`) for an RSA public key you generated, this
script unwraps each object locally with the private key and registers it into
a KMIP server with PyKMIP's ProxyKmipClient (Register with its name,
algorithm, length and usage mask, then Activate / Revoke to reach its state).

    /usr/bin/python3 scripts/export_to_kmip.py --document tenant.json \\
        --private-key dest.key --host kms.example --port 5696 \\
        --cert client.crt --key client.key --ca ca.crt > moved.json

Root keys (envelope encryption) are registered once per version, named
"<name>@v<N>": with a version's key and docs/envelope.md, data wrapped by
Coffre unwraps anywhere. Destroyed objects (metadata only) are skipped.
Every wrapped material is checked against its object's attributes (the
binding of docs/export.md) before anything is registered: an altered
document stops the script. Prints a JSON map {source uid: [new uids]} on
stdout. Needs Debian's python3-pykmip and python3-cryptography.
"""
import argparse
import base64
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding

# KMIP tags (KMIP 2.1 section 9.1.3.1) and types.
T = dict(ATTRIBUTE=0x420008, ATTRIBUTE_NAME=0x42000A, ATTRIBUTE_VALUE=0x42000B,
         ATTRIBUTES=0x420125, CRYPTOGRAPHIC_ALGORITHM=0x420028, CRYPTOGRAPHIC_LENGTH=0x42002A,
         CRYPTOGRAPHIC_USAGE_MASK=0x42002C, KEY_BLOCK=0x420040, KEY_FORMAT_TYPE=0x420042,
         KEY_MATERIAL=0x420043, KEY_VALUE=0x420045, KEY_WRAPPING_DATA=0x420046, NAME=0x420053,
         NAME_VALUE=0x420055, OPAQUE_DATA_TYPE=0x420059, OPAQUE_DATA_VALUE=0x42005A,
         SECRET_DATA_TYPE=0x420086, CERTIFICATE_VALUE=0x42001E, VENDOR_IDENTIFICATION=0x42009D)
STRUCTURE, INTEGER, LONG, BIGINT, ENUM, BOOL, TEXT, BYTES, DATETIME, INTERVAL = (
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A)


class DocumentError(Exception):
    pass


# ------------------------------------------------------------------ TTLV
def ttlv_decode(data):
    """One TTLV item (tag, type, value); a structure's value is a list."""
    item, end = _item(data, 0)
    if end != len(data):
        raise DocumentError("trailing bytes after a TTLV item")
    return item


def _item(data, off):
    if off + 8 > len(data):
        raise DocumentError("truncated TTLV")
    tag = int.from_bytes(data[off:off + 3], "big")
    typ = data[off + 3]
    (length,) = struct.unpack(">I", data[off + 4:off + 8])
    off += 8
    padded = (length + 7) // 8 * 8
    if off + padded > len(data):
        raise DocumentError("truncated TTLV")
    raw = data[off:off + length]
    if typ == STRUCTURE:
        items, pos = [], off
        while pos < off + length:
            child, pos = _item(data, pos)
            items.append(child)
        if pos != off + length:
            raise DocumentError("a structure's length is not its children's")
        value = items
    elif typ in (INTEGER, ENUM):
        value = struct.unpack(">i" if typ == INTEGER else ">I", raw)[0]
    elif typ in (LONG, DATETIME):
        value = struct.unpack(">q", raw)[0]
    elif typ == BOOL:
        value = struct.unpack(">Q", raw)[0] != 0
    elif typ == INTERVAL:
        value = struct.unpack(">I", raw)[0]
    elif typ == TEXT:
        value = raw.decode("utf-8")
    else:
        value = bytes(raw)
    return (tag, typ, value), off + padded


def child(item, tag):
    for c in item[2]:
        if c[0] == tag:
            return c
    return None


def value(item, tag, default=None):
    c = child(item, tag)
    return default if c is None else c[2]


# ------------------------------------------------------------- unwrapping
class Unwrapper:
    def __init__(self, doc, private_key_pem):
        w = doc["wrapping"]
        self.alg = w["algorithm"]
        if self.alg not in ("rsa_aes_key_wrap_sha256", "rsa_oaep_sha256"):
            raise DocumentError("this script unwraps the RSA methods only, not " + self.alg)
        self.key = serialization.load_pem_private_key(private_key_pem, password=None)
        spki = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        if hashlib.sha256(spki).hexdigest() != w["public_key_sha256"]:
            raise DocumentError("the document was wrapped for another public key (%s)"
                                % w["public_key_sha256"])
        self.oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                                 algorithm=hashes.SHA256(), label=None)

    def unwrap(self, wrapped):
        if self.alg == "rsa_oaep_sha256":
            return self.key.decrypt(wrapped, self.oaep)
        k = self.key.key_size // 8
        ephemeral = self.key.decrypt(wrapped[:k], self.oaep)
        return aes_key_unwrap_with_padding(ephemeral, wrapped[k:])


def open_payload(unwrapper, wrapped, digest, version):
    """The plain Key Value of a wrapped one, after checking its binding."""
    kv = ttlv_decode(unwrapper.unwrap(wrapped))
    if kv[0] != T["KEY_VALUE"] or not kv[2] or kv[2][-1][0] != T["ATTRIBUTES"]:
        raise DocumentError("the unwrapped material is not a bound Key Value")
    bound = {}
    for at in kv[2][-1][2]:
        if at[0] == T["ATTRIBUTE"] and value(at, T["VENDOR_IDENTIFICATION"]) == "y":
            bound[value(at, T["ATTRIBUTE_NAME"])] = value(at, T["ATTRIBUTE_VALUE"])
    if not hmac.compare_digest(bound.get("export-digest", b""), digest):
        raise DocumentError("material not bound to its attributes: the document was altered")
    if bound.get("export-version") != (version or None):
        raise DocumentError("material not bound to its version: the document was altered")
    return (kv[0], kv[1], kv[2][:-1])


def key_block_material(unwrapper, structure, digest, version=0):
    """(Key Format Type, Key Material bytes) of a wrapped object structure."""
    kb = child(structure, T["KEY_BLOCK"])
    if kb is None or child(kb, T["KEY_WRAPPING_DATA"]) is None:
        raise DocumentError("no wrapped Key Block")
    kv = open_payload(unwrapper, value(kb, T["KEY_VALUE"]), digest, version)
    km = child(kv, T["KEY_MATERIAL"])
    if km is None or km[1] != BYTES:
        raise DocumentError("a Key Material that is not a Byte String (a Transparent key)")
    return value(kb, T["KEY_FORMAT_TYPE"]), km[2]


# --------------------------------------------------------------- objects
def attributes(obj):
    """(attribute TTLV digest, {algorithm, length, mask, name})."""
    raw = base64.b64decode(obj["attributes"]["ttlv"], validate=True)
    attrs = ttlv_decode(raw)
    name = child(attrs, T["NAME"])
    return hashlib.sha256(raw).digest(), dict(
        algorithm=value(attrs, T["CRYPTOGRAPHIC_ALGORITHM"]),
        length=value(attrs, T["CRYPTOGRAPHIC_LENGTH"]),
        mask=value(attrs, T["CRYPTOGRAPHIC_USAGE_MASK"], 0),
        name=value(name, T["NAME_VALUE"]) if name else None)


def masks(mask):
    from kmip.core import enums
    return [m for m in enums.CryptographicUsageMask if mask & m.value]


def pykmip_objects(unwrapper, obj):
    """[(suffix, PyKMIP managed object)] for one document entry."""
    from kmip.core import enums
    from kmip.pie import objects
    digest, a = attributes(obj)
    alg = enums.CryptographicAlgorithm(a["algorithm"]) if a["algorithm"] else None
    kind = obj["object_type"]
    if obj.get("versions"):
        out = []
        for v in obj["versions"]:
            if v["destroyed"]:
                continue
            s = ttlv_decode(base64.b64decode(v["material"], validate=True))
            _, key = key_block_material(unwrapper, s, digest, v["version"])
            out.append(("@v%d" % v["version"],
                        objects.SymmetricKey(alg, len(key) * 8, key, masks(a["mask"]))))
        return a, out
    if "material" not in obj:
        return a, []
    s = ttlv_decode(base64.b64decode(obj["material"], validate=True))
    form = obj["material_form"]
    if form == "certificate":
        return a, [("", objects.X509Certificate(value(s, T["CERTIFICATE_VALUE"])))]
    if form == "opaque":
        kv = open_payload(unwrapper, value(s, T["OPAQUE_DATA_VALUE"]), digest, 0)
        return a, [("", objects.OpaqueObject(value(kv, T["KEY_MATERIAL"]),
                                             enums.OpaqueDataType.NONE))]
    if form != "key_block":
        raise DocumentError("%s: material form %s cannot be moved" % (obj["uid"], form))
    fmt, key = key_block_material(unwrapper, s, digest)
    fmt = enums.KeyFormatType(fmt)
    if kind == "symmetric_key":
        return a, [("", objects.SymmetricKey(alg, a["length"], key, masks(a["mask"])))]
    if kind == "private_key":
        return a, [("", objects.PrivateKey(alg, a["length"], key, fmt, masks(a["mask"])))]
    if kind == "public_key":
        return a, [("", objects.PublicKey(alg, a["length"], key, fmt, masks(a["mask"])))]
    if kind == "secret_data":
        data_type = enums.SecretDataType(value(s, T["SECRET_DATA_TYPE"]))
        return a, [("", objects.SecretData(key, data_type, masks(a["mask"])))]
    raise DocumentError("%s: %s objects cannot be moved by this script" % (obj["uid"], kind))


def reach_state(client, uid, state):
    """Activate / Revoke the registered object into the document's state."""
    from kmip.core import enums
    if state in ("active", "deactivated", "compromised"):
        client.activate(uid)
    if state == "deactivated":
        client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
    elif state == "compromised":
        client.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid)


def move(doc, unwrapper, client):
    """Check every object first (nothing is registered from an altered
    document), then register them; {source uid: [new uids]}."""
    plan = [(obj, *pykmip_objects(unwrapper, obj)) for obj in doc["objects"]
            if not obj["state"].startswith("destroyed")]
    moved = {}
    for obj, a, mos in plan:
        moved[obj["uid"]] = []
        for suffix, mo in mos:
            if a["name"] or suffix:
                mo.names = [(a["name"] or obj["uid"]) + suffix]
            uid = client.register(mo)
            if obj["object_type"] != "certificate":
                reach_state(client, uid, obj["state"])
            moved[obj["uid"]].append(uid)
    return moved


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--document", required=True, help="the export document (JSON)")
    p.add_argument("--private-key", required=True,
                   help="PEM private key whose public key the document was wrapped for")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5696)
    p.add_argument("--cert", required=True, help="client certificate (PEM)")
    p.add_argument("--key", required=True, help="client private key (PEM)")
    p.add_argument("--ca", required=True, help="CA certificate of the server (PEM)")
    p.add_argument("--kmip-version", default="1.2", choices=("1.0", "1.1", "1.2", "1.3", "1.4",
                                                             "2.0"))
    args = p.parse_args(argv)
    from kmip.core import enums
    from kmip.pie.client import ProxyKmipClient
    with open(args.document, "rb") as f:
        doc = json.load(f)
    if doc.get("format") != "coffre-export" or doc.get("version") != 1:
        raise SystemExit("%s: not a Coffre export document of version 1" % args.document)
    with open(args.private_key, "rb") as f:
        unwrapper = Unwrapper(doc, f.read())
    version = getattr(enums.KMIPVersion, "KMIP_" + args.kmip_version.replace(".", "_"))
    client = ProxyKmipClient(hostname=args.host, port=args.port, cert=args.cert, key=args.key,
                             ca=args.ca, config_file="/dev/null", kmip_version=version)
    with client:
        moved = move(doc, unwrapper, client)
    json.dump(moved, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DocumentError as e:
        sys.exit("export_to_kmip: %s" % e)
