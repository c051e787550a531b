"""The HTTPS listener's REST front door: /health without authentication, the
OpenAPI document, JSON errors for unknown paths and wrong methods."""
import http.client
import json
import os


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
# A subset of JSON Schema (type, required, properties, additionalProperties,
# enum, items, minItems, minLength, maxLength, minimum, maximum, $ref) -
# enough for docs/openapi.json, which uses nothing else.
DOC_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.json")
with open(DOC_PATH, "rb") as _f:
    OPENAPI = json.loads(_f.read())

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def resolve(node):
    while "$ref" in node:
        part = OPENAPI
        for k in node["$ref"].lstrip("#/").split("/"):
            part = part[k]
        node = part
    return node


def validate(value, schema, where="$"):
    schema = resolve(schema)
    t = schema.get("type")
    if t == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), "%s: not an integer" % where
    elif t == "number":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
    elif t is not None:
        assert isinstance(value, TYPES[t]), "%s: %r is not %s" % (where, value, t)
    if "enum" in schema:
        assert value in schema["enum"], "%s: %r not in %r" % (where, value, schema["enum"])
    if isinstance(value, str):
        assert len(value) >= schema.get("minLength", 0), where
        assert len(value) <= schema.get("maxLength", len(value)), where
    if isinstance(value, int) and not isinstance(value, bool):
        assert value >= schema.get("minimum", value) and value <= schema.get("maximum", value), where
    if isinstance(value, list):
        assert len(value) >= schema.get("minItems", 0), where
        for i, v in enumerate(value):
            if "items" in schema:
                validate(v, schema["items"], "%s[%d]" % (where, i))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            assert k in value, "%s: %s required" % (where, k)
        for k, v in value.items():
            if k in props:
                validate(v, props[k], where + "." + k)
            else:
                assert schema.get("additionalProperties", True) is not False, \
                    "%s: unexpected %s" % (where, k)


def operation_of(method, path):
    """The document's operation for a concrete path (templates match one segment)."""
    path = path.split("?")[0]
    for tmpl, item in OPENAPI["paths"].items():
        a, b = tmpl.strip("/").split("/"), path.strip("/").split("/")
        if len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b)):
            return item.get(method.lower())
    return None


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
