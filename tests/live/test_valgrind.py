#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A short audit under valgrind (memcheck) while real programs make findings, hostile names
included: no invalid access, no use of uninitialised memory, no definite or indirect leak.
The only suppressions are libbpf 1.1's (tests/valgrind/libbpf-1.1.supp, each explained).

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_valgrind.py
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import tmpguard_test as test_live
from tmpguard_test import ENV, TMPGUARD, fixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUPP = os.path.join(ROOT, "tests", "valgrind", "libbpf-1.1.supp")


class Valgrind(test_live.TgTestCase):
    def test_short_audit_is_clean(self):
        vg = shutil.which("valgrind")
        self.require(vg, "valgrind is not installed (apt-get install valgrind)")
        d = self.private_dir(parent="/var/lib", mode=0o700)
        out, log = os.path.join(d, "out.json"), os.path.join(d, "valgrind.log")
        tg = subprocess.Popen(
            [vg, "--error-exitcode=99", "--leak-check=full",
             "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
             "--track-origins=yes", "--suppressions=" + SUPP, "--log-file=" + log,
             TMPGUARD, "audit", "--format", "json", "--output", out],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=ENV)
        self.addCleanup(lambda: tg.poll() is None and (tg.kill(), tg.wait()))
        err = b""
        while b"tmpguard: auditing" not in err:
            line = tg.stderr.readline()
            if not line:
                self.fail("tmpguard exited under valgrind before attaching: %r" % err)
            err += line
        plain = self.name("/tmp", "vg")
        hostile = self.track(("/tmp/tg-vg-%s-\n\x1b[31m\"'\xff" % self.tok).encode("latin-1"))
        subprocess.run([fixture("open_trunc"), plain], env=ENV, check=True, timeout=60)
        subprocess.run([test_live.SH, "-c", 'printf x > "$1"', "sh", hostile], env=ENV,
                       check=True, timeout=60)
        # Both findings out before stopping: the poll loop, decoding, enrichment and output
        # all ran under valgrind.
        deadline = time.time() + 120
        while time.time() < deadline:
            with open(out, "rb") as fh:
                data = fh.read()
            if plain.encode() in data and b"tg-vg-%s-\\n" % self.tok.encode() in data:
                break
            time.sleep(0.2)
        else:
            self.fail("findings did not appear in %s: %r" % (out, data[-2000:]))
        tg.terminate()
        _, rest = tg.communicate(timeout=120)
        with open(log) as fh:
            report = fh.read()
        self.assertEqual(tg.returncode, 0, "valgrind found errors:\n" + report[-6000:])
        self.assertIn("ERROR SUMMARY: 0 errors", report, report[-6000:])
        with open(out, "rb") as fh:
            recs = [json.loads(line) for line in fh]
        self.assertEqual(recs[-1]["type"], "summary")


if __name__ == "__main__":
    sys.exit(test_live.main(prog="test_valgrind"))
