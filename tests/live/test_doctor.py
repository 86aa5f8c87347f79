#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of `tmpguard doctor`: its verdicts must match what tmpguard really does here.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_doctor.py [Doctor|DoctorUnderLockdown ...]

Doctor: every BPF feature is probed (the kernel release is information only); the hooks it
names are the ones `tmpguard audit` attaches; it says BPF LSM enforcement is available exactly
where `tmpguard audit --enforce` starts; the lockdown mode it reads is the kernel's; a required
feature it is told to treat as missing (TMPGUARD_DOCTOR_PRETEND_MISSING, which only narrows)
fails it with the feature's name and the kernel that has it. In the VM tier (tests/vm) it also
checks that BPF LSM enforcement is reported available on Debian's 6.1 and 6.12.

DoctorUnderLockdown runs only in a throwaway VM (tests/vm/run-in-vm.sh, with
TG_DOCTOR_RAISE_LOCKDOWN=1): it raises lockdown to confidentiality, which cannot be undone until
the next boot, and requires doctor to fail naming it, as `tmpguard audit` then fails. Run it last.
"""

import json
import os
import re
import signal
import subprocess
import sys
import unittest

import tmpguard_test as live
from tmpguard_test import ENV

LOCKDOWN = "/sys/kernel/security/lockdown"
LSM = "/sys/kernel/security/lsm"
DENY_NONEXCL = ("version: 1\nrules:\n  nonexclusive-create: { action: deny }\n"
                "  loose-mode: { enabled: false }\n")
STATUSES = {"ok", "warn", "missing", "info"}
# run-in-vm.sh's kernel command line: only a guest it booted may have its lockdown raised.
VM_CMDLINE = "softlockup_panic=1 oops=panic 8250.nr_uarts=4"


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def in_run_in_vm():
    return VM_CMDLINE in (read("/proc/cmdline") or "")


class DoctorCase(live.PolicyFiles):
    def doctor(self, *args, env=None):
        """(exit status, JSON report, {name: check}) of doctor --format json."""
        p = subprocess.run([live.TMPGUARD, "doctor", "--format", "json"] + list(args),
                           env=env or ENV, capture_output=True, timeout=120)
        rep = json.loads(p.stdout)
        return p.returncode, rep, {c["name"]: c for c in rep["checks"]}

    def audit_starts(self, args):
        """(started, stderr): `tmpguard audit ARGS` until it says it is auditing, or exits."""
        tg = subprocess.Popen([live.TMPGUARD, "audit"] + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
        self.addCleanup(lambda: tg.poll() is None and (tg.kill(), tg.wait()))
        err = b""
        while b"tmpguard: auditing" not in err:
            line = tg.stderr.readline()
            if not line:
                err += tg.communicate(timeout=60)[1]
                return False, err
            err += line
        tg.send_signal(signal.SIGINT)
        tg.communicate(timeout=120)
        return True, err


class Doctor(DoctorCase):
    def test_report_is_structured_and_exit_matches(self):
        rc, rep, checks = self.doctor()
        self.assertEqual(rc, 0, rep.get("summary"))
        self.assertIs(rep["can_audit"], True)
        self.assertEqual(rep["summary"], "tmpguard can audit on this host")
        for c in rep["checks"]:
            self.assertEqual(set(c), {"name", "status", "value", "verdict"}, c)
            self.assertIn(c["status"], STATUSES, c)
            self.assertTrue(c["verdict"], c)
        for name in ("kernel", "btf", "tracefs", "syscall tracepoints", "lockdown",
                     "ringbuf map", "map types", "bpf helpers", "tracepoint progs",
                     "bpf lsm load", "hooks", "privileges"):
            self.assertIn(name, checks)
        # The text form says the same.
        p = subprocess.run([live.TMPGUARD, "doctor"], env=ENV, capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.endswith(b"tmpguard can audit on this host\n"), p.stdout[-300:])

    def test_release_is_information_only(self):
        _, _, checks = self.doctor()
        self.assertEqual(checks["kernel"]["status"], "info")
        self.assertIn(os.uname().release, checks["kernel"]["value"])
        for c in checks.values():  # no verdict rests on a version comparison any more
            self.assertNotIn("or later: new enough", c["verdict"])

    def test_helpers_and_maps_probed(self):
        _, _, checks = self.doctor()
        self.assertEqual(checks["bpf helpers"]["status"], "ok", checks["bpf helpers"])
        self.assertEqual(checks["bpf helpers"]["value"], "13 of 13 available")
        self.assertEqual(checks["map types"]["status"], "ok", checks["map types"])
        self.assertEqual(checks["ringbuf map"]["status"], "ok")

    def test_lockdown_read_as_the_kernel_says(self):
        _, _, checks = self.doctor()
        raw = read(LOCKDOWN)
        c = checks["lockdown"]
        if raw is None:
            self.assertTrue(c["value"].startswith("unknown"), c)
            return
        mode = re.search(r"\[(\w+)\]", raw).group(1)
        self.assertEqual(c["value"], mode)
        if mode == "confidentiality":
            self.assertEqual(c["status"], "missing", c)
        else:
            self.assertEqual(c["status"], "ok", c)
        if mode == "integrity":
            self.assertIn("bpf_probe_write_user", c["verdict"])

    def test_hooks_and_enforcement_match_audit(self):
        """The hooks doctor names are what audit attaches; enforcement is reported available
        exactly where audit --enforce starts."""
        _, _, checks = self.doctor()
        lsm_ok = checks["bpf lsm load"]["status"] == "ok"
        started, err = self.audit_starts(["--enforce", "--policy", self.policy(DENY_NONEXCL)])
        self.assertEqual(started, lsm_ok, "doctor: %r; audit --enforce: %r"
                         % (checks["bpf lsm load"], err))
        if not started:
            self.assertIn(b"refuses BPF LSM programs", err)
            self.assertIn("--enforce unavailable", checks["bpf lsm load"]["verdict"])
            started, err = self.audit_starts([])
            self.assertTrue(started, err)
        hooks = checks["hooks"]["value"]
        self.assertIn(hooks, ("fentry", "tracepoint"))
        self.assertIn(b"fexit hooks" if hooks == "fentry" else b"syscall tracepoints", err)

    def test_in_vm_enforcement_available(self):
        """Debian's 6.1 and 6.12 boot with bpf in their LSM list (CONFIG_LSM): doctor must
        say enforcement is available there."""
        if not in_run_in_vm():
            self.skipTest("not in a tests/vm guest: the host's own verdict is checked by "
                          "test_hooks_and_enforcement_match_audit")
        _, _, checks = self.doctor()
        self.assertIn("bpf", (read(LSM) or "").split(","))
        self.assertEqual(checks["bpf lsm active"]["status"], "ok", checks["bpf lsm active"])
        self.assertEqual(checks["bpf lsm load"]["status"], "ok", checks["bpf lsm load"])
        self.assertIn("enforcement available", checks["bpf lsm load"]["verdict"])
        release = os.uname().release
        if release.startswith("6.1."):
            # 6.1 predates io_uring_submit_req (6.4): doctor names the old tracepoint.
            self.assertIn("io_uring_submit_sqe", checks["io_uring tp_btf"]["value"])
        if "ia32_emulation=0" in read("/proc/cmdline"):
            self.assertEqual(checks["ia32 syscalls"]["value"], "off", checks["ia32 syscalls"])

    def test_missing_required_helper_fails(self):
        env = dict(ENV, TMPGUARD_DOCTOR_PRETEND_MISSING="bpf_loop")
        rc, rep, checks = self.doctor(env=env)
        self.assertEqual(rc, 1)
        self.assertIs(rep["can_audit"], False)
        self.assertEqual(checks["bpf_loop"]["status"], "missing")
        self.assertIn("bpf_loop helper not available", checks["bpf_loop"]["verdict"])
        self.assertIn("bpf_loop helper not available: tmpguard needs Linux 5.17 or later",
                      rep["summary"])
        self.assertEqual(checks["bpf helpers"]["status"], "missing")
        p = subprocess.run([live.TMPGUARD, "doctor"], env=env, capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"tmpguard cannot audit on this host: bpf_loop helper not available: "
                      b"tmpguard needs Linux 5.17 or later", p.stdout)

    def test_missing_map_and_lockdown_helper_fail(self):
        env = dict(ENV, TMPGUARD_DOCTOR_PRETEND_MISSING="task_storage,bpf_probe_read_kernel")
        rc, rep, checks = self.doctor(env=env)
        self.assertEqual(rc, 1)
        self.assertEqual(checks["map types"]["status"], "missing")
        self.assertIn("Linux 5.11 or later", checks["map types"]["verdict"])
        self.assertEqual(checks["lockdown"]["status"], "missing")
        self.assertIn("boot with lockdown=integrity or none", checks["lockdown"]["verdict"])
        self.assertEqual(checks["bpf_probe_read_kernel"]["status"], "missing")

    def test_missing_optional_helper_only_warns(self):
        env = dict(ENV, TMPGUARD_DOCTOR_PRETEND_MISSING="bpf_send_signal")
        rc, rep, checks = self.doctor(env=env)
        self.assertEqual(rc, 0, rep["summary"])
        self.assertEqual(checks["bpf_send_signal"]["status"], "warn")
        self.assertIn("--enforce-fallback=kill", checks["bpf_send_signal"]["verdict"])
        self.assertEqual(checks["bpf helpers"]["status"], "warn")

    def test_pretending_only_narrows(self):
        """Whatever the variable names, no check gets better than the kernel's own answer."""
        rank = {"ok": 0, "info": 1, "warn": 2, "missing": 3}
        _, _, real = self.doctor()
        env = dict(ENV, TMPGUARD_DOCTOR_PRETEND_MISSING="hooks,lsm,fentry,tracefs,kernel,btf,"
                   "bpf_loop,ringbuf,hash,x")
        _, _, pretend = self.doctor(env=env)
        for name, c in real.items():
            self.assertGreaterEqual(rank[pretend[name]["status"]], rank[c["status"]], name)


class DoctorUnderLockdown(DoctorCase):
    """Last in a throwaway VM: lockdown=confidentiality, raised at run time (it stays until the
    next boot). Doctor must fail naming lockdown, as the real audit fails."""

    def setUp(self):
        super().setUp()
        if os.environ.get("TG_DOCTOR_RAISE_LOCKDOWN") != "1" or not in_run_in_vm():
            self.skipTest("raises kernel lockdown until the next boot: only in a tests/vm "
                          "guest with TG_DOCTOR_RAISE_LOCKDOWN=1")
        raw = read(LOCKDOWN)
        self.require(raw is not None and "confidentiality" in raw,
                     "the kernel offers no lockdown=confidentiality (%r)" % raw)

    def test_confidentiality_fails_doctor_as_audit(self):
        with open(LOCKDOWN, "w") as f:
            f.write("confidentiality")
        self.assertIn("[confidentiality]", read(LOCKDOWN))
        rc, rep, checks = self.doctor()
        self.assertEqual(rc, 1, rep["summary"])
        self.assertEqual(checks["lockdown"]["value"], "confidentiality")
        self.assertEqual(checks["lockdown"]["status"], "missing")
        self.assertIn("lockdown=confidentiality refuses bpf_probe_read_kernel",
                      checks["lockdown"]["verdict"])
        self.assertIn("lockdown=confidentiality refuses bpf_probe_read_kernel: boot with "
                      "lockdown=integrity or none", rep["summary"])
        self.assertIn("under lockdown=confidentiality",
                      checks["bpf_probe_read_kernel"]["verdict"])
        started, err = self.audit_starts([])
        self.assertFalse(started, "audit started under lockdown=confidentiality")
        self.assertTrue(err.strip(), "audit failed without saying why")


def main():
    """live.main() without its preflight's doctor run and fixtures: doctor is what is tested
    here, and no fixture runs."""
    if os.geteuid() != 0:
        return live.skip_all("test_doctor", "needs root (doctor loads BPF programs)")
    if not live.TMPGUARD or not os.access(live.TMPGUARD, os.X_OK):
        return live.skip_all("test_doctor", "TMPGUARD=%r is not an executable (set it to the "
                             "built tmpguard)" % live.TMPGUARD)
    return live.run_tests("__main__", "test_doctor")


if __name__ == "__main__":
    sys.exit(main())
