"""KMIP XML encoding -> kmipwire items, with the names from src/ttlv/ttlv_dict.def.

Design note
-----------
The OASIS profile test cases (shared/vectors/oasis) are written in the KMIP
XML encoding (KMIP Profiles 1.2+ section "XML Encoding"): one element per
TTLV item, named by its tag's specification name without spaces or
punctuation ("IV/Counter/Nonce" -> IVCounterNonce, "PKCS#11 Function" ->
PKCS_11Function), with attributes type= (absent for a Structure) and value=.
Values: Integer in decimal or 0x hex, or for a mask a list of bit names
separated by spaces or '|'; Enumeration by value name in CamelCase
("SymmetricKey", "SHA_256", "PreActive") or 0x hex; Boolean true/false;
Text String as is; Byte String and Big Integer in hex; Date-Time in
ISO 8601; Interval and Long Integer in decimal.

Names are never typed in here: the tag, enumeration and mask tables come from
the project's one table, src/ttlv/ttlv_dict.def, parsed at import time. A
name is matched after folding (case, and every character that is not a letter
or a digit, are ignored), which is exactly the freedom the XML encoding takes
with the specification's names; the folding is checked collision-free per
enumeration (KmipDict.check()).

The enumeration an Enumeration value belongs to is the tag's enumeration in
the table; where the tag has none the value is resolved by context:
  - Attribute Value (1.x Attribute) -> the enumeration of the tag named by the
    sibling Attribute Name ("Cryptographic Algorithm" -> AES);
  - Attribute Reference / Tag (2.x) -> the tag table itself (its values are
    tags, KMIP 2.0 section 11.1 "Tag");
  - any other tag -> the enumeration that has the tag's own name (Unique
    Identifier, Data, ...).

Placeholders ($NOW, $NOW-3600, $UNIQUE_IDENTIFIER_0, $DATA_25, ...) are kept
as Placeholder values in the parsed tree (XNode); the runner resolves them
when it sends a request and binds them when it compares a response.
"""
import datetime
import os
import re
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DICT_PATH = os.path.join(ROOT, "src", "ttlv", "ttlv_dict.def")

# TTLV item types (KMIP 1.4 section 9.1.1.2), same numbering as kmipwire.
TYPES = {"Structure": 1, "Integer": 2, "LongInteger": 3, "BigInteger": 4, "Enumeration": 5,
         "Boolean": 6, "TextString": 7, "ByteString": 8, "DateTime": 9, "Interval": 10,
         "DateTimeExtended": 11}
TYPE_NAMES = {v: k for k, v in TYPES.items()}

_TAG_RE = re.compile(r'^TTLV_TAG\((\w+), (0x[0-9A-Fa-f]+), "([^"]*)", (\w+), '
                     r'KMIP_V\((\d+),(\d+)\), (0|KMIP_V\((\d+),(\d+)\)), (NULL|"([^"]*)")\)')
_ENUM_RE = re.compile(r'^TTLV_ENUM\((\w+), (\w+), (0x[0-9A-Fa-f]+), "([^"]*)", "([^"]*)", ')
_MASK_RE = re.compile(r'^TTLV_MASK\((\w+), (\w+), (0x[0-9A-Fa-f]+), "([^"]*)", "([^"]*)", ')


def fold(name):
    """The comparison key of a name: letters and digits, lower case."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def xml_value_name(name):
    """An enumeration value name as the XML files spell it: words joined,
    punctuation dropped, or '_' before a digit (SHA-256 -> SHA_256,
    Pre-Active -> PreActive, PKCS#1 -> PKCS_1)."""
    out = re.sub(r"[^0-9A-Za-z ]+(?=[0-9])", "_", name)
    out = re.sub(r"[^0-9A-Za-z_]", "", out)
    m = re.fullmatch(r"(\d+)([A-Za-z]\w*)", out)         # 3DES -> DES3
    return m.group(2) + m.group(1) if m else out


class Tag:
    __slots__ = ("sym", "value", "name", "xml", "type", "enum")

    def __init__(self, sym, value, name, typ, enum):
        self.sym, self.value, self.name, self.type, self.enum = sym, value, name, typ, enum
        self.xml = re.sub(r"[^0-9A-Za-z]", "", name)


class KmipDict:
    """Tags, enumerations and masks of ttlv_dict.def, by value and by folded name."""

    def __init__(self, path=DICT_PATH):
        self.tags = {}           # value -> Tag
        self.tag_by_key = {}     # fold(name) -> Tag
        self.enums = {}          # enumeration name -> {value: value name}
        self.enum_by_key = {}    # enumeration name -> {fold(value name): value}
        self.masks = {}          # mask name -> {bit: bit name}
        self.mask_by_key = {}    # mask name -> {fold(bit name): bit}
        self.collisions = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                self._line(line.strip())

    def _line(self, line):
        m = _TAG_RE.match(line)
        if m:
            t = Tag(m.group(1), int(m.group(2), 16), m.group(3), m.group(4), m.group(11))
            self.tags[t.value] = t
            self._put(self.tag_by_key, fold(t.name), t, "tag")
            return
        m = _ENUM_RE.match(line)
        if m:
            en, val, vname = m.group(4), int(m.group(3), 16), m.group(5)
            self.enums.setdefault(en, {}).setdefault(val, vname)
            self._put(self.enum_by_key.setdefault(en, {}), fold(vname), val, en)
            return
        m = _MASK_RE.match(line)
        if m:
            mn, bit, bname = m.group(4), int(m.group(3), 16), m.group(5)
            self.masks.setdefault(mn, {})[bit] = bname
            self._put(self.mask_by_key.setdefault(mn, {}), fold(bname), bit, mn)

    def _put(self, table, key, val, where):
        old = table.get(key)
        if old is not None and old is not val and old != val:
            self.collisions.append((where, key))
        table.setdefault(key, val)

    def check(self):
        return list(self.collisions)

    # -- lookups ----------------------------------------------------------
    def tag(self, xml_name):
        if xml_name.startswith("0x") or xml_name.startswith("0X"):
            v = int(xml_name, 16)
            return self.tags.get(v) or Tag("UNKNOWN", v, xml_name, "TTLV_ANY", None)
        t = self.tag_by_key.get(fold(xml_name))
        if t is None:
            raise KeyError("unknown tag %r" % xml_name)
        return t

    def tag_by_name(self, spec_name):
        return self.tag_by_key.get(fold(spec_name))

    def tag_name(self, value):
        t = self.tags.get(value)
        return t.xml if t else "0x%06X" % value

    def enum_for(self, tag, attr_name=None):
        """The enumeration an Enumeration item with this tag belongs to."""
        if tag.value in (0x42000B,) and attr_name:       # Attribute Value
            at = self.tag_by_name(attr_name)
            return self.enum_for(at) if at else None
        if tag.value in (0x42013B, 0x420138):            # Attribute Reference, Tag
            return "Tag"
        if tag.enum:
            return tag.enum
        if tag.name in self.enum_by_key:
            return tag.name
        return None

    def mask_for(self, tag, attr_name=None):
        if tag.value == 0x42000B and attr_name:
            tag = self.tag_by_name(attr_name) or tag
        return tag.name if tag.name in self.masks else None

    def enum_value(self, enum, text):
        if text.lower().startswith("0x"):
            return int(text, 16)
        if enum == "Tag":
            return self.tag(text).value
        if enum is None:
            raise KeyError("enumeration value %r for a tag with no enumeration" % text)
        table = self.enum_by_key.get(enum, {})
        v = table.get(fold(text))
        if v is None:
            # A name that starts with a digit is spelt with the digits
            # moved to the end in the XML files: 3DES -> DES3.
            m = re.fullmatch(r"([a-z_]+?)(\d+)", fold(text))
            v = table.get(m.group(2) + m.group(1)) if m else None
        if v is None:
            raise KeyError("unknown %s value %r" % (enum, text))
        return v

    def enum_name(self, enum, value):
        if enum == "Tag":
            return self.tag_name(value)
        n = self.enums.get(enum, {}).get(value)
        return xml_value_name(n) if n else "0x%08X" % value

    def mask_value(self, mask, text):
        total = 0
        for part in re.split(r"[\s|]+", text.strip()):
            if not part:
                continue
            if part.lower().startswith("0x"):
                total |= int(part, 16)
            elif re.fullmatch(r"-?\d+", part):
                total |= int(part)
            else:
                bit = self.mask_by_key.get(mask, {}).get(fold(part)) if mask else None
                if bit is None:
                    raise KeyError("unknown %s bit %r" % (mask, part))
                total |= bit
        return total


class Placeholder:
    """A $NAME value of the test cases, kept until the runner resolves it."""
    __slots__ = ("name", "offset")

    def __init__(self, text):
        m = re.fullmatch(r"\$NOW([+-]\d+)?", text)
        if m:
            self.name, self.offset = "NOW", int(m.group(1) or 0)
        else:
            self.name, self.offset = text[1:], 0

    @property
    def is_now(self):
        return self.name == "NOW"

    def __repr__(self):
        if self.is_now:
            return "$NOW%+d" % self.offset if self.offset else "$NOW"
        return "$" + self.name

    def __eq__(self, other):
        return isinstance(other, Placeholder) and (self.name, self.offset) == (other.name,
                                                                               other.offset)

    def __hash__(self):
        return hash((self.name, self.offset))


class XNode:
    """One parsed XML item: tag (int), type (int), value (python value,
    Placeholder, or list of XNode for a Structure), line for messages."""
    __slots__ = ("tag", "type", "value", "line")

    def __init__(self, tag, typ, value, line=0):
        self.tag, self.type, self.value, self.line = tag, typ, value, line

    def __repr__(self):
        return "XNode(0x%06X, %s, %r)" % (self.tag, TYPE_NAMES.get(self.type), self.value)


def parse_datetime(text):
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    d = datetime.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp())


def format_datetime(secs):
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S+00:00")


def _scalar(kd, tag, typ, text, attr_name):
    if text.startswith("$"):
        return Placeholder(text)
    if typ == TYPES["Integer"]:
        t = text.strip()
        if re.fullmatch(r"-?\d+", t):
            return int(t)
        if re.fullmatch(r"0[xX][0-9A-Fa-f]+", t):
            v = int(t, 16)
            return v - (1 << 32) if v >= 1 << 31 else v
        return kd.mask_value(kd.mask_for(tag, attr_name), t)
    if typ in (TYPES["LongInteger"], TYPES["Interval"]):
        t = text.strip()
        return int(t, 16) if t.lower().startswith("0x") else int(t)
    if typ == TYPES["BigInteger"]:
        t = text.strip()
        t = t[2:] if t.lower().startswith("0x") else t
        return bytes.fromhex(t if len(t) % 2 == 0 else "0" + t)
    if typ == TYPES["Enumeration"]:
        return kd.enum_value(kd.enum_for(tag, attr_name), text.strip())
    if typ == TYPES["Boolean"]:
        t = text.strip().lower()
        if t in ("true", "1"):
            return True
        if t in ("false", "0"):
            return False
        raise ValueError("bad Boolean %r" % text)
    if typ == TYPES["TextString"]:
        if tag.value == 0x42000A:
            # Attribute Name: the v1.0 files carry runs of spaces left by
            # their conversion from a document ("Cryptographic   Length").
            return " ".join(text.split())
        return text
    if typ == TYPES["ByteString"]:
        return bytes.fromhex(re.sub(r"\s+", "", text))
    if typ in (TYPES["DateTime"], TYPES["DateTimeExtended"]):
        t = text.strip()
        if t.lower().startswith("0x"):
            return int(t, 16)
        return parse_datetime(t)
    raise ValueError("unknown type %r" % typ)


def _attr_name_of(el):
    """The Attribute Name sibling text of an AttributeValue element's parent."""
    for sib in el:
        if fold(sib.tag) == "attributename":
            return " ".join(sib.get("value", "").split())
    return None


def convert(kd, el, attr_name=None):
    tag = kd.tag(el.tag)
    tname = el.get("type", "Structure")
    if tname not in TYPES:
        raise ValueError("unknown type %r on %s" % (tname, el.tag))
    typ = TYPES[tname]
    line = getattr(el, "sourceline", 0)
    if typ == TYPES["Structure"]:
        an = _attr_name_of(el)
        kids = [convert(kd, c, an if fold(c.tag) == "attributevalue" else None) for c in el]
        return XNode(tag.value, typ, kids, line)
    return XNode(tag.value, typ, _scalar(kd, tag, typ, el.get("value", ""), attr_name), line)


def load_case(kd, path):
    """The ordered list of (kind, XNode) of one test case file, kind is
    'request' or 'response'."""
    root = ET.parse(path).getroot()
    out = []
    for el in root.iter():
        k = fold(el.tag)
        if k == "requestmessage":
            out.append(("request", convert(kd, el)))
        elif k == "responsemessage":
            out.append(("response", convert(kd, el)))
    return out


def to_xml(kd, item, indent="", attr_name=None):
    """A kmipwire item (tag, type, value) in the KMIP XML encoding, for logs."""
    tag, typ, val = item
    name = kd.tag_name(tag)
    if typ == TYPES["Structure"]:
        an = None
        for c in val:
            if kd.tag_name(c[0]) == "AttributeName" and isinstance(c[2], str):
                an = c[2]
        inner = "".join(to_xml(kd, c, indent + "  ", an) for c in val)
        return "%s<%s>\n%s%s</%s>\n" % (indent, name, inner, indent, name)
    t = kd.tags.get(tag)
    if typ == TYPES["Enumeration"] and t is not None:
        en = kd.enum_for(t, attr_name)
        text = kd.enum_name(en, val) if en else "0x%08X" % val
    elif typ in (TYPES["ByteString"], TYPES["BigInteger"]):
        text = bytes(val).hex()
    elif typ == TYPES["DateTime"]:
        text = format_datetime(val)
    elif typ == TYPES["Boolean"]:
        text = "true" if val else "false"
    else:
        text = str(val)
    text = text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return '%s<%s type="%s" value="%s"/>\n' % (indent, name, TYPE_NAMES.get(typ, typ), text)
