"""Seed corpus for the fuzz targets: every TTLV message of the KMIP 1.1 test
cases (requests and responses), one file each. Usage: seeds.py SHARED OUTDIR"""
import os
import re
import sys

shared, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
hexline = re.compile(r"^(42[0-9A-Fa-f]+)\s*$")
n = 0
with open(os.path.join(shared, "vectors", "kmip-testcases-v1.1.txt"), errors="replace") as f:
    for line in f:
        m = hexline.match(line.strip())
        if m and len(m.group(1)) % 2 == 0:
            data = bytes.fromhex(m.group(1))
            with open(os.path.join(out, "v11-%03d" % n), "wb") as o:
                o.write(data)
            n += 1
print("seeds: %d messages" % n)
