"""Compare a live KMIP response with the expected one of an OASIS test case.

Design note
-----------
The expected side is an XNode tree (kmipxml.py) that may hold placeholders,
the live side a kmipwire item (tag, type, value). compare() walks both and
returns the first difference as Diff(path, expected, got), or None. Tags,
types, structure and values must match, with these tolerances, each one a
named rule (TOLERANCES documents them; the README lists them too):

  now         $NOW[+-n] matches a Date-Time within NOW_SLACK seconds of the
              time the response arrived (+-n).
  recorded-date
              a literal Date-Time of the recording (v1.0 files: the 2012/2013
              clock of the reference server) matches any Date-Time, unless the
              same literal appears in a request of the file (the client chose
              it): then it must be equal.
  bind        an unbound $NAME placeholder ($UNIQUE_IDENTIFIER_n, $DATA_n,
              $IV_COUNTER_NONCE ...) binds to the value received, a bound one
              must be equal to it; requests then use the bound value.
  version-echo
              the response's Protocol Version is the request's (KMIP 1.4
              section 6.1), not the recording's (run_oasis.echo_version).
  header      Time Stamp is checked by "now"/"recorded-date"; Server
              Correlation Value is free (the server may send one or not).
  result-message
              Result Message is free text: its presence and wording are not
              compared (Result Status and Result Reason are, exactly).
  failed-payload
              a Batch Item whose Result Status is not Success: the payload is
              not compared (the spec does not define one).
  server-info Server Information and Vendor Identification content is free.
  generated   for an object the server generated (Create, Create Key Pair,
              Re-key, Derive Key ... bound its identifier), Key Material and
              Digest Value bytes (same length), any Big Integer, and the Key
              Format Type of a Digest (KMIP 1.4 section 3.17: "the server MAY
              use any Key Format Type" for objects it did not receive) are
              random; so are the outputs of Encrypt, Sign and MAC with such a
              key (run_oasis.random_fields lists the cases).
  random-output
              outputs random by nature: Encrypt with an asymmetric key (OAEP,
              PKCS#1 v1.5 padding) or with a server-chosen IV (Data, IV,
              tag), Sign with an asymmetric key (PSS, ECDSA), RNG Retrieve.
  unreplayable
              Decrypt, with a key the server generated, of a ciphertext the
              recording made with the reference server's key: the plaintext
              is noise (CS-BC-M-2-*); only the status is compared.
  server-choice
              RNG Seed's Data Length (how much seed the server took) is the
              server's choice (KMIP 1.4 section 4.36).
  chained     a case that names another case of its directory (SASED-M-3
              locates SASED-M-2's group, TL-M-3 locates TL-M-2's key) runs
              right after it on the same server (run_oasis.plan).
  substitute  a random output that differs is remembered: the recorded bytes
              are replaced by the live ones wherever they appear later, in a
              request (Decrypt of the recorded ciphertext, Signature Verify of
              the recorded signature) or an expected response.
  unbound-fallback
              a request placeholder no response bound ($MAC_DATA in
              CS-AC-M-6-*) takes the last value received for the tag of that
              name.
  interop     Interop (the test-harness operation of KMIP 2.1 section 6.1.26,
              which "SHALL NOT be available in a production server") may be
              refused with Operation Not Supported.
  index-zero  a 1.x Attribute Index of 0 equals an absent one (KMIP 1.4
              section 2.1.1: "not specified ... SHALL be assumed to be 0").
  unordered   the children of Attributes (2.x), Common/Private/Public Key
              Attributes and of a Get Attributes / Get Attribute List payload,
              and the Attribute items of any structure, are compared as a
              multiset (KMIP does not order attributes).
  optional-attr
              attributes the spec says need not always have a value
              (OPTIONAL_ATTRS_1X/2X: Lease Time, Original Creation Date ...)
              may be missing from, or added to, an attribute list or a Get
              Attribute List answer.
  query-lists Query: the Operation / Object Type lists of the reference
              server describe *its* implementation; the live list must hold
              the ones the file's own requests use and succeed with
              (Context.query_required), extras are fine.
"""
import kmipxml
from kmipxml import Placeholder, TYPES

NOW_SLACK = 300

TOLERANCES = ("now", "recorded-date", "bind", "version-echo", "header", "result-message",
              "failed-payload", "server-info", "generated", "random-output", "unreplayable",
              "server-choice", "chained", "substitute", "unbound-fallback", "interop",
              "index-zero", "unordered", "optional-attr", "query-lists")

GENERATING_OPS = {"Create", "CreateKeyPair", "ReKey", "ReKeyKeyPair", "DeriveKey", "Certify",
                  "ReCertify", "CreateSplitKey", "JoinSplitKey"}

# Attributes whose table says "SHALL always have a value: No" (KMIP 1.4
# section 3, KMIP 2.1 section 4): the reference server of the recordings
# kept them, another server need not. Every other attribute is compared.
OPTIONAL_ATTRS_1X = {"LeaseTime", "OriginalCreationDate", "RandomNumberGenerator",
                     "KeyValueLocation", "KeyValuePresent", "Comment", "OperationPolicyName",
                     "Fresh"}
OPTIONAL_ATTRS_2X = {"LeaseTime", "OriginalCreationDate", "RandomNumberGenerator",
                     "KeyValueLocation", "KeyValuePresent", "Comment", "ProtectionLevel",
                     "ProtectionPeriod", "QuantumSafe"}

UNORDERED_STRUCTS = {"Attributes", "CommonAttributes", "PrivateKeyAttributes",
                     "PublicKeyAttributes"}
FREE_STRUCTS = {"ServerInformation"}
FREE_VALUES = {"VendorIdentification", "ServerCorrelationValue"}
# Same length required when random (a key of the size asked for).
SAME_LENGTH = {"KeyMaterial", "DigestValue"}
ASYMMETRIC = {"RSA", "DSA", "ECDSA", "ECDH", "ECMQV", "EC", "Ed25519", "Ed448"}


class Diff:
    def __init__(self, path, expected, got, rule=None):
        self.path, self.expected, self.got, self.rule = path, expected, got, rule

    def as_dict(self):
        return {"path": self.path, "expected": self.expected, "got": self.got}

    def __str__(self):
        return "%s: expected %s, got %s" % (self.path, self.expected, self.got)


class Context:
    """What a comparison knows about the case so far."""

    def __init__(self, kd, req_dates):
        self.kd = kd
        self.bindings = {}          # placeholder name -> (type, value)
        self.generated = set()      # values of identifiers of generated objects
        self.req_dates = req_dates  # literal Date-Times the requests carry
        self.now = 0
        self.random = set()         # tag names random in the current batch item
        self.subst = {}             # recorded random bytes -> the live ones
        self.last = {}              # folded tag name -> last value received
        self.alg_of = {}            # identifier -> Cryptographic Algorithm name
        self.used = set()           # "rule:detail" of the tolerances applied
        self.query_required = set()  # operations / object types used by the file
        self.optional_attrs = OPTIONAL_ATTRS_2X

    def resolve(self, ph):
        """The value a request placeholder stands for."""
        if ph.is_now:
            return self.now + ph.offset
        if ph.name in self.bindings:
            return self.bindings[ph.name][1]
        # unbound-fallback: $MAC_DATA in CS-AC-M-6-* is bound by no
        # response (the MAC response carries a literal): use the last MAC
        # Data received.
        key = kmipxml.fold(ph.name.rstrip("0123456789_"))
        if key in self.last:
            self.used.add("unbound-fallback:" + ph.name)
            return self.last[key]
        raise LookupError("placeholder $%s is not bound by an earlier response" % ph.name)


# ------------------------------------------------------------ rendering
def render(kd, tag, typ, val):
    if isinstance(val, Placeholder):
        return repr(val)
    if typ == TYPES["Structure"]:
        return "%s{%d items}" % (kd.tag_name(tag), len(val))
    if typ == TYPES["Enumeration"]:
        t = kd.tags.get(tag)
        en = kd.enum_for(t) if t else None
        return "%s=%s" % (kd.tag_name(tag), kd.enum_name(en, val) if en else "0x%08X" % val)
    if typ in (TYPES["ByteString"], TYPES["BigInteger"]):
        h = bytes(val).hex()
        return "%s=%s%s" % (kd.tag_name(tag), h[:64], "..(%d bytes)" % len(val) if len(h) > 64
                            else "")
    if typ in (TYPES["DateTime"],):
        return "%s=%s" % (kd.tag_name(tag), kmipxml.format_datetime(val))
    return "%s=%r" % (kd.tag_name(tag), val)


def rx(kd, x):
    return render(kd, x.tag, x.type, x.value)


def rg(kd, g):
    return render(kd, g[0], g[1], g[2])


def _bigint_norm(b):
    b = bytes(b).lstrip(b"\0")
    return b


# ------------------------------------------------------------ scalars
def _scalar(ctx, x, g, path):
    kd, name = ctx.kd, ctx.kd.tag_name(x.tag)
    v = x.value
    if isinstance(v, Placeholder):
        if v.is_now:
            want = ctx.now + v.offset
            if abs(g[2] - want) > NOW_SLACK:
                return Diff(path, repr(v) + " (%s)" % kmipxml.format_datetime(want), rg(kd, g))
            return None
        bound = ctx.bindings.get(v.name)
        if bound is None:
            ctx.bindings[v.name] = (g[1], g[2])
            return None
        if bound[1] != g[2]:
            return Diff(path, "%r = %s" % (v, render(kd, x.tag, bound[0], bound[1])), rg(kd, g))
        return None
    if name in FREE_VALUES:
        return None
    if x.type in (TYPES["DateTime"], TYPES["DateTimeExtended"]):
        if v not in ctx.req_dates:
            ctx.used.add("recorded-date:" + name)
            return None
    if x.type == TYPES["ByteString"] and v in ctx.subst:
        v = ctx.subst[v]            # a random value recorded earlier
    if name in ctx.random or (x.type == TYPES["BigInteger"] and "BigInteger" in ctx.random) or (
            name == "KeyFormatType" and "DigestKeyFormat" in ctx.random and (
                "/Digest/" in path or path.endswith("/AttributeValue/KeyFormatType"))):
        if name in SAME_LENGTH and len(g[2]) != len(v):
            return Diff(path, "%d random bytes" % len(v), rg(kd, g))
        if x.type == TYPES["ByteString"] and v != g[2]:
            ctx.subst[v] = g[2]
        if v != g[2]:
            ctx.used.add("random:" + name)
        return None
    if x.type == TYPES["BigInteger"]:
        ok = _bigint_norm(v) == _bigint_norm(g[2])
    else:
        ok = v == g[2]
    return None if ok else Diff(path, rx(kd, x), rg(kd, g))


# ------------------------------------------------------------ structures
def compare(ctx, x, g, path):
    kd = ctx.kd
    name = kd.tag_name(x.tag)
    here = path + "/" + name
    if g[0] != x.tag:
        return Diff(path, rx(kd, x), rg(kd, g))
    if g[1] != x.type:
        return Diff(here, "type %s" % kmipxml.TYPE_NAMES.get(x.type),
                    "type %s (%s)" % (kmipxml.TYPE_NAMES.get(g[1], g[1]), rg(kd, g)))
    if x.type != TYPES["Structure"]:
        return _scalar(ctx, x, g, here)
    if name == "Attribute":
        # KMIP 1.4 section 2.1.1: an absent Attribute Index is 0.
        x = kmipxml.XNode(x.tag, x.type, [c for c in x.value if not _index0(kd, c.tag, c.value)])
        g = (g[0], g[1], [c for c in g[2] if not _index0(kd, c[0], c[2])])
    if name in FREE_STRUCTS:
        return None
    if name == "BatchItem":
        return _batch_item(ctx, x, g, here)
    if name == "ResponseHeader":
        return _header(ctx, x, g, here)
    if name in UNORDERED_STRUCTS:
        return _unordered(ctx, x.value, g[2], here, optional=True)
    return _ordered(ctx, x.value, g[2], here)


def _index0(kd, tag, val):
    return kd.tag_name(tag) == "AttributeIndex" and val == 0


def _ordered(ctx, xs, gs, path):
    """Children in order; a run of Attribute items is matched unordered."""
    kd = ctx.kd
    i = j = 0
    while i < len(xs) and j < len(gs):
        if kd.tag_name(xs[i].tag) == "Attribute":
            i2, j2 = i, j
            while i2 < len(xs) and xs[i2].tag == xs[i].tag:
                i2 += 1
            while j2 < len(gs) and gs[j2][0] == xs[i].tag:
                j2 += 1
            d = _unordered(ctx, xs[i:i2], gs[j:j2], path, optional=True)
            if d:
                return d
            i, j = i2, j2
            continue
        d = compare(ctx, xs[i], gs[j], path)
        if d:
            return d
        i += 1
        j += 1
    if i < len(xs):
        return Diff(path + "/" + kd.tag_name(xs[i].tag), rx(kd, xs[i]), "nothing")
    if j < len(gs):
        return Diff(path + "/" + kd.tag_name(gs[j][0]), "nothing", rg(kd, gs[j]))
    return None


def attr_key(kd, tag, typ, val):
    """The attribute a list element stands for: its tag name (2.x), the
    Attribute Name of a 1.x Attribute, the referenced tag of an Attribute
    Reference; None when the element is not an attribute."""
    name = kd.tag_name(tag)
    if name == "Attribute" and typ == TYPES["Structure"]:
        for c in val:
            ct, cv = (c.tag, c.value) if isinstance(c, kmipxml.XNode) else (c[0], c[2])
            if kd.tag_name(ct) == "AttributeName" and isinstance(cv, str):
                return kmipxml.re.sub(r"[^0-9A-Za-z]", "", cv)
        return None
    if name == "AttributeReference" and typ == TYPES["Enumeration"]:
        return kd.tag_name(val) if isinstance(val, int) else None
    if name == "AttributeName" and isinstance(val, str):
        return kmipxml.re.sub(r"[^0-9A-Za-z]", "", val)
    return name


def _try(ctx, x, g, path):
    saved = dict(ctx.bindings)
    d = compare(ctx, x, g, path)
    if d:
        ctx.bindings = saved
    return d


def _unordered(ctx, xs, gs, path, optional):
    """Multiset match; the Diff names the first unmatched element and lists
    every attribute missing or unexpected (for the report)."""
    kd = ctx.kd
    left = list(gs)
    first, missing = None, []
    for x in xs:
        key = attr_key(kd, x.tag, x.type, x.value)
        hit = next((k for k, g in enumerate(left)
                    if g[0] == x.tag and _try(ctx, x, g, path) is None), None)
        if hit is not None:
            del left[hit]
            continue
        same = [g for g in left if g[0] == x.tag and attr_key(kd, *g) == key]
        if same:
            if first is None:
                saved = dict(ctx.bindings)
                first = compare(ctx, x, same[0], path)      # the inner difference
                ctx.bindings = saved
            left.remove(same[0])
            continue
        if optional and key in ctx.optional_attrs:
            ctx.used.add("optional-attr:-" + key)
            continue
        missing.append(key)
        if first is None:
            first = Diff(path + "/" + kd.tag_name(x.tag), rx(kd, x) + _attr_suffix(kd, x),
                         "nothing matching")
    extra = []
    for g in left:
        if optional and attr_key(kd, *g) in ctx.optional_attrs:
            ctx.used.add("optional-attr:+" + attr_key(kd, *g))
            continue
        extra.append(attr_key(kd, *g))
        if first is None:
            first = Diff(path + "/" + kd.tag_name(g[0]), "nothing",
                         rg(kd, g) + _attr_suffix_g(kd, g))
    if first is not None and (len(missing) + len(extra) > 1):
        first.got += " {missing: %s; unexpected: %s}" % (", ".join(missing) or "-",
                                                          ", ".join(extra) or "-")
    return first


def _attr_suffix(kd, x):
    k = attr_key(kd, x.tag, x.type, x.value)
    return " (%s)" % k if k and k != kd.tag_name(x.tag) else ""


def _attr_suffix_g(kd, g):
    k = attr_key(kd, *g)
    return " (%s)" % k if k and k != kd.tag_name(g[0]) else ""


def _by_name(kd, items, is_x):
    out = {}
    for it in items:
        out.setdefault(kd.tag_name(it.tag if is_x else it[0]), []).append(it)
    return out


def _header(ctx, x, g, path):
    kd = ctx.kd
    xs = [c for c in x.value if kd.tag_name(c.tag) != "ServerCorrelationValue"]
    gs = [c for c in g[2] if kd.tag_name(c[0]) != "ServerCorrelationValue"]
    return _ordered(ctx, xs, gs, path)


def _batch_item(ctx, x, g, path):
    kd = ctx.kd
    xb, gb = _by_name(kd, x.value, True), _by_name(kd, g[2], False)
    if _interop_refused(kd, xb, gb):
        ctx.used.add("interop")
        return None
    for key in ("Operation", "UniqueBatchItemID", "ResultStatus", "ResultReason"):
        xe, ge = xb.get(key, []), gb.get(key, [])
        d = None
        if len(xe) != len(ge):
            d = Diff(path + "/" + key, rx(kd, xe[0]) if xe else "nothing",
                     rg(kd, ge[0]) if ge else "nothing")
        for a, b in zip(xe, ge):
            d = d or compare(ctx, a, b, path)
        if d:
            d.got += _outcome(kd, gb)
            return d
    status = xb["ResultStatus"][0].value if "ResultStatus" in xb else 0
    if status != 0:
        return None                                   # failed-payload
    xp, gp = xb.get("ResponsePayload", []), gb.get("ResponsePayload", [])
    if xp and not gp:
        if not xp[0].value:
            return None          # an empty payload may be omitted
        return Diff(path + "/ResponsePayload", rx(kd, xp[0]), "nothing")
    if gp and not xp:
        return Diff(path + "/ResponsePayload", "nothing", rg(kd, gp[0]))
    if not xp:
        return None
    op = kd.enum_name("Operation", xb["Operation"][0].value) if "Operation" in xb else ""
    return _payload(ctx, op, xp[0], gp[0], path + "/ResponsePayload")


def _interop_refused(kd, xb, gb):
    """interop: KMIP 2.1 section 6.1.26, Interop "SHALL NOT be available in a
    production server": Operation Not Supported is an accepted answer."""
    ops = xb.get("Operation", [])
    if not ops or kd.enum_name("Operation", ops[0].value) != "Interop":
        return False
    reasons = [g[2] for g in gb.get("ResultReason", [])]
    return reasons == [kd.enum_value("Result Reason", "Operation Not Supported")]


def _outcome(kd, gb):
    """' (Reason: message)' of a live batch item, for the report."""
    parts = [rg(kd, gb[k][0]) for k in ("ResultReason", "ResultMessage") if k in gb]
    return " [%s]" % "; ".join(parts) if parts else ""


def _payload(ctx, op, x, g, path):
    if op in ("GetAttributes", "GetAttributeList"):
        return _unordered(ctx, x.value, g[2], path, optional=True)
    if op == "Query":
        return _query(ctx, x, g, path)
    return _ordered(ctx, x.value, g[2], path)


def _query(ctx, x, g, path):
    kd = ctx.kd
    lists = ("Operation", "ObjectType")
    xs = [c for c in x.value if kd.tag_name(c.tag) not in lists]
    gs = [c for c in g[2] if kd.tag_name(c[0]) not in lists]
    for lname in lists:
        want = {c.value for c in x.value if kd.tag_name(c.tag) == lname}
        have = {c[2] for c in g[2] if kd.tag_name(c[0]) == lname}
        need = {v for (n, v) in ctx.query_required if n == lname} & want
        if want and not have:
            return Diff(path + "/" + lname, "a non-empty list", "nothing")
        missing = need - have
        if missing:
            en = "Operation" if lname == "Operation" else "Object Type"
            return Diff(path + "/" + lname, "list with %s" % ", ".join(
                sorted(kd.enum_name(en, v) for v in missing)), "list without them")
    return _unordered(ctx, xs, gs, path, optional=False)
