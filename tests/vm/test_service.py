#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The shipped unit, packaging/tmpguard.service, started by a real systemd (PID 1 of the VM:
run-in-vm.sh --systemd). Every hardening directive is in force while tmpguard loads, audits
another user's process, writes its store and log, serves metrics, reloads and stops; then the
watchdog: detached programs fail the producer-health canary, the pings stop and systemd
restarts the service for it; and journald gets priorities.

    tests/vm/run-in-vm.sh --systemd --overlay /etc --overlay /usr/sbin --overlay /var/log \
        --env PYTHONPATH -- /usr/bin/python3 tests/vm/test_service.py

(TMPGUARD and TG_FIXTURES as for the live suite.) The unit is installed byte for byte: the
built binary is copied to its ExecStart path, /usr/sbin/tmpguard.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import tmpguard_test as test_live
from tmpguard_test import ENV, TMPGUARD, fixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = os.path.join(ROOT, "packaging", "tmpguard.service")
EXAMPLE = os.path.join(ROOT, "packaging", "tmpguard.yaml")
LOG = "/var/log/tmpguard/findings.json"
DB = "/var/lib/tmpguard/events.db"
METRICS = "127.0.0.1:9464"
DROPIN = "/run/systemd/system/tmpguard.service.d"
# The open exits: the syscall tracepoints, or the fexit program where the kernel has fexit.
EXITS = ["tracepoint__syscalls__sys_exit_" + s for s in ("open", "openat", "openat2", "creat")]
EXITS += ["fexit__do_sys_openat2"]


def sh(*cmd, check=True, timeout=300):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=ENV)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d: %s%s" % (" ".join(cmd), r.returncode, r.stdout,
                                                    r.stderr))
    return r


def show(*props):
    out = sh("systemctl", "show", "tmpguard.service", "-p", ",".join(props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def journal(*args):
    return sh("journalctl", "-u", "tmpguard.service", "-o", "cat", "--no-pager", *args).stdout


class Service(test_live.TgTestCase):
    @classmethod
    def setUpClass(cls):
        with open("/proc/1/comm") as fh:
            cls.pid1 = fh.read().strip()

    def setUp(self):
        super().setUp()
        self.require(self.pid1 == "systemd", "PID 1 is %s, not systemd (run this under "
                     "run-in-vm.sh --systemd)" % self.pid1)
        self.require(os.access("/usr/sbin", os.W_OK) and os.access("/etc", os.W_OK),
                     "/usr/sbin and /etc are not writable (run-in-vm.sh --overlay both)")
        shutil.copy(TMPGUARD, "/usr/sbin/tmpguard")
        os.makedirs("/etc/tmpguard", exist_ok=True)
        with open(EXAMPLE) as fh:
            conf = fh.read()
        with open("/etc/tmpguard/tmpguard.yaml", "w") as fh:
            fh.write(conf + "db: %s\nmetrics-addr: %s\n" % (DB, METRICS))
        os.chmod("/etc/tmpguard/tmpguard.yaml", 0o600)
        shutil.copy(UNIT, "/etc/systemd/system/tmpguard.service")
        shutil.rmtree(DROPIN, ignore_errors=True)
        sh("systemctl", "daemon-reload")
        sh("systemctl", "reset-failed", "tmpguard.service", check=False)
        self.addCleanup(lambda: sh("systemctl", "stop", "tmpguard.service", check=False))
        # The fixture runs as nobody: somewhere nobody may execute it from.
        fixdir = self.private_dir(parent="/run", mode=0o755)
        self.fixture = os.path.join(fixdir, "open_trunc")
        shutil.copy(fixture("open_trunc"), self.fixture)
        os.chmod(self.fixture, 0o755)

    def start(self):
        t0 = time.time()
        sh("systemctl", "start", "tmpguard.service")  # Type=notify: returns after READY=1
        print("test_service: systemctl start took %.1f s" % (time.time() - t0), file=sys.stderr)

    def wait_for(self, what, cond, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.5)
        self.fail("%s: not within %d s; journal:\n%s" % (what, timeout, journal()[-4000:]))

    def finding_of_nobody(self):
        p = self.name("/tmp", "svc")
        r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                            self.fixture, p], capture_output=True, env=ENV, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

        def found():
            if not os.path.exists(LOG):
                return None
            with open(LOG) as fh:
                recs = [json.loads(line) for line in fh]
            return [f for f in recs if f.get("type") == "finding" and f.get("path") == p]
        return p, self.wait_for("a finding for " + p + " in " + LOG, found, 60)[0]

    def test_unit_runs_audits_reloads_and_stops(self):
        self.start()
        st = show("ActiveState", "SubState", "StatusText", "MainPID", "WatchdogUSec",
                  "NRestarts")
        self.assertEqual((st["ActiveState"], st["SubState"]), ("active", "running"), st)
        self.assertEqual(st["StatusText"], "auditing", st)  # sent with READY=1
        self.assertEqual(st["WatchdogUSec"], "30s", st)
        pid = st["MainPID"]
        self.assertIn("auditing (", journal())

        # Another user's insecure create, with its /proc read through ProtectProc=invisible.
        p, f = self.finding_of_nobody()
        self.assertEqual(f["proc"]["uid"], 65534, f)
        self.assertTrue(f["proc"]["exe"].endswith("open_trunc"), f)
        self.assertEqual(os.stat(LOG).st_mode & 0o777, 0o600)  # UMask=0077
        self.assertEqual(os.stat("/var/lib/tmpguard").st_mode & 0o777, 0o700)

        # The store, under StateDirectory=.
        def stored():
            r = sh("tmpguard", "query", "--db", DB, "--path", p, "--format", "json",
                   check=False)
            return r.returncode == 0 and p in r.stdout
        self.wait_for("the finding in the store " + DB, stored, 60)

        # Metrics on the TCP port (RestrictAddressFamilies= keeps AF_INET).
        with urllib.request.urlopen("http://%s/metrics" % METRICS, timeout=30) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("tmpguard_", r.read().decode())

        # The health canary lives in RuntimeDirectory= (the rest of /run is read-only).
        self.assertTrue([n for n in os.listdir("/run/tmpguard")
                         if n.startswith("tmpguard-canary.")], os.listdir("/run/tmpguard"))

        # ExecReload: SIGHUP, RELOADING=1 ... READY=1; same process.
        t0 = show("WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]
        sh("systemctl", "reload", "tmpguard.service")
        self.assertEqual(show("ActiveState")["ActiveState"], "active")

        # The watchdog is fed while healthy: its timestamp moves, and past WatchdogSec the
        # same process still runs.
        time.sleep(33)
        st = show("ActiveState", "MainPID", "NRestarts", "WatchdogTimestampMonotonic")
        self.assertEqual((st["ActiveState"], st["MainPID"], st["NRestarts"]),
                         ("active", pid, "0"), st)
        self.assertNotEqual(st["WatchdogTimestampMonotonic"], t0, "no WATCHDOG=1 arrived")

        # A clean stop: STOPPING=1, the summary, exit 0.
        sh("systemctl", "stop", "tmpguard.service")
        st = show("ActiveState", "Result", "ExecMainStatus", "ExecMainCode")
        self.assertEqual((st["ActiveState"], st["Result"], st["ExecMainStatus"]),
                         ("inactive", "success", "0"), st)
        with open(LOG) as fh:
            last = json.loads(fh.readlines()[-1])
        self.assertEqual(last["type"], "summary", last)

        # Priorities: the informational lines are not warnings.
        self.assertNotIn("auditing (", journal("-p", "warning"))

    def test_watchdog_restarts_an_unhealthy_producer(self):
        # The exit tracepoints detached right after attaching (the test-only knob the live
        # health test uses; it says "TEST:" in the log): the canary fails within seconds.
        os.makedirs(DROPIN, exist_ok=True)
        with open(os.path.join(DROPIN, "test-detach.conf"), "w") as fh:
            fh.write("[Service]\nEnvironment=TMPGUARD_TEST_DETACH=%s\n" % ",".join(EXITS))
        sh("systemctl", "daemon-reload")
        self.start()
        t0 = time.time()
        self.wait_for("a restart for the watchdog",
                      lambda: int(show("NRestarts")["NRestarts"]) >= 1, 120)
        print("test_service: restarted %.1f s after READY" % (time.time() - t0), file=sys.stderr)
        log = sh("journalctl", "-u", "tmpguard.service", "--no-pager").stdout
        self.assertIn("Watchdog timeout", log)
        self.assertIn("Failed with result 'watchdog'", log)
        # journald priorities: the canary's warning is a warning, the watchdog's an error,
        # and neither is lost among the information.
        self.assertIn("WARNING: producer unhealthy", journal("-p", "warning"))
        self.assertIn("no longer feeding systemd's watchdog", journal("-p", "err"))
        self.assertNotIn("producer unhealthy", journal("-p", "err").replace(
            "ERROR: producer unhealthy", ""))
        prio = {}
        for line in sh("journalctl", "-u", "tmpguard.service", "-o", "json", "--no-pager",
                       "_TRANSPORT=stdout").stdout.splitlines():
            e = json.loads(line)
            m = e.get("MESSAGE")
            for key in ("tmpguard: auditing (", "tmpguard: WARNING: producer unhealthy",
                        "tmpguard: ERROR: producer unhealthy"):
                if isinstance(m, str) and m.startswith(key):
                    prio.setdefault(key, set()).add(e["PRIORITY"])
        self.assertEqual(prio, {"tmpguard: auditing (": {"6"},
                                "tmpguard: WARNING: producer unhealthy": {"4"},
                                "tmpguard: ERROR: producer unhealthy": {"3"}})

    def test_security_exposure(self):
        # The same rating as the offline one on the host, here from the running manager.
        r = sh("systemd-analyze", "security", "--no-pager", "tmpguard.service")
        m = re.search(r"Overall exposure level for tmpguard.service: (\d+\.\d)", r.stdout)
        self.assertTrue(m, r.stdout)
        print("test_service: exposure %s" % m.group(1), file=sys.stderr)
        self.assertLessEqual(float(m.group(1)), 3.0, r.stdout)


if __name__ == "__main__":
    sys.exit(test_live.main(prog="test_service"))
