#!/usr/bin/env python3
"""gen_dict.py - generate src/ttlv/ttlv_dict.def from the KMIP specifications.

Usage:  python3 src/ttlv/gen/gen_dict.py [SPEC_DIR] > src/ttlv/ttlv_dict.def
        python3 src/ttlv/gen/gen_dict.py --report [SPEC_DIR]   (diagnostics)

SPEC_DIR defaults to ../shared/spec relative to the repository root.

Where the data comes from (all from the OASIS texts of KMIP 1.0-1.4, 2.0, 2.1):
  - tags: table "Tag Values" (1.x, 9.1.3.1) and "Tag Enumeration" (2.x, 11.5x);
    since/until = first/last version whose table lists the value (a value shown
    as "(Reserved)" in 2.0 ends at 1.4; "deprecated" tags still count as
    defined);
  - value types: every "Object | Encoding" / "Item | Encoding" table of every
    version. A tag whose encoding differs between tables or versions, or is
    described as "Varies", "Any", "X or Y", becomes TTLV_ANY so that the
    decoder, which does not know the protocol version, never rejects a
    legitimate message. Tags no encoding table describes are resolved by the
    MANUAL_TYPES table below, each with its reason;
  - enumerations: the "Name | Value" tables of sections 9.1.3.2.x (1.x) and
    11.x (2.x); bit masks from 9.1.3.3.x (1.x) and 12.x (2.x).

The output is committed; nothing runs this at build time.
"""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from specparse import tables  # noqa: E402

VERSIONS = [
    ((1, 0), 'kmip-spec-1.0-os.txt'),
    ((1, 1), 'kmip-spec-v1.1-os.txt'),
    ((1, 2), 'kmip-spec-v1.2-os.txt'),
    ((1, 3), 'kmip-spec-v1.3-os.txt'),
    ((1, 4), 'kmip-spec-v1.4-os.txt'),
    ((2, 0), 'kmip-spec-v2.0-os.txt'),
    ((2, 1), 'kmip-spec-v2.1-os.txt'),
]
LAST = VERSIONS[-1][0]

T_STRUCT, T_INT, T_LONG, T_BIG, T_ENUM, T_BOOL, T_TEXT, T_BYTES, T_DT, T_IVL, T_DTX, T_ANY = (
    'TTLV_STRUCTURE', 'TTLV_INTEGER', 'TTLV_LONG_INTEGER', 'TTLV_BIG_INTEGER',
    'TTLV_ENUMERATION', 'TTLV_BOOLEAN', 'TTLV_TEXT_STRING', 'TTLV_BYTE_STRING',
    'TTLV_DATE_TIME', 'TTLV_INTERVAL', 'TTLV_DATE_TIME_EXT', 'TTLV_ANY')

# Tags that no encoding table of any version describes, or whose tables are
# wrong or misleading. Each entry: name -> (type, enumeration or None, reason).
MANUAL_TYPES = {
    'Attribute Value': (T_ANY, None, '2.1.1: "Varies, depending on attribute"'),
    'Credential Value': (T_ANY, None, '2.1.2: varies with the Credential Type'),
    'Key Material': (T_ANY, None, '2.1.4: Byte String or Structure by Key Format Type'),
    'Key Value': (T_ANY, None, '2.1.3: Byte String when wrapped, Structure otherwise'),
    'Extension Information': (T_STRUCT, None, '1.1 2.1.11 Extension Information structure'),
    'Server Information': (T_STRUCT, None, 'Query response: "Structure" whose contents are vendor-specific'),
    'Certificate Identifier': (T_STRUCT, None, '1.0 3.13 Certificate Identifier structure (deprecated)'),
    'Certificate Issuer': (T_STRUCT, None, '1.0 3.14 Certificate Issuer structure (deprecated)'),
    'Certificate Subject': (T_STRUCT, None, '1.0 3.15 Certificate Subject structure (deprecated)'),
    'Issuer': (T_TEXT, None, '1.0 3.13 Certificate Identifier: Issuer is a Text String'),
    'Serial Number': (T_TEXT, None, '1.0 3.13 Certificate Identifier: Serial Number is a Text String'),
    'Certificate Issuer Alternative Name': (T_TEXT, None, '1.0 3.14 Text String'),
    'Certificate Issuer Distinguished Name': (T_TEXT, None, '1.0 3.14 Text String'),
    'Certificate Subject Alternative Name': (T_TEXT, None, '1.0 3.15 Text String'),
    'Certificate Subject Distinguished Name': (T_TEXT, None, '1.0 3.15 Text String'),
    'Custom Attribute': (T_ANY, None, '1.x 3.39: any data type'),
    'Extension Enumeration': (T_INT, None, '2.x 2.1.11: Integer'),
    'Tag': (T_ENUM, 'Tag', '2.x: Enumeration whose values are tags'),
    'PKCS#11 Function': (T_ANY, None, '2.x 6.1.37: Enumeration, Integer or Text String'),
    'PKCS#11 Return Code': (T_ANY, None, '2.x 6.1.37: Enumeration, Integer'),
    'Object Group Member': (T_ENUM, 'Object Group Member', '1.1 9.1.3.2.33'),
    # 1.x appendix (non-normative) says Text String; every normative table
    # (2.1.5 Key Wrapping Data) says Structure.
    'MAC/Signature Key Information': (T_STRUCT, None, '2.1.5 Key Wrapping Data'),
    # Types given only in prose ("An Integer object that ...") or nowhere:
    'Offset Items': (T_INT, None, '1.3 4.9 Locate: "An Integer object"'),
    'Located Items': (T_INT, None, '1.3 4.9 Locate response: "An Integer object"'),
    'Client Registration Method': (T_ENUM, 'Client Registration Method', '1.3 4.25 Query'),
    'Key Wrap Type': (T_ENUM, 'Key Wrap Type', '1.4 4.11 Get: Key Wrap Type Enumeration'),
    'Comment': (T_TEXT, None, '1.4 3.47 (table mislabelled "Description")'),
    'Digested Data': (T_BYTES, None, '1.4 4.34 Sign: "(as a Byte String)"'),
    'Always Sensitive': (T_BOOL, None, '1.4 3.49 (table mislabelled "Sensitive")'),
    'Never Extractable': (T_BOOL, None, '1.4 3.51'),
    'Replace Existing': (T_BOOL, None, '1.4 4.15 Add Attribute... Boolean'),
    'Server Name': (T_TEXT, None, '2.0 Server Information (vendor strings)'),
    'Server Serial Number': (T_TEXT, None, '2.0 Server Information'),
    'Server Version': (T_TEXT, None, '2.0 Server Information'),
    'Server Load': (T_TEXT, None, '2.0 Server Information'),
    'Product Name': (T_TEXT, None, '2.0 Server Information'),
    'Build Level': (T_TEXT, None, '2.0 Server Information'),
    'Build Date': (T_TEXT, None, '2.0 Server Information'),
    'Cluster Info': (T_TEXT, None, '2.0 Server Information'),
    'Alternate Failover Endpoints': (T_TEXT, None, '2.0 Server Information'),
    'Certificate Request Unique Identifier': (T_TEXT, None, '2.0 6.1.6 Certify'),
    'NIST Key Type': (T_ENUM, 'NIST Key Type', '2.0 4.x NIST Key Type attribute'),
    'Request Count': (T_INT, None, '2.0 Login: "The integer count"'),
    'Endpoint Role': (T_ENUM, 'Endpoint Role', '2.0 6.1.x Set Endpoint Role'),
    'Ephemeral': (T_BOOL, None, '2.0 Request Header: "Boolean."'),
    'Server Hashed Password': (T_BYTES, None, '2.0 Response Header: Hash(...)'),
    'Adjustment Type': (T_ENUM, 'Adjustment Type', '2.0 6.1.1 Adjust Attribute'),
    'Adjustment Value': (T_ANY, None, '2.0 6.1.1: type of the adjusted attribute'),
    'Interop Identifier': (T_TEXT, None, '2.0 6.1.x Interop'),
    'Common Protection Storage Masks': (T_STRUCT, None, '2.0 Create Key Pair'),
    'Private Protection Storage Masks': (T_STRUCT, None, '2.0 Create Key Pair'),
    'Public Protection Storage Masks': (T_STRUCT, None, '2.0 Create Key Pair'),
    # 2.x tables list the wrapper with the same name as a Structure holding
    # itself as a Byte/Text String: the spec is self-contradictory.
    'PKCS#11 Interface': (T_ANY, None, '2.0 7.22 contradictory'),
    'PKCS#11 Input Parameters': (T_ANY, None, '2.0 7.21 contradictory'),
    'PKCS#11 Output Parameters': (T_ANY, None, '2.0 7.23 contradictory'),
}

# Enumeration-typed tags whose enumeration is not named like the tag.
ENUM_OF_TAG = {
    'Key Wrap Type': 'Key Wrap Type',
    'Item Type': 'Item Type',
    'Extension Type': None,
    'Rotate Name Type': 'Rotate Name Type',
    'Mask Generator': 'Mask Generator',
    'Object Group Member': 'Object Group Member',
    'Destroy Action': 'Destroy Action',
    'Profile Name': 'Profile Name',
    'Revocation Reason Code': 'Revocation Reason Code',
    'Validity Indicator': 'Validity Indicator',
    'Wrapping Method': 'Wrapping Method',
    'Recommended Curve': 'Recommended Curve',
    'Batch Error Continuation Option': 'Batch Error Continuation Option',
}

# Section headings that do not give the enumeration's name directly.
ENUM_NAME_FIX = {
    'Recommended Curve Enumeration for ECDSA, ECDH, and ECMQV': 'Recommended Curve',
    'Profile Name Enumeration': 'Profile Name',
    'NIST Key Type Enumeration': 'NIST Key Type',
}

# Typos of one version that a later version repeats; the older spelling is
# the established one (and what PyKMIP and the test vectors use).
VALUE_NAME_FIX = {
    ('Mask Generator', 'MFG1'): 'MGF1',           # 2.x typo of 1.4's MGF1
    ('Certificate Type', '(PGP'): 'PGP',          # 1.2 conversion artefact
}

VALUE_RE = re.compile(r'^(?:0x)?([0-9A-Fa-f]{8})\s*(?:\(deprecated[^)]*\))?$')
TAGVAL_RE = re.compile(r'^(?:0x)?([0-9A-Fa-f]{6})(?:\s*\(deprecated[^)]*\))?$')


def sym(s):
    """The naming rule: non-alphanumerics become '_', runs collapsed, ends
    trimmed, upper case; a leading digit gets a '_' prefix."""
    s = re.sub(r'[^0-9A-Za-z]+', '_', s).strip('_').upper()
    if s and s[0].isdigit():
        s = '_' + s
    return s


def enc_type(enc):
    """Map an encoding cell to (type, see-section) or None when the cell is
    not an encoding (misparsed rule tables)."""
    e = enc.strip()
    see = None
    m = re.search(r'see\s+(\d+(?:\.\d+)+)', e)
    if m:
        see = m.group(1)
    low = e.lower()
    if low.startswith('varies') or low.startswith('any') or ' or ' in low \
            or '/' in e or '|' in e or ';' in e:
        return T_ANY, None
    base = re.split(r'[,(:]', low)[0].strip()
    table = {
        'structure': T_STRUCT, 'attribute object': T_STRUCT,
        'object data structure': T_STRUCT, 'rng parameters': T_STRUCT,
        'text string': T_TEXT, 'textstring': T_TEXT,
        'byte string': T_BYTES, 'bytestring': T_BYTES,
        'integer': T_INT, 'long integer': T_LONG, 'big integer': T_BIG,
        'enumeration': T_ENUM, 'boolean': T_BOOL,
        'date-time': T_DT, 'date time': T_DT,
        'date-time extended': T_DTX, 'date time extended': T_DTX,
        'interval': T_IVL,
    }
    if base not in table:
        return None
    return table[base], see


class Version:
    def __init__(self, ver, path):
        self.ver = ver
        self.tags = {}             # value -> name
        self.enums = collections.OrderedDict()  # enum name -> {value: name}
        self.masks = collections.OrderedDict()
        self.sections = {}         # "9.1.3.2.11" -> enumeration name
        self.encodings = []        # (item name, type, see, line)
        self.skipped = []          # value rows that could not be read
        ts, _ = tables(path)
        for t in ts:
            self._scan(t)

    def _scan(self, t):
        if t.rows and t.rows[0] == ['Tag']:
            for r in t.rows:
                m = TAGVAL_RE.match(r[1]) if len(r) == 2 else None
                if m and r[0] not in ('(Reserved)', 'Reserved'):
                    self.tags[int(m.group(1), 16)] = r[0]
            return
        if any(r[:2] == ['Name', 'Value'] for r in t.rows[:3]):
            self._scan_values(t)
            return
        hdr = None
        for r in t.rows:
            if len(r) >= 2 and r[0] in ('Object', 'Item') and r[1] == 'Encoding':
                hdr = 1
                continue
            if len(r) >= 3 and r[:3] == ['Object', 'Defined', 'Type']:
                hdr = 2  # 1.x Appendix "Tag Cross-reference" (not normative)
                continue
            if hdr and len(r) > hdr and r[0]:
                et = enc_type(r[hdr]) if r[hdr] != '*' else (T_ANY, None)
                if et:
                    self.encodings.append((r[0], et[0], et[1], t.lineno))

    def _scan_values(self, t):
        sec, head = t.section or '', t.heading or ''
        is_enum = (sec.startswith('9.1.3.2.') or (sec.startswith('11.') and self.ver >= (2, 0)))
        is_mask = (sec.startswith('9.1.3.3.') or (sec.startswith('12.') and self.ver >= (2, 0)))
        if not (is_enum or is_mask):
            return
        name = ENUM_NAME_FIX.get(head, re.sub(r'\s+Enumeration.*$', '', head))
        if name == 'Tag':
            return  # the 2.x tag table itself
        self.sections[sec] = name
        dest = self.enums if is_enum else self.masks
        vals = dest.setdefault(name, {})
        for r in t.rows:
            if len(r) < 2:
                continue
            m = VALUE_RE.match(r[1].strip())
            if not m or r[0] in ('(Reserved)', 'Reserved', 'Extensions', ''):
                if r[0] not in ('Name', '(Reserved)', 'Reserved', 'Extensions') and \
                        not re.match(r'^[0-9A-Fa-f]{8}\s*-\s*[0-9A-Fa-f]{8}$', r[1]):
                    self.skipped.append((name, r))
                continue
            vals[int(m.group(1), 16)] = VALUE_NAME_FIX.get((name, r[0]), r[0])


def vstr(v):
    return 'KMIP_V(%d,%d)' % v


ALL_VERSIONS = [v for v, _ in VERSIONS]
GAPS = []


def span(present, what=''):
    """present: ordered list of versions defining the thing -> since, until.
    A thing missing from a version between its first and last is recorded
    in GAPS (reported by --report; none exist in 1.0-2.1)."""
    i, j = ALL_VERSIONS.index(present[0]), ALL_VERSIONS.index(present[-1])
    if list(present) != ALL_VERSIONS[i:j + 1]:
        GAPS.append('%s: %s' % (what, present))
    since = present[0]
    until = present[-1]
    return vstr(since), ('0' if until == LAST else vstr(until))


def load(spec_dir):
    return [Version(v, os.path.join(spec_dir, f)) for v, f in VERSIONS]


def build_tags(vs, report):
    by_val = collections.OrderedDict()
    for v in vs:
        for val, name in v.tags.items():
            by_val.setdefault(val, []).append((v.ver, name))
    types = collections.defaultdict(set)
    sees = collections.defaultdict(set)
    for v in vs:
        for name, ty, see, _ in v.encodings:
            types[name].add(ty)
            if ty == T_ENUM and see and see in v.sections:
                sees[name].add(v.sections[see])
    enum_names = set()
    for v in vs:
        enum_names.update(v.enums)
        enum_names.update(v.masks)
    out = []
    for val in sorted(by_val):
        hist = by_val[val]
        name = hist[-1][1]
        if name in MANUAL_TYPES:
            ty, en, _ = MANUAL_TYPES[name]
        else:
            ts = types.get(name, set())
            if len(ts) == 1:
                ty = next(iter(ts))
            elif len(ts) > 1:
                ty = T_ANY
                report.append('type conflict %s: %s -> TTLV_ANY' % (name, sorted(ts)))
            else:
                ty = T_ANY
                report.append('NO TYPE for %s (0x%06X) -> TTLV_ANY' % (name, val))
            en = None
            if ty == T_ENUM:
                if name in ENUM_OF_TAG:
                    en = ENUM_OF_TAG[name]
                elif name in enum_names:
                    en = name
                elif len(sees[name]) == 1:
                    en = next(iter(sees[name]))
                else:
                    report.append('NO ENUM for %s %s' % (name, sorted(sees[name])))
            if en and sees[name] and en not in sees[name]:
                report.append('enum mismatch %s: %s vs %s' % (name, en, sorted(sees[name])))
        since, until = span([h[0] for h in hist], name)
        out.append((val, name, ty, since, until, en))
    return out


def build_values(vs, attr, report):
    """attr: 'enums' or 'masks' -> list of (enum, value, name, since, until)."""
    hist = collections.OrderedDict()
    for v in vs:
        for en, vals in getattr(v, attr).items():
            for val, name in vals.items():
                hist.setdefault((en, val), []).append((v.ver, name))
    out = []
    for (en, val) in sorted(hist, key=lambda k: (k[0], k[1])):
        h = hist[(en, val)]
        names = [n for _, n in h]
        if len(set(names)) > 1:
            report.append('renamed %s 0x%08X: %s' % (en, val, names))
        since, until = span([x[0] for x in h], '%s/%s' % (en, names[-1]))
        out.append((en, val, names[-1], since, until))
    return out


def cstr(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def emit(tags, enums, masks, w):
    w(HEADER)
    w('\n/* ---- tags (%d) ---- */\n' % len(tags))
    seen = set()
    for val, name, ty, since, until, en in tags:
        s = sym(name)
        assert s not in seen, s
        seen.add(s)
        w('TTLV_TAG(%s, 0x%06X, %s, %s, %s, %s, %s)\n' % (
            s, val, cstr(name), ty, since, until, cstr(en) if en else 'NULL'))
    for title, rows, macro in (('enumerations', enums, 'TTLV_ENUM'), ('bit masks', masks, 'TTLV_MASK')):
        w('\n/* ---- %s (%d values) ---- */\n' % (title, len(rows)))
        last = None
        for en, val, name, since, until in rows:
            if en != last:
                w('\n')
                last = en
            s = sym(en) + '_' + sym(name)
            assert s not in seen, s
            seen.add(s)
            w('%s(%s, %s, 0x%08X, %s, %s, %s, %s)\n' % (
                macro, sym(en), sym(name), val, cstr(en), cstr(name), since, until))


HEADER = '''/*
 * ttlv_dict.def - THE table of KMIP tags, enumeration values and bit masks,
 * KMIP 1.0-1.4 and 2.0-2.1. GENERATED by src/ttlv/gen/gen_dict.py from the
 * OASIS specification texts; edit the generator (or its MANUAL_TYPES
 * table), not this file.
 *
 * X-macro rows (the includer defines the macros it needs):
 *   TTLV_TAG(SYM, tag, "Spec Name", type, since, until, "Enumeration" | NULL)
 *   TTLV_ENUM(ENUMSYM, VALSYM, value, "Enumeration", "Value Name", since, until)
 *   TTLV_MASK(MASKSYM, BITSYM, bit, "Mask Name", "Bit Name", since, until)
 * since/until are KMIP_V(major,minor); until 0 = still defined in 2.1.
 * A tag or value last listed in 1.4 (shown "(Reserved)" in 2.0) has until
 * KMIP_V(1,4). Tags 1.1 marks "deprecated" stay defined until the version
 * that removes them.
 *
 * Symbol naming rule (a contract other modules rely on), applied
 * mechanically to the specification's names:
 *   - every run of characters other than [0-9A-Za-z] becomes one '_',
 *     leading/trailing '_' are dropped, letters are upper-cased;
 *   - a component that then starts with a digit gets a '_' prefix;
 *   - tags:   KMIP_TAG_<TAG>             e.g. KMIP_TAG_UNIQUE_BATCH_ITEM_ID
 *   - values: KMIP_<ENUMERATION>_<VALUE> e.g. KMIP_OPERATION_GET_ATTRIBUTES,
 *             KMIP_KEY_FORMAT_TYPE_PKCS_1, KMIP_CRYPTOGRAPHIC_ALGORITHM__3DES
 *   - masks:  KMIP_<MASK>_<BIT>          e.g. KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT
 *
 * Type: the tag's value type, or TTLV_ANY where it legitimately varies
 * (by attribute, key format, credential type, or between protocol versions:
 * the decoder does not know the version, so a tag whose type differs across
 * versions is TTLV_ANY; e.g. Unique Identifier is a Text String in 1.x but
 * "Text String, Enumeration or Integer" in 2.x).
 */'''


def main(argv):
    report_mode = '--report' in argv
    args = [a for a in argv[1:] if not a.startswith('--')]
    here = os.path.dirname(os.path.abspath(__file__))
    spec_dir = args[0] if args else os.path.join(here, '..', '..', '..', '..', 'shared', 'spec')
    vs = load(spec_dir)
    report = []
    tags = build_tags(vs, report)
    enums = build_values(vs, 'enums', report)
    masks = build_values(vs, 'masks', report)
    if report_mode:
        for v in vs:
            print('%d.%d: %d tags, %d enums, %d masks, %d encodings' % (
                v.ver + (len(v.tags), len(v.enums), len(v.masks), len(v.encodings))))
            for sk in v.skipped:
                print('   skipped value row', sk)
        print('\n'.join(report))
        print('\n'.join('gap ' + g for g in GAPS))
        return 0
    emit(tags, enums, masks, sys.stdout.write)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
