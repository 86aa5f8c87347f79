#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of `tmpguard daemon`: configuration, readiness, reload, graceful stop, and the
shipped systemd unit.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_daemon.py [Class[.test] ...]

The daemon is driven the way systemd drives it: $NOTIFY_SOCKET is a real datagram socket the
test reads READY=1 / RELOADING=1 / STOPPING=1 from (that is also how the tests know the
programs are attached), ExecReload's SIGHUP and the stop's SIGTERM are sent to it, and the
unit's capability bounding set is applied with setpriv. Needs root, like the live suite.
"""

import configparser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import tmpguard_test as test_live
from tmpguard_test import ENV, TMPGUARD, fixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = os.path.join(ROOT, "packaging", "tmpguard.service")
EXAMPLE = os.path.join(ROOT, "packaging", "tmpguard.yaml")
WAIT = 120  # seconds: loading takes seconds on the host, more under QEMU


class DaemonCase(test_live.TgTestCase):
    """A private directory for the configuration and output, and the notify socket."""

    def setUp(self):
        super().setUp()
        self.dir = self.private_dir(parent="/var/lib", mode=0o700)
        self.config = os.path.join(self.dir, "tmpguard.yaml")
        self.out = os.path.join(self.dir, "findings.json")
        sock_path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(sock_path)
        self.addCleanup(self.sock.close)
        self.env = dict(ENV, NOTIFY_SOCKET=sock_path)

    def write_config(self, text, path=None):
        path = path or self.config
        with open(path, "w") as fh:
            fh.write(text)
        os.chmod(path, 0o600)
        return path

    def policy(self, text):
        p = os.path.join(self.dir, "policy-%d.yaml" % len(os.listdir(self.dir)))
        return self.write_config(text, p)

    def start(self, extra=(), prefix=()):
        d = subprocess.Popen(list(prefix) + [TMPGUARD, "daemon", "--config", self.config] +
                             list(extra), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env)
        self.addCleanup(lambda: d.poll() is None and (d.kill(), d.wait()))
        return d

    def expect_notify(self, d, want):
        """Reads notifications until one holds the line `want`; returns all read."""
        got = []
        deadline = time.time() + WAIT
        while time.time() < deadline:
            self.sock.settimeout(max(0.1, min(1.0, deadline - time.time())))
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                if d.poll() is not None:
                    self.fail("the daemon exited (%s) before %s; stderr: %r" % (
                        d.returncode, want, d.stderr.read()))
                continue
            got.append(msg)
            if want in msg.split("\n"):
                return got
        self.fail("no %s within %d s; got %r" % (want, WAIT, got))

    def stop(self, d):
        d.send_signal(signal.SIGTERM)
        self.expect_notify(d, "STOPPING=1")
        out, err = d.communicate(timeout=WAIT)
        return d.returncode, err.decode("utf-8", "replace")

    def records(self):
        with open(self.out, "rb") as fh:
            return [json.loads(line) for line in fh]

    def make_finding(self, stem):
        p = self.name("/tmp", stem)
        r = subprocess.run([fixture("open_trunc"), p], env=ENV, capture_output=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return p

    def wait_for_path(self, path, present=True):
        """Polls the output until a finding for path is there (bounded)."""
        deadline = time.time() + WAIT
        while time.time() < deadline:
            if os.path.exists(self.out):
                with open(self.out, "rb") as fh:
                    if path.encode() in fh.read():
                        return
            time.sleep(0.1)
        self.fail("no finding for %s in %s within %d s" % (path, self.out, WAIT))



class Daemon(DaemonCase):
    def test_config_ready_reload_and_graceful_stop(self):
        # A policy that excepts the second file's rule, loaded only on reload.
        later = self.policy('version: 1\nexceptions:\n  - rule: "*"\n    path: /tmp/tg-after-*\n'
                            '    reason: "reload test: the new policy hides these"\n')
        self.write_config("format: json\noutput: %s\nringbuf-size: 8\n" % self.out)
        d = self.start()
        self.expect_notify(d, "READY=1")
        before = self.make_finding("before")
        self.wait_for_path(before)

        # SIGHUP (ExecReload): the new policy applies at once, a changed ring buffer size
        # needs a restart and the log says so.
        self.write_config("format: json\noutput: %s\nringbuf-size: 16\npolicy: %s\n" % (
            self.out, later))
        d.send_signal(signal.SIGHUP)
        self.expect_notify(d, "RELOADING=1")
        self.expect_notify(d, "READY=1")
        after = self.make_finding("after")
        marker = self.make_finding("marker")  # not excepted: once it is out, so is "after"
        self.wait_for_path(marker)

        rc, err = self.stop(d)
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration changes to ringbuf-size take effect at the next restart",
                      err)
        self.assertIn("policy reloaded from %s" % later, err)
        recs = self.records()
        self.assertEqual(recs[0]["type"], "session", recs[0])
        self.assertEqual(recs[-1]["type"], "summary", recs[-1])
        paths = {r["path"] for r in recs if r["type"] == "finding"}
        self.assertIn(before, paths)
        self.assertIn(marker, paths)
        self.assertNotIn(after, paths, "the reloaded policy's exception did not apply")
        summary = recs[-1]
        self.assertEqual(summary["policy"], later)
        self.assertEqual(summary["policy_reloads"], 1)
        self.assertEqual(summary["exceptions"][0]["suppressed_user"], 1, summary)

    def test_sigterm_drains_every_record(self):
        # A burst of findings right before SIGTERM: everything the kernel sent is received
        # and written before exit.
        self.write_config("format: json\noutput: %s\n" % self.out)
        d = self.start()
        self.expect_notify(d, "READY=1")
        base = self.name("/tmp", "burst")
        n = 300
        subprocess.run([test_live.SH, "-c",
                        'i=0; while [ $i -lt %d ]; do : > "%s.$i"; i=$((i+1)); done' % (n, base)],
                       env=ENV, check=True, timeout=120)
        for i in range(n):
            self.track("%s.%d" % (base, i))
        rc, err = self.stop(d)
        self.assertEqual(rc, 0, err)
        ev = self.records()[-1]["events"]
        self.assertEqual(ev["lost"], 0, ev)
        self.assertGreaterEqual(ev["sent"], n, ev)
        self.assertEqual(ev["received"] + ev["malformed"], ev["sent"],
                         "records sent but never read: %s" % ev)

    def test_invalid_reload_keeps_running(self):
        self.write_config("format: json\noutput: %s\n" % self.out)
        d = self.start()
        self.expect_notify(d, "READY=1")
        self.write_config("format: json\noutput: %s\nbogus-key: 1\n" % self.out)
        d.send_signal(signal.SIGHUP)
        self.expect_notify(d, "RELOADING=1")
        self.expect_notify(d, "READY=1")
        p = self.make_finding("stillon")
        self.wait_for_path(p)
        rc, err = self.stop(d)
        self.assertEqual(rc, 0, err)
        self.assertIn("%s:3:1: unknown option 'bogus-key'" % self.config, err)
        self.assertIn("configuration reload refused, keeping the one in force", err)
        self.assertEqual(self.records()[-1]["policy_reloads_refused"], 1)

    def test_bad_configurations_exit_2_naming_the_place(self):
        cases = [
            ("format: json\nbogus: 1\n", "%s:2:1: unknown option 'bogus'"),
            ("format: xml\n", "%s: invalid format 'xml': expected text, json or falco"),
            ("enforce: maybe\n", "%s:1:10: 'enforce' is 'maybe'; expected true or false"),
            ("ringbuf-size: 3\n", "%s: ring buffer size 3 MiB is not a power of two"),
            ("format: json\nformat: text\n", "%s:2:1: 'format' given twice"),
            ("output: [a, b]\n", "%s:1:9: 'output' has a list value"),
            ("- format\n", "%s:1:1: the configuration is not a mapping"),
            ("format: json\n---\nformat: text\n", "a second YAML document"),
            ("format: 'json\n", "not YAML"),
            ("policy: /nonexistent/policy.yaml\n", "cannot read /nonexistent/policy.yaml"),
        ]
        for text, want in cases:
            with self.subTest(config=text):
                self.write_config(text)
                d = self.start()
                out, err = d.communicate(timeout=WAIT)
                self.assertEqual(d.returncode, 2, err)
                self.assertIn(want.replace("%s", self.config) if "%s" in want else want,
                              err.decode())
                self.assertNotIn(b"auditing", err)
        r = subprocess.run([TMPGUARD, "daemon", "--config", os.path.join(self.dir, "none")],
                           capture_output=True, env=ENV, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"No such file or directory", r.stderr)
        self.assertIn(b"packaging/tmpguard.yaml", r.stderr)

    def test_every_audit_option_is_a_config_key(self):
        help_text = subprocess.run([TMPGUARD, "audit", "--help"], capture_output=True,
                                   env=ENV, timeout=60).stdout.decode()
        # The option lines of argp's help: "  -f, --format=FORMAT   ..." or "      --db=FILE".
        longs = sorted(set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)", help_text, re.M)) -
                       {"--help", "--usage", "--version"})
        self.assertIn("--format", longs)
        for opt in longs:
            key = opt[2:].rstrip(",")
            with self.subTest(key=key):
                self.write_config("%s: \"\"\n" % key)
                r = subprocess.run([TMPGUARD, "daemon", "--config", self.config, "--check"],
                                   capture_output=True, env=ENV, timeout=60)
                self.assertNotIn(b"unknown option", r.stderr, key)

    def test_check_validates_the_shipped_example(self):
        r = subprocess.run([TMPGUARD, "daemon", "--config", EXAMPLE, "--check"],
                           capture_output=True, env=ENV, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"format: json", r.stdout)
        self.assertIn(b"policy <builtin default>: valid", r.stdout)

    def test_world_writable_config_is_warned_about(self):
        self.write_config("format: json\noutput: %s\n" % self.out)
        os.chmod(self.config, 0o666)
        r = subprocess.run([TMPGUARD, "daemon", "--config", self.config, "--check"],
                           capture_output=True, env=ENV, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"writable by group or others", r.stderr)


class SystemdProtocol(DaemonCase):
    """The watchdog and journald's priorities as systemd sets them up (WATCHDOG_USEC,
    JOURNAL_STREAM); tests/vm/test_service.py has a real systemd act on them."""

    def pings(self, d, seconds):
        n, deadline = 0, time.time() + seconds
        while time.time() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                n += "WATCHDOG=1" in self.sock.recv(4096).decode().split("\n")
            except socket.timeout:
                pass
        return n

    def test_watchdog_fed_while_healthy_only(self):
        self.write_config("format: json\noutput: %s\n" % self.out)
        self.env.update(WATCHDOG_USEC="2000000", WATCHDOG_PID=str(os.getpid()))
        d = self.start()  # WATCHDOG_PID is not the daemon's: the watchdog is not its
        self.expect_notify(d, "READY=1")
        self.assertEqual(self.pings(d, 3), 0)
        self.stop(d)
        del self.env["WATCHDOG_PID"]
        d = self.start()
        self.expect_notify(d, "READY=1")
        self.assertGreaterEqual(self.pings(d, 4), 3)  # every 1 s: half of WATCHDOG_USEC
        self.stop(d)
        # The open programs detached (the live health test's knob): the canary fails
        # within two rounds (4 s) and the pings stop.
        self.env["TMPGUARD_TEST_DETACH"] = ",".join(
            ["tracepoint__syscalls__sys_exit_" + s for s in ("open", "openat", "openat2",
                                                             "creat")] +
            ["fexit__do_sys_openat2"])
        d = self.start()
        self.expect_notify(d, "READY=1")
        self.pings(d, 6)
        self.assertEqual(self.pings(d, 4), 0, "still fed with the producer unhealthy")
        rc, err = self.stop(d)
        self.assertIn("no longer feeding systemd's watchdog", err)

    def test_journal_priorities(self):
        # stderr a pipe that JOURNAL_STREAM names, as systemd does for StandardError=journal.
        r, w = os.pipe()
        st = os.fstat(w)
        self.write_config("format: json\noutput: %s\n" % self.out)
        os.chmod(self.config, 0o666)  # a warning at start-up
        env = dict(self.env, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        d = subprocess.Popen([TMPGUARD, "daemon", "--config", self.config],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w,
                             env=env)
        os.close(w)
        self.addCleanup(lambda: d.poll() is None and (d.kill(), d.wait()))
        self.expect_notify(d, "READY=1")
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=WAIT)
        with os.fdopen(r, "rb") as fh:
            lines = fh.read().decode().splitlines()
        self.assertTrue(lines and all(re.match(r"<[0-7]>", line) for line in lines), lines)
        self.assertIn("<4>tmpguard: WARNING: the configuration", "\n".join(lines))
        self.assertTrue([x for x in lines if x.startswith("<6>tmpguard: auditing (")], lines)
        # Without JOURNAL_STREAM (a terminal, a file): no prefixes.
        os.chmod(self.config, 0o600)
        d = self.start()
        self.expect_notify(d, "READY=1")
        rc, err = self.stop(d)
        self.assertTrue(err.startswith("tmpguard: "), err)
        self.assertNotIn("<6>", err)


class SystemdUnit(DaemonCase):
    """The shipped unit: systemd accepts it, and tmpguard works within what it grants."""

    def unit(self):
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.optionxform = str
        cp.read(UNIT)
        return cp

    def test_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        self.require(analyze, "systemd-analyze is not installed (apt-get install systemd)")
        # verify checks that ExecStart's binary exists: point it at the one built here.
        with open(UNIT) as fh:
            text = fh.read().replace("/usr/sbin/tmpguard", os.path.abspath(TMPGUARD))
        path = os.path.join(self.dir, "tmpguard.service")
        with open(path, "w") as fh:
            fh.write(text)
        # Documentation=man:tmpguard(8) is looked up with man(1): the page from the source
        # tree when it is there; without it, only that lookup may complain.
        env = dict(ENV, SYSTEMD_LOG_LEVEL="warning")
        page = os.path.join(ROOT, "docs", "man", "tmpguard.8")
        if os.path.exists(page):
            os.makedirs(os.path.join(self.dir, "man", "man8"))
            shutil.copy(page, os.path.join(self.dir, "man", "man8"))
            env["MANPATH"] = os.path.join(self.dir, "man")
        r = subprocess.run([analyze, "verify", path], capture_output=True, timeout=120,
                           env=env)
        problems = [line for line in r.stderr.decode().splitlines()
                    if "tmpguard.service" in line and
                    (os.path.exists(page) or "'man tmpguard(8)'" not in line)]
        if os.path.exists(page) or problems:
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(problems, [], r.stderr)

    def test_unit_protocol(self):
        svc = self.unit()["Service"]
        self.assertEqual(svc["Type"], "notify")
        self.assertEqual(svc["ExecReload"], "/bin/kill -HUP $MAINPID")
        self.assertEqual(svc["KillSignal"], "SIGTERM")
        self.assertIn("2", svc["RestartPreventExitStatus"].split())
        self.assertTrue(svc["ExecStart"].startswith("/usr/sbin/tmpguard daemon --config "))
        self.assertEqual(svc["UMask"], "0077")
        self.assertEqual(svc["PrivateTmp"], "no")
        self.assertEqual(svc["WatchdogSec"], "30")
        self.assertEqual(svc["NotifyAccess"], "main")
        docs = self.unit()["Unit"]["Documentation"].split()
        self.assertIn("man:tmpguard(8)", docs)

    def test_security_exposure_at_most_3(self):
        """systemd-analyze security rates the unit file itself (--offline, systemd 250+):
        at most 3.0 ("OK"); what each directive costs tmpguard is tested by starting the
        unit under a real systemd (tests/vm/test_service.py)."""
        analyze = shutil.which("systemd-analyze")
        self.require(analyze, "systemd-analyze is not installed (apt-get install systemd)")
        r = subprocess.run([analyze, "security", "--offline=true", "--no-pager", UNIT],
                           capture_output=True, text=True, timeout=120,
                           env=dict(ENV, SYSTEMD_LOG_LEVEL="warning"))
        if "--offline" in r.stderr and "unrecognized option" in r.stderr:
            self.skipTest("this systemd-analyze has no --offline (systemd before 250)")
        m = re.search(r"Overall exposure level for tmpguard.service: (\d+\.\d)", r.stdout)
        self.assertTrue(m, r.stdout + r.stderr)
        self.assertLessEqual(float(m.group(1)), 3.0, r.stdout)

    def test_runs_with_the_units_capabilities_only(self):
        setpriv = shutil.which("setpriv")
        self.require(setpriv, "setpriv is not installed (util-linux)")
        caps = self.unit()["Service"]["CapabilityBoundingSet"].split()
        spec = ",".join(["-all"] + ["+" + c.lower().replace("cap_", "") for c in caps])
        self.write_config("format: json\noutput: %s\n" % self.out)
        d = self.start(prefix=[setpriv, "--bounding-set", spec, "--inh-caps", "-all",
                               "--no-new-privs"])
        self.expect_notify(d, "READY=1")
        with open("/proc/%d/status" % d.pid) as fh:
            bnd = [line for line in fh if line.startswith("CapBnd:")][0]
        self.assertNotEqual(int(bnd.split()[1], 16), (1 << 41) - 1, "bounding set not applied")
        p = self.make_finding("caps")
        self.wait_for_path(p)
        rc, err = self.stop(d)
        self.assertEqual(rc, 0, err)
        f = [r for r in self.records() if r.get("path") == p][0]
        # /proc of the (short-lived) process or the kernel record: either way a real exe.
        self.assertTrue(f["proc"]["exe"].endswith("open_trunc"), f)


if __name__ == "__main__":
    sys.exit(test_live.main(prog="test_daemon"))
