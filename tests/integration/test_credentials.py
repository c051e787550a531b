"""The Username/Password Credential of KMIP request headers (1.4 section 6.6),
on top of the certificate, under `--kmip-credentials`: accept (default:
PyKMIP's empty credential works), verify (a present credential must carry
an API key of the certificate's tenant, which then acts), require."""
import os
import subprocess

import pytest

import kmipwire as W
from conftest import BIN, Server

AUTH_NOT_SUCCESSFUL = 0x03
AUTHENTICATION, CREDENTIAL, CREDENTIAL_TYPE, CREDENTIAL_VALUE = 0x42000C, 0x420023, 0x420024, 0x420025
USERNAME, PASSWORD = 0x420099, 0x4200A1


def query_with(cred):
    """A Query request whose header carries `cred` (None: no Authentication)."""
    msg = W.decode(W.request([(W.OP["QUERY"], [(W.T["QUERY_FUNCTION"], W.ENUM, 3)], None)]))
    hdr = W.child(msg, W.T["REQUEST_HEADER"])
    if cred is not None:
        user, password = cred
        value = [(USERNAME, W.TEXT, user)]
        if password is not None:
            value.append((PASSWORD, W.TEXT, password))
        hdr[2].insert(1, (AUTHENTICATION, W.STRUCTURE, [(CREDENTIAL, W.STRUCTURE, [
            (CREDENTIAL_TYPE, W.ENUM, 1), (CREDENTIAL_VALUE, W.STRUCTURE, value)])]))
    return W.encode(msg)


def outcome(server, cred):
    conn = server.connect()
    try:
        item = W.child(W.decode(conn.roundtrip(query_with(cred))), W.T["BATCH_ITEM"])
        if W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS:
            return "ok"
        return W.value(item, W.T["RESULT_REASON"])
    finally:
        conn.close()


@pytest.fixture(scope="module", params=["accept", "verify", "require"])
def mode_server(request, tmp_path_factory):
    data = str(tmp_path_factory.mktemp("cred-" + request.param) / "data")
    os.makedirs(data, mode=0o700)
    srv = Server(data)
    srv.start(extra=("--kmip-credentials", request.param))
    token = subprocess.run([BIN, "identity", "add-key", "--data", data, "--name", "svc",
                            "--role", "writer"], check=True, capture_output=True,
                           text=True).stdout.strip()
    with open(os.path.join(data, "admin.token")) as f:
        operator = f.read().strip()
    yield request.param, srv, token, operator
    assert srv.stop() == 0
    srv.check_log()


def test_credential_policy(mode_server):
    mode, srv, token, operator = mode_server
    expected = {
        # credential:            accept  verify                require
        "none":                 ("ok",  "ok",                 AUTH_NOT_SUCCESSFUL),
        "empty (PyKMIP)":       ("ok",  AUTH_NOT_SUCCESSFUL,  AUTH_NOT_SUCCESSFUL),
        "tenant API key":       ("ok",  "ok",                 "ok"),
        "operator API key":     ("ok",  AUTH_NOT_SUCCESSFUL,  AUTH_NOT_SUCCESSFUL),
        "tampered API key":     ("ok",  AUTH_NOT_SUCCESSFUL,  AUTH_NOT_SUCCESSFUL),
    }
    creds = {
        "none": None,
        "empty (PyKMIP)": ("", ""),
        "tenant API key": ("svc", token),
        "operator API key": ("operator", operator),
        "tampered API key": ("svc", token[:-1] + ("A" if token[-1] != "A" else "B")),
    }
    col = ["accept", "verify", "require"].index(mode)
    got = {name: outcome(srv, cred) for name, cred in creds.items()}
    assert got == {name: row[col] for name, row in expected.items()}
