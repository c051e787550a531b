#!/usr/bin/python3
"""Print bench/run.sh's results as tables.

Input: a JSON-lines file, one line per (server, case):
  {"server": "coffre", "case": "get p8", "exit": 0, "result": {...kmip_bench --json...}}
Servers: coffre, pykmip, limit (KMIP), coffre_normal (the same Coffre with
--audit-sync normal: answers do not wait for the group fsync), nginx (a fixed HTTPS answer, for the REST rows).
Output:
  KMIP:  case | coffre ops/s p50 p99 | pykmip ... | limit ... | coffre/pykmip | coffre/limit
  REST:  case | coffre ... | nginx ... | coffre/nginx      (cases named "rest ...")
  audit: case | coffre (full, shipped) | coffre --audit-sync normal | full/normal
then notes: every error (first error message, counts), resumption rates,
TLS versions, and why a cell is n/a.
`table.py --audit-cost FILE` prints audit_cost's JSON lines as a table.
"""
import json
import re
import sys

SERVERS = ["coffre", "pykmip", "limit"]
REST_SERVERS = ["coffre", "nginx"]
# KMIP Result Reason "Operation Not Supported" (KMIP 1.4 section 9.1.3.2.29).
NOT_SUPPORTED = re.compile(r"reason 0x5:")


def fmt_us(us):
    return f"{us / 1000:.2f}" if us >= 1000 else f"{us / 1000:.3f}"


def cell(rec):
    """(text, ops_per_sec or None, note or None) for one server's result."""
    if rec is None:
        return "-", None, None
    if rec.get("skip"):
        return "n/a", None, rec["skip"]
    res = rec.get("result")
    if res is None:
        return "n/a", None, f"kmip_bench exited {rec.get('exit')} without a result (timeout or crash)"
    err = res.get("first_error") or ""
    if res.get("setup_failed") or res.get("ops", 0) == 0:
        if NOT_SUPPORTED.search(err):
            return "n/a (not implemented)", None, err
        return "n/a (failed)", None, err or f"kmip_bench exit {rec.get('exit')}"
    text = f"{res['ops_per_sec']:.0f} {fmt_us(res['p50_us'])} {fmt_us(res['p99_us'])}"
    note = None
    if res.get("errors"):
        text += " !"
        note = f"{res['errors']} errors ({res.get('ops')} ok): {err}"
    return text, res["ops_per_sec"], note


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}" if a / b < 10 else f"{a / b:.0f}"


def simple_table(head, table):
    widths = [max(len(r[i]) for r in table + [head]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in table:
        print(line(r))


def rest_and_audit(rows, cases, notes):
    """The REST table (coffre vs nginx) and the audit table (normal vs full)."""
    rest = [c for c in cases if c.startswith("rest ")]
    if rest:
        table = []
        for c in rest:
            cells = {s: cell(rows.get((c, s))) for s in REST_SERVERS}
            table.append([c] + [cells[s][0] for s in REST_SERVERS]
                         + [ratio(cells["coffre"][1], cells["nginx"][1])])
            for s in REST_SERVERS:
                if cells[s][2]:
                    notes.append(f"{c} / {s}: {cells[s][2]}")
        print("\nREST over HTTPS keep-alive (nginx: a fixed JSON answer, same certificates; "
              "issue 8 target for unwrap p16: coffre/nginx >= 0.5)")
        simple_table(["case", "coffre ops/s p50 p99", "nginx ops/s p50 p99", "coffre/nginx"], table)
    audit = [c for c in cases if (c, "coffre_normal") in rows]
    if audit:
        table = []
        for c in audit:
            b, a = cell(rows.get((c, "coffre"))), cell(rows.get((c, "coffre_normal")))
            table.append([c, a[0], b[0], ratio(b[1], a[1])])
            if b[2]:
                notes.append(f"{c} / coffre (full): {b[2]}")
        print("\nDurability over the network (same cases; shipped = full, group fsync before each answer;"
              " a second Coffre with --audit-sync normal)")
        simple_table(["case", "coffre (normal)", "coffre (full, shipped)", "full/normal"], table)


def audit_cost(path):
    """audit_cost --json lines: ops/s and mean per mode, the chain's overhead."""
    res = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            res[(r["op"], r["audit"])] = r
    table = []
    for op in ("discover", "get", "create"):
        if (op, "off") not in res:
            continue
        off = res[(op, "off")]
        row = [op]
        for m in ("off", "normal", "full"):
            r = res.get((op, m))
            row.append(f"{r['ops_per_sec']:.0f}/s {r['p50_us']:.0f} {r['mean_us']:.0f}" if r else "-")
        for m in ("normal", "full"):
            r = res.get((op, m))
            row.append(f"{r['p50_us'] - off['p50_us']:+.0f} / {r['mean_us'] - off['mean_us']:+.0f}"
                       if r else "-")
        table.append(row)
    print("\nAudit cost in process (bench/audit_cost: kmip_handle on SQLite, one thread, no network; "
          "ops/s, p50 and mean in microseconds)")
    simple_table(["op", "audit off", "audit normal", "audit full (shipped)",
                  "chain overhead p50 / mean (normal)", "overhead (full)"], table)


def main(path):
    rows, cases = {}, []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        if rec["case"] not in cases:
            cases.append(rec["case"])
        rows[(rec["case"], rec["server"])] = rec

    head = ["case", "coffre ops/s p50 p99", "pykmip ops/s p50 p99", "limit ops/s p50 p99",
            "coffre/pykmip", "coffre/limit"]
    table, notes, extra = [], [], []
    created = {}  # objects each server held when a case started (Locate scans them)
    kmip_cases = [c for c in cases if not c.startswith("rest ")]
    for c in kmip_cases:
        for s in SERVERS:
            res = (rows.get((c, s)) or {}).get("result") or {}
            if res.get("op") == "locate" and res.get("ops") and s != "limit":
                extra.append(f"{c} / {s}: the store held about {created.get(s, 0) + 1} objects")
            if res.get("op") == "create":
                created[s] = created.get(s, 0) + res.get("ops", 0)
            elif res.get("op") in ("get", "locate"):
                created[s] = created.get(s, 0) + (res.get("conns", 1) if res.get("op") == "get" else 1)
        cells = {s: cell(rows.get((c, s))) for s in SERVERS}
        table.append([c] + [cells[s][0] for s in SERVERS]
                     + [ratio(cells["coffre"][1], cells["pykmip"][1]),
                        ratio(cells["coffre"][1], cells["limit"][1])])
        for s in SERVERS:
            if cells[s][2]:
                notes.append(f"{c} / {s}: {cells[s][2]}")
            res = (rows.get((c, s)) or {}).get("result") or {}
            if res.get("mode", "").startswith("per-request") and res.get("handshakes"):
                extra.append(f"{c} / {s}: {res['handshakes']} handshakes, "
                             f"{100 * res.get('resumption_rate', 0):.1f}% resumed")
    simple_table(head, table)
    rest_and_audit(rows, cases, notes)
    print("\nops/s = successful operations per second; p50/p99 latency in ms; "
          "'!' = some operations failed (see notes).")
    tls = {}
    for (c, s), rec in rows.items():
        v = (rec.get("result") or {}).get("tls")
        if v and v != "none":
            tls.setdefault(s, set()).add(v)
    if tls:
        print("TLS: " + ", ".join(f"{s} {'/'.join(sorted(v))}" for s, v in sorted(tls.items())))
    if extra:
        print("\nResumption and store size:")
        for e in extra:
            print("  " + e)
    if notes:
        print("\nNotes (errors and n/a):")
        for n in notes:
            print("  " + n)


def one_line(text):
    """Short progress line for one kmip_bench --json result."""
    try:
        r = json.loads(text)
    except ValueError:
        return "no result"
    if not isinstance(r, dict):
        return "no result (kmip_bench timed out or crashed)"
    if r.get("setup_failed") or not r.get("ops"):
        return f"FAILED: {r.get('first_error', '')}"
    s = (f"{r['ops_per_sec']:.0f} ops/s, p50 {fmt_us(r['p50_us'])} ms, p99 {fmt_us(r['p99_us'])} ms, "
         f"{r['errors']} errors")
    if r.get("mode", "").startswith("per-request"):
        s += f", {100 * r.get('resumption_rate', 0):.0f}% resumed"
    if r.get("errors"):
        s += f" (first: {r.get('first_error')})"
    return s


if __name__ == "__main__":
    if sys.argv[1] == "--line":
        print(one_line(sys.argv[2]))
    elif sys.argv[1] == "--audit-cost":
        audit_cost(sys.argv[2])
    else:
        main(sys.argv[1])
