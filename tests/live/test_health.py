#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Producer health: a machine-wide audit notices within seconds when its BPF programs stop
seeing anything, says so on stderr and in a "health" record, and counts it in the summary.

The detachment is real (the links are destroyed and the programs leave the tracepoints); it is
triggered from inside tmpguard through TMPGUARD_TEST_DETACH, since the kernel offers no way to
detach another process's tracepoint links (`bpftool link detach` answers EOPNOTSUPP).

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_health.py
"""

import json
import os
import socket
import urllib.request
import signal
import subprocess
import sys
import threading
import time

import tmpguard_test as test_live
from tmpguard_test import ENV, TMPGUARD, rfc3339_to_epoch

EXITS = ["tracepoint__syscalls__sys_exit_" + s for s in ("open", "openat", "openat2", "creat")]


class ProducerHealth(test_live.TgTestCase):
    def audit(self, seconds, env=None):
        d = self.private_dir(parent="/var/lib", mode=0o700)
        out = os.path.join(d, "out.json")
        t0 = time.time()
        self.db = os.path.join(d, "store.db")
        p = subprocess.run([TMPGUARD, "audit", "--duration", str(seconds), "--format", "json",
                            "--output", out, "--db", self.db], env=dict(ENV, **(env or {})),
                           capture_output=True, timeout=120)
        with open(out, "rb") as fh:
            recs = [json.loads(line) for line in fh]
        self.out = out
        return p, recs, t0

    def test_healthy_audit_raises_nothing(self):
        p, recs, _ = self.audit(7)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"unhealthy", p.stderr)
        self.assertEqual([r for r in recs if r["type"] == "health"], [])
        self.assertEqual(recs[-1]["events"]["health_alerts"], 0)
        # The canary leaves nothing behind (its directory is named after tmpguard's pid).
        pid = recs[0]["pid"]
        self.assertEqual([n for n in os.listdir("/run")
                          if n.startswith("tmpguard-canary.%d." % pid)], [])

    def test_a_killed_auditors_canary_is_swept(self):
        # A tmpguard killed with SIGKILL cannot clean up; the next one removes what it left.
        tg, _ = self.start_audit([])
        left = [n for n in os.listdir("/run") if n.startswith("tmpguard-canary.%d." % tg.pid)]
        self.assertEqual(len(left), 1, os.listdir("/run"))
        tg.kill()
        tg.wait()
        self.assertTrue(os.path.isdir("/run/" + left[0]))
        p, recs, _ = self.audit(3)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists("/run/" + left[0]), "the dead one's canary is still there")

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
        # A report over that output says what it could not see, and since when.
        r = subprocess.run([TMPGUARD, "report", "--format", "json", self.out],
                           capture_output=True, env=ENV, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        gaps = json.loads(r.stdout)["not_seen"]
        self.assertTrue(any("the BPF programs were not working from %s" % health[0]["time"][:19]
                            in g for g in gaps), gaps)
        # The same from the store the run wrote.
        r = subprocess.run([TMPGUARD, "report", "--format", "json", "--db", self.db],
                           capture_output=True, env=ENV, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        gaps = json.loads(r.stdout)["not_seen"]
        self.assertTrue(any("the BPF programs were not working from %s" % health[0]["time"][:19]
                            in g for g in gaps), gaps)

    def test_metrics_say_it(self):
        """tmpguard_producer_healthy is 1, then 0 once the programs are detached."""
        def scrape(port):
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
                return r.read().decode()

        def gauge(text):
            for line in text.splitlines():
                if line.startswith("tmpguard_producer_healthy "):
                    return float(line.split()[1])
            return None

        for detach, want in ((None, 1.0), (",".join(EXITS), 0.0)):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            env = dict(ENV, TMPGUARD_TEST_DETACH=detach) if detach else ENV
            tg = subprocess.Popen([TMPGUARD, "audit", "--metrics-addr", "127.0.0.1:%d" % port],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=env)
            self.addCleanup(lambda t=tg: t.poll() is None and (t.kill(), t.wait()))
            err = b""
            while b"serving metrics" not in err:
                line = tg.stderr.readline()
                self.assertTrue(line, "tmpguard exited: %r" % err)
                err += line
            # A healthy producer stays 1 over several checks; a detached one turns 0 within
            # two.
            deadline, seen = time.time() + 7, []
            while time.time() < deadline:
                seen.append(gauge(scrape(port)))
                if detach and seen[-1] == 0.0:
                    break
                time.sleep(0.5)
            tg.send_signal(signal.SIGINT)
            tg.communicate(timeout=60)
            self.assertEqual(seen[-1], want, "tmpguard_producer_healthy over time: %s" % seen)
            if not detach:
                self.assertEqual(set(seen), {1.0}, seen)


if __name__ == "__main__":
    sys.exit(test_live.main(prog="test_health"))
