#!/usr/bin/python3
"""Play the OASIS KMIP profile test cases against a live Coffre server.

Design note
-----------
Each file of $CF_SHARED/vectors/oasis/<version>/<mandatory|optional>/ is one
case: an ordered list of Request/Response message pairs in the KMIP XML
encoding. A case is played on one mutual-TLS connection to a server started
for it (conftest.Server, on free ports, in a data directory copied from a
template so the PKI is made once): every request is converted to TTLV
(kmipxml.py), its placeholders resolved ($NOW, values bound by earlier
responses), sent at the protocol version it carries, and the response is
compared with the expected one (compare.py, whose header lists every
tolerance). A case passes when every step matches; it fails at the first
difference (later steps still run, their differences are logged too); it is
an error when the runner cannot play it (XML it cannot convert, a
placeholder no response bound, a connection the server dropped, a server
that died or logged a sanitizer report).

Output (in --out, default build/conformance): results.json (one record per
case), failures.log (every difference of every failed case), and on stdout a
table of pass/fail/error per profile and version.

--check compares with tests/conformance/expected_pass.txt: exit 1 if a listed
case does not pass (a regression), and print the cases that pass but are not
listed (grow the list with --update-expected).
"""
import argparse
import collections
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import kmipwire  # noqa: E402  (tests/integration/kmipwire.py)
import kmipxml  # noqa: E402
import compare  # noqa: E402
from kmipxml import Placeholder, TYPES  # noqa: E402

EXPECTED = os.path.join(HERE, "expected_pass.txt")
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehavior|"
                       r"internal_error")
FOCUS = ("SKLC", "OMOS", "BL")

# Cases whose recording is wrong, as far as we can tell: they stay in the
# run (and fail), with this note in results.json and failures.log.
VECTOR_NOTES = {
    "v1.3/mandatory/CS-BC-M-6-13":
        "vector defect: AES-128-ECB(0123456789abcdef0123456789abcdef, 0102..16) is "
        "d9bcce11b0b437b90239552df3a360c9 (openssl; the 1.4, 2.0, 2.1 files say so), "
        "not the fd912d10... this 1.3 file records",
    "v2.0/mandatory/PKCS11-M-1-20":
        "runner limitation: PKCS#11 function names (C_Initialize ...) are not in ttlv_dict.def",
    "v2.1/mandatory/PKCS11-M-1-21":
        "runner limitation: PKCS#11 function names (C_Initialize ...) are not in ttlv_dict.def",
}


def load_conftest():
    """tests/integration/conftest.py under its own module name (pytest may
    have imported it as 'conftest' already; this copy is independent)."""
    spec = importlib.util.spec_from_file_location(
        "coffre_it_conftest", os.path.join(ROOT, "tests", "integration", "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------ case files
def case_name(path, base):
    return os.path.splitext(os.path.relpath(path, base))[0]


def case_meta(name):
    """profile, version ('1.2'), mandatory flag from 'v1.0/mandatory/SKLC-M-1-12'."""
    vdir, kind, base = name.split("/")
    m = re.match(r"^(.*?)-([MO])-(.*)-(\d)(\d)$", base)
    if not m:
        return base, vdir[1:], kind == "mandatory"
    return m.group(1), "%s.%s" % (m.group(4), m.group(5)), m.group(2) == "M"


def find_cases(vectors, pattern):
    base = os.path.join(vectors, "oasis")
    out = []
    for d, _, files in os.walk(base):
        for f in files:
            if f.endswith(".xml"):
                p = os.path.join(d, f)
                n = case_name(p, base)
                if pattern is None or re.search(pattern, n):
                    out.append((n, p))
    return sorted(out)


def dependencies(cases):
    """chained cases: a case that names another case of its directory
    ("SASED-M-2-21-group" in SASED-M-3-21, "TL-M-2-21" in TL-M-3-21)
    locates objects that case left: it runs right after it, on the same
    server. Returns {case: dependency}."""
    by_dir = collections.defaultdict(dict)
    for n, p in cases:
        by_dir[os.path.dirname(n)][os.path.basename(n)] = n
    deps = {}
    for n, p in cases:
        with open(p, encoding="utf-8", errors="replace") as f:
            text = f.read()
        me = os.path.basename(n)
        for base, other in by_dir[os.path.dirname(n)].items():
            if base != me and re.search(r'value="%s[-"]' % re.escape(base), text):
                deps[n] = other
    return deps


def plan(all_cases, pattern):
    """The cases to run, in order, with the dependencies of the chosen ones."""
    deps = dependencies(all_cases)
    chosen = {n for n, _ in all_cases if pattern is None or re.search(pattern, n)}
    for n in list(chosen):
        while n in deps:
            n = deps[n]
            chosen.add(n)
    order = [(n, p) for n, p in all_cases if n in chosen]
    # a dependent case goes right after its dependency
    out = []
    for n, p in order:
        if n in deps and deps[n] in chosen:
            continue
        out.append((n, p))
        chain = n
        while True:
            nxt = [(m, q) for m, q in order if deps.get(m) == chain]
            if not nxt:
                break
            out.append(nxt[0])
            chain = nxt[0][0]
    return out, deps


# ------------------------------------------------------------ XNode -> wire
def to_wire(ctx, x):
    """A kmipwire item for an XNode of a request, placeholders resolved."""
    if x.type == TYPES["Structure"]:
        return (x.tag, x.type, [to_wire(ctx, c) for c in x.value])
    v = x.value
    if isinstance(v, Placeholder):
        v = ctx.resolve(v)
    elif x.type == TYPES["ByteString"] and v in ctx.subst:
        v = ctx.subst[v]                           # substitute
        ctx.used.add("substitute:" + ctx.kd.tag_name(x.tag))
    if x.type == TYPES["BigInteger"]:
        b = bytes(v)
        pad = (-len(b)) % 8
        v = b"\0" * pad + b          # KMIP 1.4 9.1.1.4: big-endian, padded to 8
    if x.type == TYPES["DateTimeExtended"]:
        raise NotImplementedError("Date-Time Extended is not supported by the runner")
    return (x.tag, x.type, v)


def request_dates(steps):
    out = set()

    def walk(x):
        if x.type == TYPES["Structure"]:
            for c in x.value:
                walk(c)
        elif x.type == TYPES["DateTime"] and isinstance(x.value, int):
            out.add(x.value)
    for kind, x in steps:
        if kind == "request":
            walk(x)
    return out


def _kids(x, name, kd):
    return [c for c in x.value if kd.tag_name(c.tag) == name] if x.type == 1 else []


def query_required(kd, steps):
    """(list name, value) the case relies on: operations its requests use
    with success expected, object types its requests name."""
    req = set()
    for kind, x in steps:
        for bi in _kids(x, "BatchItem", kd):
            st = _kids(bi, "ResultStatus", kd)
            for op in _kids(bi, "Operation", kd):
                if kind == "response" and st and st[0].value == 0:
                    req.add(("Operation", op.value))
            if kind == "request":
                for pl in _kids(bi, "RequestPayload", kd):
                    for ot in _kids(pl, "ObjectType", kd):
                        if isinstance(ot.value, int):
                            req.add(("ObjectType", ot.value))
    return req


def _find(x, name, kd):
    """The first item named `name` anywhere under x (depth first)."""
    if kd.tag_name(x.tag) == name:
        return x
    if x.type == TYPES["Structure"]:
        for c in x.value:
            f = _find(c, name, kd)
            if f is not None:
                return f
    return None


def _uid_value(ctx, u):
    if isinstance(u, Placeholder):
        b = ctx.bindings.get(u.name)
        return b[1] if b else None
    return u


class Item:
    """One batch item of a step: request and expected response side."""

    def __init__(self, kd, req_bi, exp_bi):
        self.req, self.exp = req_bi, exp_bi
        ops = _kids(exp_bi, "Operation", kd) or (_kids(req_bi, "Operation", kd) if req_bi else [])
        self.op = kd.enum_name("Operation", ops[0].value) if ops else ""

    def subject(self, ctx, kd):
        """The identifier of the object the item works on (request first,
        else the expected response's, e.g. after an ID Placeholder)."""
        for side, pl_name in ((self.req, "RequestPayload"), (self.exp, "ResponsePayload")):
            for pl in _kids(side, pl_name, kd) if side is not None else []:
                for u in _kids(pl, "UniqueIdentifier", kd):
                    return _uid_value(ctx, u.value)
        return None


def random_fields(ctx, kd, item):
    """Tag names whose values are random in this item's response (see the
    generated / random-output rules of compare.py)."""
    uid = item.subject(ctx, kd)
    gen = uid is not None and uid in ctx.generated
    asym = ctx.alg_of.get(uid) in compare.ASYMMETRIC
    out = set()
    if gen:
        out |= {"KeyMaterial", "DigestValue", "BigInteger", "DigestKeyFormat"}
    req_pl = _kids(item.req, "RequestPayload", kd) if item.req is not None else []
    exp_pl = _kids(item.exp, "ResponsePayload", kd)
    server_iv = bool(exp_pl and _kids(exp_pl[0], "IVCounterNonce", kd)) and not (
        req_pl and _find(req_pl[0], "IVCounterNonce", kd) is not None)
    if item.op == "Encrypt" and (gen or asym or server_iv):
        out |= {"Data", "IVCounterNonce", "AuthenticatedEncryptionTag"}
    if item.op == "Sign" and (gen or asym):
        out.add("SignatureData")
    if item.op == "MAC" and gen:
        out.add("MACData")
    if item.op == "Decrypt" and gen and req_pl:
        # unreplayable: a ciphertext the recording made with the reference
        # server's random key (never substituted by ours) decrypts to noise.
        data = _find(req_pl[0], "Data", kd)
        if data is not None and data.value not in ctx.subst:
            out.add("Data")
    if item.op == "RNGRetrieve":
        out.add("Data")
    if item.op == "RNGSeed":
        out.add("DataLength")          # server-choice: how much seed it took
    return out


def note_objects(ctx, kd, item):
    """After an item matched: identifiers a generating operation returned
    name objects with server-chosen key material; remember the algorithm a
    Create / Register asked for."""
    alg = None
    if item.req is not None:
        a = _find(item.req, "CryptographicAlgorithm", kd)
        if a is not None and isinstance(a.value, int):
            alg = kd.enum_name("Cryptographic Algorithm", a.value)
    for pl in _kids(item.exp, "ResponsePayload", kd):
        for name in ("UniqueIdentifier", "PrivateKeyUniqueIdentifier",
                     "PublicKeyUniqueIdentifier"):
            for u in _kids(pl, name, kd):
                v = _uid_value(ctx, u.value)
                if v is None:
                    continue
                if item.op in compare.GENERATING_OPS:
                    ctx.generated.add(v)
                if alg and item.op in ("Create", "CreateKeyPair", "Register") \
                        and v not in ctx.alg_of:
                    ctx.alg_of[v] = alg


def note_last(ctx, kd, g):
    """unbound-fallback: the last value received for every tag."""
    if g[1] == TYPES["Structure"]:
        for c in g[2]:
            note_last(ctx, kd, c)
    else:
        ctx.last[kmipxml.fold(kd.tag_name(g[0]))] = g[2]


def echo_version(kd, req, x):
    """version-echo: the response header carries the request's Protocol
    Version (KMIP 1.4 section 6.1), whatever the recording says (one file,
    v1.4/optional/OMOS-O-1-14, answers a 1.4 request with 1.3)."""
    if kd.tag_name(x.tag) != "ResponseHeader":
        return x
    want = [pv for h in _kids(req, "RequestHeader", kd) for pv in _kids(h, "ProtocolVersion", kd)]
    if not want:
        return x
    kids = [want[0] if kd.tag_name(c.tag) == "ProtocolVersion" else c for c in x.value]
    return kmipxml.XNode(x.tag, x.type, kids)


def compare_response(ctx, kd, req, exp, got):
    """compare.compare, batch item by batch item with their random fields,
    the header last (so the first difference is the failing item's)."""
    if got[0] != exp.tag:
        return compare.Diff("/", compare.rx(kd, exp), compare.rg(kd, got))
    reqs = _kids(req, "BatchItem", kd)
    xs, gs = [echo_version(kd, req, c) for c in exp.value], got[2]
    path = "/ResponseMessage"
    bi = 0
    pairs = sorted(zip(xs, gs), key=lambda p: kd.tag_name(p[0].tag) == "ResponseHeader")
    d = None
    for x, g in pairs:
        if kd.tag_name(x.tag) == "BatchItem":
            item = Item(kd, reqs[bi] if bi < len(reqs) else None, x)
            path_i = "%s/BatchItem[%d]" % (path, bi)
            bi += 1
            if g[0] != x.tag:
                d = compare.Diff(path_i, compare.rx(kd, x), compare.rg(kd, g))
                break
            ctx.random = random_fields(ctx, kd, item)
            d = compare._batch_item(ctx, x, g, path_i)
            ctx.random = set()
            if d:
                break
            note_objects(ctx, kd, item)
        else:
            d = compare.compare(ctx, x, g, path)
            if d:
                break
    note_last(ctx, kd, got)
    if d is None and len(xs) != len(gs):
        xn = [kd.tag_name(c.tag) for c in xs]
        gn = [kd.tag_name(c[0]) for c in gs]
        d = compare.Diff(path, "%d items %s" % (len(xs), xn), "%d items %s" % (len(gs), gn))
    return d


# ------------------------------------------------------------ playing
class CaseResult:
    def __init__(self, name):
        self.name = name
        self.status = "pass"
        self.diffs = []        # (step, Diff or str)
        self.steps = 0
        self.seconds = 0.0
        self.first_got = None
        self.ctx = None
        self.used = set()       # tolerances applied (results.json)

    def fail(self, step, diff, status="fail"):
        if self.status == "pass" or (self.status == "fail" and status == "error"
                                     and not self.diffs):
            self.status = status
        self.diffs.append((step, diff))

    def first(self):
        if not self.diffs:
            return None
        step, d = self.diffs[0]
        if isinstance(d, compare.Diff):
            return dict(step=step, **d.as_dict())
        return {"step": step, "path": "", "expected": "", "got": str(d)}


def play(server, kd, name, path, dump=None, carry=None):
    """Play one case. `carry` is the context of the case this one is chained
    to: the objects it generated and the random values it substituted."""
    res = CaseResult(name)
    t0 = time.time()
    try:
        steps = kmipxml.load_case(kd, path)
    except Exception as e:  # noqa: BLE001 - any conversion problem is an error
        res.fail(0, "runner: cannot convert the XML: %s" % e, "error")
        return res
    ctx = compare.Context(kd, request_dates(steps))
    ctx.query_required = query_required(kd, steps)
    if carry is not None:
        ctx.generated, ctx.subst, ctx.alg_of = carry.generated, carry.subst, carry.alg_of
    if case_meta(name)[1] < "2":
        ctx.optional_attrs = compare.OPTIONAL_ATTRS_1X
    res.ctx = ctx
    player = Player(server, kd, ctx, res, dump)
    try:
        for kind, x in steps:
            if kind == "request":
                player.send(x)
            else:
                player.check(x)
    finally:
        player.close()
    res.steps = player.step
    res.seconds = time.time() - t0
    return res


class Player:
    """The connection and the step in progress of one case."""

    def __init__(self, server, kd, ctx, res, dump):
        self.server, self.kd, self.ctx, self.res, self.dump = server, kd, ctx, res, dump
        self.conn = None
        self.pending = None
        self.step = 0

    def send(self, x):
        self.step += 1
        self.pending = None
        self.ctx.now = int(time.time())
        try:
            wire = kmipwire.encode(to_wire(self.ctx, x))
        except Exception as e:  # noqa: BLE001 - unbound placeholder, bad value
            self.res.fail(self.step, "runner: cannot build the request: %s" % e, "error")
            return
        try:
            if self.conn is None:
                self.conn = self.server.connect()
            raw = self.conn.roundtrip(wire)
        except (OSError, ConnectionError) as e:
            self.res.fail(self.step, "connection: %s" % e, "error")
            self.close()
            return
        try:
            self.pending = (x, kmipwire.decode(raw))
        except ValueError as e:
            self.res.fail(self.step, "response does not decode: %s" % e, "error")

    def check(self, x):
        if self.pending is None:
            return
        (req, got), self.pending = self.pending, None
        self.ctx.now = int(time.time())
        d = compare_response(self.ctx, self.kd, req, x, got)
        if d:
            if not self.res.diffs:
                self.res.first_got = kmipxml.to_xml(self.kd, got, "      ")
            self.res.fail(self.step, d)
        if self.dump is not None:
            self.dump.write("-- step %d%s\n%s" % (self.step, " DIFF %s" % d if d else "",
                                                    kmipxml.to_xml(self.kd, got, "  ")))

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Servers:
    """A fresh server per case, from a template data directory (PKI and
    master key made once), or one server for every case (--one-server)."""

    def __init__(self, ct, tmp, one):
        self.ct, self.tmp, self.one = ct, tmp, one
        self.template = os.path.join(tmp, "template")
        os.makedirs(self.template, mode=0o700)
        s = ct.Server(self.template)
        s.start()
        rc = s.stop()
        if rc != 0:
            raise RuntimeError("template server exit %s:\n%s" % (rc, s.read_log()))
        self.n = 0
        self.current = None

    def get(self):
        if self.current is not None and self.current.proc is not None:
            return self.current
        self.n += 1
        data = os.path.join(self.tmp, "case%d" % self.n)
        os.makedirs(data, mode=0o700)
        for f in os.listdir(self.template):
            src = os.path.join(self.template, f)
            if f == "pki":
                shutil.copytree(src, os.path.join(data, f))
            elif f == "master.key":
                shutil.copy2(src, os.path.join(data, f))
        for attempt in range(3):
            srv = self.ct.Server(data)
            log = os.path.join(data, "server.log")
            mark = os.path.getsize(log) if os.path.exists(log) else 0
            try:
                srv.start()
                break
            except Exception as e:
                if srv.proc is not None:
                    srv.stop()          # our own process, by its handle
                # free_port() can race with another process: new ports.
                if attempt == 2 or "Address already in use" not in str(e):
                    raise
        self.current = srv
        self.log_mark = mark            # lines of a failed attempt are not this case's
        return srv

    def bad_line(self, ln):
        """conftest.BAD_LOG, except on the server's own warn/info lines: an
        OpenSSL reason quoted in a warning ("oaep decoding error [../crypto
        ...]") is not a server error."""
        if not self.ct.BAD_LOG.search(ln):
            return False
        return not re.match(r"^\S+Z (warn|info|debug) ", ln) or bool(SANITIZER.search(ln))

    def release(self, res, keep=False):
        """After a case: sanitizer or internal errors in the log make it an
        error; a dead server too. The server is stopped unless --one-server."""
        srv = self.current
        log = srv.read_log()
        new = log[self.log_mark:]
        self.log_mark = len(log)
        bad = [ln for ln in new.splitlines() if self.bad_line(ln)]
        dead = srv.proc is not None and srv.proc.poll() is not None
        if (not self.one and not keep) or dead:
            rc = srv.stop()
            bad += [ln for ln in srv.read_log()[self.log_mark:].splitlines()
                    if self.bad_line(ln)]
            if rc != 0:
                bad.append("server exit status %s" % rc)
            self.current = None
            if not bad:
                shutil.rmtree(srv.data, ignore_errors=True)
        if bad:
            res.fail(res.steps, "server: " + " | ".join(bad[:3]), "error")
            res.status = "error"

    def close(self):
        if self.current is not None:
            self.current.stop()
            self.current = None


# ------------------------------------------------------------ reporting
def table(results):
    rows = collections.OrderedDict()
    versions = sorted({case_meta(r.name)[1] for r in results})
    for r in results:
        prof, ver, mand = case_meta(r.name)
        key = "%s-%s" % (prof, "M" if mand else "O")
        cell = rows.setdefault(key, {}).setdefault(ver, [0, 0, 0])
        cell[("pass", "fail", "error").index(r.status)] += 1
    lines = ["%-22s %s" % ("profile", " ".join("%-9s" % v for v in versions)),
             "%-22s %s" % ("", " ".join("%-9s" % "p/f/e" for _ in versions))]
    for key in sorted(rows, key=lambda k: (k.split("-")[0] not in FOCUS, k)):
        cells = []
        for v in versions:
            c = rows[key].get(v)
            cells.append("%-9s" % ("%d/%d/%d" % tuple(c) if c else "-"))
        lines.append("%-22s %s" % (key, " ".join(cells)))
    tot = collections.Counter(r.status for r in results)
    lines.append("total: %d cases, %d pass, %d fail, %d error" % (
        len(results), tot["pass"], tot["fail"], tot["error"]))
    return "\n".join(lines)


def write_outputs(out, results):
    os.makedirs(out, exist_ok=True)
    recs = {}
    for r in results:
        prof, ver, mand = case_meta(r.name)
        recs[r.name] = {"status": r.status, "profile": prof, "version": ver,
                        "mandatory": mand, "steps": r.steps,
                        "seconds": round(r.seconds, 3), "first_difference": r.first()}
        if r.name in VECTOR_NOTES:
            recs[r.name]["note"] = VECTOR_NOTES[r.name]
        recs[r.name]["tolerated"] = sorted(r.used)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(recs, f, indent=1, sort_keys=True)
    with open(os.path.join(out, "failures.log"), "w") as f:
        for r in results:
            if r.status == "pass":
                continue
            f.write("== %s: %s\n" % (r.name, r.status))
            if r.name in VECTOR_NOTES:
                f.write("   note: %s\n" % VECTOR_NOTES[r.name])
            for step, d in r.diffs:
                f.write("   step %d: %s\n" % (step, d))
            if r.first_got:
                f.write("   response at the first difference:\n%s" % r.first_got)


def read_expected(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def write_expected(path, names):
    with open(path, "w") as f:
        f.write("# OASIS profile cases that pass against Coffre today (run_oasis.py --check\n"
                "# fails if one stops passing). Regenerate: run_oasis.py --update-expected\n")
        for n in sorted(names):
            f.write(n + "\n")


def snapshot(src, dst):
    """Copy the server binary, waiting out a rebuild in progress (the
    linker leaves it unreadable for a moment)."""
    for _ in range(60):
        try:
            shutil.copy2(src, dst)
            return dst
        except OSError:
            time.sleep(2)
    shutil.copy2(src, dst)
    return dst


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.environ.get("CF_SHARED",
                                                       os.path.join(ROOT, "..", "shared")))
    ap.add_argument("--bin", default=os.environ.get("COFFRE_BIN",
                                                    os.path.join(ROOT, "build", "coffre")))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "conformance"))
    ap.add_argument("-k", "--filter", help="regular expression on case names")
    ap.add_argument("--focus", action="store_true", help="only SKLC, OMOS and BL cases")
    ap.add_argument("--one-server", action="store_true", help="one server for all cases")
    ap.add_argument("--check", action="store_true", help="fail if an expected case regresses")
    ap.add_argument("--update-expected", action="store_true",
                    help="rewrite expected_pass.txt with the cases that pass")
    ap.add_argument("--expected", default=EXPECTED, help="the expectations file")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--dump", action="store_true",
                    help="write every live response, as XML, to responses.xml.log")
    a = ap.parse_args(argv)
    a.pattern = a.filter
    if a.focus:
        a.pattern = r"/(%s)-" % "|".join(FOCUS) + (("|" + a.filter) if a.filter else "")
    return a


def run_all(a, cases, deps, dump):
    """Every case on its server; a chained case on its dependency's."""
    kd = kmipxml.KmipDict()
    ct = load_conftest()
    results = []
    with tempfile.TemporaryDirectory(prefix="coffre-oasis-") as tmp:
        # A snapshot of the binary: the shared tree may be rebuilt mid-run.
        ct.BIN = snapshot(os.path.abspath(a.bin), os.path.join(tmp, "coffre"))
        servers = Servers(ct, tmp, a.one_server)
        try:
            for k, (name, path) in enumerate(cases):
                keep = k + 1 < len(cases) and deps.get(cases[k + 1][0]) == name
                prev = results[-1] if results and deps.get(name) == results[-1].name else None
                try:
                    srv = servers.get()
                    r = play(srv, kd, name, path, dump, prev.ctx if prev else None)
                    servers.release(r, keep)
                except (RuntimeError, OSError) as e:
                    r = CaseResult(name)
                    r.fail(0, "server did not start: %s" % str(e)[:500], "error")
                if r.ctx is not None:
                    r.used = set(r.ctx.used)
                if not keep:
                    r.ctx = None                    # nothing chains on it
                results.append(r)
                if a.verbose:
                    first = "step %d: %s" % r.diffs[0] if r.diffs else ""
                    print("%-34s %s %s" % (name, r.status, first))
                if dump is not None:
                    dump.write("== %s: %s\n" % (name, r.status))
        finally:
            servers.close()
    return results


def expectations(a, results):
    """--update-expected and --check; the exit status."""
    passing = {r.name for r in results if r.status == "pass"}
    ran = {r.name for r in results}
    expected = read_expected(a.expected)
    if a.update_expected:
        keep = {n for n in expected if n not in ran}
        write_expected(a.expected, keep | passing)
        print("%s: %d cases" % (a.expected, len(keep | passing)))
        expected = read_expected(a.expected)
    if not a.check:
        return 0
    regressed = [n for n in expected if n in ran and n not in passing]
    for n in sorted(passing - set(expected)):
        print("NEWLY PASSING: %s" % n)
    for n in regressed:
        r = next(x for x in results if x.name == n)
        print("REGRESSION: %s: %s %s" % (n, r.status, r.diffs[0][1] if r.diffs else ""))
    missing = [n for n in expected if n not in ran and a.pattern is None]
    for n in missing:
        print("REGRESSION: %s: case file not found" % n)
    return 1 if regressed or missing else 0


def main(argv=None):
    a = parse_args(argv)
    cases, deps = plan(find_cases(os.path.join(a.shared, "vectors"), None), a.pattern)
    if not cases:
        print("no case found under %s" % os.path.join(a.shared, "vectors", "oasis"))
        return 2
    dump = None
    if a.dump:
        os.makedirs(a.out, exist_ok=True)
        dump = open(os.path.join(a.out, "responses.xml.log"), "w")
    try:
        results = run_all(a, cases, deps, dump)
    finally:
        if dump is not None:
            dump.close()
    write_outputs(a.out, results)
    print(table(results))
    print("details: %s/results.json, %s/failures.log" % (a.out, a.out))
    return expectations(a, results)


if __name__ == "__main__":
    sys.exit(main())
