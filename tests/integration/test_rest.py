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
