"""The load of the crash-consistency test (test_crash.py) and the ledger of
what the server acknowledged.

Several client threads drive a live server until it is killed:

- REST clients (an API key each, Writer): create root keys (most of them
  activated) and standard AES keys (whose material they read once), wrap
  DEKs (given or generated, with a list, a map or no AAD) under any active
  root key of any client, rotate, activate, deactivate and destroy their
  own keys;
- KMIP clients (the admin certificate, mutual TLS, kmipwire on the wire):
  Create AES-256 + Get in one batch (the material is recorded), Activate
  and Destroy of their own keys.

The ledger keeps only what the server ANSWERED: every answered operation
(success or refusal: both must have their audit record), every key with
the state and newest version its acknowledged operations left, every
acknowledged wrap with its DEK and AAD. An operation sent but never
answered (the server died under it) is "pending": its key may be found
before or after it, and nothing else. Each key's lifecycle operations
(rotate, activate, deactivate, destroy) come from its creating thread
only, one at a time, so a key has at most one pending change and its
acceptable states after the crash are exact. Wraps come from every thread.

A connection error ends a thread: the server is gone. The test compares
the time of each thread's end with the time of the kill (a server that
died by itself is a failure).
"""
import base64
import http.client
import json
import os
import random
import socket
import ssl
import struct
import threading
import time

import kmipwire as W

OP_ACTIVATE, OP_DESTROY = 0x12, 0x14

CREATE_AES256 = [(W.T["OBJECT_TYPE"], W.ENUM, 2),
                 (W.T["TEMPLATE_ATTRIBUTE"], W.STRUCTURE, [
                     W.attribute("Cryptographic Algorithm", W.ENUM, 3),
                     W.attribute("Cryptographic Length", W.INTEGER, 256),
                     W.attribute("Cryptographic Usage Mask", W.INTEGER, 12)])]

# REST state names <-> KMIP State enumeration (the objects.state column).
STATE_NUM = {"pre_active": 1, "active": 2, "deactivated": 3, "compromised": 4,
             "destroyed": 5, "destroyed_compromised": 6}
DESTROYED = ("destroyed", "destroyed_compromised")


def b64(b):
    return base64.b64encode(b).decode()


class Dead(Exception):
    """The server no longer answers (killed, or crashed)."""


# ------------------------------------------------------------- clients

class Rest:
    """HTTPS with a Bearer token over one kept-alive connection."""

    def __init__(self, port, ctx, token):
        self.port, self.ctx, self.token, self.conn = port, ctx, token, None

    def call(self, method, path, body=None):
        h = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                        context=self.ctx, timeout=60)
            self.conn.request(method, path, body=data, headers=h)
            resp = self.conn.getresponse()
            out = resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Dead("%s %s: %r" % (method, path, e)) from e
        return resp.status, json.loads(out)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Kmip:
    """One mutual-TLS KMIP connection; requests are KMIP 1.4."""

    def __init__(self, port, ctx):
        self.port, self.ctx, self.sock = port, ctx, None

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def batch(self, items):
        """items = [(operation, payload, batch item id)]; returns the
        response Batch Items."""
        msg = W.request(items, major=1, minor=4)
        try:
            if self.sock is None:
                raw = socket.create_connection(("127.0.0.1", self.port), timeout=60)
                self.sock = self.ctx.wrap_socket(raw)
            self.sock.sendall(msg)
            head = self._recv(8)
            resp = W.decode(head + self._recv(struct.unpack(">I", head[4:])[0]))
        except (OSError, ConnectionError, ssl.SSLError) as e:
            self.close()
            raise Dead("KMIP: %r" % e) from e
        return W.children(resp, W.T["BATCH_ITEM"])

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


def kmip_ok(item):
    return W.value(item, W.T["RESULT_STATUS"]) == W.SUCCESS


def kmip_material(payload):
    sk = W.child(payload, W.T["SYMMETRIC_KEY"])
    kv = W.child(W.child(sk, W.T["KEY_BLOCK"]), W.T["KEY_VALUE"])
    return W.value(kv, W.T["KEY_MATERIAL"])


# -------------------------------------------------------------- ledger

class Ledger:
    """What the server acknowledged, across cycles (one lock for all)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.keys = {}      # id -> key record (dict)
        self.wraps = []     # acknowledged wraps
        self.ops = []       # every answered operation, in the order of the answers
        self.cycle = 0

    def answered(self, who, operation, obj, result, bid=None):
        """One answered operation of thread `who` (bid: the KMIP Unique
        Batch Item ID, hex)."""
        with self.lock:
            self.ops.append({"who": who, "operation": operation, "object": obj,
                             "result": result, "bid": bid, "cycle": self.cycle})

    def new_key(self, kid, kind, via, owner, state, material=None):
        with self.lock:
            self.keys[kid] = {"id": kid, "kind": kind, "via": via, "owner": owner,
                              "state": state, "pending": None, "version": 1,
                              "pending_version": None, "material": material,
                              "cycle": self.cycle, "touched": self.cycle}

    def active_roots(self):
        with self.lock:
            return [k["id"] for k in self.keys.values()
                    if k["kind"] == "root" and k["state"] == "active" and k["pending"] is None]

    def start_cycle(self, cycle):
        with self.lock:
            self.cycle = cycle


# ---------------------------------------------------------------- load

class Client(threading.Thread):
    """One load thread: random operations until the server is gone."""

    def __init__(self, name, seed, ledger, stop):
        super().__init__(name=name, daemon=True)
        self.rng = random.Random(seed)
        self.ledger, self.stop = ledger, stop
        self.done = 0           # operations answered
        self.inflight = None    # [(operation, object id or None)] sent, not yet answered
        self.died_at = None     # time.monotonic() when the server went away
        self.error = None       # anything unexpected (a failed test)

    def run(self):
        try:
            while not self.stop.is_set():
                self.step()
        except Dead:
            self.died_at = time.monotonic()
        except Exception as e:  # pylint: disable=broad-except
            self.error = "%s: %r" % (self.name, e)
        finally:
            self.close()

    def own(self, *states):
        """This client's keys (its thread name, every cycle) in those states."""
        with self.ledger.lock:
            return [k["id"] for k in self.ledger.keys.values()
                    if k["owner"] == self.name and k["state"] in states]

    def change(self, kid, to_state=None, rotate=False):
        """Mark a pending change of one of this thread's keys."""
        with self.ledger.lock:
            k = self.ledger.keys[kid]
            k["pending"] = to_state
            k["pending_version"] = k["version"] + 1 if rotate else None
            k["touched"] = self.ledger.cycle

    def settle(self, kid, state=None, version=None):
        """The change was answered: success (state / version) or refusal."""
        with self.ledger.lock:
            k = self.ledger.keys[kid]
            if state is not None:
                k["state"] = state
            if version is not None:
                k["version"] = version
            k["pending"] = k["pending_version"] = None


class RestClient(Client):
    def __init__(self, name, seed, ledger, stop, port, ctx, token):
        super().__init__(name, seed, ledger, stop)
        self.rest = Rest(port, ctx, token)

    def close(self):
        self.rest.close()

    def call(self, operation, obj, method, path, body=None):
        self.inflight = [(operation, obj)]
        status, doc = self.rest.call(method, path, body)
        self.inflight = None
        result = "ok" if status < 300 else doc["error"]["code"]
        if result == "ok" and operation == "createKey":
            obj = doc["id"]
        self.ledger.answered(self.name, operation, obj, result)
        self.done += 1
        return status, doc

    def step(self):
        r = self.rng.random()
        if r < 0.22:
            self.create_root()
        elif r < 0.30:
            self.create_standard()
        elif r < 0.62:
            self.wrap()
        else:
            self.lifecycle()

    def create_root(self):
        activate = self.rng.random() < 0.8
        status, doc = self.call("createKey", None, "POST", "/v1/keys",
                                {"algorithm": "AES", "length": 256, "kind": "root",
                                 "usage": ["wrap_key", "unwrap_key"], "activate": activate})
        if status != 201:
            raise AssertionError("createKey refused: %s" % doc)
        self.ledger.new_key(doc["id"], "root", "rest", self.name, doc["state"])

    def create_standard(self):
        activate = self.rng.random() < 0.5
        status, doc = self.call("createKey", None, "POST", "/v1/keys",
                                {"algorithm": "AES", "length": 256, "activate": activate})
        if status != 201:
            raise AssertionError("createKey refused: %s" % doc)
        kid = doc["id"]
        self.ledger.new_key(kid, "standard", "rest", self.name, doc["state"])
        status, m = self.call("getKeyMaterial", kid, "GET", "/v1/keys/%s/material" % kid)
        if status != 200:
            raise AssertionError("material of a new key refused: %s" % m)
        with self.ledger.lock:
            self.ledger.keys[kid]["material"] = base64.b64decode(m["material"])

    def aad(self):
        r = self.rng.random()
        if r < 0.4:
            return ["bucket:%d" % self.rng.randrange(100), "object:%x" % self.rng.getrandbits(32)]
        if r < 0.8:
            return {"tenant": "t%d" % self.rng.randrange(10),
                    "file": "f%d" % self.rng.randrange(999)}
        return None

    def wrap(self):
        roots = self.ledger.active_roots()
        if not roots:
            return self.create_root()
        kid = self.rng.choice(roots[-20:])  # recent keys: wraps meet rotations
        aad = self.aad()
        body = {}
        dek = None
        if self.rng.random() < 0.6:
            dek = os.urandom(self.rng.choice((16, 32, 64)))
            body["plaintext"] = b64(dek)
        if aad is not None:
            body["aad"] = aad
        status, doc = self.call("wrapKey", kid, "POST", "/v1/keys/%s/wrap" % kid, body)
        if status == 200:
            if dek is None:
                dek = base64.b64decode(doc["plaintext"])
            with self.ledger.lock:
                self.ledger.wraps.append({"key": kid, "version": doc["key_version"],
                                          "ciphertext": doc["ciphertext"], "dek": dek,
                                          "aad": aad, "cycle": self.ledger.cycle})
        elif status not in (409, 410):  # deactivated or destroyed by its owner meanwhile
            raise AssertionError("wrap refused: %d %s" % (status, doc))

    def lifecycle(self):
        r = self.rng.random()
        if r < 0.35:
            cands, op = self.own("pre_active", "active"), "rotate"
            cands = [k for k in cands if self.ledger.keys[k]["kind"] == "root"]
        elif r < 0.55:
            cands, op = self.own("pre_active"), "activate"
        elif r < 0.75:
            cands, op = self.own("active"), "deactivate"
        else:
            cands, op = self.own("pre_active", "deactivated"), "destroy"
        if not cands:
            return self.create_root()
        kid = self.rng.choice(cands)
        if op == "rotate":
            self.change(kid, rotate=True)
            status, doc = self.call("rotateKey", kid, "POST", "/v1/keys/%s/rotate" % kid)
            if status != 200:
                raise AssertionError("rotate refused: %s" % doc)
            self.settle(kid, version=doc["version"])
            return None
        to = {"activate": "active", "deactivate": "deactivated", "destroy": "destroyed"}[op]
        self.change(kid, to_state=to)
        if op == "destroy":
            status, doc = self.call("destroyKey", kid, "DELETE", "/v1/keys/" + kid)
        else:
            status, doc = self.call(op + "Key", kid, "POST", "/v1/keys/%s/%s" % (kid, op))
        if status != 200:
            raise AssertionError("%s refused: %s" % (op, doc))
        self.settle(kid, state=doc["state"])
        return None


class KmipClient(Client):
    def __init__(self, name, seed, ledger, stop, port, ctx, number):
        super().__init__(name, seed, ledger, stop)
        self.kmip = Kmip(port, ctx)
        self.number, self.count = number, 0

    def send(self, items):
        """items = [(operation code, name, object id or None, payload)];
        returns the Batch Items and their IDs (hex): cycle, thread, request
        number, item number, unique in the run."""
        self.count += 1
        bids = [struct.pack(">BBIB", self.ledger.cycle, self.number, self.count, i)
                for i in range(len(items))]
        self.inflight = [(name, obj) for _, name, obj, _ in items]
        got = self.kmip.batch([(op, pl, bid) for (op, _, _, pl), bid in zip(items, bids)])
        self.inflight = None
        return got, [b.hex() for b in bids]

    def close(self):
        self.kmip.close()

    def step(self):
        r = self.rng.random()
        pre = self.own("pre_active")
        if r < 0.7 or not pre:
            return self.create()
        kid = self.rng.choice(pre)
        op, name, to = ((OP_ACTIVATE, "Activate", "active") if r < 0.85
                        else (OP_DESTROY, "Destroy", "destroyed"))
        self.change(kid, to_state=to)
        (item,), (bid,) = self.send([(op, name, kid, [(W.T["UNIQUE_IDENTIFIER"], W.TEXT, kid)])])
        ok = kmip_ok(item)
        self.ledger.answered(self.name, name, kid, "ok" if ok else "failed", bid)
        self.done += 1
        if not ok:
            raise AssertionError("KMIP %s refused: %s"
                                 % (name, W.value(item, W.T["RESULT_MESSAGE"])))
        self.settle(kid, state=to)
        return None

    def create(self):
        items, bids = self.send([(W.OP["CREATE"], "Create", None, CREATE_AES256),
                                 (W.OP["GET"], "Get", None, [])])
        if not all(kmip_ok(i) for i in items):
            raise AssertionError("KMIP Create+Get refused: %s" %
                                 [W.value(i, W.T["RESULT_MESSAGE"]) for i in items])
        kid = W.value(W.child(items[0], W.T["RESPONSE_PAYLOAD"]), W.T["UNIQUE_IDENTIFIER"])
        material = kmip_material(W.child(items[1], W.T["RESPONSE_PAYLOAD"]))
        self.ledger.answered(self.name, "Create", kid, "ok", bids[0])
        self.ledger.answered(self.name, "Get", kid, "ok", bids[1])
        self.done += 2
        self.ledger.new_key(kid, "standard", "kmip", self.name, "pre_active", material)
        return None
