"""`coffre`, the REST client (src/cli/client*.c, docs/cli.md), against the
live server:

- the README's "First five minutes" blocks run as they are written (the
  CLI one, then the curl one), and their results checked over REST;
- settings precedence: flags, then COFFRE_* variables, then the config file;
  a config file or token file holding an API key and readable by group or
  others is refused;
- every exit code from a real case (2 usage, 3 401, 4 403, 5 404, 6 409,
  7 400, 8 unreachable and TLS failure, 1 local file);
- --json prints exactly the REST answer; tables have their header and ids;
- key material: --out writes a 0600 file with the REST bytes, never
  overwrites; stdout only when not a terminal or with --json;
- the tenant, identity and key commands (each REST operation);
- no API key ever appears on stdout or stderr, except where identity create
  is asked to print the new one; the client's own ASan build reports
  nothing.
"""
import base64
import json
import os
import pty
import re
import select
import stat
import subprocess

import pytest

from conftest import BIN, ROOT, free_port
from test_identity_cli import client_cert
from test_rest import api
from test_rest_keys import add_key

SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehavior")
TOKEN_RE = re.compile(r"^cf1_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$")
KEY_HEADER = ["ID", "NAME", "TYPE", "ALGORITHM", "SIZE", "STATE", "KIND"]
# Every API key this module has seen: never on stderr; on stdout only when a
# call says it asked for one (identity create).
SECRETS = set()


def clean_env(server, home, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COFFRE_") and k != "XDG_CONFIG_HOME"}
    env["HOME"] = str(home)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env["COFFRE_ADDR"] = "https://127.0.0.1:%d" % server.https_port
    env["COFFRE_CACERT"] = os.path.join(server.pki, "ca.crt")
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def check_output(p, secret_ok=False):
    assert not SANITIZER.search(p.stderr), p.stderr
    for s in SECRETS:
        assert s not in p.stderr, "an API key on stderr"
        assert secret_ok or s not in p.stdout, "an API key on stdout"


def cli(env, *args, secret_ok=False, cwd=None):
    p = subprocess.run([BIN, *args], env=env, cwd=cwd, capture_output=True, text=True,
                       timeout=120)
    check_output(p, secret_ok)
    return p


def token_file(d, name, token, mode=0o600):
    path = os.path.join(str(d), name)
    with open(path, "w") as f:
        f.write(token + "\n")
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="module")
def op(server):
    with open(os.path.join(server.data, "admin.token")) as f:
        token = f.read().strip()
    SECRETS.add(token)
    return token


@pytest.fixture(scope="module")
def tokens(server):
    t = {role: add_key(server, "cli-" + role, role) for role in ("writer", "reader", "manager")}
    SECRETS.update(t.values())
    return t


@pytest.fixture
def env(server, tmp_path, tokens):
    """The writer's key in COFFRE_TOKEN, the fixture server in COFFRE_ADDR/CACERT."""
    return clean_env(server, tmp_path, COFFRE_TOKEN=tokens["writer"])


def rest_key(server, token, **kw):
    body = {"algorithm": "AES", "length": 256, "activate": True}
    body.update(kw)
    status, _, key = api(server, "POST", "/v1/keys", body, token=token)
    assert status == 201, key
    return key


# ------------------------------------------------------- first five minutes
def readme_blocks():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    section = text.split("\n## First five minutes\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def json_docs(text):
    dec, docs, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return docs
        doc, i = dec.raw_decode(text, i)
        docs.append(doc)


def test_readme_first_five_minutes(server, op, tmp_path):
    """The README's two blocks, verbatim, from a directory where var/ is the
    server's data directory and build/coffre the binary under test. The
    CLI block uses the default address, so COFFRE_ADDR points at the test
    server; in the curl block the port is substituted."""
    cli_block, curl_block = readme_blocks()
    os.symlink(server.data, tmp_path / "var")
    os.mkdir(tmp_path / "build")
    os.symlink(BIN, tmp_path / "build" / "coffre")
    env = clean_env(server, tmp_path, COFFRE_CACERT=None)

    p = subprocess.run(["bash", "-euo", "pipefail", "-c", cli_block], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    for name, role in (("alice.token", "manager"), ("billing.token", "writer")):
        path = tmp_path / name
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        token = path.read_text()
        assert token.endswith("\n") and TOKEN_RE.match(token[:-1])
        SECRETS.add(token[:-1])
        status, _, me = api(server, "GET", "/v1/me", token=token[:-1])
        assert status == 200 and me["role"] == role and me["tenant"] == "acme"
    check_output(p)
    writer = (tmp_path / "billing.token").read_text().strip()
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["id", "acme"]                       # tenant create
    head = [l.split() for l in lines].index(KEY_HEADER)             # key list
    status, _, listing = api(server, "GET", "/v1/keys", token=writer)
    assert status == 200 and listing["total"] == 1
    key = listing["keys"][0]
    assert lines[head + 1].split()[:2] == [key["id"], "billing-key"]
    assert any(l.split() == ["id", key["id"]] for l in lines)      # key show
    status, _, material = api(server, "GET", "/v1/keys/%s/material" % key["id"], token=writer)
    assert json.loads(lines[-1]) == material
    assert len(base64.b64decode(material["material"])) == 32

    block = curl_block.replace("127.0.0.1:8443", "127.0.0.1:%d" % server.https_port)
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    tenant, keys, material = json_docs(p.stdout)
    assert tenant["id"] == "globex" and tenant["state"] == "active"
    assert keys["total"] == 1 and keys["keys"][0]["name"] == "billing-key"
    assert material["id"] == keys["keys"][0]["id"] and material["format"] == "raw"
    assert len(base64.b64decode(material["material"])) == 32
    status, _, idents = api(server, "GET", "/v1/tenants/globex/identities", token=op)
    assert status == 200
    assert sorted((i["name"], i["role"]) for i in idents["identities"]) == \
        [("billing", "writer"), ("bob", "manager")]


# ---------------------------------------------------------- output forms
def test_json_is_the_rest_answer(server, env, tokens):
    key = rest_key(server, tokens["writer"], name="cli-json")
    for args, path in ((["key", "show", key["id"]], "/v1/keys/" + key["id"]),
                       (["key", "list", "--name", "cli-json"], "/v1/keys?name=cli-json"),
                       (["me"], "/v1/me")):
        p = cli(env, "--json", *args)
        assert p.returncode == 0, p.stderr
        status, _, doc = api(server, "GET", path, token=tokens["writer"])
        assert status == 200
        assert p.stdout.count("\n") == 1 and json.loads(p.stdout) == doc
    # Global options may come anywhere on the line.
    p = cli(env, "key", "show", key["id"], "--json")
    assert json.loads(p.stdout)["id"] == key["id"]


def test_tables(server, env, tokens, op):
    key = rest_key(server, tokens["writer"], name="cli-table")
    p = cli(env, "key", "list", "--name", "cli-table")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == KEY_HEADER and len(lines) == 2
    assert lines[1].split() == [key["id"], "cli-table", "symmetric_key", "AES", "256", "active",
                                key.get("kind", "-")]
    # Columns are aligned: every row starts its NAME where the header does.
    assert lines[1].index("cli-table") == lines[0].index("NAME")
    p = cli(env, "key", "show", key["id"])
    fields = dict(l.split(None, 1) for l in p.stdout.splitlines())
    assert fields["id"] == key["id"] and fields["state"] == "active"
    assert fields["usage"] == "encrypt, decrypt"
    p = cli(clean_env(server, env["HOME"], COFFRE_TOKEN=op), "tenant", "list")
    assert p.stdout.splitlines()[0].split() == ["ID", "NAME", "STATE", "CREATED"]
    assert any(l.split()[0] == "default" for l in p.stdout.splitlines()[1:])


def test_list_paging_and_all(server, env, tokens):
    ids = [rest_key(server, tokens["writer"], name="cli-page-%d" % i)["id"] for i in range(5)]
    status, _, whole = api(server, "GET", "/v1/keys?limit=1000", token=tokens["writer"])
    p = cli(env, "--json", "key", "list", "--all", "--limit", "2")
    doc = json.loads(p.stdout)
    assert doc["keys"] == whole["keys"] and doc["total"] == whole["total"]
    assert doc["limit"] == 2 and doc["offset"] == 0
    assert set(ids) <= {k["id"] for k in doc["keys"]}
    p = cli(env, "key", "list", "--limit", "2")
    assert len(p.stdout.splitlines()) == 3
    assert "2 of %d shown" % whole["total"] in p.stderr
    p = cli(env, "key", "list", "--all")
    assert len(p.stdout.splitlines()) == whole["total"] + 1 and "shown" not in p.stderr
    # Enumerations may be written with dashes.
    pre = rest_key(server, tokens["writer"], activate=False)["id"]
    p = cli(env, "--json", "key", "list", "--all", "--state", "pre-active")
    keys = json.loads(p.stdout)["keys"]
    assert pre in [k["id"] for k in keys] and {k["state"] for k in keys} == {"pre_active"}


# ---------------------------------------------------------------- material
def read_pty(fd):
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def test_material_out_file_and_terminal(server, env, tokens, tmp_path):
    key = rest_key(server, tokens["writer"])
    status, _, m = api(server, "GET", "/v1/keys/%s/material" % key["id"], token=tokens["writer"])
    raw = base64.b64decode(m["material"])
    out = str(tmp_path / "key.bin")
    p = cli(env, "key", "material", key["id"], "--out", out)
    assert p.returncode == 0 and p.stdout == ""
    assert "wrote 32 bytes" in p.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with open(out, "rb") as f:
        assert f.read() == raw
    # Never overwritten.
    p = cli(env, "key", "material", key["id"], "--out", out)
    assert p.returncode == 1 and "exists" in p.stderr
    # Stdout is a pipe here: the material, base64, one line.
    p = cli(env, "key", "material", key["id"], secret_ok=True)
    assert p.returncode == 0 and p.stdout == m["material"] + "\n"
    # On a terminal: refused before asking, unless --json.
    master, slave = pty.openpty()
    try:
        r = subprocess.run([BIN, "key", "material", key["id"]], env=env, stdout=slave,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        shown = read_pty(master)
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 2 and "terminal" in r.stderr
    assert m["material"].encode() not in shown


def test_material_pem_and_der(server, env, tokens, tmp_path):
    p = cli(env, "--json", "key", "create", "--algorithm", "EC", "--curve", "P-256",
            "--activate")
    assert p.returncode == 0, p.stderr
    kid = json.loads(p.stdout)["id"]
    for fmt in ("pem", "der"):
        status, _, m = api(server, "GET", "/v1/keys/%s/material?format=%s" % (kid, fmt),
                           token=tokens["writer"])
        assert status == 200
        want = m["material"].encode() if fmt == "pem" else base64.b64decode(m["material"])
        out = str(tmp_path / ("key." + fmt))
        p = cli(env, "key", "material", kid, "--format", fmt, "--out", out)
        assert p.returncode == 0, p.stderr
        with open(out, "rb") as f:
            assert f.read() == want
    assert want[:1] == b"\x30"       # DER: a SEQUENCE


# ---------------------------------------------------------------- settings
def other_ca(d):
    """A CA that did not sign the server's certificate."""
    crt = os.path.join(str(d), "other-ca.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=other", "-days", "2",
                    "-keyout", os.path.join(str(d), "other-ca.key"), "-out", crt],
                   check=True, capture_output=True)
    return crt


def me_role(env, *args):
    p = cli(env, "--json", *args, "me")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["role"]


def test_precedence_flags_env_config(server, tokens, tmp_path):
    home = tmp_path
    wfile = token_file(home, "writer.token", tokens["writer"])
    rfile = token_file(home, "reader.token", tokens["reader"])
    cfg = home / ".config" / "coffre" / "config"
    os.makedirs(cfg.parent)
    good = "https://127.0.0.1:%d" % server.https_port
    bad = "https://127.0.0.1:%d" % free_port()
    ca = os.path.join(server.pki, "ca.crt")
    cfg.write_text("# test\naddr = %s\ncacert = %s\ntoken = %s\n" % (good, ca, tokens["reader"]))
    os.chmod(cfg, 0o600)
    base = clean_env(server, home, COFFRE_ADDR=None, COFFRE_CACERT=None)

    # The config file alone is enough.
    assert me_role(base) == "reader"
    # COFFRE_TOKEN beats the config file; --token-file beats COFFRE_TOKEN; so does --token.
    env = dict(base, COFFRE_TOKEN=tokens["writer"])
    assert me_role(env) == "writer"
    assert me_role(env, "--token-file", rfile) == "reader"
    assert me_role(env, "--token", tokens["manager"]) == "manager"
    p = cli(env, "--token", tokens["manager"], "--token-file", rfile, "me")
    assert p.returncode == 2
    # The address: COFFRE_ADDR beats the config file, --addr beats COFFRE_ADDR.
    cfg.write_text("addr = %s\ncacert = %s\ntoken_file = ../../writer.token\n" % (bad, ca))
    assert cli(base, "me").returncode == 8
    assert me_role(dict(base, COFFRE_ADDR=good)) == "writer"   # token_file: relative to the config
    assert cli(dict(base, COFFRE_ADDR=good), "--addr", bad, "me").returncode == 8
    assert me_role(base, "--addr", good) == "writer"
    # The CA: COFFRE_CACERT beats the config file, --cacert beats COFFRE_CACERT.
    env = dict(base, COFFRE_ADDR=good, COFFRE_CACERT=other_ca(home))
    p = cli(env, "me")
    assert p.returncode == 8 and "certificate" in p.stderr
    assert me_role(env, "--cacert", ca) == "writer"
    # COFFRE_CONFIG names another file; it must exist.
    alt = home / "alt.conf"
    alt.write_text("addr = %s\ncacert = %s\ntoken_file = %s\n" % (good, ca, wfile))
    assert me_role(dict(base, COFFRE_CONFIG=str(alt))) == "writer"
    p = cli(dict(base, COFFRE_CONFIG=str(home / "missing.conf")), "me")
    assert p.returncode == 1 and "missing.conf" in p.stderr
    # Syntax errors name the line.
    alt.write_text("addr = %s\nbogus = 1\n" % good)
    p = cli(dict(base, COFFRE_CONFIG=str(alt)), "me")
    assert p.returncode == 1 and "alt.conf:2" in p.stderr


def test_files_holding_a_key_must_be_private(server, tokens, tmp_path):
    home = tmp_path
    ca = os.path.join(server.pki, "ca.crt")
    good = "https://127.0.0.1:%d" % server.https_port
    cfg = home / "coffre.conf"
    cfg.write_text("addr = %s\ncacert = %s\ntoken = %s\n" % (good, ca, tokens["writer"]))
    env = clean_env(server, home, COFFRE_CONFIG=str(cfg), COFFRE_ADDR=None, COFFRE_CACERT=None)
    for mode in (0o644, 0o640, 0o604, 0o620):
        os.chmod(cfg, mode)
        p = cli(env, "me")
        assert p.returncode == 1
        assert str(cfg) in p.stderr and "too open" in p.stderr and "chmod 600" in p.stderr
        assert "%04o" % mode in p.stderr
    os.chmod(cfg, 0o600)
    assert me_role(env) == "writer"
    # A config file without a key may be readable; the token file it names may not.
    tf = token_file(home, "w.token", tokens["writer"], mode=0o640)
    cfg.write_text("addr = %s\ncacert = %s\ntoken_file = %s\n" % (good, ca, tf))
    os.chmod(cfg, 0o644)
    p = cli(env, "me")
    assert p.returncode == 1 and tf in p.stderr and "too open" in p.stderr
    os.chmod(tf, 0o600)
    assert me_role(env) == "writer"
    # --token-file too.
    os.chmod(tf, 0o604)
    p = cli(env, "--token-file", tf, "me")
    assert p.returncode == 1 and "too open" in p.stderr


# -------------------------------------------------------------- exit codes
def test_exit_codes(server, env, tokens, tmp_path):
    key = rest_key(server, tokens["writer"])
    wrong = "cf1_" + "0" * 32 + "_" + "A" * 43
    SECRETS.add(wrong)
    no_token = dict(env)
    del no_token["COFFRE_TOKEN"]
    cases = [
        (0, env, ["key", "show", key["id"]], None),
        (2, env, ["key", "frobnicate"], "unknown command"),
        (2, env, ["key", "show"], "ID is needed"),
        (2, env, ["key", "list", "--colour"], "unknown option"),
        (2, env, ["--addr", "http://127.0.0.1:1", "me"], "https://"),
        (2, env, ["key", "update", key["id"], "--name", "a", "--no-name"], "give one"),
        (3, no_token, ["key", "list"], "no API key"),
        (3, env, ["--token", wrong, "key", "list"], "unauthenticated"),
        (4, dict(env, COFFRE_TOKEN=tokens["reader"]),
         ["key", "create", "--algorithm", "AES", "--length", "256"], "permission_denied"),
        (5, env, ["key", "show", "01234567-89ab-cdef-0123-456789abcdef"], "not_found"),
        (6, env, ["key", "activate", key["id"]], "wrong_state"),
        (7, env, ["key", "create", "--algorithm", "AES", "--length", "100"], "invalid_field"),
        (8, dict(env, COFFRE_ADDR="https://127.0.0.1:%d" % free_port()), ["me"], "connect"),
        (8, dict(env, COFFRE_CACERT=other_ca(tmp_path)), ["me"], "certificate"),
    ]
    for code, e, args, text in cases:
        p = cli(e, *args)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        if text:
            assert text in p.stderr, (args, p.stderr)
            assert p.stderr.startswith("coffre: "), p.stderr
    # 1: a local failure (the file to write exists).
    out = tmp_path / "exists"
    out.write_text("x")
    assert cli(env, "key", "material", key["id"], "--out", str(out)).returncode == 1
    assert out.read_text() == "x"
    # 5 also for a destroyed key's material (410).
    assert cli(env, "key", "revoke", key["id"], "--reason", "superseded").returncode == 0
    assert cli(env, "key", "destroy", key["id"]).returncode == 0
    p = cli(env, "key", "material", key["id"])
    assert p.returncode in (5, 6), p.stderr


def test_help_matches_docs():
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    with open(os.path.join(ROOT, "docs", "cli.md")) as f:
        doc = f.read()
    codes = re.findall(r"^  (\d)  ", p.stdout, re.M)
    assert codes == [str(i) for i in range(9)]
    assert re.findall(r"^\| (\d) \|", doc, re.M) == codes
    for line in p.stdout.splitlines():
        m = re.match(r"^  (tenant|identity|key) +([a-z|]+)$", line)
        for verb in (m.group(2).split("|") if m else []):
            assert "`%s %s" % (m.group(1), verb) in doc, (m.group(1), verb)
    assert subprocess.run([BIN], capture_output=True, timeout=60).returncode == 2


# -------------------------------------------------- tenants and identities
def test_tenant_commands(server, op, tmp_path):
    env = clean_env(server, tmp_path, COFFRE_TOKEN=op)
    p = cli(env, "tenant", "create", "cli-t1", "--name", "CLI One")
    assert p.returncode == 0, p.stderr
    fields = dict(l.split(None, 1) for l in p.stdout.splitlines())
    assert fields["id"] == "cli-t1" and fields["name"] == "CLI One"
    assert cli(env, "tenant", "create", "cli-t1").returncode == 6
    p = cli(env, "--json", "tenant", "update", "cli-t1", "--state", "suspended")
    assert json.loads(p.stdout)["state"] == "suspended"
    p = cli(env, "--json", "tenant", "show", "cli-t1")
    status, _, doc = api(server, "GET", "/v1/tenants/cli-t1", token=op)
    assert json.loads(p.stdout) == doc and doc["state"] == "suspended"
    p = cli(env, "--json", "tenant", "list", "--all")
    status, _, doc = api(server, "GET", "/v1/tenants?limit=1000", token=op)
    assert json.loads(p.stdout)["tenants"] == doc["tenants"]
    assert cli(env, "tenant", "delete", "cli-t1").returncode == 0
    assert cli(env, "tenant", "show", "cli-t1").returncode == 5
    # The operator names the tenant of identities; it has none of its own.
    p = cli(env, "identity", "list")
    assert p.returncode == 2 and "--tenant" in p.stderr


def test_identity_commands_and_retire(server, op, tmp_path):
    openv = clean_env(server, tmp_path, COFFRE_TOKEN=op)
    assert cli(openv, "tenant", "create", "cli-t2").returncode == 0
    # identity create: the API key alone on stdout, the identity's id on stderr.
    p = cli(openv, "identity", "create", "--tenant", "cli-t2", "--name", "boss", "--role",
            "manager", secret_ok=True)
    assert p.returncode == 0, p.stderr
    manager = p.stdout.strip()
    assert TOKEN_RE.match(manager) and p.stdout == manager + "\n"
    SECRETS.add(manager)
    assert re.search(r"identity [0-9a-f-]{36}", p.stderr)
    menv = clean_env(server, tmp_path, COFFRE_TOKEN=manager)

    # A Manager works in its own tenant without naming it; --json: the whole answer.
    p = cli(menv, "--json", "identity", "create", "--name", "svc", "--role", "writer",
            "--restrict-action", "read-metadata", "--restrict-action", "create",
            "--restrict-action", "read-material", secret_ok=True)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    writer, wid = doc["token"], doc["identity"]["id"]
    SECRETS.add(writer)
    assert doc["identity"]["tenant"] == "cli-t2" and doc["identity"]["role"] == "writer"
    assert sorted(doc["identity"]["restriction"]["actions"]) == \
        ["create", "read-material", "read-metadata"]
    p = cli(menv, "identity", "list")
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "KIND", "ROLE", "EXPIRES", "DISABLED"]
    assert [l.split()[:4] for l in lines[1:] if l.startswith(wid)] == \
        [[wid, "svc", "api_key", "writer"]]
    p = cli(menv, "--json", "identity", "show", wid)
    status, _, want = api(server, "GET", "/v1/tenants/cli-t2/identities/" + wid, token=manager)
    assert json.loads(p.stdout) == want
    p = cli(menv, "--json", "identity", "update", wid, "--name", "svc2", "--expires",
            "2099-01-01T00:00:00Z", "--no-restriction")
    got = json.loads(p.stdout)
    assert got["name"] == "svc2" and got["expires"] == "2099-01-01T00:00:00Z"
    assert "restriction" not in got
    p = cli(menv, "--json", "identity", "update", wid, "--expires", "never", "--disable")
    got = json.loads(p.stdout)
    assert "expires" not in got and got["disabled"] is True
    wenv = clean_env(server, tmp_path, COFFRE_TOKEN=writer)
    assert cli(wenv, "me").returncode == 3
    assert json.loads(cli(menv, "--json", "identity", "update", wid, "--enable").stdout)[
        "disabled"] is False

    # The writer's key blocks a plain retirement; --destroy-keys destroys it.
    p = cli(wenv, "--json", "key", "create", "--algorithm", "AES", "--length", "128")
    kid = json.loads(p.stdout)["id"]
    p = cli(menv, "identity", "retire", wid)
    assert p.returncode == 6 and "wrong_state" in p.stderr and kid in p.stderr
    p = cli(menv, "--json", "identity", "retire", wid, "--destroy-keys")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["destroyed"] == [kid]
    assert cli(wenv, "me").returncode == 3
    # delete; the Manager cannot reach another tenant (not found).
    assert cli(menv, "identity", "delete", wid).returncode == 0
    assert cli(menv, "identity", "show", wid).returncode == 5
    assert cli(menv, "identity", "list", "--tenant", "default").returncode in (4, 5)
    # A certificate identity: no API key, no --kind needed.
    crt, _ = client_cert(str(tmp_path), "cli-host", os.path.join(server.pki, "ca.crt"),
                         os.path.join(server.pki, "ca.key"))
    out = str(tmp_path / "nothing.token")
    p = cli(menv, "--json", "identity", "create", "--name", "host", "--role", "reader",
            "--cert", crt, "--out", out)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["identity"]["kind"] == "certificate"
    assert "token" not in json.loads(p.stdout) and not os.path.exists(out)


def test_identity_create_out_file(server, op, tmp_path):
    env = clean_env(server, tmp_path, COFFRE_TOKEN=op)
    out = str(tmp_path / "new.token")
    p = cli(env, "identity", "create", "--tenant", "default", "--name", "cli-out", "--role",
            "reader", "--out", out)
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with open(out) as f:
        token = f.read().strip()
    SECRETS.add(token)
    fields = dict(l.split(None, 1) for l in p.stdout.splitlines())
    assert fields["name"] == "cli-out" and fields["role"] == "reader"
    assert token not in p.stdout and token not in p.stderr
    assert me_role(clean_env(server, tmp_path), "--token-file", out) == "reader"
    # Never overwritten: the identity is created but the key is lost; said so.
    p = cli(env, "identity", "create", "--tenant", "default", "--name", "cli-out2", "--role",
            "reader", "--out", out)
    assert p.returncode == 1 and "delete it" in p.stderr


# -------------------------------------------------------------- key commands
def test_key_import_update_lifecycle(server, env, tokens, tmp_path):
    raw = os.urandom(32)
    f = tmp_path / "aes.bin"
    f.write_bytes(raw)
    p = cli(env, "--json", "key", "import", "--format", "raw", "--file", str(f), "--algorithm",
            "AES", "--name", "cli-imported", "--tag", "env=prod", "--tag", "team=a",
            "--activate")
    assert p.returncode == 0, p.stderr
    key = json.loads(p.stdout)
    assert key["tags"] == {"env": "prod", "team": "a"} and key["state"] == "active"
    out = str(tmp_path / "back.bin")
    assert cli(env, "key", "material", key["id"], "--out", out).returncode == 0
    with open(out, "rb") as fh:
        assert fh.read() == raw
    # PEM (text) and DER (binary) files.
    pem = tmp_path / "ec.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", str(pem)], check=True, capture_output=True)
    der = tmp_path / "ec.der"
    subprocess.run(["openssl", "pkey", "-in", str(pem), "-outform", "DER", "-out", str(der)],
                   check=True, capture_output=True)
    for fmt, path in (("pem", pem), ("der", der)):
        p = cli(env, "--json", "key", "import", "--format", fmt, "--file", str(path))
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["type"] == "private_key"
    p = cli(env, "key", "import", "--format", "raw", "--file", str(f))
    assert p.returncode == 7      # raw needs --algorithm
    # PATCH: name, aliases, tags.
    p = cli(env, "--json", "key", "update", key["id"], "--name", "cli-renamed", "--alias",
            "cli-alias", "--tag", "env=dev", "--remove-tag", "team")
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["name"] == "cli-renamed" and got["aliases"] == ["cli-alias"]
    assert got["tags"] == {"env": "dev"}
    p = cli(env, "--json", "key", "list", "--tag", "env=dev")
    assert [k["id"] for k in json.loads(p.stdout)["keys"]] == [key["id"]]
    # Lifecycle.
    p = cli(env, "--json", "key", "deactivate", key["id"])
    assert p.returncode == 0 and json.loads(p.stdout)["state"] == "deactivated"
    assert cli(env, "key", "deactivate", key["id"]).returncode == 6
    p = cli(env, "--json", "key", "revoke", key["id"], "--reason", "key-compromise")
    assert p.returncode == 0 and json.loads(p.stdout)["state"] == "compromised"
    p = cli(env, "--json", "key", "destroy", key["id"])
    assert p.returncode == 0 and json.loads(p.stdout)["state"] == "destroyed_compromised"


def test_key_create_kinds(server, env, tokens):
    p = cli(env, "--json", "key", "create", "--algorithm", "AES", "--length", "256", "--kind",
            "root", "--usage", "wrap-key,unwrap-key", "--activate")
    assert p.returncode == 0, p.stderr
    key = json.loads(p.stdout)
    assert key["kind"] == "root" and key["extractable"] is False
    assert sorted(key["usage"]) == ["unwrap_key", "wrap_key"]
    p = cli(env, "key", "material", key["id"])
    assert p.returncode == 4 and "not_extractable" in p.stderr
    p = cli(env, "--json", "key", "create", "--algorithm", "HMAC-SHA256")
    assert p.returncode == 0 and json.loads(p.stdout)["length"] == 256


def test_health_needs_no_key(server, tmp_path):
    env = clean_env(server, tmp_path)
    p = cli(env, "--json", "health")
    assert p.returncode == 0 and json.loads(p.stdout)["status"] == "ok"


def test_offline_commands_still_dispatch(server):
    p = subprocess.run([BIN, "identity", "list", "--data", server.data], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("ID\tKIND\tROLE")
