"""Request messages of the KMIP 1.1 test cases (shared/vectors), as bytes."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("CF_SHARED", os.path.join(ROOT, "..", "shared"))
HEX_LINE = re.compile(r"^(42007[89AaBb][0-9A-Fa-f]+)\s*$")


def vector_messages(kind="request"):
    path = os.path.join(SHARED, "vectors", "kmip-testcases-v1.1.txt")
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = HEX_LINE.match(line.strip())
            if not m or len(m.group(1)) % 2:
                continue
            b = bytes.fromhex(m.group(1))
            if len(b) < 8 or int.from_bytes(b[4:8], "big") + 8 != len(b):
                continue
            is_req = b[:3] == b"\x42\x00\x78"
            if (kind == "request") == is_req:
                out.append(b)
    return out
