#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Producer health: a machine-wide audit notices within seconds when its BPF programs stop
seeing anything, says so on stderr and in a "health" record, and counts it in the summary.

The detachment is real (the links are destroyed and the programs leave the tracepoints); it is
triggered from inside tmpguard through TMPGUARD_TEST_DETACH, since the kernel offers no way to
detach another process's tracepoint links (`bpftool link detach` answers EOPNOTSUPP).

    TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures python3 tests/live/test_health.py
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live  # noqa: E402
from test_live import ENV, TMPGUARD, rfc3339_to_epoch  # noqa: E402

EXITS = ["tracepoint__syscalls__sys_exit_" + s for s in ("open", "openat", "openat2", "creat")]


class ProducerHealth(test_live.TgTestCase):
    def audit(self, seconds, env=None):
        d = self.private_dir(parent="/var/lib", mode=0o700)
        out = os.path.join(d, "out.json")
        t0 = time.time()
        p = subprocess.run([TMPGUARD, "audit", "--duration", str(seconds), "--format", "json",
                            "--output", out], env=dict(ENV, **(env or {})),
                           capture_output=True, timeout=120)
        with open(out, "rb") as fh:
            recs = [json.loads(line) for line in fh]
        return p, recs, t0

    def test_healthy_audit_raises_nothing(self):
        p, recs, _ = self.audit(7)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"unhealthy", p.stderr)
        self.assertEqual([r for r in recs if r["type"] == "health"], [])
        self.assertEqual(recs[-1]["events"]["health_alerts"], 0)
        # The canary leaves nothing behind.
        self.assertEqual([n for n in os.listdir("/run") if n.startswith("tmpguard-canary")]
                         if os.path.isdir("/run") else [], [])

    def test_detached_programs_are_noticed_within_seconds(self):
        p, recs, t0 = self.audit(8, {"TMPGUARD_TEST_DETACH": ",".join(EXITS)})
        self.assertEqual(p.returncode, 0, p.stderr)
        err = p.stderr.decode()
        for name in EXITS:
            self.assertIn("TEST: detaching %s: done" % name, err)
        self.assertIn("WARNING: producer unhealthy: the BPF programs did not see", err)
        health = [r for r in recs if r["type"] == "health"]
        self.assertEqual([h["status"] for h in health], ["unhealthy"], health)
        attached = rfc3339_to_epoch(recs[0]["time"])
        self.assertLess(rfc3339_to_epoch(health[0]["time"]) - attached, 5.0,
                        "noticed too late: %s after %s" % (health[0], recs[0]["time"]))
        self.assertEqual(recs[-1]["events"]["health_alerts"], 1)
        self.assertIn("the producer was unhealthy 1 time(s)", err)


if __name__ == "__main__":
    sys.exit(test_live.main(prog="test_health"))
