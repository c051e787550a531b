"""The HTTPS listener's REST front door: /health without authentication, the
OpenAPI document, JSON errors for unknown paths and wrong methods."""
import datetime
import http.client
import json
import os
import re
import socket
import ssl
import subprocess

import jsonschema


def request(server, method, path, body=None, headers=None):
    ctx = server.tls_context(cert=None)
    conn = http.client.HTTPSConnection("127.0.0.1", server.https_port, context=ctx, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, dict(resp.getheaders()), data
    finally:
        conn.close()


def test_health(server):
    status, headers, body = request(server, "GET", "/health")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert doc["status"] == "ok" and doc["version"]


def test_openapi_document(server):
    status, _, body = request(server, "GET", "/v1/openapi.json")
    assert status == 200
    doc = json.loads(body)
    assert doc["openapi"] == "3.1.0"
    assert "/health" in doc["paths"]
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.json"), "rb") as f:
        assert json.loads(f.read()) == doc


def test_unknown_path_and_wrong_method_are_json_errors(server):
    status, _, body = request(server, "GET", "/v1/nothing-here")
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"
    status, headers, body = request(server, "POST", "/health", body=b"{}")
    assert status == 405
    assert headers["Allow"] == "GET"
    assert json.loads(body)["error"]["code"] == "method_not_allowed"
    status, _, body = request(server, "GET", "/" + "a" * 2000)
    assert status == 400
    assert json.loads(body)["error"]["code"] == "invalid_message"


# ----------------------------------------------------------------- schema
# Responses are checked with Debian's python3-jsonschema (Draft 2020-12, the
# dialect of OpenAPI 3.1 schema objects), $refs resolved against the whole
# document. "date-time" is checked as the contract's RFC 3339 UTC form.
DOC_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.json")
with open(DOC_PATH, "rb") as _f:
    OPENAPI = json.loads(_f.read())
RESOLVER = jsonschema.RefResolver(base_uri="", referrer=OPENAPI)
FORMATS = jsonschema.FormatChecker(())
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\Z")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    if not isinstance(value, str):
        return True
    if RFC3339_UTC.match(value) is None:
        return False
    datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")  # a real date and time
    return True


def resolve(node):
    """A Response/Parameter object behind its $ref (schemas are resolved by
    jsonschema itself)."""
    while "$ref" in node:
        node = RESOLVER.resolve(node["$ref"])[1]
    return node


def validate(value, schema, where="$"):
    """Assert that value matches schema (a schema object of the document)."""
    v = jsonschema.Draft202012Validator(schema, resolver=RESOLVER, format_checker=FORMATS)
    errors = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
    assert not errors, "%s: %s" % (where, "; ".join(
        "%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message)
        for e in errors[:5]))


def operation_of(method, path):
    """The document's operation for a concrete path: templates match one
    segment each, and a literal segment wins over a template (as the server's
    routes do: /v1/keys/import before /v1/keys/{id})."""
    path = path.split("?")[0]
    best = None
    for tmpl, item in OPENAPI["paths"].items():
        a, b = tmpl.strip("/").split("/"), path.strip("/").split("/")
        if len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b)):
            rank = [x.startswith("{") for x in a]
            if method.lower() in item and (best is None or rank < best[0]):
                best = (rank, item[method.lower()])
    return best and best[1]


def check_response(method, path, status, body):
    """Every JSON answer matches the document: the operation's response for
    this status, or the Error schema for a 4xx/5xx it does not list."""
    doc = json.loads(body)
    op = operation_of(method, path)
    resp = op and op["responses"].get(str(status))
    if resp is None:
        assert status >= 400, "%s %s: status %d not documented" % (method, path, status)
        validate(doc, {"$ref": "#/components/schemas/Error"})
        return doc
    schema = resolve(resp)["content"]["application/json"]["schema"]
    validate(doc, schema)
    return doc


def api(server, method, path, body=None, token=None, headers=None, raw=None):
    """One REST call: JSON body, Bearer token, answer checked against the document.
    Returns (status, headers, decoded JSON)."""
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    if token is not None:
        h["Authorization"] = "Bearer " + token
    status, rh, out = request(server, method, path, body=data, headers=h)
    assert rh["Content-Type"] == "application/json"
    return status, rh, check_response(method, path, status, out)


def test_openapi_is_self_consistent():
    """Every $ref resolves, every operation documents 401 unless public, and
    every schema of an object refuses unknown properties."""
    for tmpl, item in OPENAPI["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op["operationId"]
            if op.get("security") != []:
                assert "401" in op["responses"], "%s %s" % (method, tmpl)
            for r in op["responses"].values():
                resolve(r)
    for name, s in OPENAPI["components"]["schemas"].items():
        if s.get("type") == "object":
            assert s.get("additionalProperties") is False, name
    for schema in schemas_of(OPENAPI):
        jsonschema.Draft202012Validator.check_schema(schema)


def schemas_of(node):
    """Every Schema Object of the document (components and inline)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "schema":
                yield v
            elif k == "schemas" and isinstance(v, dict):
                yield from v.values()
            else:
                yield from schemas_of(v)
    elif isinstance(node, list):
        for v in node:
            yield from schemas_of(v)


def test_response_checker_refuses_what_the_document_does_not_allow():
    key = {"id": "k", "type": "symmetric_key", "state": "active", "extractable": True,
           "kind": "standard",
           "created": "2026-11-23T06:14:34Z", "updated": "2026-11-23T06:14:34Z"}
    validate(key, {"$ref": "#/components/schemas/Key"})
    for bad in (dict(key, material="AAAA"), dict(key, state="gone"), dict(key, extractable=1),
                dict(key, created="2026-11-23 06:14:34"), dict(key, created="2026-13-23T06:14:34Z"),
                {k: v for k, v in key.items() if k != "id"}):
        try:
            validate(bad, {"$ref": "#/components/schemas/Key"})
        except AssertionError:
            continue
        raise AssertionError("accepted %r" % bad)


# The OpenAPI 3.1 document against the specification's own schema, with an npm
# validator pinned in tools/openapi (installed by scripts/deps.sh: npm ci).
VALIDATOR = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "openapi", "node_modules",
                         "@seriousme", "openapi-schema-validator", "bin", "validate-api-cli.js")


def validate_api(path):
    assert os.path.exists(VALIDATOR), "run scripts/deps.sh (npm ci in tools/openapi)"
    out = subprocess.run(["node", VALIDATOR, path], capture_output=True, text=True, timeout=120)
    return out.returncode, json.loads(out.stdout)


def test_openapi_document_validates(tmp_path):
    rc, result = validate_api(DOC_PATH)
    assert rc == 0 and result == {"valid": True}, result
    # The validator does refuse broken documents: no info, and a dangling $ref.
    broken = json.loads(json.dumps(OPENAPI))
    del broken["info"]
    (tmp_path / "a.json").write_text(json.dumps(broken))
    rc, result = validate_api(str(tmp_path / "a.json"))
    assert rc == 1 and result["valid"] is False
    broken = json.loads(json.dumps(OPENAPI))
    broken["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] = {"$ref": "#/components/schemas/NoSuchSchema"}
    (tmp_path / "b.json").write_text(json.dumps(broken))
    rc, result = validate_api(str(tmp_path / "b.json"))
    assert rc == 1 and "NoSuchSchema" in json.dumps(result["errors"])


def test_v1_routes_need_a_bearer_token(server):
    for method, path in [("GET", "/v1/keys"), ("POST", "/v1/keys"), ("GET", "/v1/keys/x"),
                         ("DELETE", "/v1/keys/x"), ("POST", "/v1/keys/x/activate"),
                         ("POST", "/v1/keys/x/revoke"), ("GET", "/v1/keys/x/material")]:
        status, headers, doc = api(server, method, path)
        assert status == 401, (method, path)
        assert doc["error"]["code"] == "unauthenticated"
        assert headers["WWW-Authenticate"].startswith("Bearer")
    bad = ["", "cf1_", "cf1_" + "0" * 32 + "_" + "A" * 43, "x" * 300]
    for token in bad:
        status, headers, doc = api(server, "GET", "/v1/keys", token=token)
        assert status == 401 and doc["error"]["code"] == "unauthenticated"
    status, _, doc = api(server, "GET", "/v1/keys", headers={"Authorization": "Basic YTpi"})
    assert status == 401 and doc["error"]["code"] == "unauthenticated"
    # The document itself is public.
    status, _, _ = request(server, "GET", "/v1/openapi.json")
    assert status == 200


# ------------------------------------------------- the HTTP layer's refusals
# What evhttp refuses by itself (oversized bodies and headers, malformed
# request lines, methods it does not know) and what the front door refuses
# before routing (control characters in headers) are JSON errors too, and the
# server keeps serving the next client.
def raw_http(server, data, timeout=30):
    """Send raw bytes over TLS, read the answer until the server closes (or
    the announced body is complete); (status, headers, body bytes)."""
    ctx = server.tls_context(cert=None)
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.https_port),
                                                    timeout=timeout))
    buf = b""
    try:
        try:
            sock.sendall(data)
        except OSError:
            pass                          # refused before all was sent: read the answer
        while True:
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                lines = head.decode("latin-1").split("\r\n")
                hdrs = dict(l.split(": ", 1) for l in lines[1:])
                if len(rest) >= int(hdrs.get("Content-Length", "-1")) >= 0:
                    return int(lines[0].split(" ")[1]), hdrs, rest
            try:
                chunk = sock.recv(65536)
            except (ssl.SSLError, ConnectionResetError):
                chunk = b""
            if not chunk:
                raise AssertionError("connection closed after %r" % buf[:300])
            buf += chunk
    finally:
        sock.close()


def refused_as_json(server, data, status, code=None):
    got, hdrs, body = raw_http(server, data)
    assert got == status, (got, body[:200])
    assert hdrs["Content-Type"] == "application/json"
    doc = json.loads(body)
    validate(doc, {"$ref": "#/components/schemas/Error"})
    if code:
        assert doc["error"]["code"] == code, doc
    # ... and the server is still there for the next client.
    assert request(server, "GET", "/health")[0] == 200
    return doc


def test_http_layer_refusals_are_json(server):
    head = b"POST /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    # A body over CF_LIMIT_REST_BODY (256 KiB), evhttp's limit too: refused
    # from its Content-Length, before the body is read.
    refused_as_json(server, head + b"Content-Length: 2000000\r\n\r\n{", 413, "limit_exceeded")
    refused_as_json(server, head + b"Content-Length: 262145\r\n\r\n" + b" " * 262145, 413,
                    "limit_exceeded")
    # CONNECT: evhttp's page has no Content-Length; still JSON.
    refused_as_json(server, b"CONNECT kms:443 HTTP/1.1\r\nHost: x\r\n\r\n", 501,
                    "not_implemented")
    # Headers over NET_HTTP_MAX_HEADERS (16 KiB), in one field or in many.
    refused_as_json(server, b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 400,
                    "invalid_message")
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 100) for i in range(200))
    refused_as_json(server, b"GET /health HTTP/1.1\r\n" + many + b"\r\n", 400, "invalid_message")
    # Malformed request lines and a method evhttp does not serve.
    for line in (b"GARBAGE\r\n\r\n", b"GET /health HTTP/9.x\r\n\r\n", b"GET\r\n\r\n",
                 b"\x16\x03\x01\x00\x05hello\r\n\r\n"):
        refused_as_json(server, line, 400, "invalid_message")
    refused_as_json(server, b"TRACE /health HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented")
    # A control character in a header value (RFC 9110 section 5.5).
    for v in (b"a\x01b", b"\x7f", b"x\x1by"):
        refused_as_json(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Ctl: " + v +
                        b"\r\nConnection: close\r\n\r\n", 400, "invalid_message")


def test_bad_bodies_and_headers_are_4xx_json(server):
    from test_rest_keys import add_key
    token = add_key(server, "http-layer-writer", "writer")
    # Bad UTF-8 in the Authorization header: not a token.
    got, hdrs, body = raw_http(server, b"GET /v1/keys HTTP/1.1\r\nHost: x\r\n"
                               b"Authorization: Bearer \xff\xfe" + token[2:].encode() +
                               b"\r\nConnection: close\r\n\r\n")
    assert got == 401 and json.loads(body)["error"]["code"] == "unauthenticated"
    cases = [
        (b'{"algorithm": "AES", "length": 256', "application/json", 400, "invalid_message"),
        (b'{"algorithm": "AES", "length": "256"}', "application/json", 400, "invalid_field"),
        (b'{"algorithm": "AES", "length": 256, "colour": 1}', "application/json", 400,
         "invalid_field"),
        (b'{"algorithm": "AES", "length": 256, "name": "\xff\xfe"}', "application/json", 400,
         "invalid_message"),
        (b'{"algorithm": "AES", "length": 256}', "text/plain", 415, "unsupported_media_type"),
        (b'{"algorithm": "AES", "length": 256}', "application/json\xff", 415,
         "unsupported_media_type"),
        (b"[" * 300000, "application/json", 413, "limit_exceeded"),
    ]
    for body, ctype, status, code in cases:
        # The oversized body is refused from its Content-Length (413) and the
        # connection closed, possibly while http.client is still sending it
        # (it cannot read an answer before it has sent everything): a write
        # error is that race, not a failure; the next try usually wins it.
        for attempt in range(5):
            try:
                got, _, doc = api(server, "POST", "/v1/keys", token=token, raw=body,
                                  headers={"Content-Type": ctype})
                break
            except (ssl.SSLError, ConnectionError) as e:
                if status != 413 or attempt == 4:
                    raise
        assert (got, doc["error"]["code"]) == (status, code), (body[:60], doc)
    assert request(server, "GET", "/health")[0] == 200
