"""The CLI rows of envelope encryption, rotation and the audit trail
(src/cli/client_env.c), and `coffre encrypt` / `coffre decrypt`
(src/cli/client_file.c, docs/file-encryption.md), against a live server
started with --test-clock:

- key wrap|unwrap|rewrap (generated DEKs, --plaintext-file, --ciphertext
  and --ciphertext-file binary or base64, AAD lists and maps, --out files,
  plaintext kept off a terminal), key batch, key versions, key rotate,
  key|tenant rotation-policy, rotation run, audit list|export|public-key,
  each with its exit codes (docs/cli.md), answers compared with REST;
- `coffre audit verify --file` on what `coffre audit export --out` wrote
  (one page or many merged), and its refusal of an edited export;
- encrypt/decrypt round trips at the chunk boundaries (0, 1, 65535, 65536,
  65537 bytes, 3 MiB), through stdin/stdout, after the root key rotated;
  tampering (a header byte, a chunk byte, a tag byte, the last chunk
  dropped, two chunks swapped, a chunk appended, a cut) and a wrong AAD
  each fail with no OUT file left; a Reader cannot encrypt (exit 4);
- the help text and docs/cli.md list the same commands and options.
"""
import base64
import glob
import json
import os
import pty
import re
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, ROOT, Server
from test_cli import clean_env, read_pty
from test_rest import api
from test_rest_keys import add_key

SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehavior")
CHUNK = 65536
DAY = 86400


@pytest.fixture(scope="module")
def srv():
    """A server of its own with --test-clock (rotation run --at)."""
    with tempfile.TemporaryDirectory(prefix="coffre-clienv-") as d:
        data = os.path.join(d, "data")
        os.makedirs(data, mode=0o700)
        s = Server(data)
        s.start(extra=("--test-clock", "--rotation-check", "0"))
        try:
            with open(os.path.join(data, "admin.token")) as f:
                s.operator = f.read().strip()
            s.tokens = {r: add_key(s, "ce-" + r, r) for r in ("writer", "reader", "manager")}
            yield s
        finally:
            rc = s.stop()
            s.check_log()
            assert rc == 0, s.read_log()[-4000:]


@pytest.fixture
def run(srv, tmp_path):
    """run(role, *args, input=None): the CLI with that role's key (or "operator")."""
    def go(role, *args, input=None, secrets=()):
        token = srv.operator if role == "operator" else srv.tokens[role]
        env = clean_env(srv, tmp_path, COFFRE_TOKEN=token)
        p = subprocess.run([BIN, *args], env=env, capture_output=True, input=input,
                           timeout=300, cwd=str(tmp_path))
        err = p.stderr.decode("utf-8", "replace")
        assert not SANITIZER.search(err), err
        for s in (token, *secrets):
            assert s.encode() not in p.stderr, "a secret on stderr"
        return p
    return go


def text(p):
    return p.stdout.decode()


def fields(p):
    return dict(l.split(None, 1) for l in text(p).splitlines())


def b64(b):
    return base64.b64encode(b).decode()


def root_key(srv, token=None, **kw):
    body = {"algorithm": "AES", "length": 256, "kind": "root", "activate": True,
            "usage": ["wrap_key", "unwrap_key"]}
    body.update(kw)
    status, _, key = api(srv, "POST", "/v1/keys", body, token=token or srv.tokens["writer"])
    assert status == 201, key
    return key["id"]


def rest_unwrap(srv, kid, ct, aad=None):
    body = {"ciphertext": ct}
    if aad is not None:
        body["aad"] = aad
    status, _, doc = api(srv, "POST", "/v1/keys/%s/unwrap" % kid, body,
                         token=srv.tokens["writer"])
    return status, doc


def on_terminal(srv, tmp_path, *args):
    """The CLI with stdout on a pseudo-terminal: (exit code, stderr, what the terminal got)."""
    env = clean_env(srv, tmp_path, COFFRE_TOKEN=srv.tokens["writer"])
    master, slave = pty.openpty()
    try:
        r = subprocess.run([BIN, *args], env=env, stdout=slave, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        shown = read_pty(master)
    finally:
        os.close(slave)
        os.close(master)
    return r.returncode, r.stderr, shown


# ------------------------------------------------------------- help = docs
def help_commands():
    """(noun, verb) of every row of `coffre --help`, continuation lines included."""
    out = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=60).stdout
    body = out.split("  version      print the version\n", 1)[1].strip("\n").split("\n\n")[0]
    cmds, noun = [], None
    for line in body.splitlines():
        m = re.match(r"^  (\S+) +(.*)$", line)
        if m:
            noun, rest = m.group(1), m.group(2)
        else:
            rest = line.strip()
        if re.fullmatch(r"[a-z|-]+", rest):
            cmds += [(noun, v) for v in rest.split("|") if v]
        elif m:
            cmds.append((noun, None))
    return cmds


def test_help_and_docs_list_the_same_commands_and_options():
    with open(os.path.join(ROOT, "docs", "cli.md")) as f:
        doc = f.read()
    rows = {}
    for line in doc.splitlines():
        m = re.match(r"^\| `([a-z][a-z -]*?)(?: [A-Z][A-Z ]*)?` \|", line)
        if m:
            rows[m.group(1)] = line
    cmds = help_commands()
    for want in [("key", "wrap"), ("key", "unwrap"), ("key", "rewrap"), ("key", "batch"),
                 ("key", "versions"), ("key", "rotate"), ("key", "rotation-policy"),
                 ("tenant", "rotation-policy"), ("rotation", "run"), ("audit", "list"),
                 ("audit", "export"), ("audit", "public-key"), ("encrypt", None),
                 ("decrypt", None)]:
        assert want in cmds, want
    for noun, verb in cmds:
        name = noun if verb is None else "%s %s" % (noun, verb)
        assert name in rows, "docs/cli.md has no row for `%s`" % name
        h = subprocess.run([BIN, noun] + ([verb] if verb else []) + ["--help"],
                           capture_output=True, text=True, timeout=60).stdout
        for opt in re.findall(r"^        (--[a-z0-9-]+)", h, re.M):
            assert opt in rows[name], "`%s`: %s is not in docs/cli.md" % (name, opt)


# ------------------------------------------------------ wrap/unwrap/rewrap
def test_wrap_generated_dek_and_unwrap(srv, run, tmp_path):
    kid = root_key(srv)
    p = run("writer", "key", "wrap", kid)  # stdout is a pipe: the fields, plaintext last
    assert p.returncode == 0, p.stderr
    f = fields(p)
    assert list(f) == ["key_id", "key_version", "ciphertext", "plaintext"]
    assert f["key_id"] == kid and f["key_version"] == "1"
    dek = base64.b64decode(f["plaintext"])
    assert len(dek) == 32
    status, doc = rest_unwrap(srv, kid, f["ciphertext"])
    assert status == 200 and doc["plaintext"] == f["plaintext"]
    # unwrap: --ciphertext, the answer's fields; --json: the REST answer.
    p = run("writer", "key", "unwrap", kid, "--ciphertext", f["ciphertext"])
    assert p.returncode == 0 and fields(p)["plaintext"] == f["plaintext"]
    assert fields(p)["rewrap_recommended"] == "false"
    p = run("writer", "--json", "key", "unwrap", kid, "--ciphertext", f["ciphertext"])
    assert json.loads(text(p)) == doc
    # --out: the DEK in a 0600 file, never overwritten; not on stdout.
    out = str(tmp_path / "dek.bin")
    p = run("writer", "key", "unwrap", kid, "--ciphertext", f["ciphertext"], "--out", out)
    assert p.returncode == 0 and "plaintext" not in text(p) and f["plaintext"] not in text(p)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with open(out, "rb") as fh:
        assert fh.read() == dek
    p = run("writer", "key", "unwrap", kid, "--ciphertext", f["ciphertext"], "--out", out)
    assert p.returncode == 1 and b"exists" in p.stderr
    out2 = str(tmp_path / "dek2.bin")
    p = run("writer", "--json", "key", "wrap", kid, "--out", out2)
    assert p.returncode == 0 and "plaintext" not in json.loads(text(p))
    assert os.path.getsize(out2) == 32


def test_plaintext_never_on_a_terminal(srv, tmp_path):
    kid = root_key(srv)
    rc, err, shown = on_terminal(srv, tmp_path, "key", "wrap", kid)
    assert rc == 2 and "terminal" in err and shown == b""
    pt = tmp_path / "pt.bin"
    pt.write_bytes(b"k" * 32)
    rc, err, shown = on_terminal(srv, tmp_path, "key", "wrap", kid, "--plaintext-file", str(pt))
    assert rc == 0 and b"ciphertext" in shown and b64(b"k" * 32).encode() not in shown
    ct = re.search(rb"ciphertext +(\S+)", shown).group(1).decode()
    rc, err, shown = on_terminal(srv, tmp_path, "key", "unwrap", kid, "--ciphertext", ct)
    assert rc == 2 and "terminal" in err and shown == b""
    rc, err, shown = on_terminal(srv, tmp_path, "--json", "key", "unwrap", kid,
                                 "--ciphertext", ct)
    assert rc == 0 and json.loads(shown)["plaintext"] == b64(b"k" * 32)


def test_plaintext_file_ciphertext_file_and_aad(srv, run, tmp_path):
    kid = root_key(srv)
    dek = os.urandom(48)
    (tmp_path / "dek").write_bytes(dek)
    p = run("writer", "key", "wrap", kid, "--plaintext-file", "dek", "--aad", "bucket:photos",
            "--aad", "object:cat.jpg", secrets=[b64(dek)])
    assert p.returncode == 0, p.stderr
    f = fields(p)
    assert "plaintext" not in f and b64(dek) not in text(p)
    ct = f["ciphertext"]
    status, doc = rest_unwrap(srv, kid, ct, ["bucket:photos", "object:cat.jpg"])
    assert status == 200 and base64.b64decode(doc["plaintext"]) == dek
    (tmp_path / "ct.bin").write_bytes(base64.b64decode(ct))
    (tmp_path / "ct.txt").write_text(ct + "\n")
    for ctf in ("ct.bin", "ct.txt"):
        p = run("writer", "--json", "key", "unwrap", kid, "--ciphertext-file", ctf,
                "--aad", "bucket:photos", "--aad", "object:cat.jpg")
        assert p.returncode == 0, p.stderr
        assert base64.b64decode(json.loads(text(p))["plaintext"]) == dek
    # Other AAD: none, reordered, a map: 7 (cryptographic_failure).
    for aad in ([], ["--aad", "object:cat.jpg", "--aad", "bucket:photos"],
                ["--aad-map", "bucket=photos"]):
        p = run("writer", "key", "unwrap", kid, "--ciphertext", ct, *aad)
        assert p.returncode == 7 and b"cryptographic_failure" in p.stderr
    # A map: any order.
    p = run("writer", "key", "wrap", kid, "--plaintext-file", "dek", "--aad-map", "b=2",
            "--aad-map", "a=1")
    ct2 = fields(p)["ciphertext"]
    p = run("writer", "--json", "key", "unwrap", kid, "--ciphertext", ct2, "--aad-map", "a=1",
            "--aad-map", "b=2")
    assert p.returncode == 0 and base64.b64decode(json.loads(text(p))["plaintext"]) == dek
    # Usage: both or neither ciphertext option, a list and a map, --out with a given DEK.
    for args in (["--ciphertext", ct, "--ciphertext-file", "ct.bin"], [],
                 ["--ciphertext", ct, "--aad", "x", "--aad-map", "y=z"]):
        assert run("writer", "key", "unwrap", kid, *args).returncode == 2, args
    assert run("writer", "key", "wrap", kid, "--plaintext-file", "dek",
               "--out", "x").returncode == 2
    assert run("writer", "key", "wrap", kid, "--plaintext-file", "nope").returncode == 1


def test_rewrap_after_rotate_and_versions(srv, run):
    kid = root_key(srv)
    p = run("writer", "key", "wrap", kid, "--aad-map", "v=1")
    f = fields(p)
    p = run("writer", "key", "rotate", kid)
    assert p.returncode == 0 and fields(p)["version"] == "2"
    p = run("writer", "key", "versions", kid)
    lines = text(p).splitlines()
    assert lines[0].split() == ["VERSION", "CREATED", "DESTROYED", "ENCRYPTIONS"]
    assert [l.split()[0] for l in lines[1:]] == ["2", "1"]
    p = run("reader", "--json", "key", "versions", kid)
    status, _, doc = api(srv, "GET", "/v1/keys/%s/versions" % kid, token=srv.tokens["reader"])
    assert json.loads(text(p)) == doc and doc["total"] == 2
    p = run("writer", "key", "unwrap", kid, "--ciphertext", f["ciphertext"], "--aad-map", "v=1")
    assert fields(p)["key_version"] == "1" and fields(p)["rewrap_recommended"] == "true"
    p = run("writer", "key", "rewrap", kid, "--ciphertext", f["ciphertext"], "--aad-map", "v=1")
    assert p.returncode == 0, p.stderr
    rw = fields(p)
    assert rw["key_version"] == "2" and "plaintext" not in rw
    status, doc = rest_unwrap(srv, kid, rw["ciphertext"], {"v": "1"})
    assert status == 200 and doc["plaintext"] == f["plaintext"]
    assert run("writer", "key", "rewrap", kid, "--ciphertext", rw["ciphertext"]).returncode == 7


def test_envelope_exit_codes(srv, run):
    kid, std = root_key(srv), None
    status, _, key = api(srv, "POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                   "activate": True}, token=srv.tokens["writer"])
    std = key["id"]
    ct = fields(run("writer", "key", "wrap", kid))["ciphertext"]
    assert run("reader", "key", "wrap", kid).returncode == 4
    assert run("reader", "key", "unwrap", kid, "--ciphertext", ct).returncode == 4
    assert run("reader", "key", "rotate", kid).returncode == 4
    assert run("writer", "key", "wrap", "no-such-key").returncode == 5
    assert run("writer", "key", "wrap", std).returncode == 7  # wrong_object_type
    assert run("writer", "key", "unwrap", kid, "--ciphertext", "!!").returncode == 7
    assert run("writer", "key", "deactivate", kid).returncode == 0
    assert run("writer", "key", "wrap", kid).returncode == 6
    assert run("writer", "key", "rotate", kid).returncode == 6
    p = run("writer", "key", "unwrap", kid, "--ciphertext", ct)
    assert p.returncode == 0  # a deactivated key still unwraps


def test_batch(srv, run, tmp_path):
    kid = root_key(srv)
    good = fields(run("writer", "key", "wrap", kid, "--aad", "a"))
    items = [{"op": "wrap", "plaintext": b64(b"0123456789abcdef")},
             {"op": "unwrap", "ciphertext": good["ciphertext"], "aad": ["a"]},
             {"op": "unwrap", "ciphertext": good["ciphertext"], "aad": ["b"]},
             {"op": "rewrap", "ciphertext": good["ciphertext"], "aad": ["a"]}]
    (tmp_path / "items.json").write_text(json.dumps(items))
    (tmp_path / "body.json").write_text(json.dumps({"items": items}))
    p = run("writer", "key", "batch", kid, "--file", "items.json")
    assert p.returncode == 0, p.stderr
    res = json.loads(text(p))["results"]
    assert len(res) == 4 and res[0]["key_version"] == 1 and "plaintext" not in res[0]
    assert res[1]["plaintext"] == good["plaintext"]
    assert res[2]["error"]["code"] == "cryptographic_failure"
    assert res[3]["key_version"] == 1
    assert b"4 items: 3 ok, 1 failed" in p.stderr
    out = str(tmp_path / "answer.json")
    p = run("writer", "--json", "key", "batch", kid, "--file", "body.json", "--out", out)
    assert p.returncode == 0 and text(p) == ""
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with open(out) as fh:
        assert json.load(fh)["results"][1]["plaintext"] == good["plaintext"]
    (tmp_path / "bad.json").write_text("[{")
    assert run("writer", "key", "batch", kid, "--file", "bad.json").returncode == 1
    assert run("writer", "key", "batch", kid, "--file", "missing.json").returncode == 1
    assert run("writer", "key", "batch", kid).returncode == 2
    # A Reader's items are refused one by one (the batch itself is answered: 0).
    p = run("reader", "key", "batch", kid, "--file", "items.json")
    assert p.returncode == 0 and b"4 items: 0 ok, 4 failed" in p.stderr
    assert {r["error"]["code"] for r in json.loads(text(p))["results"]} == {"permission_denied"}
    (tmp_path / "empty.json").write_text("[]")
    assert run("writer", "key", "batch", kid, "--file", "empty.json").returncode == 7
    rc, err, shown = on_terminal(srv, tmp_path, "key", "batch", kid, "--file",
                                 str(tmp_path / "items.json"))
    assert rc == 2 and shown == b""
    only_wraps = tmp_path / "wraps.json"
    only_wraps.write_text(json.dumps(items[:1]))
    rc, err, shown = on_terminal(srv, tmp_path, "key", "batch", kid, "--file", str(only_wraps))
    assert rc == 0 and json.loads(shown)["results"][0]["key_version"] == 1


# ---------------------------------------------------------------- rotation
def test_rotation_policy_commands(srv, run):
    kid = root_key(srv)
    p = run("reader", "key", "rotation-policy", kid)
    assert p.returncode == 0 and fields(p) == {"source": "none"}
    p = run("writer", "key", "rotation-policy", kid, "--interval", "14d",
            "--max-encryptions", "1000")
    assert p.returncode == 0, p.stderr
    f = fields(p)
    assert (f["source"], f["interval"], f["interval_seconds"], f["max_encryptions"]) == \
        ("key", "14d", "1209600", "1000")
    p = run("writer", "--json", "key", "rotation-policy", kid, "--interval", "7200")
    assert json.loads(text(p))["interval"] == "2h"  # seconds are sent as a number
    status, _, doc = api(srv, "GET", "/v1/keys/%s/rotation-policy" % kid,
                         token=srv.tokens["reader"])
    assert json.loads(text(run("reader", "--json", "key", "rotation-policy", kid))) == doc
    assert run("reader", "key", "rotation-policy", kid, "--interval", "1d").returncode == 4
    assert run("writer", "key", "rotation-policy", kid, "--interval", "1x").returncode == 7
    assert run("writer", "key", "rotation-policy", kid, "--clear",
               "--interval", "1d").returncode == 2
    p = run("writer", "key", "rotation-policy", kid, "--clear")
    assert p.returncode == 0 and fields(p)["source"] == "none"
    # The tenant default: a Manager of the tenant (a Writer: 4), and then the key follows it.
    assert run("writer", "tenant", "rotation-policy", "default",
               "--interval", "30d").returncode == 4
    p = run("manager", "tenant", "rotation-policy", "default", "--interval", "30d")
    assert p.returncode == 0 and fields(p)["source"] == "tenant", p.stderr
    assert fields(run("reader", "key", "rotation-policy", kid))["source"] == "tenant"
    assert run("manager", "tenant", "rotation-policy", "other-tenant").returncode == 5
    p = run("manager", "tenant", "rotation-policy", "default", "--clear")
    assert p.returncode == 0 and fields(p)["source"] == "none"


def test_rotation_run(srv, run):
    kid = root_key(srv)
    assert run("writer", "key", "rotation-policy", kid, "--interval", "14d").returncode == 0
    assert run("writer", "rotation", "run").returncode == 4  # the operator only
    p = run("operator", "rotation", "run")
    assert p.returncode == 0 and fields(p)["rotated"] == "0"
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 15 * DAY))
    p = run("operator", "--json", "rotation", "run", "--at", at)
    assert p.returncode == 0, p.stderr
    doc = json.loads(text(p))
    assert doc["rotated"] >= 1 and doc["at"] == at
    status, _, v = api(srv, "GET", "/v1/keys/%s/versions" % kid, token=srv.tokens["reader"])
    assert v["total"] == 2
    assert run("operator", "rotation", "run", "--at", "yesterday").returncode == 7


# ------------------------------------------------------------------- audit
def test_audit_list(srv, run):
    kid = root_key(srv)
    run("writer", "key", "wrap", kid)
    run("writer", "key", "unwrap", kid, "--ciphertext", "Q0ZXAQ==")
    p = run("reader", "audit", "list", "--object", kid)
    assert p.returncode == 0, p.stderr
    lines = text(p).splitlines()
    assert lines[0].split() == ["SEQ", "TIME", "IDENTITY", "OPERATION", "OBJECT", "RESULT"]
    rows = [l.split() for l in lines[1:]]
    assert [(r[2], r[3], r[5]) for r in rows] == [
        ("ce-writer", "createKey", "ok"), ("ce-writer", "wrapKey", "ok"),
        ("ce-writer", "unwrapKey", "cryptographic_failure")]
    status, _, doc = api(srv, "GET", "/v1/audit?object=" + kid, token=srv.tokens["reader"])
    p = run("reader", "--json", "audit", "list", "--object", kid)
    got = json.loads(text(p))
    assert [r["seq"] for r in got["records"]] == [r["seq"] for r in doc["records"]]
    p = run("reader", "--json", "audit", "list", "--object", kid, "--operation", "unwrapKey",
            "--result", "cryptographic_failure")
    assert [r["operation"] for r in json.loads(text(p))["records"]] == ["unwrapKey"]
    p = run("reader", "audit", "list", "--limit", "2")
    assert len(text(p).splitlines()) == 3
    nxt = int(re.search(rb"--after-seq (\d+)", p.stderr).group(1))
    p = run("reader", "--json", "audit", "list", "--limit", "2", "--after-seq", str(nxt))
    assert [r["seq"] for r in json.loads(text(p))["records"]] == [nxt + 1, nxt + 2]
    ident = json.loads(text(run("writer", "--json", "me")))["id"]
    p = run("reader", "--json", "audit", "list", "--identity", ident, "--limit", "1000")
    assert {r["identity"]["id"] for r in json.loads(text(p))["records"]} == {ident}
    # Exit codes: a bad limit 7, another tenant's chain 5, the operator names the tenant.
    assert run("reader", "audit", "list", "--limit", "0").returncode == 7
    assert run("reader", "audit", "list", "--tenant", "nope").returncode == 5
    p = run("operator", "--json", "audit", "list", "--tenant", "default", "--object", kid)
    assert p.returncode == 0 and len(json.loads(text(p))["records"]) == 3


def test_audit_export_verifies_offline(srv, run, tmp_path):
    for _ in range(5):
        run("writer", "key", "list")
    p = run("reader", "audit", "export", "--out", "all.json")
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "all.json").st_mode) == 0o600
    with open(tmp_path / "all.json") as fh:
        whole = json.load(fh)
    assert whole["chain"] == "default" and whole["first_seq"] == 1
    assert "next_after_seq" not in whole and len(whole["records"]) >= 10
    # Many pages merged into one document: the same records, and it verifies.
    p = run("reader", "audit", "export", "--out", "paged.json", "--page", "3")
    assert p.returncode == 0, p.stderr
    with open(tmp_path / "paged.json") as fh:
        paged = json.load(fh)
    n = len(whole["records"])
    assert paged["records"][:n] == whole["records"]
    assert len(paged["checkpoints"]) >= len(paged["records"]) // 3 - 1
    p = run("writer", "audit", "public-key", "--out", "audit.pub")
    assert p.returncode == 0
    status, _, pub = api(srv, "GET", "/v1/audit/public-key", token=srv.tokens["reader"])
    assert (tmp_path / "audit.pub").read_text() == pub["public_key"]
    assert text(run("reader", "audit", "public-key")) == pub["public_key"]
    assert json.loads(text(run("reader", "--json", "audit", "public-key"))) == pub
    for f in ("all.json", "paged.json"):
        for extra in ([], ["--public-key", "audit.pub"]):
            v = run("reader", "audit", "verify", "--file", f, *extra)
            assert v.returncode == 0, text(v)
            assert re.search(r"^OK: 1 chain, %d records verified$" % len(
                json.load(open(tmp_path / f))["records"]), text(v), re.M)
    # Edited, dropped: verify names the record.
    bad = json.loads(json.dumps(paged))
    bad["records"][4]["operation"] = "getKey"
    (tmp_path / "edited.json").write_text(json.dumps(bad))
    v = run("reader", "audit", "verify", "--file", "edited.json")
    assert v.returncode == 1 and "FAILED: record seq 5 of chain default" in text(v)
    bad = json.loads(json.dumps(paged))
    del bad["records"][6]
    (tmp_path / "dropped.json").write_text(json.dumps(bad))
    v = run("reader", "audit", "verify", "--file", "dropped.json")
    assert v.returncode == 1 and "seq 7 missing" in text(v)
    # A time range in the future: no records; --out exists: 1; no --out: 2.
    p = run("reader", "--json", "audit", "export", "--out", "-", "--from", "2099-01-01T00:00:00Z")
    assert p.returncode == 0 and json.loads(text(p))["records"] == []
    assert run("reader", "audit", "export", "--out", "all.json").returncode == 1
    assert run("reader", "audit", "export").returncode == 2
    assert run("reader", "audit", "export", "--out", "x.json", "--to", "soon").returncode == 7


def test_audit_refused_to_key_restricted_identity(srv, run, tmp_path):
    kid = root_key(srv)
    status, _, doc = api(srv, "POST", "/v1/tenants/default/identities",
                         {"kind": "api_key", "name": "ce-svc", "role": "writer",
                          "restriction": {"actions": ["wrap", "unwrap"], "keys": [kid]}},
                         token=srv.tokens["manager"])
    assert status == 201
    env = clean_env(srv, tmp_path, COFFRE_TOKEN=doc["token"])
    p = subprocess.run([BIN, "audit", "list"], env=env, capture_output=True, timeout=60)
    assert p.returncode == 4
    # It encrypts and decrypts with its key, and sees no other (5).
    (tmp_path / "in").write_bytes(b"service data")
    p = subprocess.run([BIN, "encrypt", "--key", kid, "in", "-o", "in.cfe"], env=env,
                       capture_output=True, timeout=60, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    p = subprocess.run([BIN, "decrypt", "in.cfe", "-o", "in.out"], env=env,
                       capture_output=True, timeout=60, cwd=str(tmp_path))
    assert p.returncode == 0 and (tmp_path / "in.out").read_bytes() == b"service data"
    other = root_key(srv)
    p = subprocess.run([BIN, "encrypt", "--key", other, "in", "-o", "o.cfe"], env=env,
                       capture_output=True, timeout=60, cwd=str(tmp_path))
    assert p.returncode == 5 and not os.path.exists(tmp_path / "o.cfe")


# ------------------------------------------------------- encrypt / decrypt
def header(data):
    """(header length, wrapped DEK, AAD encoding) of an encrypted file."""
    assert data[:5] == b"CFE\x01\x01" and int.from_bytes(data[5:9], "big") == CHUNK
    w = int.from_bytes(data[17:19], "big")
    a = int.from_bytes(data[19 + w:23 + w], "big")
    return 23 + w + a, data[19:19 + w], data[23 + w:23 + w + a]


def no_output(tmp_path, name):
    return not os.path.exists(tmp_path / name) and not glob.glob(str(tmp_path / name) + ".tmp-*")


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * 1024 * 1024])
def test_encrypt_decrypt_round_trip(srv, run, tmp_path, size):
    kid = root_key(srv)
    data = os.urandom(size)
    (tmp_path / "in").write_bytes(data)
    p = run("writer", "encrypt", "--key", kid, "--aad-map", "bucket=photos", "in",
            "-o", "in.cfe")
    assert p.returncode == 0 and p.stdout == b"", p.stderr
    assert b"encrypted %d bytes" % size in p.stderr
    enc = (tmp_path / "in.cfe").read_bytes()
    assert stat.S_IMODE(os.stat(tmp_path / "in.cfe").st_mode) == 0o600
    hlen, wrapped, aad = header(enc)
    chunks = max(1, -(-size // CHUNK))
    assert len(enc) == hlen + size + 16 * chunks
    assert aad == b"\x02\x00\x00\x00\x01" + b"\x00\x00\x00\x06bucket\x00\x00\x00\x06photos"
    # The DEK is never printed.
    status, doc = rest_unwrap(srv, kid, b64(wrapped), {"bucket": "photos"})
    assert status == 200
    dek = base64.b64decode(doc["plaintext"])
    assert len(dek) == 32
    p = run("writer", "decrypt", "in.cfe", "-o", "out", secrets=[doc["plaintext"],
                                                               dek.hex()])
    assert p.returncode == 0 and p.stdout == b"", p.stderr
    assert doc["plaintext"].encode() not in p.stdout
    assert (tmp_path / "out").read_bytes() == data
    assert stat.S_IMODE(os.stat(tmp_path / "out").st_mode) == 0o600
    assert glob.glob(str(tmp_path / "*.tmp-*")) == []


def test_encrypt_decrypt_streams(srv, run, tmp_path):
    kid = root_key(srv)
    data = os.urandom(200000)
    p = run("writer", "encrypt", "--key", kid, "--aad", "backup", "--aad", "2026", "-", "-o", "-",
            input=data)
    assert p.returncode == 0, p.stderr
    enc = p.stdout
    hlen, _, aad = header(enc)
    assert len(enc) == hlen + len(data) + 16 * 4 and aad[:5] == b"\x01\x00\x00\x00\x02"
    p = run("writer", "decrypt", "-", "-o", "-", input=enc)
    assert p.returncode == 0 and p.stdout == data, p.stderr
    # Given again: the same AAD works, another fails (7).
    p = run("writer", "decrypt", "-", "--aad", "backup", "--aad", "2026", "-o", "-", input=enc)
    assert p.returncode == 0 and p.stdout == data
    (tmp_path / "s.cfe").write_bytes(enc)
    p = run("writer", "decrypt", "s.cfe", "--aad", "2026", "--aad", "backup", "-o", "x")
    assert p.returncode == 7 and no_output(tmp_path, "x")
    p = run("writer", "decrypt", "s.cfe", "--aad-map", "backup=2026", "-o", "x")
    assert p.returncode == 7 and no_output(tmp_path, "x")


def test_decrypt_after_rotation(srv, run, tmp_path):
    kid = root_key(srv)
    (tmp_path / "in").write_bytes(b"before the rotation" * 5000)
    assert run("writer", "encrypt", "--key", kid, "in", "-o", "v1.cfe").returncode == 0
    _, wrapped, aad = header((tmp_path / "v1.cfe").read_bytes())
    assert aad == b"\x00" and wrapped[6 + wrapped[5]:10 + wrapped[5]] == b"\x00\x00\x00\x01"
    assert run("writer", "key", "rotate", kid).returncode == 0
    p = run("writer", "decrypt", "v1.cfe", "-o", "v1.out")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "v1.out").read_bytes() == (tmp_path / "in").read_bytes()
    p = run("writer", "encrypt", "--key", kid, "in", "-o", "v2.cfe")
    assert p.returncode == 0 and b"version 2" in p.stderr
    _, wrapped, _ = header((tmp_path / "v2.cfe").read_bytes())
    assert wrapped[6 + wrapped[5]:10 + wrapped[5]] == b"\x00\x00\x00\x02"
    # A deactivated key still decrypts, and no longer encrypts (6).
    assert run("writer", "key", "deactivate", kid).returncode == 0
    assert run("writer", "decrypt", "v2.cfe", "-o", "v2.out").returncode == 0
    p = run("writer", "encrypt", "--key", kid, "in", "-o", "v3.cfe")
    assert p.returncode == 6 and no_output(tmp_path, "v3.cfe")


@pytest.fixture
def sample(srv, run, tmp_path):
    """A file of 3 chunks (65536, 65536, 18928 bytes) with a map AAD."""
    kid = root_key(srv)
    data = os.urandom(2 * CHUNK + 18928)
    (tmp_path / "in").write_bytes(data)
    assert run("writer", "encrypt", "--key", kid, "--aad-map", "k=v", "in",
               "-o", "s.cfe").returncode == 0
    enc = (tmp_path / "s.cfe").read_bytes()
    return enc, header(enc)[0]


def tampered(sample, what):
    """The sample file with one change: an offset flips a bit there; the
    others move whole chunks (C + 16 bytes each)."""
    enc, h = sample
    c = CHUNK + 16
    if isinstance(what, int):
        d = bytearray(enc)
        d[what] ^= 0x01
        return bytes(d)
    body = [enc[h + i:h + i + c] for i in range(0, len(enc) - h, c)]
    assert len(body) == 3
    if what == "drop last":
        body = body[:2]
    elif what == "swap":
        body = [body[1], body[0], body[2]]
    elif what == "append":
        body = body + [body[0]]
    elif what == "cut":
        return enc[:-100]
    return enc[:h] + b"".join(body)


def offset(sample, where):
    """Where a byte is, from the sample's own header."""
    enc, h = sample
    w = int.from_bytes(enc[17:19], "big")
    c = CHUNK + 16
    return {"magic": 0, "chunk size": 8, "prefix": 12, "wrapped DEK tag": 19 + w - 1,
            "AAD value": h - 1, "chunk 0": h + 100, "chunk 1": h + c + 5,
            "tag 0": h + c - 1, "last tag": len(enc) - 1}[where]


@pytest.mark.parametrize("what,code", [
    ("magic", 1),
    ("chunk size", 1),       # 65536 -> 65537: the header hash in every chunk
    ("prefix", 1),           # the nonces
    ("wrapped DEK tag", 7),  # the server refuses to unwrap
    ("AAD value", 7),        # idem: another AAD
    ("chunk 0", 1),
    ("chunk 1", 1),
    ("tag 0", 1),
    ("last tag", 1),
    ("drop last", 1),
    ("swap", 1),
    ("append", 1),
    ("cut", 1),
])
def test_tampered_file_fails_and_leaves_nothing(run, tmp_path, sample, what, code):
    bad = tampered(sample, what if what in ("drop last", "swap", "append", "cut")
                   else offset(sample, what))
    assert bad != sample[0]
    (tmp_path / "t.cfe").write_bytes(bad)
    p = run("writer", "decrypt", "t.cfe", "-o", "t.out")
    assert p.returncode == code, (what, p.stderr)
    assert no_output(tmp_path, "t.out"), what
    if code == 1 and what != "magic":
        assert b"does not verify" in p.stderr and b"nothing written" in p.stderr
    # The intact file still decrypts.
    p = run("writer", "decrypt", "s.cfe", "-o", "ok.out")
    assert p.returncode == 0
    assert (tmp_path / "ok.out").read_bytes() == (tmp_path / "in").read_bytes()


def test_encrypt_decrypt_refusals(srv, run, tmp_path):
    kid = root_key(srv)
    (tmp_path / "in").write_bytes(b"secret data")
    p = run("reader", "encrypt", "--key", kid, "in", "-o", "r.cfe")
    assert p.returncode == 4 and no_output(tmp_path, "r.cfe")
    assert run("writer", "encrypt", "--key", kid, "in", "-o", "w.cfe").returncode == 0
    p = run("reader", "decrypt", "w.cfe", "-o", "r.out")
    assert p.returncode == 4 and no_output(tmp_path, "r.out")
    # Usage: no --key, no -o, two -o: 2. A missing input, an existing output, a file
    # that is not ours: 1, and the server is not asked for the first two.
    assert run("writer", "encrypt", "in", "-o", "x.cfe").returncode == 2
    assert run("writer", "encrypt", "--key", kid, "in").returncode == 2
    assert run("writer", "encrypt", "--key", kid, "in", "-o", "a", "-o", "b").returncode == 2
    assert run("writer", "decrypt", "w.cfe").returncode == 2
    status, _, before = api(srv, "GET", "/v1/audit?object=%s&limit=1000" % kid,
                            token=srv.tokens["reader"])
    assert run("writer", "encrypt", "--key", kid, "missing", "-o", "x.cfe").returncode == 1
    p = run("writer", "encrypt", "--key", kid, "in", "-o", "w.cfe")
    assert p.returncode == 1 and b"exists" in p.stderr
    status, _, after = api(srv, "GET", "/v1/audit?object=%s&limit=1000" % kid,
                           token=srv.tokens["reader"])
    assert len(after["records"]) == len(before["records"])
    p = run("writer", "decrypt", "in", "-o", "x.out")
    assert p.returncode == 1 and b"not a file of coffre encrypt" in p.stderr
    assert no_output(tmp_path, "x.out")
    p = run("writer", "decrypt", "w.cfe", "-o", "w.out")
    assert p.returncode == 0 and (tmp_path / "w.out").read_bytes() == b"secret data"


def test_decrypt_to_stdout_reports_a_cut_at_a_chunk_boundary(run, tmp_path, sample):
    """To stdout the verified chunks are out already: the exit status tells."""
    enc, h = sample
    p = run("writer", "decrypt", "-", "-o", "-", input=tampered(sample, "drop last"))
    assert p.returncode == 1 and b"chunk 1 does not verify" in p.stderr
    assert b"incomplete" in p.stderr
    assert p.stdout == (tmp_path / "in").read_bytes()[:CHUNK]  # chunk 0 only: verified


def test_interrupted_encrypt_leaves_nothing(srv, tmp_path):
    kid = root_key(srv)
    env = clean_env(srv, tmp_path, COFFRE_TOKEN=srv.tokens["writer"])
    p = subprocess.Popen([BIN, "encrypt", "--key", kid, "-", "-o", "slow.cfe"], env=env,
                         cwd=str(tmp_path), stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(os.urandom(CHUNK * 2 + 5))
    p.stdin.flush()
    deadline = time.time() + 60
    while not glob.glob(str(tmp_path / "slow.cfe.tmp-*")) and time.time() < deadline:
        time.sleep(0.05)
    assert glob.glob(str(tmp_path / "slow.cfe.tmp-*")), "no temporary file"
    p.terminate()
    p.wait(timeout=60)
    p.stdin.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.returncode != 0 and not SANITIZER.search(err), err
    assert no_output(tmp_path, "slow.cfe")
