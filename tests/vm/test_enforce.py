#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Enforcement under a real BPF LSM: run inside a VM whose kernel has "bpf" in its LSM list
(tests/vm/run-in-vm.sh). Every insecure create is refused before anything is written, every
secure pattern keeps working, the planted-symlink attack leaves its target untouched, and
processes outside the `run` scope are not touched. The same for creates through io_uring
(EnforceIoUring) and 32-bit syscalls (EnforceIa32).

Uses the live suites' harness (tests/lib/tmpguard_test.py): same environment variables
(TMPGUARD, TG_FIXTURES), same JSON checks. Exits 77 when BPF LSM is not available here."""

import os
import subprocess
import sys
import time
import unittest

import tmpguard_test as live
from tmpguard_test import BASH, ENV, NOBODY, PYTHON, UMASK, fixture

DENY_ALL = """version: 1
rules:
  nonexclusive-create: { action: deny }
  check-then-create:   { action: deny }
  loose-mode:          { action: deny }
  foreign-file-reuse:  { action: deny }
  symlink-follow:      { action: deny }
  loose-tempdir:       { action: deny }
"""


class EnforceCase(live.SysctlMixin, live.PolicyFiles):
    def setUp(self):
        super().setUp()
        self.relax_protections()  # the attacks must really work without tmpguard

    def enforce(self, cmd, policy=DENY_ALL, mode="--enforce", opts=()):
        return self.run_cmd(cmd, opts=[mode, "--policy", self.policy(policy)] + list(opts))

    def assertDenied(self, res, path, rule):
        ds = [f for f in res.findings if f["action"] == "denied"]
        self.assertEqual([f["rule"] for f in ds], [rule], res.describe())
        self.assertEqual(ds[0]["path"], path)
        self.assertEqual(res.summary["events"]["denied"], 1)
        return ds[0]

    def assertNothingDenied(self, res):
        self.assertOk(res)
        self.assertEqual([f for f in res.findings if f["action"] != "alert"], [],
                         res.describe())
        self.assertEqual(res.summary["events"]["denied"], 0)


class Enforce(EnforceCase):
    # -- refused, and nothing left behind

    def test_nonexclusive_create_is_refused_and_leaves_no_file(self):
        p = self.name("/tmp", "deny")
        res = self.enforce([fixture("open_trunc"), p])
        self.assertEqual(res.rc, 1, res.describe())
        self.assertIn(b"Permission denied", res.err)
        self.assertFalse(os.path.lexists(p), "a refused create left a file")
        self.assertDenied(res, p, "nonexclusive-create")

    def test_shell_redirect_is_refused(self):
        p = self.name("/tmp", "deny-sh")
        res = self.enforce([BASH, "-c", 'echo x > "$0"', p])
        self.assertNotEqual(res.rc, 0, res.describe())
        self.assertFalse(os.path.lexists(p))
        self.assertDenied(res, p, "nonexclusive-create")

    def test_check_then_create_is_refused_as_such(self):
        res = self.enforce([fixture("mktemp_open"), "/tmp/tg-mk-%s-XXXXXX" % self.tok])
        self.assertEqual(res.rc, 1, res.describe())
        ds = [f for f in res.findings if f["action"] == "denied"]
        self.assertEqual([f["rule"] for f in ds], ["check-then-create"], res.describe())
        self.assertFalse(os.path.lexists(ds[0]["path"]))

    def test_another_users_probe_is_not_a_check_then_create(self):
        # The policy refuses check-then-create and only alerts on nonexclusive-create. Another
        # user (nobody) stat()s the victim's future name first: that probe proves nothing
        # about the victim, whose create must not be refused as a check-then-create.
        pol = DENY_ALL.replace("nonexclusive-create: { action: deny }",
                               "nonexclusive-create: { action: alert }")
        p = self.name("/tmp", "probed-by-other")
        probe = subprocess.run([PYTHON, "-c", "import os, sys; os.path.exists(sys.argv[1])", p],
                               user=NOBODY, group=NOBODY, extra_groups=[], env=ENV, cwd="/",
                               stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual(probe.returncode, 0)
        res = self.enforce([fixture("open_syscall"), p], policy=pol)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p), "the victim's create was refused")
        self.assertEqual(res.summary["events"]["denied"], 0, res.describe())
        f = [f for f in res.findings if f["path"] == p and f["rule"] != "loose-mode"]
        self.assertEqual([(g["rule"], g["action"]) for g in f],
                         [("nonexclusive-create", "alert")], res.describe())
        # The same probe by the creator's own process tree is the check half: refused.
        q = self.name("/tmp", "probed-by-self")
        res = self.enforce([BASH, "-c", 'test -e "$0" || exec "$1" "$0"', q,
                            fixture("open_syscall")], policy=pol)
        self.assertFalse(os.path.lexists(q))
        self.assertDenied(res, q, "check-then-create")

    def test_worker_after_the_leader_exits_is_refused(self):
        # run --enforce is scoped to COMMAND's tree: a leader that leaves with SYS_exit does
        # not take its worker out of scope.
        p = self.name("/tmp", "leader-exit")
        res = self.enforce([fixture("leader_exit"), p])
        self.assertEqual(res.rc, 1, res.describe())
        self.assertFalse(os.path.lexists(p), "the worker's create got through")
        self.assertDenied(res, p, "nonexclusive-create")

    def test_loose_mode_is_refused(self):
        p = self.name("/tmp", "deny-loose")
        res = self.enforce([fixture("excl_0644"), p])
        self.assertEqual(res.rc, 1, res.describe())
        self.assertFalse(os.path.lexists(p))
        self.assertDenied(res, p, "loose-mode")

    def test_loose_tempdir_is_refused_and_0700_is_not(self):
        p = self.name("/tmp", "deny-dir")
        res = self.enforce([fixture("mkdir_mode"), p, "0755"])
        self.assertEqual(res.rc, 1, res.describe())
        self.assertFalse(os.path.lexists(p))
        self.assertDenied(res, p, "loose-tempdir")
        res = self.enforce([fixture("mkdir_mode"), p, "0700"])
        self.assertNothingDenied(res)
        self.assertTrue(os.path.isdir(p))

    def test_kill_action_kills_and_refuses(self):
        p = self.name("/tmp", "kill")
        res = self.enforce([BASH, "-c", 'echo x > "$0"; echo survived >&2', p],
                           policy="version: 1\nrules:\n  nonexclusive-create: { action: kill }\n")
        self.assertEqual(res.rc, 128 + 9, res.describe())
        self.assertNotIn(b"survived", res.err)
        self.assertFalse(os.path.lexists(p))
        ks = [f for f in res.findings if f["action"] == "killed"]
        self.assertEqual([f["rule"] for f in ks], ["nonexclusive-create"])

    # -- real attacks by nobody

    def test_planted_symlink_is_refused_and_target_untouched(self):
        target = self.track("/root/tg-target-%s" % self.tok)
        with open(target, "w") as f:
            f.write("original\n")
        link = self.name("/tmp", "link")
        subprocess.run(["/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                        "--clear-groups", "ln", "-s", target, link], check=True, env=ENV)
        res = self.enforce([BASH, "-c", 'echo pwned > "$0"', link])
        self.assertNotEqual(res.rc, 0, res.describe())
        with open(target) as f:
            self.assertEqual(f.read(), "original\n", "the attack reached the target")
        d = self.assertDenied(res, link, "symlink-follow")
        self.assertEqual(d["severity"], "critical")

    def test_dangling_symlink_is_refused_and_creates_nothing(self):
        target = self.track("/root/tg-new-%s" % self.tok)
        link = self.name("/tmp", "dangling")
        subprocess.run(["/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                        "--clear-groups", "ln", "-s", target, link], check=True, env=ENV)
        res = self.enforce([BASH, "-c", 'echo pwned > "$0"', link])
        self.assertNotEqual(res.rc, 0, res.describe())
        self.assertFalse(os.path.lexists(target), "the attack created the target")
        self.assertDenied(res, link, "symlink-follow")

    def test_own_symlink_is_not_refused_as_symlink_follow(self):
        # The kernel's protected_symlinks line: a link the follower owns (or the directory's
        # owner does) is no attack. Following root's own dangling link in /tmp still creates a
        # name in a shared directory: a nonexclusive-create, which this policy only reports.
        pol = ("version: 1\nrules:\n  symlink-follow: { action: deny }\n"
               "  loose-mode: { enabled: false }\n")
        target = self.track("/root/tg-own-%s" % self.tok)
        link = self.name("/tmp", "ownlink")
        os.symlink(target, link)
        res = self.enforce([BASH, "-c", 'echo mine > "$0"', link], policy=pol)
        self.assertOk(res)
        with open(target) as f:
            self.assertEqual(f.read(), "mine\n")
        self.assertNothingDenied(res)
        self.assertEqual(res.rules(link), ["nonexclusive-create"], res.describe())
        # nobody's link at the same place is refused
        os.unlink(target)
        os.unlink(link)
        subprocess.run(["/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                        "--clear-groups", "ln", "-s", target, link], check=True, env=ENV)
        res = self.enforce([BASH, "-c", 'echo mine > "$0"', link], policy=pol)
        self.assertNotEqual(res.rc, 0, res.describe())
        self.assertFalse(os.path.lexists(target))
        self.assertDenied(res, link, "symlink-follow")

    def test_foreign_file_is_refused_and_untouched(self):
        p = self.name("/tmp", "foreign")
        subprocess.run(["/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                        "--clear-groups", BASH, "-c", 'umask 0; echo planted > "$0"', p],
                       check=True, env=ENV)
        res = self.enforce([BASH, "-c", 'echo mine > "$0"', p])
        self.assertNotEqual(res.rc, 0, res.describe())
        with open(p) as f:
            self.assertEqual(f.read(), "planted\n")
        self.assertDenied(res, p, "foreign-file-reuse")

    # -- secure patterns keep working

    def test_secure_patterns_work_under_enforcement(self):
        d = self.private_dir()
        src = os.path.join(d, "hello.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        script = (
            'set -e; f=$(mktemp); echo x > "$f"; sed -i s/x/y/ "$f"; '
            'sort -S 64K -T /tmp "$f" > /dev/null; rm -f "$f"; '
            'cat > /dev/null <<EOF\n$(seq 1 40000)\nEOF\n'
            'dd=$(mktemp -d); echo x > "$dd/inside"; rm -rf "$dd"; '
            '%s -o %s/hello %s; '
            '%s/mkstemp /tmp/tg-ms-XXXXXX; %s/tmpfile; %s/mkdtemp_inside /tmp/tg-md-XXXXXX; '
            '%s/open_excl /tmp/tg-excl-$$' % (
                live.GCC, d, src, live.FIXTURES, live.FIXTURES, live.FIXTURES,
                live.FIXTURES))
        res = self.enforce([BASH, "-c", script])
        self.assertNothingDenied(res)
        res = self.enforce([PYTHON, "-c",
                            "import os, tempfile\n"
                            "fd, p = tempfile.mkstemp(); os.close(fd); os.unlink(p)\n"
                            "with tempfile.NamedTemporaryFile() as f: f.write(b'x')\n"
                            "with tempfile.TemporaryFile() as f: f.write(b'x')\n"
                            "d = tempfile.mkdtemp(); open(d + '/x', 'w').write('y')\n"
                            "os.unlink(d + '/x'); os.rmdir(d)\n"])
        self.assertNothingDenied(res)

    # -- scope, exceptions, dry run

    def test_process_outside_the_run_scope_is_not_touched(self):
        # The outsider writes only once COMMAND runs (the go file), so enforcement is on.
        p = self.name("/tmp", "outside")
        go = self.name("/var/lib", "outside-go")
        bg = subprocess.Popen([BASH, "-c", 'while [ ! -e "$1" ]; do sleep 0.05; done; '
                               'echo x > "$0"', p, go], env=ENV, umask=UMASK)
        self.addCleanup(lambda: bg.poll() is None and bg.kill())
        res = self.enforce([BASH, "-c", ': > "$0"; sleep 3', go])
        self.assertEqual(bg.wait(timeout=30), 0)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p), "enforcement reached a process outside run's tree")
        self.assertEqual(res.summary["events"]["denied"], 0)

    def test_dry_run_reports_would_deny_and_refuses_nothing(self):
        p = self.name("/tmp", "dry")
        res = self.enforce([fixture("open_trunc"), p], mode="--dry-run")
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        fs = self.assertFindings(res, p, ["nonexclusive-create"])
        self.assertEqual(fs["nonexclusive-create"]["action"], "would-deny")
        self.assertEqual(res.summary["events"]["would_deny"], 1)
        self.assertEqual(res.summary["events"]["denied"], 0)

    def test_audit_enforce_is_machine_wide_and_honours_exceptions(self):
        denied = self.name("/tmp", "aud-deny")
        allowed = self.name("/tmp", "aud-allow")
        pol = self.policy(DENY_ALL + "exceptions:\n"
                          "  - rule: nonexclusive-create\n"
                          "    exe: %s\n"
                          "    reason: \"test: the known-good tool\"\n" % fixture("open_syscall"))
        tg, err = self.start_audit(["--enforce", "--format", "json", "--duration", "60",
                                    "--policy", pol])
        a = subprocess.run([fixture("open_trunc"), denied], env=ENV, capture_output=True)
        b = subprocess.run([fixture("open_syscall"), allowed], env=ENV, capture_output=True)
        tg.send_signal(2)
        out, rest = tg.communicate(timeout=120)
        self.assertEqual(a.returncode, 1, a.stderr)
        self.assertFalse(os.path.lexists(denied))
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertTrue(os.path.exists(allowed), "an excepted exe was denied")
        res = live.Result(tg.returncode, out, err + rest, 0, time.time() + 5)
        res.t0 = 0
        self.parse_json(res, out)
        self.assertEqual([f["rule"] for f in res.with_path(denied) if f["action"] == "denied"],
                         ["nonexclusive-create"])


class EnforceIoUring(EnforceCase):
    """io_uring opens run in an io-wq worker: the LSM finds the request the worker is running
    and its submission record, and refuses as for open(2)."""

    def uring(self, op, path, *extra, **kw):
        return self.enforce([fixture("uring_open"), op, path] + list(extra), **kw)

    def assertUringDenied(self, res, path, rule, syscall="openat", created=True):
        self.assertEqual(res.rc, 1, res.describe())
        self.assertIn(b"Permission denied", res.err)
        if created:
            self.assertFalse(os.path.lexists(path), "a refused io_uring create left a file")
        d = self.assertDenied(res, path, rule)
        self.assertEqual(d["entry"], "io_uring", res.describe())
        self.assertEqual(d["syscall"], syscall)
        self.assertEqual(d["proc"]["comm"], "uring_open")
        return d

    def test_nonexclusive_create_is_refused_every_way(self):
        for op, syscall in (("openat", "openat"), ("openat2", "openat2"), ("fixed", "openat"),
                            ("sqpoll", "openat"), ("skip", "openat")):
            with self.subTest(op=op):
                p = self.name("/tmp", "uring-deny-" + op)
                d = self.assertUringDenied(self.uring(op, p), p, "nonexclusive-create",
                                           syscall)
                self.assertIn("O_CREAT", d["flags"])
                self.assertNotIn("O_EXCL", d["flags"])

    def test_loose_mode_is_refused(self):
        p = self.name("/tmp", "uring-deny-loose")
        self.assertUringDenied(self.uring("excl", p, "0644"), p, "loose-mode")

    def test_exclusive_0600_is_allowed(self):
        p = self.name("/tmp", "uring-excl")
        res = self.uring("excl", p)
        self.assertNothingDenied(res)
        self.assertTrue(os.path.exists(p))

    def test_planted_symlink_is_refused_and_target_untouched(self):
        target = self.track("/root/tg-uring-target-%s" % self.tok)
        with open(target, "w") as f:
            f.write("original\n")
        link = self.name("/tmp", "uring-link")
        subprocess.run(["/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                        "--clear-groups", "ln", "-s", target, link], check=True, env=ENV)
        res = self.uring("openat", link)
        with open(target) as f:
            self.assertEqual(f.read(), "original\n", "the attack reached the target")
        d = self.assertUringDenied(res, link, "symlink-follow", created=False)
        self.assertEqual(d["severity"], "critical")

    def test_dry_run_reports_would_deny_and_refuses_nothing(self):
        p = self.name("/tmp", "uring-dry")
        res = self.uring("openat", p, mode="--dry-run")
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        fs = self.assertFindings(res, p, ["nonexclusive-create"])
        self.assertEqual(fs["nonexclusive-create"]["action"], "would-deny")
        self.assertEqual(fs["nonexclusive-create"]["entry"], "io_uring")
        self.assertEqual(res.summary["events"]["would_deny"], 1)


class EnforceIa32(EnforceCase):
    """32-bit syscalls: the LSM reads their arguments from the saved registers."""

    def setUp(self):
        super().setUp()
        why = live.ia32_emulation_off()
        if why:
            self.skipTest(why)
        self.require(os.access(fixture("open32"), os.X_OK),
                     "no 32-bit fixture (gcc-multilib, libc6-dev-i386)")

    def test_open_is_refused(self):
        p = self.name("/tmp", "ia32-deny")
        res = self.enforce([fixture("open32"), "open", p])
        self.assertEqual(res.rc, 1, res.describe())
        self.assertFalse(os.path.lexists(p))
        d = self.assertDenied(res, p, "nonexclusive-create")
        self.assertEqual((d["entry"], d["syscall"]), ("ia32", "open"))

    def test_mkdir_0755_is_refused(self):
        p = self.name("/tmp", "ia32-deny-dir")
        res = self.enforce([fixture("open32"), "mkdir", p, "0755"])
        self.assertEqual(res.rc, 1, res.describe())
        self.assertFalse(os.path.lexists(p))
        d = self.assertDenied(res, p, "loose-tempdir")
        self.assertEqual((d["entry"], d["syscall"]), ("ia32", "mkdir"))

    def test_io_uring_from_a_32bit_program_is_refused(self):
        # Its io-wq worker inherits TS_COMPAT: it must still be seen as an io_uring worker.
        p = self.name("/tmp", "ia32-uring")
        res = self.enforce([fixture("uring_open32"), "openat", p])
        self.assertEqual(res.rc, 1, res.describe())
        self.assertFalse(os.path.lexists(p))
        d = self.assertDenied(res, p, "nonexclusive-create")
        self.assertEqual((d["entry"], d["proc"]["comm"]), ("io_uring", "uring_open32"))

    def test_exclusive_0600_is_allowed(self):
        p = self.name("/tmp", "ia32-excl")
        res = self.enforce([fixture("open32"), "excl", p])
        self.assertNothingDenied(res)
        self.assertTrue(os.path.exists(p))


def main():
    if os.geteuid() != 0 or not live.TMPGUARD:
        print("test_enforce: skipped: needs root and TMPGUARD", file=sys.stderr)
        return 77
    probe = subprocess.run([live.TMPGUARD, "run", "--enforce", "--", "/bin/true"], env=ENV,
                           capture_output=True, timeout=600)
    err = probe.stderr.decode()
    if probe.returncode != 0:
        # Only the loader's own word that this kernel has no BPF LSM is a reason to skip; any
        # other failure (a program the verifier refuses) is a failure.
        if "refuses BPF LSM programs" in err or "is not in the active LSM list" in err:
            return live.skip_all("test_enforce", "no BPF LSM here: %s" % err[-300:])
        print("test_enforce: tmpguard run --enforce failed (exit %d):\n%s"
              % (probe.returncode, err[-3000:]), file=sys.stderr)
        return 1
    return live.run_tests(__name__, "test_enforce")


if __name__ == "__main__":
    sys.exit(main())
