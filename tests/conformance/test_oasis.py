"""pytest wrapper of the OASIS profile runner (run_oasis.py).

test_xml_conversion: every test case file converts to TTLV with the names of
src/ttlv/ttlv_dict.def (the PKCS#11 profile's function names, which the
table does not hold, are the known exception).

test_oasis_check: plays every case against a live server (the sanitizer
build in $COFFRE_BIN) in --check mode; fails, listing them, if a case of
expected_pass.txt no longer passes. Newly passing cases are printed (-s) so
the list can be grown with run_oasis.py --update-expected.
"""
import glob
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("CF_SHARED", os.path.join(ROOT, "..", "shared"))
OASIS = os.path.join(SHARED, "vectors", "oasis")
sys.path.insert(0, HERE)

import kmipxml  # noqa: E402

# Files whose XML names values the dictionary does not define.
CONVERSION_EXCEPTIONS = {"v2.0/mandatory/PKCS11-M-1-20", "v2.1/mandatory/PKCS11-M-1-21"}


def _cases():
    return sorted(glob.glob(os.path.join(OASIS, "v*", "*", "*.xml")))


@pytest.mark.skipif(not os.path.isdir(OASIS), reason="no OASIS vectors under CF_SHARED")
def test_xml_conversion():
    kd = kmipxml.KmipDict()
    assert kd.check() == [], "folded names collide in ttlv_dict.def"
    bad = []
    files = _cases()
    for p in files:
        name = os.path.splitext(os.path.relpath(p, OASIS))[0]
        try:
            steps = kmipxml.load_case(kd, p)
            assert steps and steps[0][0] == "request", "no request first"
            assert sum(k == "request" for k, _ in steps) == sum(k == "response"
                                                                 for k, _ in steps)
            ok = True
        except Exception as e:  # noqa: BLE001
            ok = False
            if name not in CONVERSION_EXCEPTIONS:
                bad.append("%s: %s" % (name, e))
        if ok and name in CONVERSION_EXCEPTIONS:
            bad.append("%s converts now: drop it from CONVERSION_EXCEPTIONS" % name)
    assert len(files) == 393, "the OASIS set changed: %d files" % len(files)
    assert not bad, "\n".join(bad)


@pytest.mark.skipif(not os.path.isdir(OASIS), reason="no OASIS vectors under CF_SHARED")
def test_oasis_check(tmp_path):
    env = dict(os.environ, CF_SHARED=SHARED)
    out = os.path.join(ROOT, "build", "conformance")
    p = subprocess.run([sys.executable, os.path.join(HERE, "run_oasis.py"), "--check",
                        "--out", out], env=env, capture_output=True, text=True, timeout=1800)
    print(p.stdout)
    regressions = [ln for ln in p.stdout.splitlines() if ln.startswith("REGRESSION")]
    assert p.returncode == 0, "OASIS conformance regressions (details in %s/failures.log):\n%s" % (
        out, "\n".join(regressions) or p.stdout[-3000:] + p.stderr[-3000:])
