"""Crash consistency (issue 9: "kills the server with SIGKILL at random
points during mixed load"; issue 7: "a kill -9 during a load of Create
operations never leaves an answered operation without its record, nor a
record whose chain does not verify after restart").

One data directory, CYCLES cycles (COFFRE_CRASH_CYCLES, default 20, with
the default --audit-sync full; with --audit-sync normal
COFFRE_CRASH_NORMAL_CYCLES, default 5). Each cycle:

1. the ASan server runs on the directory (a fresh start the first time, a
   restart after the previous kill since);
2. after a restart, the API checks below;
3. the load of crashload.py (3 REST clients, 2 KMIP clients) runs, and the
   server is killed with SIGKILL after a random delay of 0.2 to 2 s (the
   seed is printed: COFFRE_CRASH_SEED=... replays the same delays and the
   same choices of operations; the server's timing varies from run to run);
4. with the server dead, coffre.db and coffre.db-wal are copied together
   and checked offline: `coffre audit verify --data COPY`, the SQLite
   invariants, the ledger against the rows and the audit records.

Why a copy of both files. In WAL mode a commit is in coffre.db-wal until a
checkpoint moves it into coffre.db; after a kill -9 the recent commits are
only in the WAL. A copy of coffre.db alone is an older database (it loses
acknowledged operations, or is torn mid-checkpoint); coffre.db and
coffre.db-wal copied while no process writes them are exactly what the
restarted server will open (coffre.db-shm is an index SQLite rebuilds from
the WAL). Verifying the copy, rather than DIR itself, leaves DIR untouched
for the restart (opening it would recover and checkpoint the WAL). At the
end, with the server stopped normally, `coffre audit verify --data DIR`
runs on DIR itself.

What "consistent" means, checked each cycle:
- every acknowledged Create (KMIP) / createKey (REST) exists, in the state
  its acknowledged operations left (or the one an unanswered change of it
  would leave); every acknowledged rotation's version exists, and root keys
  have exactly the versions 1..y-key-version;
- every acknowledged wrap unwraps to its DEK with its AAD and version
  (unless its key was destroyed: then 409 wrong_state), material read
  before the crash reads the same after, every root key that is Active
  wraps and unwraps;
- nothing half-done: no live key without material, no destroyed key with
  material, no live version row without material, no version row of a
  destroyed key still live, no version row past y-key-version or without
  its object, the attribute index agrees with the object on y-key-version,
  PRAGMA integrity_check is ok;
- the audit: the chain verifies offline, the head row is the last record,
  every answered operation has its record: for each REST client (its own
  API key) the records of its identity are exactly its answered operations
  in order, plus at most the one it was waiting for at the kill; each KMIP
  batch item (a unique Batch Item ID) has its record with the operation,
  object and result;
- the server log has no sanitizer report and no error line.

What it cannot show. A Deactivated root key that was never wrapped while
Active (the checks wrap with every Active root key they meet, so only keys
deactivated within one load) has no API use left: only its row's material
is checked (the count is printed). Since a change's record is written in
the change's own transaction (core_commit), every object must have its
creation record, answered or not: the count of violations is printed and
must be 0. A kill -9 cannot
tell --audit-sync normal from full (both survive a process crash; full is
about power cuts): both modes must pass.

test_wrap_racing_destroy_leaves_no_live_material: a race seen in the code
(a wrap and a Revoke + Destroy of a never-used root key), replayed
150 times against a live server and judged by the same invariants.
"""
import base64
import collections
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import crashload as L
import kmipwire as W
from conftest import BIN, Server, free_port

CYCLES = {"full": int(os.environ.get("COFFRE_CRASH_CYCLES", "20")),
          "normal": int(os.environ.get("COFFRE_CRASH_NORMAL_CYCLES", "5"))}
REST_CLIENTS, KMIP_CLIENTS = 3, 2
# KMIP 1.4 section 9.1.3: tags and the Decrypt operation kmipwire does not name.
TAG = dict(BLOCK_CIPHER_MODE=0x420011, CRYPTOGRAPHIC_PARAMETERS=0x42002B,
           IV_COUNTER_NONCE=0x42003D, DATA=0x4200C2, TAG_LENGTH=0x4200CE, AAD=0x4200FE,
           AE_TAG=0x4200FF, REVOCATION_REASON=0x420081, REVOCATION_REASON_CODE=0x420082)
OP_DECRYPT, OP_REVOKE = 0x20, 0x13
SAMPLE = 25  # older keys and wraps re-checked over the API each cycle (all at the end)


class Run:
    """The run's context: the server, the ledger, the seed in every failure."""

    def __init__(self, srv, seed, tmp):
        self.srv, self.seed, self.tmp = srv, seed, tmp
        self.rng = random.Random(seed or 0)
        self.ledger = L.Ledger()
        self.cycle = 0
        self.tokens = {}      # thread name -> token
        self.identity = {}    # thread name -> identity id
        self.waiting = []     # per cycle: {thread name: [(operation, object)] unanswered}
        self.stats = []

    def fail(self, msg):
        where = "" if self.seed is None else "seed %d, cycle %d: " % (self.seed, self.cycle)
        pytest.fail(where + msg, pytrace=False)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)


def add_key(srv, name, role):
    """(token, identity id) of a new API key: the token on stdout, `identity
    ID (default, ROLE)` on stderr."""
    p = subprocess.run([BIN, "identity", "add-key", "--data", srv.data, "--name", name,
                        "--role", role, "--tenant", "default"],
                       check=True, capture_output=True, text=True)
    token = p.stdout.split()[-1]
    ident = [l.split()[1] for l in p.stderr.splitlines() if l.startswith("identity ")]
    assert token.startswith("cf1_") and len(ident) == 1, (p.stdout, p.stderr)
    return token, ident[0]


def restart(srv, extra):
    """Start the server on its directory, on fresh ports (while it was dead,
    any process may have taken the old ones), and wait for its own word that
    it serves: conftest's start returns once the KMIP port accepts, which a
    stranger on that port (or a TCP self-connect) could fake, and before the
    HTTPS listener is up."""
    srv.kmip_port, srv.https_port = free_port(), free_port()
    before = srv.read_log().count("serving KMIP on") if os.path.exists(srv.log_path) else 0
    srv.start(extra)
    deadline = time.monotonic() + 120
    while srv.read_log().count("serving KMIP on") == before:
        assert srv.proc.poll() is None and time.monotonic() < deadline, \
            "the server did not start:\n" + srv.read_log()[-3000:]
        time.sleep(0.05)


def kill9(srv):
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    srv.proc = None
    srv.log.close()


# ------------------------------------------------------------------ load

def load_and_kill(run):
    """Run the load, SIGKILL the server after the cycle's random delay."""
    srv, ledger = run.srv, run.ledger
    delay = round(run.rng.uniform(0.2, 2.0), 3)
    stop = threading.Event()
    ctx = srv.tls_context(cert=None)
    threads = [L.RestClient("rest%d" % i, run.rng.getrandbits(32), ledger, stop,
                            srv.https_port, ctx, run.tokens["rest%d" % i])
               for i in range(REST_CLIENTS)]
    threads += [L.KmipClient("kmip%d" % i, run.rng.getrandbits(32), ledger, stop,
                             srv.kmip_port, srv.tls_context(), i)
                for i in range(KMIP_CLIENTS)]
    ops_before = len(ledger.ops)
    for t in threads:
        t.start()
    time.sleep(delay)
    run.check(srv.proc.poll() is None, "the server exited before the kill:\n" +
              srv.read_log()[-3000:])
    killed = time.monotonic()
    kill9(srv)
    stop.set()
    for t in threads:
        t.join(60)
        run.check(not t.is_alive(), "%s still running 60 s after the kill" % t.name)
        run.check(t.error is None, t.error)
        run.check(t.died_at is None or t.died_at >= killed,
                  "%s lost the server before the kill" % t.name)
    run.waiting.append({t.name: t.inflight for t in threads if t.inflight})
    acked = len(ledger.ops) - ops_before
    run.stats.append({"cycle": run.cycle, "delay": delay, "acked": acked,
                      "keys": len(ledger.keys),
                      "by_op": dict(collections.Counter(
                          o["operation"] for o in ledger.ops[ops_before:]))})
    print("cycle %d: SIGKILL after %.3f s, %d operations answered (%.0f/s) %s" %
          (run.cycle, delay, acked, acked / delay, run.stats[-1]["by_op"]))


# --------------------------------------------------------------- offline

def copy_store(run):
    """coffre.db with its WAL, copied while no process has them open."""
    d = os.path.join(run.tmp, "cycle%02d" % run.cycle)
    os.makedirs(d)
    for f in ("coffre.db", "coffre.db-wal"):
        src = os.path.join(run.srv.data, f)
        if os.path.exists(src):
            shutil.copy2(src, os.path.join(d, f))
    return d


def audit_verify(run, d):
    p = subprocess.run([BIN, "audit", "verify", "--data", d], capture_output=True, text=True)
    out = p.stdout + p.stderr
    run.check(p.returncode == 0 and "OK: " in out, "coffre audit verify --data %s: rc %d\n%s"
              % (d, p.returncode, out[-3000:]))
    return out


def attrs_of(blob):
    """{name: value} of the first instance of each attribute in the stored blob."""
    out = {}
    for a in W.decode(blob)[2]:
        name = W.value(a, W.T["ATTRIBUTE_NAME"])
        if name not in out:
            out[name] = W.value(a, W.T["ATTRIBUTE_VALUE"])
    return out


def is_root(attrs):
    return (attrs.get("Cryptographic Algorithm") == 3 and attrs.get("Extractable") is False
            and (attrs.get("Cryptographic Usage Mask", 0) & 0x30) != 0)


def invariants(run, db):
    """Nothing half-done, whatever the API would show. Returns
    {uid: (state, newest version, has material)} of the default tenant."""
    c = run.check
    (ok,) = db.execute("PRAGMA integrity_check").fetchone()
    c(ok == "ok", "integrity_check: %s" % ok)
    objs = {}
    versions = collections.defaultdict(dict)
    for uid, ver, destroyed, has in db.execute(
            "SELECT uid, version, destroyed, material IS NOT NULL FROM key_versions"
            " WHERE tenant = 'default'"):
        versions[uid][ver] = (destroyed, has)
        c(bool(destroyed) != bool(has), "version %d of %s: destroyed=%d but material %s"
          % (ver, uid, destroyed, "present" if has else "missing"))
    index = {uid: ival for uid, ival in db.execute(
        "SELECT o.uid, i.ival FROM object_index i JOIN objects o ON o.id = i.oid"
        " WHERE o.tenant = 'default' AND i.name = 'y-key-version'")}
    for uid, otype, state, has, kf, blob in db.execute(
            "SELECT uid, object_type, state, material IS NOT NULL, key_format, attrs"
            " FROM objects WHERE tenant = 'default'"):
        attrs = attrs_of(blob)
        dead = state in (5, 6)
        c(dead != bool(has), "object %s in state %d %s material" % (uid, state,
                                                                    "has" if has else "lacks"))
        c(dead or kf != 0, "live object %s without a key format" % uid)
        newest = attrs.get("y-key-version", 1)
        c(index.get(uid, 1) == newest, "%s: y-key-version %d, the index says %s"
          % (uid, newest, index.get(uid)))
        rows = versions.pop(uid, {})
        if rows:
            c(is_root(attrs), "%s has version rows but is not a root key" % uid)
            c(sorted(rows) == list(range(1, newest + 1)),
              "%s: y-key-version %d but version rows %s" % (uid, newest, sorted(rows)))
            c(all(d == dead for d, _ in rows.values()),
              "%s (state %d): versions destroyed %s" % (uid, state,
                                                       {v: d for v, (d, _) in rows.items()}))
        else:
            c(newest == 1, "%s: y-key-version %d without version rows" % (uid, newest))
        objs[uid] = (state, newest, bool(has))
    c(not versions, "version rows without their object: %s" % sorted(versions))
    return objs


def ledger_against_rows(run, objs):
    """Every acknowledged key is there as its operations left it; settle the
    pending changes to what the store holds."""
    for k in run.ledger.keys.values():
        row = objs.get(k["id"])
        run.check(row is not None, "acknowledged %s key %s (%s) is missing"
                  % (k["via"], k["id"], k["kind"]))
        state, newest, _ = row
        allowed = {L.STATE_NUM[k["state"]]}
        if k["pending"] is not None:
            allowed.add(L.STATE_NUM[k["pending"]])
        run.check(state in allowed, "key %s: state %d, acknowledged %s%s" % (
            k["id"], state, k["state"], " (pending %s)" % k["pending"] if k["pending"] else ""))
        vers = {k["version"]} | ({k["pending_version"]} if k["pending_version"] else set())
        run.check(newest in vers, "key %s: newest version %d, acknowledged %d%s"
                  % (k["id"], newest, k["version"],
                     " (pending %s)" % k["pending_version"] if k["pending_version"] else ""))
        k["state"] = {v: s for s, v in L.STATE_NUM.items()}[state]
        k["version"] = newest
        k["pending"] = k["pending_version"] = None
    for w in run.ledger.wraps:
        k = run.ledger.keys[w["key"]]
        run.check(w["version"] <= k["version"], "wrap under version %d of %s, whose newest is %d"
                  % (w["version"], w["key"], k["version"]))


def audit_against_ops(run, db):
    """Every answered operation has its record (docs/audit.md: written before
    the answer)."""
    recs = [json.loads(r) for (r,) in db.execute(
        "SELECT record FROM audit_records WHERE chain = 'default' ORDER BY seq")]
    (head,) = db.execute("SELECT seq FROM audit_heads WHERE chain = 'default'").fetchone()
    run.check(len(recs) == head and recs[-1]["seq"] == head,
              "chain default: %d records, head %d" % (len(recs), head))
    by_bid = collections.defaultdict(list)
    by_identity = collections.defaultdict(list)
    for r in recs:
        if "batch_item_id" in r:
            by_bid[r["batch_item_id"]].append(r)
        by_identity[r["identity"].get("id")].append(r)
    # Every object has the record of its creation, answered or not: the
    # record is written in the creation's own transaction (core_commit,
    # docs/audit.md), so no kill can leave one without the other.
    created = {r["object"]["id"] for r in recs if r["operation"] in ("Create", "createKey")
               and r["result"] == "ok"}
    unrecorded = [uid for (uid,) in db.execute("SELECT uid FROM objects WHERE tenant = 'default'")
                  if uid not in created]
    for uid in unrecorded:
        run.check(False, "object %s exists without the record of its creation (%s)" % (
            uid, "answered" if uid in run.ledger.keys else "unanswered"))
    run.stats[-1]["unrecorded"] = len(unrecorded)
    per_thread = collections.defaultdict(list)
    for o in run.ledger.ops:
        if o["bid"] is not None:
            got = [(r["operation"], r.get("object", {}).get("id"),
                    "ok" if r["result"] == "ok" else "failed") for r in by_bid[o["bid"]]]
            run.check(got == [(o["operation"], o["object"], o["result"])],
                      "KMIP batch item %s (%s %s %s, cycle %d): records %s" % (
                          o["bid"], o["operation"], o["object"], o["result"], o["cycle"], got))
        else:
            per_thread[o["who"]].append(o)
    for who, ident in run.identity.items():
        rs = [(r["operation"], r.get("object", {}).get("id"), r["result"])
              for r in by_identity[ident]]
        cycles = [[(o["operation"], o["object"], o["result"]) for o in per_thread[who]
                   if o["cycle"] == c] for c in range(run.cycle + 1)]
        err = thread_records(rs, cycles, [w.get(who) for w in run.waiting])
        run.check(err is None, "%s: %s" % (who, err))


def thread_records(rs, cycles, waiting):
    """Do one client's records rs (chain order) hold exactly its answered
    operations (cycles[c], in order), each cycle's possibly followed by the
    record of the operation it was waiting for at that kill (waiting[c])?
    None if so, else what is wrong where. Whether that last operation left
    a record is unknown, so both readings are tried (depth first: at most
    two per kill, and a mismatch ends a reading at once)."""
    worst = [(-1, None)]
    seen = set()

    def walk(c, i):
        if (c, i) in seen:
            return False
        seen.add((c, i))
        if c == len(cycles):
            if i == len(rs):
                return True
            worst[0] = max(worst[0], (i, "%d records past its answered operations: %s"
                                      % (len(rs) - i, rs[i:i + 3])))
            return False
        for n, want in enumerate(cycles[c]):
            if i + n >= len(rs) or rs[i + n] != want:
                worst[0] = max(worst[0], (i + n, "cycle %d: answered %s, its record there is %s"
                                          " (records around: %s)" % (
                                              c, want, rs[i + n] if i + n < len(rs) else "missing",
                                              rs[max(0, i + n - 2):i + n + 3])))
                return False
        i += len(cycles[c])
        pend = waiting[c]
        if i < len(rs) and pend and rs[i][0] == pend[0][0] and pend[0][1] in (None, rs[i][1]) \
                and walk(c + 1, i + 1):
            return True
        return walk(c + 1, i)

    return None if walk(0, 0) else worst[0][1]


def offline_checks(run):
    d = copy_store(run)
    audit_verify(run, d)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "coffre.db"), uri=True)
    try:
        objs = invariants(run, db)
        ledger_against_rows(run, objs)
        audit_against_ops(run, db)
        run.stats[-1]["objects"] = len(objs)
    finally:
        db.close()
    shutil.rmtree(d)


# ------------------------------------------------------------------- API

def api_checks(run, everything=False):
    """After a restart: the keys and wraps of the last cycle (and a sample of
    older ones, or all of them) through REST, as the checking Manager."""
    rest = L.Rest(run.srv.https_port, run.srv.tls_context(cert=None), run.tokens["checker"])
    keys = list(run.ledger.keys.values())
    recent = [k for k in keys if k["touched"] >= run.cycle - 1 or k["cycle"] >= run.cycle - 1]
    older = [k for k in keys if k not in recent]
    chosen = keys if everything else recent + run.rng.sample(older, min(SAMPLE, len(older)))
    wraps = run.ledger.wraps
    rw = [w for w in wraps if w["cycle"] >= run.cycle - 1]
    chosen_w = wraps if everything else rw + run.rng.sample(
        [w for w in wraps if w["cycle"] < run.cycle - 1],
        min(SAMPLE, len([w for w in wraps if w["cycle"] < run.cycle - 1])))
    try:
        for k in chosen:
            api_key(run, rest, k)
        for w in list(chosen_w):
            api_unwrap(run, rest, w)
        if everything:
            # Pre-Active root keys serve nothing: activated, they wrap and unwrap.
            for k in keys:
                if k["kind"] == "root" and k["state"] == "pre_active":
                    status, doc = rest.call("POST", "/v1/keys/%s/activate" % k["id"])
                    run.check(status == 200, "activate %s: %d %s" % (k["id"], status, doc))
                    k["state"] = "active"
                    api_key(run, rest, k)
    finally:
        rest.close()
    return len(chosen), len(chosen_w)


def unproven(run):
    """Deactivated root keys never wrapped (or wrapped by a check): nothing
    the API allows shows them readable (no Get, no Decrypt for a root key,
    no wrap once deactivated); the SQLite invariants cover their material."""
    wrapped = {w["key"] for w in run.ledger.wraps}
    return sum(1 for k in run.ledger.keys.values()
               if k["kind"] == "root" and k["state"] == "deactivated" and k["id"] not in wrapped)


def api_key(run, rest, k):
    kid = k["id"]
    status, doc = rest.call("GET", "/v1/keys/" + kid)
    run.check(status == 200 and doc["state"] == k["state"],
              "GET key %s: %d %s, expected state %s" % (kid, status, doc, k["state"]))
    dead = k["state"] in L.DESTROYED
    if k["kind"] == "root":
        status, doc = rest.call("GET", "/v1/keys/%s/versions?limit=1000" % kid)
        got = sorted(v["version"] for v in doc.get("versions", []))
        run.check(status == 200 and got == list(range(1, k["version"] + 1)) and
                  all(v["destroyed"] == dead for v in doc["versions"]),
                  "versions of %s: %d %s, expected 1..%d" % (kid, status, doc, k["version"]))
        if k["state"] == "active":  # readable: a wrap and its unwrap
            dek = os.urandom(32)
            status, w = rest.call("POST", "/v1/keys/%s/wrap" % kid,
                                  {"plaintext": L.b64(dek), "aad": ["check"]})
            run.check(status == 200 and w["key_version"] == k["version"],
                      "wrap with %s: %d %s" % (kid, status, w))
            status, u = rest.call("POST", "/v1/keys/%s/unwrap" % kid,
                                  {"ciphertext": w["ciphertext"], "aad": ["check"]})
            run.check(status == 200 and base64.b64decode(u["plaintext"]) == dek,
                      "unwrap with %s: %d %s" % (kid, status, u))
            # Kept: once the key is deactivated, unwrapping it proves it readable.
            run.ledger.wraps.append({"key": kid, "version": k["version"], "dek": dek,
                                     "ciphertext": w["ciphertext"], "aad": ["check"],
                                     "cycle": run.cycle})
    elif k["state"] == "deactivated":
        kmip_decrypt(run, kid, k["material"])
    elif not dead:
        status, m = rest.call("GET", "/v1/keys/%s/material" % kid)
        run.check(status == 200, "material of %s (%s): %d %s" % (kid, k["via"], status, m))
        got = base64.b64decode(m["material"])
        if k["material"] is None:  # killed before its creator read it
            k["material"] = got
        run.check(len(got) == 32 and got == k["material"],
                  "material of %s (%s) changed" % (kid, k["via"]))


def kmip_decrypt(run, kid, material):
    """A Deactivated standard key still decrypts (KMIP 1.4 3.22): AES-GCM
    data encrypted here with the material read before is decrypted by the
    server with the material it holds."""
    iv, data, aad = os.urandom(12), os.urandom(40), b"crash-check"
    sealed = AESGCM(material).encrypt(iv, data, aad)
    conn = run.srv.connect()
    try:
        resp = W.decode(conn.roundtrip(W.request([(OP_DECRYPT, [
            (W.T["UNIQUE_IDENTIFIER"], W.TEXT, kid),
            (TAG["CRYPTOGRAPHIC_PARAMETERS"], W.STRUCTURE, [
                (TAG["BLOCK_CIPHER_MODE"], W.ENUM, 9), (TAG["TAG_LENGTH"], W.INTEGER, 16)]),
            (TAG["DATA"], W.BYTES, sealed[:-16]), (TAG["IV_COUNTER_NONCE"], W.BYTES, iv),
            (TAG["AAD"], W.BYTES, aad), (TAG["AE_TAG"], W.BYTES, sealed[-16:])], None)],
            major=1, minor=4)))
    finally:
        conn.close()
    item = W.child(resp, W.T["BATCH_ITEM"])
    run.check(L.kmip_ok(item) and
              W.value(W.child(item, W.T["RESPONSE_PAYLOAD"]), TAG["DATA"]) == data,
              "KMIP Decrypt with deactivated %s: %s" % (kid, W.value(item, W.T["RESULT_MESSAGE"])))


def api_unwrap(run, rest, w):
    k = run.ledger.keys[w["key"]]
    body = {"ciphertext": w["ciphertext"]}
    if w["aad"] is not None:
        body["aad"] = w["aad"]
    status, doc = rest.call("POST", "/v1/keys/%s/unwrap" % w["key"], body)
    if k["state"] in L.DESTROYED:
        run.check((status, doc.get("error", {}).get("code")) == (409, "wrong_state"),
                  "unwrap with destroyed %s: %d %s" % (w["key"], status, doc))
        return
    run.check(status == 200 and base64.b64decode(doc["plaintext"]) == w["dek"] and
              doc["key_version"] == w["version"],
              "acknowledged wrap (key %s version %d, cycle %d) does not unwrap: %d %s" %
              (w["key"], w["version"], w["cycle"], status, doc))


# ------------------------------------------------------------------ test

@pytest.mark.parametrize("mode", ["normal", "full"])
def test_sigkill_under_mixed_load(mode, tmp_path):
    seed = int(os.environ.get("COFFRE_CRASH_SEED", str(random.randrange(1 << 31))))
    cycles = CYCLES[mode]
    print("crash test: --audit-sync %s, %d cycles, COFFRE_CRASH_SEED=%d" % (mode, cycles, seed))
    data = str(tmp_path / "data")
    os.makedirs(data, mode=0o700)
    srv = Server(data)
    run = Run(srv, seed, str(tmp_path))
    extra = ("--audit-sync", mode)
    started = time.monotonic()
    restart(srv, extra)
    try:
        for i in range(REST_CLIENTS):
            name = "rest%d" % i
            run.tokens[name], run.identity[name] = add_key(srv, "crash-" + name, "writer")
        run.tokens["checker"], _ = add_key(srv, "crash-checker", "manager")
        spent = collections.Counter()
        for cycle in range(cycles):
            run.cycle = cycle
            run.ledger.start_cycle(cycle)
            t0 = time.monotonic()
            if cycle > 0:
                restart(srv, extra)
                t1 = time.monotonic()
                api_checks(run)
                srv.check_log()
                spent["restart"] += t1 - t0
                spent["API checks"] += time.monotonic() - t1
            t0 = time.monotonic()
            load_and_kill(run)
            t1 = time.monotonic()
            offline_checks(run)
            spent["load"] += t1 - t0
            spent["offline checks"] += time.monotonic() - t1
        run.cycle = cycles
        t0 = time.monotonic()
        restart(srv, extra)
        nk, nw = api_checks(run, everything=True)
        blind = unproven(run)
        spent["final sweep"] += time.monotonic() - t0
        rc = srv.stop()
        assert rc == 0, "server exit status %s" % rc
        srv.check_log()
        out = audit_verify(run, data)  # DIR itself, the server stopped
    finally:
        if srv.proc is not None:
            srv.stop()
    acked = [s["acked"] for s in run.stats]
    print("crash test (%s): %d cycles in %.1f s; operations answered per cycle: min %d, "
          "mean %.0f, max %d (%.0f/s of load); objects without the record of their "
          "creation: %d (must be 0); at the end %d keys and %d wraps checked over the API (%d "
          "deactivated root keys without a wrap to prove them readable); %s" %
          (mode, cycles, time.monotonic() - started, min(acked), sum(acked) / len(acked),
           max(acked), sum(acked) / sum(s["delay"] for s in run.stats),
           run.stats[-1]["unrecorded"], nk, nw, blind, out.strip().splitlines()[-1]))
    print("time spent: " + ", ".join("%s %.1f s" % kv for kv in spent.items()))


# ------------------------------------------------- a race found on the way

def test_wrap_racing_destroy_leaves_no_live_material(server, tmp_path):
    """A wrap of a root key never used before writes its version 1 row from
    the key as it loaded it. A Revoke + Destroy (one KMIP batch) committed
    between that load and the row's insert used to leave the destroyed
    key's material in a live row (45 of 300 rounds before the fix in
    core_versions.c's reserve_in_txn): the invariants above must hold."""
    token, _ = add_key(server, "race-manager", "manager")
    rest = L.Rest(server.https_port, server.tls_context(cert=None), token)
    wrapper = L.Rest(server.https_port, server.tls_context(cert=None), token)
    kmip = L.Kmip(server.kmip_port, server.tls_context())
    outcomes = collections.Counter()
    try:
        for i in range(150):
            status, key = rest.call("POST", "/v1/keys", {"algorithm": "AES", "length": 256,
                                                         "kind": "root", "activate": True})
            assert status == 201, key
            uid = (W.T["UNIQUE_IDENTIFIER"], W.TEXT, key["id"])
            start, got = threading.Barrier(2), {}

            def wrap():
                start.wait()
                got["wrap"] = wrapper.call("POST", "/v1/keys/%s/wrap" % key["id"], {})

            t = threading.Thread(target=wrap)
            t.start()
            start.wait()
            time.sleep(0.0005 * (i % 4))
            items = kmip.batch([(OP_REVOKE, [uid, (TAG["REVOCATION_REASON"], W.STRUCTURE, [
                (TAG["REVOCATION_REASON_CODE"], W.ENUM, 6)])], None), (L.OP_DESTROY, [uid], None)])
            t.join()
            assert [L.kmip_ok(x) for x in items] == [True, True]
            status, doc = got["wrap"]
            outcomes[status if status == 200 else doc["error"]["code"]] += 1
    finally:
        rest.close()
        wrapper.close()
        kmip.close()
    assert set(outcomes) <= {200, "wrong_state", "object_destroyed", "conflict"}, outcomes
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(server.data, "coffre.db"), uri=True)
    try:
        invariants(Run(server, None, str(tmp_path)), db)
    finally:
        db.close()
