#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of the ways around open(2): io_uring requests and 32-bit syscalls.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_hardening.py [IoUring|Ia32 ...]

Real programs, under the real tmpguard, as in test_live.py (the harness's helpers and checks,
tests/lib/tmpguard_test.py): uring_open creates a file through io_uring with the raw
io_uring_setup and io_uring_enter syscalls (the open runs in an io-wq worker: no open(2) is
made), open32 is a gcc -m32 program making raw 32-bit syscalls, int80_open a 64-bit program
opening through int $0x80. Every finding must say how the call entered the kernel ("entry").

open32 is built only where the compiler can do -m32 (gcc-multilib, libc6-dev-i386): without it
the Ia32 tests skip, saying so, except under CI=true, where they fail (CI installs it).
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import tmpguard_test as live
from tmpguard_test import ENV, NOBODY, fixture

OPEN_FLAGS = ["O_WRONLY", "O_CREAT", "O_TRUNC"]
POLICY_CI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "policies",
                         "ci.yaml")
AS_NOBODY = dict(user=NOBODY, group=NOBODY, extra_groups=[], env=ENV, cwd="/",
                 stdin=subprocess.DEVNULL)


class Entry(live.TgTestCase):
    """Checks shared by both: one finding, its fields, and the process that made the call."""

    def doctor(self):
        """tmpguard doctor's checks, by name."""
        p = subprocess.run([live.TMPGUARD, "doctor", "--format", "json"], env=ENV,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return {c["name"]: c for c in json.loads(p.stdout)["checks"]}

    def check_create(self, res, path, rules, syscall, entry, comm, flags=OPEN_FLAGS,
                     mode="0600"):
        """path was created by COMMAND with exactly these rules; returns {rule: finding}."""
        self.assertOk(res)
        self.assertTrue(os.path.exists(path), "the fixture did not create %s" % path)
        pid, _ = res.report()
        fs = self.assertFindings(res, path, rules)
        for f in fs.values():
            ctx = json.dumps(f)
            self.assertEqual(f["entry"], entry, ctx)
            self.assertEqual(f["syscall"], syscall, ctx)
            self.assertEqual(f["path"], path, ctx)
            self.assertEqual(f["resolved_name"], os.path.basename(path), ctx)
            self.assertFlags(f, flags)
            self.assertEqual(f["mode"], mode, ctx)
            self.assertEqual(f["umask"], "0022", ctx)
            self.assertIs(f["created"], True, ctx)
            self.assertIs(f["dir_shared"], True, ctx)
            self.assertIs(f["symlink_followed"], False, ctx)
            self.assertEqual(f["file_uid"], 0, ctx)
            self.assertEqual(f["proc"]["pid"], pid, ctx)
            self.assertEqual(f["proc"]["comm"], comm[:15], ctx)
            self.assertEqual(f["action"], "alert", ctx)
        return fs


# ------------------------------------------------------------------------------------------
# io_uring


class IoUring(live.SysctlMixin, Entry):
    def uring(self, op, path, *extra, opts=()):
        return self.run_fixture("uring_open", op, path, *extra, opts=opts)

    def check_uring(self, op, syscall="openat"):
        p = self.name("/tmp", "uring-" + op)
        res = self.uring(op, p)
        fs = self.check_create(res, p, ["nonexclusive-create"], syscall, "io_uring",
                               "uring_open")
        f = fs["nonexclusive-create"]
        self.assertEqual(f["severity"], "high")
        self.assertNotIn("O_EXCL", f["flags"])
        self.assertEqual(f["file_mode"], "0600")
        self.assertEqual(f["dfd"], -100)
        self.assertEqual(res.summary["events"]["io_uring_unseen"], 0)
        return res, f

    def test_openat_is_nonexclusive_create(self):
        res, f = self.check_uring("openat")
        # The submitting thread, not the io-wq worker (iou-wrk-N) that ran the open.
        self.assertEqual(f["proc"]["tid"], f["proc"]["pid"])
        self.assertEqual(f["language"], "c")

    def test_openat2_is_nonexclusive_create(self):
        self.check_uring("openat2", "openat2")

    def test_direct_descriptor_is_nonexclusive_create(self):
        # IORING_FILE_INDEX_ALLOC: the file goes to the ring's table, no fd is installed.
        self.check_uring("fixed")

    def test_sqpoll_submission_names_the_process(self):
        # The ring's kernel thread submits: pid and comm are still the program's.
        self.check_uring("sqpoll")

    def test_loose_mode(self):
        p = self.name("/tmp", "uring-loose")
        res = self.uring("openat", p, "0644")
        fs = self.check_create(res, p, ["nonexclusive-create", "loose-mode"], "openat",
                               "io_uring", "uring_open", mode="0644")
        self.assertEqual(fs["loose-mode"]["file_mode"], "0644")
        self.assertEqual(fs["loose-mode"]["severity"], "medium")

    def test_excl_is_clean(self):
        p = self.name("/tmp", "uring-excl")
        res = self.uring("excl", p)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        self.assertClean(res, "an io_uring O_CREAT|O_EXCL 0600 create")
        self.assertEqual(res.summary["events"]["creates_seen"], 1, res.describe())

    def test_private_dir_is_clean(self):
        d = self.private_dir("/var/lib")
        p = os.path.join(d, "file")
        res = self.uring("openat", p)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        self.assertClean(res, "an io_uring create in a root-owned 0755 directory")

    def test_cqe_skip_success_is_counted_not_silent(self):
        # A successful request with IOSQE_CQE_SKIP_SUCCESS posts no completion: its outcome
        # cannot be followed, so it is counted and the summary says so.
        p = self.name("/tmp", "uring-skip")
        res = self.uring("skip", p)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        self.assertClean(res, "a create whose completion was skipped")
        self.assertEqual(res.summary["events"]["io_uring_unseen"], 1, res.describe())
        self.assertIn(b"1 io_uring creates could not be followed", res.err)

    def test_planted_symlink_is_symlink_follow(self):
        self.relax_protections()
        target = self.name("/root", "uring-target")
        link = self.name("/tmp", "uring-link")
        with open(target, "w") as fh:
            fh.write("original\n")
        os.chmod(target, 0o644)
        subprocess.run(["/bin/ln", "-s", target, link], check=True, **AS_NOBODY)
        res = self.uring("openat", link)
        self.assertOk(res)
        with open(target) as fh:
            self.assertEqual(fh.read(), "", "the attack did not happen (O_TRUNC)")
        f = self.assertFindings(res, link, ["symlink-follow"])["symlink-follow"]
        self.assertEqual(f["entry"], "io_uring")
        self.assertEqual(f["severity"], "critical")
        self.assertIs(f["symlink_followed"], True)
        self.assertIs(f["created"], False)
        self.assertEqual(f["resolved_name"], os.path.basename(target))

    def test_text_output_says_io_uring(self):
        p = self.name("/tmp", "uring-text")
        res = self.tg(["run", "--format", "text", "--", fixture("uring_open"), "openat", p],
                      fmt="text")
        self.assertOk(res)
        self.assertIn(b"openat(O_WRONLY|O_CREAT|O_TRUNC", res.out + res.err)
        self.assertIn(b"via io_uring", res.out + res.err, res.describe())

    def test_session_lists_the_io_uring_hooks(self):
        res = self.run_cmd(["/bin/true"])
        hooks = res.records[0]["hooks"]
        self.assertIn("tp_btf/io_uring_complete", hooks)
        # io_uring_submit_sqe until 6.4, io_uring_submit_req since: exactly one of them.
        self.assertEqual(len({"tp_btf/io_uring_submit_req", "tp_btf/io_uring_submit_sqe"}
                             & set(hooks)), 1, hooks)

    def test_doctor_says_io_uring_is_audited(self):
        checks = self.doctor()
        tp = checks["io_uring tp_btf"]
        self.assertEqual(tp["status"], "ok", tp)
        self.assertIn("io_uring_complete: load", tp["value"])
        iou = checks["io_uring"]
        self.assertEqual(iou["status"], "ok", iou)
        self.assertNotIn("bypass", iou["verdict"])

    def test_audit_sees_io_uring_machine_wide(self):
        # Not under `run`: the submission filter must let every process through.
        p = self.name("/tmp", "uring-audit")
        tg, err = self.start_audit(["--format", "json", "--duration", "60"])
        fx = subprocess.run([fixture("uring_open"), "openat", p], env=ENV,
                            capture_output=True, timeout=30)
        self.assertEqual(fx.returncode, 0, fx.stderr)
        tg.send_signal(2)
        out, rest = tg.communicate(timeout=120)
        res = live.Result(tg.returncode, out, err + rest, time.time() - 120, time.time() + 5)
        self.assertOk(res)
        self.parse_json(res, out)
        pid = int(live.REPORT_RE.search(fx.stderr).group(1))
        fs = self.assertFindings(res, p, ["nonexclusive-create"], only=False)
        self.assertEqual(fs["nonexclusive-create"]["entry"], "io_uring")
        self.assertEqual(fs["nonexclusive-create"]["proc"]["pid"], pid)


# ------------------------------------------------------------------------------------------
# 32-bit syscalls


class Ia32(Entry):
    def setUp(self):
        super().setUp()
        why = live.ia32_emulation_off()
        if why:
            self.skipTest(why + ": no 32-bit syscall can happen (Ia32Off tests that)")
        if not os.access(fixture("open32"), os.X_OK):
            why = ("%s is missing: the compiler cannot build 32-bit programs (install "
                   "gcc-multilib and libc6-dev-i386, then rebuild)" % fixture("open32"))
            self.require(False, why)

    def open32(self, op, path, *extra):
        return self.run_fixture("open32", op, path, *extra)

    def check_open32(self, op, syscall):
        p = self.name("/tmp", "ia32-" + op)
        res = self.open32(op, p)
        f = self.check_create(res, p, ["nonexclusive-create"], syscall, "ia32",
                              "open32")["nonexclusive-create"]
        self.assertEqual(f["severity"], "high")
        self.assertEqual(f["proc"]["tid"], f["proc"]["pid"])
        self.assertEqual(f["file_mode"], "0600")
        return f

    def test_open(self):
        f = self.check_open32("open", "open")
        self.assertEqual(f["flags"], OPEN_FLAGS)

    def test_creat(self):
        self.check_open32("creat", "creat")

    def test_openat(self):
        f = self.check_open32("openat", "openat")
        self.assertEqual(f["dfd"], -100)  # AT_FDCWD, sign-extended from 32 bits

    def test_openat2(self):
        self.check_open32("openat2", "openat2")

    def test_excl_is_clean(self):
        p = self.name("/tmp", "ia32-excl")
        res = self.open32("excl", p)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        self.assertClean(res, "a 32-bit O_CREAT|O_EXCL 0600 create")
        self.assertEqual(res.summary["events"]["creates_seen"], 1, res.describe())

    def test_mkdir_0755_is_loose_tempdir(self):
        p = self.name("/tmp", "ia32-dir")
        res = self.open32("mkdir", p, "0755")
        self.assertOk(res)
        self.assertTrue(os.path.isdir(p))
        f = self.assertFindings(res, p, ["loose-tempdir"])["loose-tempdir"]
        self.assertEqual(f["entry"], "ia32")
        self.assertEqual(f["syscall"], "mkdir")
        self.assertEqual(f["effective_mode"], "0755")
        self.assertEqual(f["proc"]["comm"], "open32")

    def test_mkdir_0700_is_clean(self):
        p = self.name("/tmp", "ia32-dir700")
        res = self.open32("mkdir", p, "0700")
        self.assertOk(res)
        self.assertTrue(os.path.isdir(p))
        self.assertClean(res, "a 32-bit mkdir 0700")

    def test_socket_bound_by_a_32bit_program_is_loose_mode(self):
        # bind(2) from a 32-bit program: the ia32 bind syscall, and socketcall(SYS_BIND),
        # which i386 glibc's bind() makes; under umask 0 others can connect.
        for op in ("bind", "socketcall"):
            p = self.name("/tmp", "ia32-" + op)
            res = self.open32(op, p, "0")
            self.assertOk(res)
            pid, _ = res.report()
            f = self.assertFindings(res, p, ["loose-mode"])["loose-mode"]
            self.assertEqual((f["syscall"], f["entry"], f["file_type"], f["effective_mode"]),
                             (op, "ia32", "socket", "0777"), f)
            self.assertProc(f, pid, "open32")
        # under umask 022 others cannot connect: clean
        p = self.name("/tmp", "ia32-socketcall-022")
        res = self.open32("socketcall", p, "022")
        self.assertOk(res)
        self.assertClean(res, "a 32-bit bind under umask 022")

    def test_stat64_then_open_is_check_then_create(self):
        p = self.name("/tmp", "ia32-probe")
        res = self.open32("probe", p)
        f = self.check_create(res, p, ["check-then-create"], "open", "ia32",
                              "open32")["check-then-create"]
        self.assertIsNotNone(f["probe"], json.dumps(f))
        self.assertEqual(f["probe"]["syscall"], "stat")  # stat64, ia32 syscall 195
        self.assertEqual(f["probe"]["pid"], f["proc"]["pid"])

    def test_io_uring_from_a_32bit_program(self):
        # Through io_uring, a 32-bit program's create is an io_uring one (io_uring_enter is
        # its only 32-bit syscall), named after the program.
        p = self.name("/tmp", "ia32-uring")
        res = self.run_fixture("uring_open32", "openat", p)
        self.check_create(res, p, ["nonexclusive-create"], "openat", "io_uring", "uring_open32")

    def test_int80_from_a_64bit_program(self):
        p = self.name("/tmp", "ia32-int80")
        res = self.run_fixture("int80_open", p)
        f = self.check_create(res, p, ["nonexclusive-create"], "open", "ia32",
                              "int80_open")["nonexclusive-create"]
        self.assertEqual(f["flags"], OPEN_FLAGS)

    def test_doctor_says_32bit_syscalls_are_audited(self):
        c = self.doctor()["ia32 syscalls"]
        self.assertEqual((c["status"], c["value"]), ("ok", "tp_btf/sys_exit: loads"), c)

    def test_native_open_is_one_syscall_finding(self):
        # The sys_exit program must leave native syscalls to the per-syscall tracepoints:
        # one finding, entry syscall, not a second one from the ia32 path.
        p = self.name("/tmp", "native")
        res = self.run_fixture("open_trunc", p)
        self.check_create(res, p, ["nonexclusive-create"], "openat", "syscall", "open_trunc")


class Ia32Off(Entry):
    """32-bit emulation off (vm/6.12/ia32-off boots with ia32_emulation=0; some hosts come
    that way): no 32-bit syscall can be made, so tmpguard leaves its sys_exit hook, a cost on
    every syscall, out, and says so."""

    def setUp(self):
        super().setUp()
        if not live.ia32_emulation_off():
            self.skipTest("32-bit emulation is on here (vm/6.12/ia32-off boots with "
                          "ia32_emulation=0 to run these)")

    def test_the_sys_exit_hook_is_left_out(self):
        res = self.run_cmd(["/bin/true"])
        self.assertOk(res)
        self.assertNotIn("tp_btf/sys_exit", res.records[0]["hooks"])
        self.assertEqual(res.records[0]["ia32_syscalls"], "off", res.records[0])
        self.assertIn("int $0x80 faults", res.records[0]["ia32_why"])
        self.assertIn("fexit/do_sys_openat2" if res.records[0]["hooks_kind"] == "fentry"
                      else "tracepoint/syscalls/sys_exit_openat", res.records[0]["hooks"])
        c = self.doctor()["ia32 syscalls"]
        self.assertEqual((c["status"], c["value"]), ("ok", "off"), c)

    def test_the_startup_line_says_so(self):
        tg, err = self.start_audit([])
        tg.send_signal(signal.SIGINT)
        tg.communicate(timeout=60)
        self.assertIn(b"no 32-bit syscalls on this host (32-bit emulation is off)", err)

    def test_no_32bit_create_gets_through(self):
        # What leaving the hook out could miss: int 0x80 fails, and so does a -m32 program.
        p = self.name("/tmp", "ia32-off")
        res = self.run_fixture("int80_open", p)
        self.assertNotEqual(res.rc, 0, res.describe())
        self.assertFalse(os.path.lexists(p), "a 32-bit syscall ran with ia32_emulation=0")
        self.assertClean(res, "a refused int 0x80")
        if os.access(fixture("open32"), os.X_OK):
            res = self.run_fixture("open32", "open", p)
            self.assertNotEqual(res.rc, 0, res.describe())
            self.assertFalse(os.path.lexists(p), "a 32-bit program ran with ia32_emulation=0")


def main():
    rc = live.preflight("test_hardening")
    if rc is not None:
        return rc
    missing = [n for n in ("uring_open", "int80_open", "ia32_probe") if not os.access(fixture(n), os.X_OK)]
    if missing:
        print("test_hardening: fixtures missing in TG_FIXTURES=%s: %s (build tests/fixtures)"
              % (live.FIXTURES, ", ".join(missing)), file=sys.stderr)
        return 1
    return live.run_tests(__name__, "test_hardening")


# ------------------------------------------------------------------------------------------
# Path races


class PathRace(live.TgTestCase):
    """A thread rewrites the path while another creates through it (CVE-2021-33505's class):
    the kernel opens whichever string it copied, a second read of the buffer may see another.
    The verdict must rest on the file the kernel opened, a rewritten path must be flagged, and
    a mismatch between the path and the opened file must never pass for a symlink-follow
    unless a symlink is there, nor go unflagged."""

    CREATES = "1500"

    def dirs(self, *modes):
        """Directories under /tmp with paths of the same length, with these modes."""
        out = []
        for m in modes:
            d = self.track(tempfile.mkdtemp(prefix="tg-race-%s-" % self.tok, dir="/tmp"))
            os.chmod(d, m)
            out.append(d)
        return out

    def race(self, a, b):
        res = self.run_fixture("path_race", self.CREATES, a, b,
                               opts=["--policy", POLICY_CI])
        self.assertOk(res)
        m = re.search(rb"tg-race: creates=(\d+) failed=(\d+)", res.err)
        self.assertIsNotNone(m, res.describe())
        self.assertGreater(int(m.group(1)), 0, res.describe())
        self.assertEqual(res.summary["events"]["lost"], 0, res.describe())
        for f in res.findings:
            ctx = json.dumps(f)
            self.assertNotEqual(f["rule"], "symlink-follow", "no symlink exists: " + ctx)
            self.assertIs(f["symlink_followed"], False, ctx)
            self.assertEqual(f["entry"], "syscall", ctx)
            # Never a silently wrong path: a path that does not name the opened file says so.
            if os.path.basename(f["path"]) != f["resolved_name"]:
                self.assertTrue(f["path_changed"] or f["path_mismatch"], ctx)
        return res

    def test_same_directory(self):
        shared, = self.dirs(0o1777)
        a, b = os.path.join(shared, "race-aaaaaaaa"), os.path.join(shared, "race-bbbbbbbb")
        # A race: the rewrite may miss every call of one run (one CPU busy elsewhere); every
        # run is checked, and one of three must see it.
        for attempt in range(3):
            res = self.race(a, b)
            self.assertTrue(res.findings, res.describe())
            for f in res.findings:
                ctx = json.dumps(f)
                # Whatever string the kernel used, it created a file in the shared directory.
                self.assertEqual(f["rule"], "nonexclusive-create", ctx)
                self.assertEqual(os.path.dirname(f["path"]), shared, ctx)
                self.assertIs(f["created"], True, ctx)
            changed = [f for f in res.findings if f["path_changed"]]
            if changed:
                break
        self.assertTrue(changed, "the rewrite was never seen in %d findings\n%s" % (
            len(res.findings), res.describe()))
        sys.stderr.write("PathRace.test_same_directory: %d findings, %d path_changed, %d "
                         "path_mismatch\n" % (len(res.findings), len(changed),
                                              sum(f["path_mismatch"] for f in res.findings)))

    def test_shared_and_private_directory(self):
        # The buffer names a file in a shared directory or one in a private one: only the
        # creates the kernel made in the shared one are findings, whatever the path says.
        shared, private = self.dirs(0o1777, 0o700)
        a, b = os.path.join(shared, "race-f"), os.path.join(private, "race-f")
        res = self.race(a, b)
        self.assertTrue(res.findings, res.describe())
        for f in res.findings:
            ctx = json.dumps(f)
            self.assertEqual(f["rule"], "nonexclusive-create", ctx)
            if not f["path"].startswith(shared + "/"):
                # The kernel created in the shared directory (a finding), the path read
                # names the private one: flagged.
                self.assertTrue(f["path_changed"] or f["path_mismatch"], ctx)


if __name__ == "__main__":
    sys.exit(main())
