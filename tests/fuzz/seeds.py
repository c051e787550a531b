"""Seed corpora and dictionaries for the fuzz targets, one directory each.
Usage: seeds.py SHARED OUTDIR [--commit CORPUS]

- fuzz_ttlv, fuzz_kmip: every TTLV message of the KMIP 1.1 test cases
  (requests and responses) in SHARED/vectors, one file each.
- fuzz_rest_json: for every route with a body (the table below mirrors
  fuzz_rest_json.c's, in its order), bodies synthesised from the request
  schemas of docs/openapi.json (required fields only, then every field) and
  the literal bodies the integration tests send (api(server, METHOD, PATH,
  {...}) calls found in tests/integration/*.py), each prefixed with the
  route byte and a caller byte.
- fuzz_http: one HTTP/1.1 request per OpenAPI operation (every query
  parameter set, the body of the route), as each of the callers, plus the
  same paths with broken tokens and odd query strings.
- OUTDIR/<target>.dict: libFuzzer dictionaries (field names, enum values,
  JSON punctuation, header names, paths) so mutations stay near the grammar.

--commit CORPUS also writes a small, fixed subset of the REST seeds into
CORPUS/<target>/ (tests/fuzz/corpus: replayed by `make fuzz-replay`).
"""
import ast
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# fuzz_rest_json.c's route table, in its order: (method, path).
BODY_ROUTES = [
    ("POST", "/v1/keys"), ("POST", "/v1/keys/import"), ("PATCH", "/v1/keys/$KEY"),
    ("POST", "/v1/keys/$KEY/activate"), ("POST", "/v1/keys/$KEY/deactivate"),
    ("POST", "/v1/keys/$KEY/revoke"), ("POST", "/v1/keys/$ROOT/wrap"),
    ("POST", "/v1/keys/$ROOT/unwrap"), ("POST", "/v1/keys/$ROOT/rewrap"),
    ("POST", "/v1/keys/$ROOT/batch"), ("POST", "/v1/keys/$ROOT/rotate"),
    ("PUT", "/v1/keys/$ROOT/rotation-policy"), ("PUT", "/v1/tenants/default/rotation-policy"),
    ("POST", "/v1/rotation/run"), ("POST", "/v1/tenants"), ("PATCH", "/v1/tenants/$TENANT"),
    ("POST", "/v1/tenants/default/identities"),
    ("PATCH", "/v1/tenants/default/identities/$IDENT"),
    ("POST", "/v1/tenants/default/identities/$IDENT/retire"),
    ("POST", "/v1/import-tokens"), ("POST", "/v1/keys/$KEY/versions"),
    ("POST", "/v1/keys/$PAIR/export"), ("POST", "/v1/export"), ("POST", "/v1/import"),
]
# Callers (fuzz_rest.h enum fuzz_who): operator, Manager, Writer, Reader, unknown.
OPERATOR, MANAGER, WRITER, READER, NOBODY = range(5)

SAMPLES = {
    "date-time": "2031-01-02T03:04:05Z", "byte": "AAECAwQFBgcICQoLDA0ODw==",
}
STRING_GUESS = {
    "algorithm": "AES", "curve": "P-256", "format": "raw", "material": "AAECAwQFBgcICQoLDA0ODw==",
    "plaintext": "AAECAwQFBgcICQoLDA0ODw==", "ciphertext": "$WRAPPED", "id": "fz2",
    "name": "fuzz", "kind": "api_key", "role": "writer", "mode": "refuse", "reason": "unspecified",
    "message": "m", "state": "active", "interval": "P30D", "every": "P30D", "at": "2031-01-02T03:04:05Z",
    "expires": "2031-01-02T03:04:05Z", "subject": "CN=fuzz", "certificate_sha256": "0" * 64,
    "ca_sha256": "1" * 64, "aad": "YWFk",
}


def load_openapi():
    with open(os.path.join(ROOT, "docs", "openapi.json")) as f:
        return json.load(f)


def deref(doc, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        ref = node["$ref"].lstrip("#/").split("/")
        node = doc
        for part in ref:
            node = node[part]
        seen += 1
    return node


def example(doc, schema, key="", full=False, depth=0):
    """A value the schema accepts (a plausible one: enums, formats, guesses)."""
    s = deref(doc, schema)
    if depth > 6 or not isinstance(s, dict):
        return None
    for alt in ("oneOf", "anyOf"):
        if alt in s:
            return example(doc, s[alt][0], key, full, depth + 1)
    if "allOf" in s:
        out = {}
        for part in s["allOf"]:
            v = example(doc, part, key, full, depth + 1)
            if isinstance(v, dict):
                out.update(v)
        return out
    if "enum" in s:
        return [e for e in s["enum"] if e is not None][0] if s["enum"] else None
    t = s.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"][0] if len(t) > 1 else t[0]
    if t == "object" or "properties" in s:
        props = s.get("properties", {})
        names = list(props) if full else s.get("required", [])
        out = {}
        for n in names:
            v = example(doc, props[n], n, full, depth + 1)
            if v is not None:
                out[n] = v
        if not props and isinstance(s.get("additionalProperties"), dict):
            out["k1"] = example(doc, s["additionalProperties"], "v", full, depth + 1) or "v"
        return out
    if t == "array":
        v = example(doc, s.get("items", {}), key, full, depth + 1)
        return [v] if v is not None else []
    if t == "integer":
        return s.get("minimum", 256 if key == "length" else 1)
    if t == "number":
        return 1.5
    if t == "boolean":
        return True
    if t == "string":
        if s.get("format") in SAMPLES:
            return SAMPLES[s["format"]]
        return STRING_GUESS.get(key, "x")
    return None


def doc_path(path):
    """A concrete fuzz path back to the OpenAPI template."""
    p = path.replace("$KEY", "{id}").replace("$ROOT", "{id}").replace("$PAIR", "{id}")
    p = p.replace("$TENANT", "{tenant}").replace("/tenants/default", "/tenants/{tenant}")
    return p.replace("$IDENT", "{id}")


def schema_bodies(doc):
    """(route index, body) from the request schemas."""
    out = []
    for i, (method, path) in enumerate(BODY_ROUTES):
        op = doc["paths"].get(doc_path(path), {}).get(method.lower())
        if not op or "requestBody" not in op:
            continue
        schema = op["requestBody"].get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        for full in (False, True):
            out.append((i, example(doc, schema, full=full)))
    return out


class ApiCalls(ast.NodeVisitor):
    """api(server, "POST", "/v1/keys", {...}) calls with literal bodies."""

    def __init__(self):
        self.found = []

    def visit_Call(self, node):
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name in ("api", "call", "rest") and len(node.args) >= 3:
            try:
                method = ast.literal_eval(node.args[1])
            except ValueError:
                method = None
            body = node.args[3] if len(node.args) > 3 else None
            for kw in node.keywords:
                if kw.arg == "body":
                    body = kw.value
            path = node.args[2]
            if isinstance(method, str) and body is not None:
                try:
                    value = ast.literal_eval(body)
                except ValueError:
                    value = None
                if isinstance(value, (dict, list)):
                    self.found.append((method.upper(), path_text(path), value))
        self.generic_visit(node)


def path_text(node):
    """A path expression's text with every computed part as "X"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(path_text(v) if isinstance(v, ast.Constant) else "X" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return re.sub(r"%[sdr]", "X", path_text(node.left))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return path_text(node.left) + path_text(node.right)
    return "X"


def route_of(method, path):
    """The BODY_ROUTES index for a test call's path text."""
    segs = [s for s in path.split("?")[0].split("/") if s]
    for i, (m, rp) in enumerate(BODY_ROUTES):
        rsegs = [s for s in rp.split("/") if s]
        if m != method or len(rsegs) != len(segs):
            continue
        if all(a == b or a.startswith("$") or a == "default" for a, b in zip(rsegs, segs)):
            return i
    return None


def test_bodies():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "integration", "*.py"))):
        with open(path) as f:
            try:
                tree = ast.parse(f.read())
            except SyntaxError:
                continue
        v = ApiCalls()
        v.visit(tree)
        for method, src, body in v.found:
            i = route_of(method, src)
            if i is not None:
                out.append((i, body))
    return out


def rest_json_seeds(doc):
    seen, seeds = set(), []
    for i, body in schema_bodies(doc) + test_bodies():
        text = json.dumps(body, separators=(",", ":")).encode()
        for who in (OPERATOR, MANAGER, WRITER):
            data = bytes([i, who]) + text
            if data not in seen:
                seen.add(data)
                seeds.append(data)
    # The strict reader's refusals, on the first route.
    for junk in (b'{"algorithm":"AES","algorithm":"AES"}', b'{"a":1} x', b'{"name":"\xff"}',
                 b"[" * 64, b'{"length":1e999}', b'{"length":-9223372036854775809}', b"",
                 b'{"tags":{"k":null}}', b'{"name":"\\u0000"}'):
        seeds.append(bytes([0, MANAGER]) + junk)
    return seeds


def query_for(doc, op):
    parts = []
    for prm in op.get("parameters", []):
        prm = deref(doc, prm)
        if prm.get("in") != "query":
            continue
        v = example(doc, prm.get("schema", {}), prm["name"])
        if prm["name"] == "tag":
            v = "env:prod"
        parts.append("%s=%s" % (prm["name"], v if not isinstance(v, bool) else str(v).lower()))
    return "&".join(parts)


def concrete(path, method):
    envelope = re.search(r"/(wrap|unwrap|rewrap|batch|versions|rotate|rotation-policy)$", path)
    p = path.replace("/tenants/{tenant}", "/tenants/default")
    p = p.replace("/identities/{id}", "/identities/$IDENT")
    p = p.replace("{id}", "$ROOT" if envelope else "$KEY")
    return p.replace("{tenant}", "$TENANT")


def http_seeds(doc):
    seeds = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            target = concrete(path, method)
            q = query_for(doc, op)
            body = b""
            rb = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "schema" in rb:
                body = json.dumps(example(doc, rb["schema"], full=True),
                                  separators=(",", ":")).encode()
            for who, full in ((OPERATOR, False), (MANAGER, True), (READER, False)):
                head = "%s %s%s HTTP/1.1\r\nHost: kms\r\nAuthorization: Bearer $T%d\r\n" % (
                    method.upper(), target, "?" + q if q and full else "", who)
                if body:
                    head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
                seeds.append(head.encode() + b"\r\n" + body)
    odd = [
        b"GET /v1/keys?limit=0&offset=-1 HTTP/1.1\r\nAuthorization: Bearer $T1\r\n\r\n",
        b"GET /v1/keys?limit=5&limit=6 HTTP/1.1\r\nAuthorization: Bearer $T1\r\n\r\n",
        b"GET /v1/keys?%zz=1&tag=: HTTP/1.1\r\nAuthorization: Bearer $T1\r\n\r\n",
        b"GET /v1/keys/ HTTP/1.1\r\nAuthorization: Bearer $T1\r\n\r\n",
        b"GET /v1//keys HTTP/1.1\r\nAuthorization: bearer   $T1\r\n\r\n",
        b"GET /v1/keys/$KEY/material?format=pem HTTP/1.1\r\nAuthorization: Bearer $T2\r\n\r\n",
        b"DELETE /v1/keys HTTP/1.1\r\nAuthorization: Bearer $T1\r\n\r\n",
        b"GET /v1/me HTTP/1.1\r\nAuthorization: Bearer $T4\r\n\r\n",
        b"GET /v1/me HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n",
        b"GET /v1/me HTTP/1.1\r\nAuthorization: Bearer cf1_\r\n\r\n",
        b"GET /v1/me HTTP/1.1\r\nX-Ctl: a\x01b\r\n\r\n",
        b"GET /health?x=1 HTTP/1.1\r\n\r\n",
        b"GET /v1/audit?limit=10&from=2020-01-01T00:00:00Z HTTP/1.1\r\nAuthorization: Bearer $T0\r\n\r\n",
        b"GET /v1/tenants/../keys HTTP/1.1\r\nAuthorization: Bearer $T0\r\n\r\n",
    ]
    return seeds + odd


def words(doc):
    out = set()

    def walk(n):
        if isinstance(n, dict):
            for k, v in n.items():
                if k == "properties" and isinstance(v, dict):
                    out.update(v.keys())
                if k == "enum" and isinstance(v, list):
                    out.update(x for x in v if isinstance(x, str))
                if k == "name" and isinstance(v, str):
                    out.add(v)
                walk(v)
        elif isinstance(n, list):
            for x in n:
                walk(x)

    walk(doc)
    return sorted(w for w in out if 0 < len(w) < 64)


def write_dict(path, tokens):
    with open(path, "w") as f:
        for t in tokens:
            f.write('"%s"\n' % "".join("\\x%02x" % c if c < 0x20 or c > 0x7e or c in (0x22, 0x5c)
                                       else chr(c) for c in t))


def rest_dicts(doc, out):
    ws = words(doc)
    js = [b'"', b"{", b"}", b"[", b"]", b":", b",", b"null", b"true", b"false", b"-0", b"1e309",
          b"\\u0000", b"\\ud800", b"$KEY", b"$ROOT", b"$PAIR", b"$IDENT", b"$WRAPPED"]
    write_dict(os.path.join(out, "fuzz_rest_json.dict"),
               js + [('"%s"' % w).encode() for w in ws])
    paths = sorted({seg for p in doc["paths"] for seg in p.split("/") if seg and "{" not in seg})
    http = [b"GET ", b"POST ", b"PUT ", b"PATCH ", b"DELETE ", b" HTTP/1.1\r\n", b"\r\n",
            b"Authorization: Bearer ", b"Content-Type: application/json\r\n",
            b"Content-Length: ", b"$T0", b"$T1", b"$T2", b"$T3", b"$T4", b"$KEY", b"$ROOT",
            b"$TENANT", b"$IDENT", b"?", b"&", b"=", b"%", b"/"]
    write_dict(os.path.join(out, "fuzz_http.dict"),
               http + [("/" + p).encode() for p in paths] + [w.encode() + b"=" for w in ws[:200]])


def kmip_seeds(shared):
    hexline = re.compile(r"^(42[0-9A-Fa-f]+)\s*$")
    msgs = []
    with open(os.path.join(shared, "vectors", "kmip-testcases-v1.1.txt"), errors="replace") as f:
        for line in f:
            m = hexline.match(line.strip())
            if m and len(m.group(1)) % 2 == 0:
                msgs.append(bytes.fromhex(m.group(1)))
    return msgs


def write_all(out, name, seeds, prefix):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(seeds):
        with open(os.path.join(d, "%s-%03d" % (prefix, i)), "wb") as f:
            f.write(s)
    return len(seeds)


def main(argv):
    shared, out = argv[1], argv[2]
    commit = argv[argv.index("--commit") + 1] if "--commit" in argv else None
    os.makedirs(out, exist_ok=True)
    doc = load_openapi()
    kmip = kmip_seeds(shared)
    counts = {
        "fuzz_ttlv": write_all(out, "fuzz_ttlv", kmip, "v11"),
        "fuzz_kmip": write_all(out, "fuzz_kmip", kmip, "v11"),
        "fuzz_rest_json": write_all(out, "fuzz_rest_json", rest_json_seeds(doc), "seed"),
        "fuzz_http": write_all(out, "fuzz_http", http_seeds(doc), "seed"),
    }
    rest_dicts(doc, out)
    if commit:
        write_all(commit, "fuzz_rest_json", rest_json_seeds(doc), "seed")
        write_all(commit, "fuzz_http", http_seeds(doc), "seed")
    print("seeds: " + ", ".join("%s %d" % kv for kv in counts.items()))


if __name__ == "__main__":
    main(sys.argv)
