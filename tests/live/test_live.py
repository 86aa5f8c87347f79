#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests: the real tmpguard against real programs in C, Python and shell.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_live.py [Class[.test] ...]

Needs root (BPF, and real attacks by the user nobody). Exits 77 (skipped) when not root or when
TMPGUARD is missing, 1 when the fixtures are missing (a broken build), else 0/1 per unittest.

Every scenario runs under `tmpguard run --format json -- ...`; every stdout line must be JSON,
every finding is checked against the schema, then asserted field by field: present for the
insecure scenarios, and for the clean ones no finding at all (tmpguard run reports only
COMMAND's process tree, so any finding there is a false positive).

The fixtures say what they did on stderr, "tg-fixture: pid=<pid> path=<path>", because stdout
is shared with tmpguard's JSON. Names are unique per test (pid + random token) and everything
a test creates is removed in its cleanup.

The harness (TgTestCase and its schema checks, Result, the environment, preflight) is
tests/lib/tmpguard_test.py, which the other live and VM suites import too.
"""

import functools
import json
import os
import queue
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

from tmpguard_test import (BASH, ENV, GCC, NOBODY, PYTHON, SH, TMPGUARD, UMASK,
                           VERIFIED_INSNS_BUDGET, PolicyFiles, Result, SysctlMixin, TgTestCase,
                           cmdline_text, fixture, main)


# ------------------------------------------------------------------------------------------
# C fixtures


class CreateInSharedDir(TgTestCase):
    """open(O_WRONLY|O_CREAT|O_TRUNC, 0600) without O_EXCL, every way the kernel can see it."""

    def check_nonexclusive(self, directory, fixture_name="open_trunc", syscall="openat"):
        p = self.name(directory, "nx")
        res = self.run_fixture(fixture_name, p)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        pid, _ = res.report()
        f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertEqual(f["type"], "finding")
        self.assertEqual(f["severity"], "high")
        self.assertIn("CWE-377", f["cwe"])
        self.assertEqual(f["syscall"], syscall)
        self.assertEqual(f["entry"], "syscall")
        self.assertEqual(f["path"], p)
        self.assertEqual(f["resolved_name"], os.path.basename(p))
        self.assertFlags(f, ("O_WRONLY", "O_CREAT", "O_TRUNC"))
        if syscall != "creat":  # creat's flags are implied, the kernel may add O_LARGEFILE
            self.assertEqual(f["flags"], ["O_WRONLY", "O_CREAT", "O_TRUNC"])
        self.assertEqual(f["mode"], "0600")
        self.assertEqual(f["umask"], "0022")
        self.assertEqual(f["effective_mode"], "0600")
        self.assertEqual(f["file_mode"], "0600")
        self.assertIs(f["created"], True)
        self.assertEqual(f["file_uid"], 0)
        self.assertIs(f["dir_shared"], True)
        self.assertIs(f["symlink_followed"], False)
        self.assertIsNone(f["probe"])
        self.assertEqual(f["language"], "c")
        self.assertEqual(f["count"], 1)
        self.assertProc(f, pid, fixture_name, exe=fixture_name, cmd_has=fixture_name)
        return f

    def test_tmp(self):
        self.check_nonexclusive("/tmp")

    def test_dev_shm(self):
        self.check_nonexclusive("/dev/shm")

    def test_var_tmp(self):
        self.check_nonexclusive("/var/tmp")

    def test_creat(self):
        self.check_nonexclusive("/tmp", "creat", "creat")

    def test_legacy_open_syscall(self):
        self.check_nonexclusive("/tmp", "open_syscall", "open")

    def test_openat2(self):
        self.check_nonexclusive("/tmp", "openat2", "openat2")

    def test_non_shared_dir_is_clean(self):
        d = self.private_dir("/var/lib")
        p = os.path.join(d, "file")
        res = self.run_fixture("open_trunc", p)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        self.assertClean(res, "a create in a root-owned 0755 directory")

    def test_private_dir_inside_tmp_is_clean(self):
        d = self.private_dir("/tmp", 0o700)
        p = os.path.join(d, "file")
        res = self.run_fixture("open_trunc", p)
        self.assertOk(res)
        self.assertClean(res, "a create in a 0700 directory under /tmp")

    def check_relative(self, fixture_name):
        n = "tg-rel-%s" % self.tok
        self.track(os.path.join("/tmp", n))
        res = self.run_fixture(fixture_name, "/tmp", n)
        self.assertOk(res)
        pid, _ = res.report()
        f = self.assertFindings(res, n, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertEqual(f["syscall"], "openat")
        self.assertEqual(f["path"], n)  # as requested: the bare name
        self.assertEqual(f["resolved_name"], n)
        self.assertEqual(f["flags"], ["O_WRONLY", "O_CREAT", "O_TRUNC"])
        self.assertIs(f["dir_shared"], True)
        self.assertIs(f["created"], True)
        self.assertEqual(f["severity"], "high")
        self.assertProc(f, pid, fixture_name)

    def test_openat_with_dirfd(self):
        self.check_relative("openat_dirfd")

    def test_relative_name_after_chdir(self):
        self.check_relative("chdir_relative")

    def test_grandchild_after_double_fork(self):
        p = self.name("/tmp", "gc")
        res = self.run_fixture("grandchild", p)
        self.assertOk(res)
        gpid, _ = res.report()
        m = re.search(rb"tg-fixture: middle=(\d+)", res.err)
        self.assertIsNotNone(m, res.describe())
        middle = int(m.group(1))
        f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertProc(f, gpid, "grandchild")
        self.assertNotEqual(f["proc"]["ppid"], middle, "the middle process had exited")

    def test_worker_after_the_leader_exits(self):
        # The leader thread calls SYS_exit; a worker creates afterwards: still in scope.
        p = self.name("/tmp", "leader-exit")
        res = self.run_fixture("leader_exit", p)
        self.assertOk(res)
        pid, _ = res.report()
        f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertEqual(f["proc"]["pid"], pid)
        self.assertNotEqual(f["proc"]["tid"], pid, "the create was the worker's")
        self.assertEqual(res.summary["events"]["forks_untracked"], 0)

    def test_a_full_tracking_map_is_a_reported_blind_spot(self):
        # Fault injection: tg_tracked holds 2 processes; a shell with 4 children at once
        # fills it.
        p = self.name("/tmp", "untracked")
        res = self.tg(["run", "--format", "json", "--", SH, "-c",
                       'for i in 1 2 3 4; do /bin/sleep 0.5 & done; wait; echo x > "$0"', p],
                      env=dict(ENV, TMPGUARD_TEST_TRACK_MAX="2"))
        self.assertOk(res)
        self.assertGreater(res.summary["events"]["forks_untracked"], 0, res.describe())
        self.assertIn(b"forks in the audited process tree were not followed", res.err)


class ExclusiveCreate(TgTestCase):
    """O_EXCL creates: clean unless the mode is loose (or --all-rules and no O_CLOEXEC)."""

    def test_excl_0600_is_clean(self):
        p = self.name("/tmp", "excl")
        res = self.run_fixture("open_excl", p)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        self.assertClean(res, "O_CREAT|O_EXCL 0600")

    def test_mkstemp_is_clean(self):
        res = self.run_fixture("mkstemp", "/tmp/tg-mkstemp-%s-XXXXXX" % self.tok)
        self.assertOk(res)
        res.report()
        self.assertClean(res, "mkstemp")

    def test_tmpfile_is_clean(self):
        res = self.run_fixture("tmpfile")
        self.assertOk(res)
        self.assertClean(res, "tmpfile (O_TMPFILE)")

    def test_mkdtemp_then_create_inside_is_clean(self):
        res = self.run_fixture("mkdtemp_inside", "/tmp/tg-mkdtemp-%s-XXXXXX" % self.tok)
        self.assertOk(res)
        self.track(os.path.dirname(res.report()[1].decode()))
        self.assertClean(res, "a create without O_EXCL inside a mkdtemp directory")

    def check_loose(self, fixture_name, severity, mode, umask):
        p = self.name("/tmp", "loose")
        res = self.run_fixture(fixture_name, p)
        self.assertOk(res)
        pid, _ = res.report()
        f = self.assertFindings(res, p, ["loose-mode"])["loose-mode"]
        self.assertEqual(f["severity"], severity)
        self.assertEqual(f["syscall"], "openat")
        self.assertEqual(f["flags"], ["O_WRONLY", "O_CREAT", "O_EXCL"])
        self.assertEqual(f["mode"], mode)
        self.assertEqual(f["umask"], umask)
        self.assertEqual(f["effective_mode"], mode)
        self.assertEqual(f["file_mode"], mode)
        self.assertEqual(oct(os.stat(p).st_mode & 0o7777), oct(int(mode, 8)))
        self.assertIs(f["created"], True)
        self.assertIs(f["dir_shared"], True)
        self.assertIsNone(f["probe"])
        self.assertProc(f, pid, fixture_name)

    def test_excl_0644_is_loose_mode_medium(self):
        self.check_loose("excl_0644", "medium", "0644", "0022")

    def test_excl_0666_umask0_is_loose_mode_critical(self):
        self.check_loose("excl_umask0", "critical", "0666", "0000")

    def test_inheritable_fd_only_with_all_rules(self):
        p = self.name("/tmp", "inh")
        res = self.run_fixture("open_excl", p, opts=["--all-rules"])
        self.assertOk(res)
        pid, _ = res.report()
        f = self.assertFindings(res, p, ["inheritable-fd"])["inheritable-fd"]
        self.assertEqual(f["severity"], "low")
        self.assertFlags(f, ("O_CREAT", "O_EXCL"), lacks=("O_CLOEXEC",))
        self.assertIs(f["created"], True)
        self.assertProc(f, pid, "open_excl")

    def test_cloexec_is_clean_with_all_rules(self):
        p = self.name("/tmp", "cloexec")
        res = self.run_fixture("excl_cloexec", p, opts=["--all-rules"])
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        self.assertClean(res, "O_CREAT|O_EXCL|O_CLOEXEC 0600 under --all-rules")


class CheckThenCreate(TgTestCase):
    """A name probed (ENOENT) and then created without O_EXCL."""

    def check_probe(self, f, pid, probe_pid=None):
        pr = f["probe"]
        self.assertIsNotNone(pr, json.dumps(f))
        self.assertEqual(pr["syscall"], "newfstatat")  # glibc lstat on x86_64
        self.assertEqual(pr["pid"], pid if probe_pid is None else probe_pid)
        self.assertGreaterEqual(pr["age_ms"], 0)
        self.assertLess(pr["age_ms"], 10000)
        self.assertEqual(f["severity"], "high")
        self.assertIn("CWE-367", f["cwe"])
        self.assertIs(f["created"], True)
        self.assertIs(f["dir_shared"], True)

    def test_mktemp_then_open(self):
        res = self.run_fixture("mktemp_open", "/tmp/tg-mktemp-%s-XXXXXX" % self.tok)
        self.assertOk(res)
        pid, path = res.report()
        p = path.decode()
        # check-then-create replaces nonexclusive-create; 0600 is not loose
        f = self.assertFindings(res, p, ["check-then-create"])["check-then-create"]
        self.check_probe(f, pid)
        self.assertEqual(f["syscall"], "openat")
        self.assertEqual(f["flags"], ["O_WRONLY", "O_CREAT", "O_TRUNC"])
        self.assertEqual(f["resolved_name"], os.path.basename(p))
        self.assertEqual(f["language"], "c")
        self.assertProc(f, pid, "mktemp_open")

    def test_tmpnam_then_fopen(self):
        res = self.run_fixture("tmpnam_fopen")
        self.assertOk(res)
        pid, path = res.report()
        p = path.decode()
        fs = self.assertFindings(res, p, ["check-then-create", "loose-mode"])
        self.check_probe(fs["check-then-create"], pid)
        loose = fs["loose-mode"]
        self.assertEqual(loose["severity"], "medium")
        for f in fs.values():
            self.assertEqual(f["mode"], "0666")  # fopen "w"
            self.assertEqual(f["effective_mode"], "0644")
            self.assertEqual(f["file_mode"], "0644")
            self.assertProc(f, pid, "tmpnam_fopen")


class TempDirs(TgTestCase):
    def test_mkdir_0755_is_loose_tempdir(self):
        p = self.name("/tmp", "dir")
        res = self.run_fixture("mkdir_mode", p, "0755")
        self.assertOk(res)
        pid, _ = res.report()
        f = self.assertFindings(res, p, ["loose-tempdir"])["loose-tempdir"]
        self.assertEqual(f["severity"], "medium")
        self.assertEqual(f["syscall"], "mkdir")
        self.assertEqual(f["mode"], "0755")
        self.assertEqual(f["umask"], "0022")
        self.assertEqual(f["effective_mode"], "0755")
        self.assertEqual(f["file_mode"], "0755")
        self.assertIs(f["created"], True)
        self.assertIs(f["dir_shared"], True)
        # The contract defines resolved_name as the entry opened; mkdir opens nothing, so
        # it may be empty, but if filled it must name the new directory.
        self.assertIn(f["resolved_name"], ("", os.path.basename(p)))
        self.assertProc(f, pid, "mkdir_mode")

    def test_mkdirat_0755_is_loose_tempdir(self):
        n = "tg-dirat-%s" % self.tok
        self.track(os.path.join("/tmp", n))
        res = self.run_fixture("mkdirat_mode", "/tmp", n, "0755")
        self.assertOk(res)
        pid, _ = res.report()
        f = self.assertFindings(res, n, ["loose-tempdir"])["loose-tempdir"]
        self.assertEqual(f["syscall"], "mkdirat")
        self.assertEqual(f["effective_mode"], "0755")
        self.assertIs(f["dir_shared"], True)
        self.assertProc(f, pid, "mkdirat_mode")

    def test_fifo_socket_and_node_others_can_use_are_loose_mode(self):
        # heaptrack's wrapper makes /tmp/heaptrack_fifo$$ with mkfifo; a FIFO or a socket that
        # others can open or connect to, in a shared directory, is loose-mode like a file.
        for kind, syscall, ftype, eff in (("fifo", "mknodat", "fifo", "0666"),
                                          ("node", "mknod", "fifo", "0666"),
                                          ("socket", "bind", "socket", "0777")):
            p = self.name("/tmp", "node-" + kind)
            res = self.run_fixture("mknod_mode", kind, p, "0")
            self.assertOk(res)
            pid, _ = res.report()
            f = self.assertFindings(res, p, ["loose-mode"])["loose-mode"]
            self.assertEqual((f["syscall"], f["file_type"], f["effective_mode"]),
                             (syscall, ftype, eff), f)
            self.assertEqual(f["severity"], "critical")  # others can write to it
            self.assertIs(f["dir_shared"], True)
            self.assertIs(f["created"], True)
            self.assertIn("mkfifo(path, 0600)", f["advice"])
            self.assertProc(f, pid, "mknod_mode")

    def test_fifo_and_socket_made_tight_or_elsewhere_are_clean(self):
        d = self.private_dir()
        # a socket under umask 022 (0755): others cannot connect
        for kind, where, umask in (("fifo", "/tmp", "077"), ("socket", "/tmp", "022"),
                                   ("fifo", d, "0"), ("socket", d, "0"),
                                   ("abstract", "/tmp", "0")):
            p = self.name(where, "clean-" + kind) if where == "/tmp" else os.path.join(
                where, "clean-" + kind)
            res = self.run_fixture("mknod_mode", kind, p, umask)
            self.assertOk(res)
            self.assertEqual([f for f in res.findings if kind in f["path"]], [],
                             "%s in %s, umask %s: %s" % (kind, where, umask, res.describe()))

    def test_mkdir_0700_is_clean(self):
        p = self.name("/tmp", "dir700")
        res = self.run_fixture("mkdir_mode", p, "0700")
        self.assertOk(res)
        self.assertTrue(os.path.isdir(p))
        self.assertClean(res, "mkdir 0700")


class Toolchain(TgTestCase):
    def test_gcc_with_temporaries_in_tmp_is_clean(self):
        # gcc makes its temporaries with mkstemps (O_EXCL) and cc1/as reopen those existing,
        # same-owner files with O_TRUNC; ld creates the -o output without O_EXCL, so that goes
        # to a private directory.
        d = self.private_dir("/var/lib")
        with open(os.path.join(d, "x.c"), "w") as fh:
            fh.write("int main(void)\n{\n\treturn 0;\n}\n")
        res = self.run_cmd([GCC, "-o", os.path.join(d, "x"), os.path.join(d, "x.c")])
        self.assertOk(res)
        self.assertTrue(os.access(os.path.join(d, "x"), os.X_OK))
        self.assertClean(res, "gcc")


# ------------------------------------------------------------------------------------------
# Python and shell


PY_REPORT = "import os, sys\n" \
    "def report(p): sys.stderr.write('tg-fixture: pid=%d path=%s\\n' % (os.getpid(), p))\n"


class PythonPrograms(TgTestCase):
    def py(self, code):
        return self.run_cmd([PYTHON, "-c", PY_REPORT + code])

    def test_mktemp_then_open_is_check_then_create(self):
        res = self.py("import tempfile\n"
                      "n = tempfile.mktemp(prefix='tg-py-%s-')\n"
                      "report(n)\n"
                      "open(n, 'w').write('x')\n" % self.tok)
        self.assertOk(res)
        pid, path = res.report()
        p = path.decode()
        fs = self.assertFindings(res, p, ["check-then-create", "loose-mode"])
        f = fs["check-then-create"]
        self.assertEqual(f["language"], "python")
        self.assertIn("tempfile.mkstemp", f["advice"])
        self.assertIsNotNone(f["probe"], json.dumps(f))
        self.assertEqual(f["probe"]["syscall"], "newfstatat")  # os.lstat in tempfile._exists
        self.assertEqual(f["probe"]["pid"], pid)
        self.assertEqual(f["syscall"], "openat")
        self.assertFlags(f, ("O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"))
        self.assertEqual(f["effective_mode"], "0644")
        self.assertEqual(fs["loose-mode"]["severity"], "medium")
        self.assertEqual(fs["loose-mode"]["language"], "python")
        self.assertProc(f, pid, "python3", exe="python3")

    def check_clean(self, code, what):
        res = self.py("import tempfile\n"
                      "prefix = 'tg-py-%s-'\n" % self.tok + code)
        self.assertOk(res)
        res.report()  # the program got to the end
        self.assertClean(res, what)

    def test_mkstemp_is_clean(self):
        self.check_clean("fd, n = tempfile.mkstemp(prefix=prefix)\nos.close(fd)\nreport(n)\n",
                         "tempfile.mkstemp")

    def test_named_temporary_file_is_clean(self):
        self.check_clean("f = tempfile.NamedTemporaryFile(prefix=prefix, delete=False)\n"
                         "f.write(b'x')\nf.close()\nreport(f.name)\n",
                         "tempfile.NamedTemporaryFile")

    def test_temporary_file_is_clean(self):
        self.check_clean("f = tempfile.TemporaryFile(prefix=prefix)\nf.write(b'x')\n"
                         "f.close()\nreport('(unnamed)')\n", "tempfile.TemporaryFile")

    def test_mkdtemp_is_clean(self):
        self.check_clean("d = tempfile.mkdtemp(prefix=prefix)\n"
                         "open(os.path.join(d, 'f'), 'w').write('x')\nreport(d)\n",
                         "tempfile.mkdtemp and a file inside")


SH_REPORT = 'report() { echo "tg-fixture: pid=$$ path=$1" >&2; }; '


class ShellPrograms(TgTestCase):
    def sh(self, script, opts=()):
        return self.run_cmd([BASH, "-c", SH_REPORT + script], opts=opts)

    def test_redirect_is_nonexclusive_create(self):
        res = self.sh('p=/tmp/tg-sh-%s.$$; report "$p"; echo x > "$p"' % self.tok)
        self.assertOk(res)
        pid, path = res.report()
        p = path.decode()
        fs = self.assertFindings(res, p, ["loose-mode", "nonexclusive-create"])
        f = fs["nonexclusive-create"]
        self.assertEqual(f["severity"], "high")
        self.assertEqual(f["language"], "shell")
        self.assertEqual(f["syscall"], "openat")
        self.assertFlags(f, ("O_WRONLY", "O_CREAT", "O_TRUNC"))
        self.assertIs(f["created"], True)
        self.assertEqual(f["mode"], "0666")
        self.assertEqual(f["effective_mode"], "0644")
        self.assertEqual(f["file_mode"], "0644")
        self.assertIsNone(f["probe"])
        self.assertEqual(fs["loose-mode"]["severity"], "medium")
        self.assertProc(f, pid, "bash", exe="bash")

    def test_mktemp_u_then_redirect_is_check_then_create(self):
        res = self.sh('n=$(mktemp -u); report "$n"; echo x > "$n"')
        self.assertOk(res)
        pid, path = res.report()
        p = path.decode()
        fs = self.assertFindings(res, p, ["check-then-create", "loose-mode"])
        f = fs["check-then-create"]
        self.assertEqual(f["language"], "shell")
        self.assertProc(f, pid, "bash")
        # the probe was made by mktemp, a child of bash: same tree, another process
        self.assertIsNotNone(f["probe"], json.dumps(f))
        self.assertEqual(f["probe"]["syscall"], "newfstatat")
        self.assertNotEqual(f["probe"]["pid"], pid)
        self.assertLess(f["probe"]["age_ms"], 10000)

    def test_sed_sort_heredoc_are_clean(self):
        # sed -i writes a temporary next to the file (mkostemp) and renames it; sort -T spills
        # to mkstemp files (-S forces it); bash puts a large here-document in an O_EXCL 0600
        # temporary. All of it in /tmp, none of it a finding.
        script = (
            'f=$(mktemp); seq 1 20000 > "$f"; '
            'sed -i s/1/one/ "$f"; '
            'sort -S 64K -T /tmp "$f" > /dev/null; '
            'cat > /dev/null <<EOF\n$(head -c 200000 "$f")\nEOF\n'
            'rm -f "$f"')
        res = self.sh(script)
        self.assertOk(res)
        self.assertClean(res, "sed -i, sort -T and a here-document")

    def test_mktemp_then_redirect_is_clean(self):
        res = self.sh('f=$(mktemp); report "$f"; echo x > "$f"')
        self.assertOk(res)
        res.report()
        self.assertClean(res, "mktemp, then a redirect to the file it created")


# ------------------------------------------------------------------------------------------
# Real attacks by another user


class Attacks(SysctlMixin, TgTestCase):
    AS_NOBODY = dict(user=NOBODY, group=NOBODY, extra_groups=[], env=ENV, cwd="/",
                     stdin=subprocess.DEVNULL)

    def setUp(self):
        super().setUp()
        self.relax_protections()

    def test_symlink_follow_overwrites_root_file(self):
        target = self.name("/root", "target")
        link = self.name("/tmp", "link")
        with open(target, "w") as fh:
            fh.write("original\n")
        os.chmod(target, 0o644)
        subprocess.run(["/bin/ln", "-s", target, link], check=True, **self.AS_NOBODY)
        self.assertEqual(os.lstat(link).st_uid, NOBODY)
        res = self.run_cmd([BASH, "-c", "echo pwned > " + link])
        self.assertOk(res)
        with open(target) as fh:
            self.assertEqual(fh.read(), "pwned\n", "the attack did not happen")
        f = self.assertFindings(res, link, ["symlink-follow"])["symlink-follow"]
        self.assertEqual(f["severity"], "critical")
        self.assertIs(f["symlink_followed"], True)
        self.assertEqual(f["resolved_name"], os.path.basename(target))
        self.assertIs(f["created"], False)
        self.assertEqual(f["file_uid"], 0)
        self.assertEqual(f["file_mode"], "0644")
        self.assertEqual(f["syscall"], "openat")
        self.assertFlags(f, ("O_CREAT", "O_TRUNC"))
        self.assertEqual(f["language"], "shell")

    def test_foreign_file_reuse(self):
        p = self.name("/tmp", "foreign")
        subprocess.run([SH, "-c", ': > "$1"', "sh", p], check=True, umask=0, **self.AS_NOBODY)
        st = os.stat(p)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (NOBODY, 0o666))
        res = self.run_cmd([BASH, "-c", "echo data > " + p])
        self.assertOk(res)
        with open(p) as fh:
            self.assertEqual(fh.read(), "data\n")
        f = self.assertFindings(res, p, ["foreign-file-reuse"])["foreign-file-reuse"]
        self.assertEqual(f["severity"], "critical")
        self.assertIs(f["created"], False)
        self.assertEqual(f["file_uid"], NOBODY)
        self.assertEqual(f["file_mode"], "0666")
        self.assertIs(f["dir_shared"], True)
        self.assertIs(f["symlink_followed"], False)
        self.assertEqual(f["resolved_name"], os.path.basename(p))
        self.assertFlags(f, ("O_CREAT", "O_TRUNC"))

    def test_hard_link_to_a_root_file_is_foreign_file_reuse(self):
        # nobody hard-links root's private file into /tmp under the name root's shell will
        # write (fs.protected_hardlinks=0 lets anyone link a file they cannot read); root's
        # `>` opens the existing name and truncates its own file elsewhere. The file is
        # root's: only its second name gives the attack away.
        path = "/proc/sys/fs/protected_hardlinks"
        with open(path) as fh:
            old = fh.read().strip()
        if old != "0":
            self._write(path, "0")
            self.addCleanup(self._write, path, old)
        # the target on /tmp's filesystem (a hard link cannot cross one; /tmp may be a tmpfs),
        # in a directory of root's that is not shared
        d = self.private_dir(parent="/tmp", mode=0o711)
        target = os.path.join(d, "secret")
        with open(target, "w") as fh:
            fh.write("root's data\n")
        os.chmod(target, 0o600)
        p = self.name("/tmp", "hardlink")
        subprocess.run(["/bin/ln", target, p], check=True, **self.AS_NOBODY)
        self.assertEqual(os.stat(p).st_nlink, 2)
        res = self.run_cmd([BASH, "-c", "echo pwned > " + p])
        self.assertOk(res)
        with open(target) as fh:
            self.assertEqual(fh.read(), "pwned\n", "the attack did not happen")
        f = self.assertFindings(res, p, ["foreign-file-reuse"])["foreign-file-reuse"]
        self.assertEqual(f["severity"], "critical")
        self.assertIs(f["created"], False)
        self.assertEqual(f["file_uid"], 0)
        self.assertEqual(f["file_nlink"], 2)
        self.assertIs(f["dir_shared"], True)
        self.assertIs(f["symlink_followed"], False)
        # root's own file with one name, rewritten where it was made: nothing
        q = self.name("/tmp", "ownfile")
        with open(q, "w") as fh:
            fh.write("x\n")
        res = self.run_cmd([BASH, "-c", "echo again > " + q])
        self.assertOk(res)
        self.assertEqual([f for f in res.findings if f["path"] == q], [], res.describe())

    def test_planted_fifo_is_foreign_file_reuse(self):
        # heaptrack's wrapper (Debian 12): `mkfifo /tmp/heaptrack_fifo$$` unchecked, then the
        # profiled process opens that name with O_CREAT and no O_EXCL. nobody makes the FIFO
        # first and reads from it: root's mkfifo fails, root's write goes to nobody.
        p = self.name("/tmp", "fifo")
        subprocess.run(["/usr/bin/mkfifo", "-m", "0666", p], check=True, **self.AS_NOBODY)
        reader = subprocess.Popen(["/bin/cat", p], stdout=subprocess.PIPE, **self.AS_NOBODY)
        self.addCleanup(lambda: reader.poll() is None and (reader.kill(), reader.wait()))
        res = self.run_cmd([BASH, "-c", 'mkfifo "$0"; echo secret > "$0"', p])
        self.assertEqual(reader.communicate(timeout=30)[0], b"secret\n",
                         "the attack did not happen")
        f = self.assertFindings(res, p, ["foreign-file-reuse"])["foreign-file-reuse"]
        self.assertEqual(f["severity"], "critical")
        self.assertIs(f["created"], False)
        self.assertEqual(f["file_uid"], NOBODY)

    def test_executables_with_huge_section_tables_cost_nothing_to_read(self):
        # nobody makes an executable with 500,000 section headers (ELF extended numbering),
        # and runs it 20 times at once, each making a finding and staying alive while tmpguard
        # looks at it: tmpguard reads the header of each, not the table (it took libelf 0.5 s
        # and 130 MB per process).
        src = fixture("open_trunc")
        exe = self.name("/tmp", "elf")
        with open(src, "rb") as fh:
            data = bytearray(fh.read())
        if data[4] != 2:  # ELFCLASS64
            self.skipTest("%s is not a 64-bit ELF" % src)
        data += b"\0" * (-len(data) % 8)
        shoff, nsec = len(data), 500000
        struct.pack_into("<Q", data, 0x28, shoff)
        struct.pack_into("<HHH", data, 0x3A, 64, 0, 0xFFFF)  # e_shnum 0, e_shstrndx XINDEX
        sh0 = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, nsec, 1, 0, 0, 0)
        with open(exe, "wb") as fh:
            fh.write(data + sh0 + b"\0" * (64 * (nsec - 1)))
        plain = self.name("/tmp", "elfplain")
        with open(plain, "wb") as fh:
            fh.write(data)
        for f in (exe, plain):
            os.chown(f, NOBODY, NOBODY)
            os.chmod(f, 0o755)
        huge, usage = self.twenty_at_once(exe, "elfout")
        self.assertTrue(all(f["language"] != "go" for f in huge), "\n".join(map(str, huge)))
        # tmpguard's peak memory: bounded by what it keeps, not by what the files claim.
        # Against the same binary running the same program without the table (an ASan build
        # starts far higher, and each finding's call site is unwound in both).
        _, base_usage = self.twenty_at_once(plain, "elfbase")
        self.assertLess(usage.ru_maxrss, base_usage.ru_maxrss + 48 * 1024,
                        "tmpguard's peak RSS is %d KiB, %d KiB for the same program without "
                        "the table" % (usage.ru_maxrss, base_usage.ru_maxrss))

    def twenty_at_once(self, exe, stem):
        """nobody runs exe 20 times at once under `tmpguard run`: the findings of the files they
        create, and tmpguard's own rusage."""
        out = self.name("/tmp", stem)
        script = ('for i in $(seq 1 20); do TG_FIXTURE_LINGER=8 "$0" "$1.$i" & done; wait; '
                  'rm -f "$1".*')
        tg = subprocess.Popen([TMPGUARD, "run", "--format", "json", "--",
                               "/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid",
                               str(NOBODY), "--clear-groups", SH, "-c", script, exe, out],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=ENV, umask=UMASK)
        self.addCleanup(lambda: tg.poll() is None and (tg.kill(), tg.wait()))
        t0 = time.time()
        got = {}
        readers = [threading.Thread(target=lambda k=k: got.update({k: getattr(tg, k).read()}))
                   for k in ("stdout", "stderr")]
        for t in readers:
            t.start()
        _, status, usage = os.wait4(tg.pid, 0)  # this run's own rusage
        tg.returncode = os.waitstatus_to_exitcode(status)
        for t in readers:
            t.join(30)
        tg.stdout.close()
        tg.stderr.close()
        res = Result(tg.returncode, got["stdout"], got["stderr"], t0, time.time())
        self.assertOk(res)
        self.parse_json(res, res.out)
        mine = [f for f in res.findings if f["path"].startswith(out + ".")]
        self.assertEqual(len({f["path"] for f in mine}), 20, res.describe())
        return mine, usage

    def test_a_recycled_pid_is_another_process(self):
        # root's process (comm "worker") makes a finding and ends; nobody then takes the same
        # pid (ns_last_pid set just before the fork) and the same comm (prctl), and makes one
        # too. Each is reported as itself: user, command line, start, exec id.
        script = ("import ctypes, os, sys\n"
                  "ctypes.CDLL(None).prctl(15, b'worker', 0, 0, 0)\n"
                  "os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))\n"
                  "print(os.getpid(), flush=True)\n")
        first, second = self.name("/tmp", "pid-a"), self.name("/tmp", "pid-b")
        tg, _ = self.start_audit(["--format", "json"])
        t0 = time.time()
        a = subprocess.run([PYTHON, "-c", script, first], capture_output=True, env=ENV,
                           timeout=30, check=True)
        pid = int(a.stdout)
        b = None
        for _ in range(20):  # another process may take the pid first: try again
            with open("/proc/sys/kernel/ns_last_pid", "w") as fh:
                fh.write(str(pid - 1))
            b = subprocess.run([PYTHON, "-c", script, second], capture_output=True,
                               env=ENV, timeout=30, check=True, user=NOBODY, group=NOBODY,
                               extra_groups=[], cwd="/")
            if int(b.stdout) == pid:
                break
            os.unlink(second)
        else:
            self.skipTest("pid %d could not be taken again (a busy host)" % pid)
        time.sleep(1)
        tg.send_signal(signal.SIGINT)
        out, err = tg.communicate(timeout=60)
        res = Result(tg.returncode, out, err, t0, time.time())
        self.assertOk(res)
        self.parse_json(res, out)
        fa, fb = res.with_path(first), res.with_path(second)
        self.assertTrue(fa and fb, res.describe())
        pa, pb = fa[0]["proc"], fb[0]["proc"]
        self.assertEqual((pa["pid"], pb["pid"]), (pid, pid))
        self.assertEqual((pa["comm"], pb["comm"]), ("worker", "worker"))
        self.assertEqual((pa["uid"], pa["user"]), (0, "root"))
        self.assertEqual((pb["uid"], pb["user"]), (NOBODY, "nobody"), json.dumps(pb))
        self.assertIn(second, cmdline_text(pb["cmdline"]), json.dumps(pb))
        self.assertNotIn(first, cmdline_text(pb["cmdline"]), json.dumps(pb))
        self.assertNotEqual(pa["exec_id"], pb["exec_id"])
        self.assertLess(pa["start_time"], pb["start_time"])

    def plant_dir_link(self, stem):
        """nobody: ln -s DIR /tmp/NAME, DIR a root-owned private directory."""
        target = self.private_dir()
        link = self.name("/tmp", stem)
        subprocess.run(["/bin/ln", "-s", target, link], check=True, **self.AS_NOBODY)
        self.assertEqual(os.lstat(link).st_uid, NOBODY)
        return target, link

    def test_planted_directory_symlink(self):
        # The victim makes "its" directory (mkdir -p is satisfied by the link) and writes
        # into it: the file lands in the directory the attacker chose.
        target, link = self.plant_dir_link("appdir")
        state = link + "/state"
        res = self.run_cmd([BASH, "-c", 'mkdir -p "$1" && echo data > "$1/state"', "sh", link])
        self.assertOk(res)
        with open(os.path.join(target, "state")) as fh:
            self.assertEqual(fh.read(), "data\n", "the attack did not happen")
        f = self.assertFindings(res, state, ["symlink-follow"])["symlink-follow"]
        self.assertEqual(f["severity"], "critical")
        self.assertIs(f["symlink_followed"], True)
        self.assertIs(f["created"], True)
        self.assertEqual(f["requested_dir"], "resolved")
        self.assertDirLink(res, f, {"owner_uid": NOBODY, "foreign": True})

    def test_own_directory_symlink_then_create(self):
        # The program makes the link itself, unchecked, then creates through the predictable
        # name: had another user made /tmp/NAME first, this open would have followed theirs.
        target = self.private_dir()
        link = self.name("/tmp", "ownlink")
        state = link + "/state"
        res = self.run_cmd([BASH, "-c", 'ln -s "$1" "$2"; echo data > "$2/state"', "sh",
                            target, link])
        self.assertOk(res)
        self.assertTrue(os.path.exists(os.path.join(target, "state")))
        f = self.assertFindings(res, state, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertIs(f["symlink_followed"], False)
        self.assertIs(f["dir_shared"], True)
        self.assertDirLink(res, f, {"owner_uid": 0, "foreign": False})

    def assertDirLink(self, res, f, want):
        """User space names the link it found; where a hook watched every link followed
        (fentry, the BPF LSM) the kernel's word decided and user space did not look."""
        if f["dir_link"] is None and res.records[0]["hooks_kind"] == "fentry":
            return
        self.assertEqual(f["dir_link"], want, json.dumps(f))

    def test_create_by_a_process_gone_before_its_record_is_read(self):
        # tmpguard is stopped while a shell in /tmp creates ./NAME and exits: the relative
        # path's directory (the dead shell's cwd) cannot be resolved any more. The kernel's
        # facts of the holding directory still decide, and the record says what is unknown.
        p = self.name("/tmp", "gone")
        res = self.record_while_stopped(lambda: self.assertEqual(subprocess.run(
            [SH, "-c", 'echo x > "./$1"', "sh", os.path.basename(p)], cwd="/tmp", env=ENV,
            timeout=30).returncode, 0))
        mine = [f for f in res.findings if f["path"] == "./" + os.path.basename(p)]
        self.assertEqual(sorted(f["rule"] for f in mine), ["loose-mode", "nonexclusive-create"],
                         res.describe())
        f = mine[0]
        self.assertEqual(f["requested_dir"], "unknown", json.dumps(f))
        self.assertIs(f["dir_shared"], True)
        self.assertGreaterEqual(res.summary["events"]["unresolved"], 1)
        # The process is named by the path the kernel walked from its executable, not by a
        # basename: the same exe as for a live one, for reports and fingerprints.
        self.assertEqual(f["proc"]["exe"], os.path.realpath(SH), json.dumps(f))

    def make_go_program(self, d):
        """A "Go program" in directory d: a C fixture (open_trunc) with a Go build-id note
        added, what tmpguard looks for in a Go binary. Returns (path, objcopy, the note)."""
        objcopy = shutil.which("objcopy")
        self.require(objcopy, "objcopy is not installed (binutils)")
        exe, note = os.path.join(d, "goprog"), os.path.join(d, "note")
        with open(note, "wb") as fh:
            fh.write(b"\x04\x00\x00\x00\x08\x00\x00\x00\x04\x00\x00\x00Go\x00\x00buildid!")
        subprocess.run([objcopy, "--add-section", ".note.go.buildid=" + note,
                        fixture("open_trunc"), exe], check=True)
        os.chmod(exe, 0o755)
        return exe, objcopy, note

    def test_go_program_in_a_container_gone_at_once_gets_go_advice(self):
        # The same in another mount namespace, where the program exists only on a tmpfs
        # mounted there (a container's own files): tmpguard reads it through a process that
        # is still in that namespace, resolving the path inside its root.
        unshare, nsenter = shutil.which("unshare"), shutil.which("nsenter")
        self.require(unshare and nsenter, "unshare or nsenter is not installed (util-linux)")
        src = self.private_dir()
        prog, _, _ = self.make_go_program(src)
        d = self.private_dir()
        holder = subprocess.Popen(
            [unshare, "-m", "--propagation", "private", SH, "-c",
             'mount -t tmpfs tg-live "$0" && cp "$1" "$0/goprog" && : > "$0/ready" && exec sleep 120',
             d, prog], env=ENV)
        self.addCleanup(lambda: (holder.kill(), holder.wait()))
        ready = "/proc/%d/root%s/ready" % (holder.pid, d)
        deadline = time.time() + 30
        while not os.path.exists(ready):
            self.assertLess(time.time(), deadline, "the namespace was not set up")
            self.assertIsNone(holder.poll(), "unshare failed")
            time.sleep(0.05)
        exe = os.path.join(d, "goprog")
        self.assertFalse(os.path.exists(exe))  # not in tmpguard's namespace
        p = self.name("/tmp", "gons")
        res = self.record_while_stopped(lambda: self.assertEqual(subprocess.run(
            # --root --wd: the holder's, so that a chroot (a fresh root this test runs in)
            # is kept; entering a mount namespace alone resets the root to that namespace's
            [nsenter, "-m", "--root", "--wd", "-t", str(holder.pid), exe, p], env=ENV,
            timeout=30).returncode, 0))
        f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertEqual(f["proc"]["exe"], exe, json.dumps(f))
        self.assertEqual(f["language"], "go", json.dumps(f))

    def test_go_program_gone_at_once_gets_go_advice(self):
        # A Go program that creates /tmp/NAME and exits before tmpguard reads the record:
        # the language comes from the executable the kernel named (by path, checked by inode),
        # not from /proc/PID/exe, which is gone. The "Go program" is a C fixture with a Go
        # build-id note added (objcopy): what tmpguard looks for in a Go binary.
        d = self.private_dir()
        exe, objcopy, note = self.make_go_program(d)
        p = self.name("/tmp", "gogone")
        res = self.record_while_stopped(lambda: self.assertEqual(
            subprocess.run([exe, p], env=ENV, timeout=30).returncode, 0))
        f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertEqual(f["proc"]["exe"], exe, json.dumps(f))
        self.assertEqual(f["language"], "go", json.dumps(f))
        self.assertIn("os.CreateTemp", f["advice"])
        # the same file replaced by another at that path: not taken for the one that ran
        q = self.name("/tmp", "gogone2")

        def run_then_replace():
            self.assertEqual(subprocess.run([exe, q], env=ENV, timeout=30).returncode, 0)
            # moved aside, not unlinked: a freed inode number may be given to the new file
            # at once (ext4 does), and (device, inode) is the identity compared
            os.rename(exe, exe + ".old")
            shutil.copy(fixture("open_trunc"), exe)
            os.chmod(exe, 0o755)
            subprocess.run([objcopy, "--add-section", ".note.go.buildid=" + note, exe],
                           check=True)

        res = self.record_while_stopped(run_then_replace)
        f = self.assertFindings(res, q, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertNotEqual(f["language"], "go", json.dumps(f))


# ------------------------------------------------------------------------------------------
# tmpguard run: exit status, scoping, output


class RunCommand(TgTestCase):
    def test_exit_status_passes_through(self):
        p = self.name("/tmp", "exit")
        res = self.run_fixture("exit_status", p, "7")
        self.assertOk(res, 7)
        self.assertFindings(res, p, ["nonexclusive-create"])

    def test_ancestry_is_the_parent_chain_at_event_time(self):
        # tmpguard -> sh -> exit_status: the chain runs through the shell and tmpguard itself,
        # up to pid 1. The shell stays a while: ancestry is read from /proc when the record
        # is handled, and a parent gone by then ends the chain.
        p = self.name("/tmp", "anc")
        res = self.run_cmd(["sh", "-c", '"$0" "$1" 0; sleep 3', fixture("exit_status"), p])
        self.assertOk(res, 0)
        f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
        anc = f["ancestry"]
        ctx = json.dumps(f)
        self.assertEqual(anc[0]["pid"], f["proc"]["ppid"], ctx)
        self.assertEqual(anc[0]["comm"], "sh", ctx)
        self.assertEqual(anc[0]["exe"], os.path.realpath("/bin/sh"), ctx)
        self.assertEqual(anc[1]["pid"], res.records[0]["pid"], ctx)  # the session's pid
        self.assertEqual(anc[1]["comm"], "tmpguard", ctx)
        self.assertEqual(anc[-1]["pid"], 1, ctx)
        self.assertFalse(f["ancestry_truncated"], ctx)

    def test_killed_by_signal_is_128_plus_n(self):
        res = self.run_fixture("exit_status", "-", "sig15")
        self.assertOk(res, 128 + 15)
        self.assertClean(res, "exit_status without a create")

    def test_fail_on_high_with_high_finding_exits_3(self):
        p = self.name("/tmp", "failon")
        res = self.run_fixture("exit_status", p, "0", opts=["--fail-on", "high"])
        self.assertOk(res, 3)
        self.assertFindings(res, p, ["nonexclusive-create"])

    def test_fail_on_critical_with_only_high_keeps_status(self):
        p = self.name("/tmp", "failcrit")
        res = self.run_fixture("exit_status", p, "5", opts=["--fail-on", "critical"])
        self.assertOk(res, 5)
        f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertEqual(f["severity"], "high")

    def test_fail_on_without_findings_keeps_status(self):
        res = self.run_fixture("exit_status", "-", "0", opts=["--fail-on", "low"])
        self.assertOk(res, 0)
        self.assertClean(res, "exit_status without a create")

    def test_missing_command_is_usage_error(self):
        for args in (["run"], ["run", "--"], ["run", "--format", "json"]):
            res = self.tg(args, parse=False, timeout=20)
            self.assertEqual(res.rc, 2, "%s\n%s" % (args, res.describe()))

    def test_unknown_option_is_usage_error(self):
        res = self.tg(["run", "--no-such-option", "--", "/bin/true"], parse=False, timeout=20)
        self.assertEqual(res.rc, 2, res.describe())
        res = self.tg(["run", "--fail-on", "severe", "--", "/bin/true"], parse=False,
                      timeout=20)
        self.assertEqual(res.rc, 2, res.describe())

    def test_output_file(self):
        d = self.private_dir("/var/lib", 0o700)
        out = os.path.join(d, "findings.json")
        p = self.name("/tmp", "outfile")
        res = self.tg(["run", "--format", "json", "--output", out, "--",
                       fixture("open_trunc"), p], parse=False)
        self.assertOk(res)
        self.assertEqual(res.out, b"", "findings went to stdout despite --output")
        with open(out, "rb") as fh:
            self.parse_json(res, fh.read())
        self.assertFindings(res, p, ["nonexclusive-create"])

    def test_unrelated_process_is_not_reported(self):
        # The unrelated process is started before (and outside) tmpguard, and makes its
        # insecure create only once COMMAND has started (GO), i.e. while tmpguard is attached.
        d = self.private_dir("/var/lib", 0o700)
        go, done = os.path.join(d, "go"), os.path.join(d, "done")
        p = self.name("/tmp", "unrelated")
        bg = subprocess.Popen(
            [BASH, "-c", 'for i in $(seq 200); do [ -e "$1" ] && break; sleep 0.05; done; '
             'sleep 0.5; echo x > "$2"; : > "$3"', "bg", go, p, done],
            env=ENV, umask=UMASK, stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: bg.poll() is None and bg.kill())
        try:
            res = self.run_cmd([BASH, "-c", ': > "$1"; for i in $(seq 200); do '
                                '[ -e "$2" ] && break; sleep 0.05; done; sleep 1.5',
                                "cmd", go, done])
        finally:
            bg.wait(timeout=20)
        self.assertOk(res)
        self.assertTrue(os.path.exists(p), "the unrelated process did not create its file")
        self.assertEqual(res.with_path(p), [], "an unrelated process was reported\n"
                         + res.describe())
        self.assertClean(res, "COMMAND (touches a file in a private directory, sleeps)")


# ------------------------------------------------------------------------------------------
# tmpguard audit


class VerifierBudget(TgTestCase):
    """Each program's verified_insns (bpf_prog_info): deterministic for a kernel and a mode,
    so a budget, not a timing, keeps the kernel side lean. check_session() applies it to every
    session of every test; here, doctor -v must list the same programs `run` attaches (call
    sites on, its default), within the same budget."""

    def test_doctor_lists_every_program_within_budget(self):
        p = subprocess.run([TMPGUARD, "doctor", "-v", "--format", "json"], env=ENV,
                           capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["verified_insns_budget"], VERIFIED_INSNS_BUDGET)
        self.assertLessEqual(VERIFIED_INSNS_BUDGET, 1_000_000 // 10)
        progs = {q["hook"]: q["verified_insns"] for q in doc["programs"]}
        over = {k: v for k, v in progs.items() if not 0 < v <= VERIFIED_INSNS_BUDGET}
        self.assertFalse(over, progs)
        # the programs `run` attaches here, no more, no fewer, but for its fork/exit tracking
        res = self.run_cmd(["/bin/true"])
        hooks = set(res.records[0]["hooks"]) - {"tp_btf/sched_process_fork",
                                                "tp_btf/sched_process_exit"}
        self.assertEqual(set(progs), hooks)

    def test_text_output_names_the_budget(self):
        p = subprocess.run([TMPGUARD, "doctor", "--verbose"], env=ENV, capture_output=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"verified_insns, budget %d each" % VERIFIED_INSNS_BUDGET, p.stdout)
        self.assertNotIn(b"OVER BUDGET", p.stdout)


class Audit(TgTestCase):
    def test_audit_reports_process_started_after_attach(self):
        p = self.name("/tmp", "audit")
        t0 = time.time()
        tg = subprocess.Popen([TMPGUARD, "audit", "--duration", "4", "--format", "json"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=ENV, umask=UMASK)
        self.addCleanup(tg.stderr.close)
        self.addCleanup(tg.stdout.close)
        self.addCleanup(lambda: tg.poll() is None and (tg.kill(), tg.wait()))
        # Read both pipes in threads: a busy machine can fill stdout before we look at it.
        out, err_chunks = [], queue.Queue()

        def drain_err():
            while True:
                chunk = os.read(tg.stderr.fileno(), 4096)
                if not chunk:
                    return
                err_chunks.put(chunk)

        t_out = threading.Thread(target=lambda: out.append(tg.stdout.read()), daemon=True)
        t_err = threading.Thread(target=drain_err, daemon=True)
        t_out.start()
        t_err.start()
        err = b""
        deadline = time.time() + 30
        while b"tmpguard: auditing" not in err:
            if time.time() > deadline or (tg.poll() is not None and err_chunks.empty()
                                          and not t_err.is_alive()):
                self.fail("no 'tmpguard: auditing' on stderr within 30 s (rc %s): %r"
                          % (tg.poll(), err))
            try:
                err += err_chunks.get(timeout=0.2)
            except queue.Empty:
                pass
        fx = subprocess.Popen([fixture("open_trunc"), p], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV,
                              umask=UMASK)
        fx_err = fx.communicate(timeout=20)[1]
        self.assertEqual(fx.returncode, 0, fx_err)
        try:
            rc = tg.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("tmpguard audit --duration 4 still running after 30 s")
        t_out.join(10)
        t_err.join(10)
        while not err_chunks.empty():
            err += err_chunks.get()
        res = Result(rc, out[0] if out else b"", err, t0, time.time())
        self.assertOk(res)
        self.parse_json(res, res.out)
        fs = self.assertFindings(res, p, ["nonexclusive-create"], only=False)
        f = fs["nonexclusive-create"]
        self.assertEqual(f["proc"]["pid"], fx.pid)
        self.assertEqual(f["proc"]["comm"], "open_trunc")
        self.assertEqual(f["severity"], "high")
        self.assertIs(f["dir_shared"], True)


    def test_audit_pid_scopes_to_one_process_tree(self):
        mine = self.name("/tmp", "pid-mine")
        other = self.name("/tmp", "pid-other")
        go = self.name("/var/lib", "pid-go")
        # Both write once tmpguard has attached (the go file appears); the target's write
        # happens in a child subshell, which --pid covers from fork.
        script = 'while [ ! -e "$2" ]; do sleep 0.05; done; (echo x > "$1")'
        target = subprocess.Popen([BASH, "-c", script, "bash", mine, go], env=ENV,
                                  umask=UMASK)
        unrelated = subprocess.Popen([BASH, "-c", script, "bash", other, go], env=ENV,
                                     umask=UMASK)
        self.addCleanup(lambda: [p.poll() is None and p.kill() for p in (target, unrelated)])
        t0 = time.time()
        tg, err = self.start_audit(["--format", "json", "--pid", str(target.pid)])
        open(go, "w").close()
        self.assertEqual(target.wait(timeout=30), 0)
        self.assertEqual(unrelated.wait(timeout=30), 0)
        tg.send_signal(signal.SIGINT)
        out, rest = tg.communicate(timeout=60)
        res = Result(tg.returncode, out, err + rest, t0, time.time())
        self.assertOk(res)
        self.parse_json(res, res.out)
        fs = self.assertFindings(res, mine, ["loose-mode", "nonexclusive-create"])
        self.assertEqual(fs["nonexclusive-create"]["proc"]["ppid"], target.pid)
        self.assertEqual(res.rules(other), [])

    def test_audit_pid_that_does_not_exist_is_usage_error(self):
        res = self.tg(["audit", "--pid", "999999999"], parse=False)
        self.assertEqual(res.rc, 2, res.describe())

    def test_not_root_is_usage_error(self):
        res = self.tg(["audit", "--duration", "1"], parse=False, user="nobody")
        self.assertEqual(res.rc, 2, res.describe())
        self.assertIn(b"root", res.err)


# ------------------------------------------------------------------------------------------
# Policies


class Policies(PolicyFiles):

    def exceptions(self, res):
        return res.summary["exceptions"]

    def test_user_space_exception_hides_exactly_what_it_names(self):
        allowed = self.name("/tmp", "allowed")
        other = self.name("/tmp", "other")
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            "  - rule: nonexclusive-create\n"
            "    path: /tmp/tg-allowed-*\n"
            "    comm: bash\n"
            "    reason: \"test: a lock file written once\"\n")
        res = self.run_cmd([BASH, "-c", 'echo x > "$0"; echo x > "$1"', allowed, other],
                           opts=["--policy", pol])
        self.assertOk(res)
        # the exception names one rule and one path: the other rule and path still report
        self.assertEqual(res.rules(allowed), ["loose-mode"])
        self.assertEqual(res.rules(other), ["loose-mode", "nonexclusive-create"])
        x = self.exceptions(res)
        self.assertEqual(len(x), 1)
        self.assertEqual(x[0]["applied_in"], "user")
        self.assertEqual(x[0]["suppressed_user"], 1)
        self.assertEqual(x[0]["suppressed_kernel"], 0)
        self.assertEqual(x[0]["line"], 3)

    def test_a_program_execd_after_the_create_lends_it_no_exception(self):
        # bash creates, then execs a program an exception names: the same pid and start time.
        # Read after the exec (tmpguard stopped meanwhile), the record is still bash's, and the
        # exec'd program's exception does not hide it (it once did, by asking /proc).
        p = self.name("/tmp", "execd")
        sleep = os.path.realpath(shutil.which("sleep"))
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            "  - rule: \"*\"\n"
            "    exe: %s\n"
            "    reason: \"test: the program exec'd after the create\"\n" % sleep)
        procs = []

        def create_then_exec():
            procs.append(subprocess.Popen([BASH, "-c", 'echo x > "$0"; exec "$1" 20', p, sleep],
                                          env=ENV, umask=UMASK))
            deadline = time.time() + 10
            while True:  # until /proc names the exec'd program
                try:
                    if os.path.realpath("/proc/%d/exe" % procs[0].pid) == sleep:
                        break
                except OSError:
                    pass
                self.assertLess(time.time(), deadline, "bash did not exec %s" % sleep)
                time.sleep(0.05)

        try:
            res = self.record_while_stopped(create_then_exec, ["--policy", pol])
        finally:
            for pr in procs:
                pr.kill()
                pr.wait()
        mine = [f for f in res.findings if f["path"] == p]
        self.assertEqual(sorted(f["rule"] for f in mine), ["loose-mode", "nonexclusive-create"],
                         res.describe())
        self.assertEqual({f["proc"]["exe"] for f in mine}, {os.path.realpath(BASH)})
        self.assertEqual(self.exceptions(res)[0]["suppressed_user"], 0)

    def test_an_exec_into_a_program_of_the_same_name_is_not_the_excepted_one(self):
        # Two copies of bash named alike (one comm): the first is excepted for
        # nonexclusive-create, reports a loose mode, then execs the second, which creates. The
        # second's create is its own: what was known of the first must not hide it.
        d = self.private_dir()
        a, b = os.path.join(d, "a", "tgx"), os.path.join(d, "b", "tgx")
        for exe in (a, b):
            os.makedirs(os.path.dirname(exe))
            shutil.copy2(os.path.realpath(BASH), exe)
        p, q = self.name("/tmp", "exa"), self.name("/tmp", "exb")
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            "  - rule: nonexclusive-create\n"
            "    exe: %s\n"
            "    reason: \"test: the first program only\"\n" % a)
        res = self.run_cmd([a, "-c", 'echo x > "$0"; exec "$1" -c \'echo y > "$0"\' "$2"', p, b, q],
                           opts=["--policy", pol])
        self.assertOk(res)
        self.assertEqual(res.rules(p), ["loose-mode"], res.describe())
        self.assertEqual(res.rules(q), ["loose-mode", "nonexclusive-create"], res.describe())

    def test_kernel_exception_sends_nothing_to_user_space(self):
        p = self.name("/tmp", "kexc")
        q = self.name("/tmp", "kexc-other")
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            "  - rule: \"*\"\n"
            "    exe: %s\n"
            "    reason: \"test: this fixture is known to be safe\"\n" % fixture("open_trunc"))
        res = self.run_fixture("open_trunc", p, opts=["--policy", pol])
        self.assertOk(res)
        self.assertClean(res, "a process excepted by exe in the kernel")
        ev = res.summary["events"]
        self.assertGreaterEqual(ev["creates_seen"], 1)
        self.assertEqual(ev["sent"], 0, "an excepted event reached the ring buffer")
        self.assertEqual(ev["received"], 0)
        self.assertEqual(ev["excepted_in_kernel"], 1)
        x = self.exceptions(res)[0]
        self.assertEqual(x["applied_in"], "kernel")
        self.assertEqual(x["suppressed_kernel"], 1)
        self.assertEqual(x["suppressed_user"], 0)
        # another executable under the same policy is still reported, through the buffer
        res = self.run_fixture("open_syscall", q, opts=["--policy", pol])
        self.assertFindings(res, q, ["nonexclusive-create"])
        self.assertGreaterEqual(res.summary["events"]["sent"], 1)

    def test_kernel_exception_past_the_256th_counts_its_own_hits(self):
        # The kernel counts hits per key it holds (at most 256), not per exception of the
        # policy: an exe exception written after 299 user-space ones still has its own count.
        p = self.name("/tmp", "kexc-late")
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            + "".join("  - rule: nonexclusive-create\n"
                      "    path: /nonexistent/tg-%d-*\n"
                      "    reason: \"test: filler %d\"\n" % (i, i) for i in range(299))
            + "  - rule: \"*\"\n"
              "    exe: %s\n"
              "    reason: \"test: this fixture is known to be safe\"\n" % fixture("open_trunc"))
        res = self.run_fixture("open_trunc", p, opts=["--policy", pol])
        self.assertOk(res)
        self.assertClean(res, "a process excepted by exe in the kernel, exception 300")
        self.assertEqual(res.summary["events"]["excepted_in_kernel"], 1)
        xs = self.exceptions(res)
        self.assertEqual(len(xs), 300)
        self.assertEqual((xs[299]["applied_in"], xs[299]["suppressed_kernel"]), ("kernel", 1),
                         xs[299])
        self.assertEqual(sum(x["suppressed_kernel"] for x in xs[:299]), 0)

    def test_kernel_exception_by_user(self):
        p = self.name("/tmp", "kexc-user")
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            "  - rule: \"*\"\n"
            "    user: nobody\n"
            "    reason: \"test: nobody's scratch files\"\n")
        # COMMAND drops to nobody itself; tmpguard stays root
        res = self.run_cmd(["/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                            "--clear-groups", fixture("open_trunc"), p], opts=["--policy", pol])
        self.assertOk(res)
        self.assertClean(res, "a process excepted by uid in the kernel")
        self.assertEqual(res.summary["events"]["sent"], 0)
        self.assertEqual(self.exceptions(res)[0]["suppressed_kernel"], 1)

    def setuid_root_copy(self, name):
        """A setuid-root copy of fixture NAME in a private directory nobody can enter."""
        d = self.private_dir(mode=0o755)
        path = os.path.join(d, name + "-suid")
        shutil.copy(fixture(name), path)
        os.chown(path, 0, 0)
        os.chmod(path, 0o4755)
        return path

    def test_exceptions_follow_the_acting_credentials(self):
        # An excepted user (nobody) runs a setuid-root helper: the create is root's, made with
        # fsuid 0, and must be judged as root's: neither the kernel's exception (rule "*",
        # by uid) nor a user-space one (by user, for one rule) may hide it.
        helper = self.setuid_root_copy("open_trunc")
        for i, exc in enumerate(('  - rule: "*"\n    uid: %d\n' % NOBODY,
                                 "  - rule: nonexclusive-create\n    user: nobody\n")):
            pol = self.policy("version: 1\nexceptions:\n" + exc +
                              "    reason: \"test: nobody's scratch files\"\n")
            p = self.name("/tmp", "suid%d" % i)
            res = self.run_cmd(["/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid",
                                str(NOBODY), "--clear-groups", helper, p],
                               opts=["--policy", pol])
            self.assertOk(res)
            if os.stat(p).st_uid != 0:
                self.skipTest("setuid is not honoured on this file system (nosuid): "
                              "the helper created as %d" % os.stat(p).st_uid)
            f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
            self.assertEqual((f["proc"]["uid"], f["proc"]["euid"]), (NOBODY, 0), exc)
            self.assertEqual(f["file_uid"], 0)
            # The same exception still hides what nobody does as nobody.
            q = self.name("/tmp", "nobody%d" % i)
            res = self.run_cmd(["/usr/bin/setpriv", "--reuid", str(NOBODY), "--regid",
                                str(NOBODY), "--clear-groups", fixture("open_trunc"), q],
                               opts=["--policy", pol])
            self.assertOk(res)
            self.assertEqual(res.with_path(q), [], "%s\n%s" % (exc, res.describe()))

    def test_shared_dirs_extends_the_shared_set(self):
        d = self.private_dir()
        p = os.path.join(d, "f")
        pol = self.policy("version: 1\nshared_dirs:\n  - %s\n" % d)
        res = self.run_fixture("open_trunc", p, opts=["--policy", pol])
        fs = self.assertFindings(res, p, ["nonexclusive-create"])
        self.assertIs(fs["nonexclusive-create"]["dir_shared"], True)
        res = self.run_fixture("open_trunc", p + "2")
        self.assertClean(res, "the same directory without the policy")

    def test_severity_override_and_disabled_rule(self):
        p = self.name("/tmp", "sev")
        pol = self.policy(
            "version: 1\n"
            "rules:\n"
            "  nonexclusive-create: { severity: critical }\n"
            "  loose-mode: { enabled: false }\n")
        res = self.run_cmd([BASH, "-c", 'echo x > "$0"', p], opts=["--policy", pol])
        fs = self.assertFindings(res, p, ["nonexclusive-create"])
        self.assertEqual(fs["nonexclusive-create"]["severity"], "critical")

    def test_rate_limit_counts_what_it_does_not_print(self):
        stem = self.name("/tmp", "rl")
        pol = self.policy("version: 1\nrate_limit: { per_key_per_minute: 2 }\n"
                          "rules:\n  loose-mode: { enabled: false }\n")
        res = self.run_cmd([BASH, "-c", 'for i in 1 2 3 4 5; do echo x > "$0-$i"; done', stem],
                           opts=["--policy", pol])
        for i in range(1, 6):
            self.track("%s-%d" % (stem, i))
        self.assertOk(res)
        self.assertEqual(len(res.findings), 2, res.describe())
        self.assertEqual([f["count"] for f in res.findings], [1, 2])
        aggs = res.summary["aggregates"]
        self.assertEqual(len(aggs), 1)
        self.assertEqual(aggs[0]["count"], 5)
        self.assertEqual(res.summary["events"]["repeats_not_printed"], 3)

    def test_bad_policy_is_refused_whole(self):
        bad = self.policy(
            "version: 1\n"
            "rules:\n"
            "  nonexclusive-create: { severity: high }\n"
            "exceptions:\n"
            "  - rule: nonexclusive-create\n"
            "    path: /tmp/x\n")
        p = self.name("/tmp", "bad")
        res = self.tg(["run", "--policy", bad, "--", fixture("open_trunc"), p], parse=False)
        self.assertEqual(res.rc, 2, res.describe())
        self.assertRegex(res.err.decode(), re.escape(bad) + r":5:\d+: .*reason")
        self.assertFalse(os.path.exists(p), "COMMAND ran under a policy that did not load")
        res = self.tg(["policy", "check", bad], parse=False)
        self.assertEqual(res.rc, 2, res.describe())
        for shipped in ("default", "strict", "ci"):
            path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "policies", shipped + ".yaml")
            res = self.tg(["policy", "check", path], parse=False)
            self.assertEqual(res.rc, 0, res.describe())
            self.assertIn(b"valid", res.out)

    def test_sighup_reloads_and_keeps_the_old_policy_when_the_new_one_is_bad(self):
        first = self.name("/tmp", "hup-first")
        second = self.name("/tmp", "hup-second")
        third = self.name("/tmp", "hup-third")
        pol = self.policy("version: 1\nrules:\n  loose-mode: { enabled: false }\n")
        tg = subprocess.Popen([TMPGUARD, "audit", "--format", "json", "--duration", "30",
                               "--policy", pol], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                              umask=UMASK)
        self.addCleanup(tg.stderr.close)
        self.addCleanup(tg.stdout.close)
        self.addCleanup(lambda: tg.poll() is None and (tg.kill(), tg.wait()))
        err_lines = queue.Queue()
        out = []
        threading.Thread(target=lambda: [err_lines.put(l) for l in tg.stderr],
                         daemon=True).start()
        t_out = threading.Thread(target=lambda: out.append(tg.stdout.read()), daemon=True)
        t_out.start()

        def wait_for(text, timeout=30):
            deadline = time.time() + timeout
            seen = []
            while time.time() < deadline:
                try:
                    line = err_lines.get(timeout=0.2)
                except queue.Empty:
                    continue
                seen.append(line)
                if text in line:
                    return line
            self.fail("no %r on stderr within %d s: %r" % (text, timeout, seen))

        def create(path):
            subprocess.run([BASH, "-c", 'echo x > "$0"', path], env=ENV, umask=UMASK,
                           check=True)

        t0 = time.time()
        wait_for(b"tmpguard: auditing")
        create(first)
        with open(pol, "w") as f:
            f.write("version: 1\nrules:\n  loose-mode: { enabled: false }\n"
                    "exceptions:\n  - rule: nonexclusive-create\n    path: /tmp/tg-hup-*\n"
                    "    reason: \"test: reloaded exception\"\n")
        tg.send_signal(signal.SIGHUP)
        wait_for(b"policy reloaded")
        create(second)
        with open(pol, "w") as f:
            f.write("version: 1\nrules: [ this is not a mapping\n")
        tg.send_signal(signal.SIGHUP)
        line = wait_for(b"policy reload refused")
        self.assertIn(pol.encode(), line)
        create(third)
        tg.send_signal(signal.SIGINT)
        self.assertEqual(tg.wait(timeout=30), 0)
        t_out.join(10)
        res = Result(0, out[0] if out else b"", b"", t0, time.time())
        self.parse_json(res, res.out)
        # first: before the exception; second: hidden by the reloaded policy; third: the bad
        # reload left that policy in force
        self.assertEqual(res.rules(first), ["nonexclusive-create"])
        self.assertEqual(res.rules(second), [])
        self.assertEqual(res.rules(third), [])
        self.assertEqual(res.summary["policy_reloads"], 1)
        self.assertEqual(res.summary["policy_reloads_refused"], 1)
        self.assertEqual(self.exceptions(res)[0]["suppressed_user"], 2)

    def test_reloads_leave_no_moment_without_the_policy(self):
        # A directory that is shared only by the policy, flooded with creates while the same
        # policy is reloaded 50 times a second: every create is reported or counted lost.
        # A reload that rewrote the kernel's maps in place left moments with no shared
        # directory at all, whose creates were never sent.
        d = self.private_dir()
        pol = self.policy("version: 1\nshared_dirs: [%s]\nrate_limit: { per_key_per_minute: 1, "
                          "per_user_per_minute: 100000, per_host_per_minute: 100000 }\n" % d)
        tg, _ = self.start_audit(["--format", "json", "--policy", pol])
        out = []
        t_out = threading.Thread(target=lambda: out.append(tg.stdout.read()), daemon=True)
        t_out.start()
        threading.Thread(target=lambda: tg.stderr.read(), daemon=True).start()
        flood = subprocess.Popen([fixture("flood"), d, "reload", "4"], env=ENV,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        reloads = 0
        while flood.poll() is None:
            tg.send_signal(signal.SIGHUP)
            reloads += 1
            time.sleep(0.02)
        creates = int(re.search(rb"creates=(\d+)", flood.stderr.read()).group(1))
        time.sleep(1)
        tg.send_signal(signal.SIGINT)
        self.assertEqual(tg.wait(timeout=60), 0)
        t_out.join(30)
        res = Result(0, out[0] if out else b"", b"", time.time() - 60, time.time())
        self.parse_json(res, res.out)
        ev = res.summary["events"]
        ctx = "creates %d, reloads %d sent, %d done; %s" % (
            creates, reloads, res.summary["policy_reloads"], ev)
        self.assertGreater(res.summary["policy_reloads"], 20, ctx)
        self.assertEqual(res.summary["policy_reloads_refused"], 0, ctx)
        self.assertEqual(res.summary["by_rule"]["nonexclusive-create"] + ev["lost"], creates, ctx)

    def test_a_refused_reload_changes_nothing_in_the_kernel(self):
        # The new policy's exception (root, every rule: decided in the kernel) could be
        # installed, its 1,025 shared directories cannot (the kernel holds 1,024): refused,
        # the kernel must keep the old exceptions and shared directories, and the old
        # kernel exception's hits (nobody's creates, before and after) stay its own.
        shared = self.private_dir()
        many = self.private_dir()
        for i in range(1025):
            os.mkdir(os.path.join(many, "d%04d" % i))
        before, after = (self.track(os.path.join(shared, n)) for n in ("before", "after"))
        pol = self.policy("version: 1\nshared_dirs: [%s]\nexceptions:\n  - rule: \"*\"\n"
                          "    uid: %d\n    reason: \"test: nobody's creates\"\n" % (shared, NOBODY))
        as_nobody = functools.partial(subprocess.run, check=True, env=ENV, user=NOBODY,
                                      group=NOBODY, extra_groups=[], cwd="/")
        nob = [self.name("/tmp", "nobody%d" % i) for i in range(2)]
        tg, _ = self.start_audit(["--format", "json", "--duration", "60", "--policy", pol])
        self.addCleanup(tg.stderr.close)
        self.addCleanup(tg.stdout.close)
        err_lines = queue.Queue()
        threading.Thread(target=lambda: [err_lines.put(l) for l in tg.stderr],
                         daemon=True).start()
        out = []
        t_out = threading.Thread(target=lambda: out.append(tg.stdout.read()), daemon=True)
        t_out.start()
        create = functools.partial(subprocess.run, check=True, env=ENV, umask=UMASK)
        create([BASH, "-c", 'echo x > "$0"', before])
        as_nobody([BASH, "-c", 'echo x > "$0"', nob[0]])
        with open(pol, "w") as f:
            f.write("version: 1\nshared_dirs:\n%s\nexceptions:\n  - rule: \"*\"\n    user: root\n"
                    "    reason: \"test: must never apply\"\n"
                    % "".join("  - %s/d%04d\n" % (many, i) for i in range(1025)))
        tg.send_signal(signal.SIGHUP)
        deadline, seen = time.time() + 30, []
        while not any(b"policy reload refused" in l for l in seen):
            self.assertLess(time.time(), deadline, seen)
            try:
                seen.append(err_lines.get(timeout=0.2))
            except queue.Empty:
                pass
        self.assertTrue(any(b"the kernel holds at most 1024" in l for l in seen), seen)
        create([BASH, "-c", 'echo x > "$0"', after])
        as_nobody([BASH, "-c", 'echo x > "$0"', nob[1]])
        time.sleep(1)
        tg.send_signal(signal.SIGINT)
        self.assertEqual(tg.wait(timeout=30), 0)
        t_out.join(10)
        res = Result(0, out[0] if out else b"", b"", time.time() - 60, time.time())
        self.parse_json(res, res.out)
        self.assertEqual(res.rules(before), ["loose-mode", "nonexclusive-create"])
        self.assertEqual(res.rules(after), ["loose-mode", "nonexclusive-create"])
        self.assertEqual(res.summary["policy_reloads_refused"], 1)
        self.assertEqual([res.rules(p) for p in nob], [[], []])
        (x,) = res.summary["exceptions"]
        self.assertEqual((x["applied_in"], x["suppressed_kernel"]), ("kernel", 2), x)
        self.assertEqual(res.summary["suppressed_by_earlier_policies"], 0, res.summary)


class ExceptionExpiry(PolicyFiles):
    """Exceptions with an owner and an expiry: an expired one applies nowhere, in user space or
    in the kernel, including one that expires while tmpguard runs."""

    @staticmethod
    def rfc3339(t):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    def test_expired_exceptions_stop_applying_and_future_ones_apply(self):
        old, new = self.name("/tmp", "old"), self.name("/tmp", "new")
        k_old, k_new = self.name("/tmp", "kold"), self.name("/tmp", "knew")
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            "  - rule: nonexclusive-create\n"
            "    path: /tmp/tg-old-*\n"
            "    reason: \"test: an old lock file\"\n"
            "    owner: \"storage team <storage@example.com>\"\n"
            "    expires: 2020-01-31\n"
            "  - rule: nonexclusive-create\n"
            "    path: /tmp/tg-new-*\n"
            "    reason: \"test: a current lock file\"\n"
            "    owner: ops\n"
            "    expires: 2099-12-31\n"
            "  - rule: \"*\"\n"
            "    exe: %s\n"
            "    reason: \"test: decided in the kernel, expired\"\n"
            "    expires: \"2020-01-31T12:00:00+02:00\"\n"
            "  - rule: \"*\"\n"
            "    exe: %s\n"
            "    reason: \"test: decided in the kernel, current\"\n"
            "    expires: \"2099-12-31T23:59:59Z\"\n" % (fixture("open_trunc"),
                                                      fixture("open_syscall")))
        res = self.run_cmd([BASH, "-c", 'echo x > "$0"; echo x > "$1"; "$2" "$3"; "$4" "$5"',
                            old, new, fixture("open_trunc"), k_old, fixture("open_syscall"),
                            k_new], opts=["--policy", pol])
        self.assertOk(res)
        # expired: reported as if the exception were not written; current: hidden
        self.assertEqual(res.rules(old), ["loose-mode", "nonexclusive-create"], res.describe())
        self.assertEqual(res.rules(new), ["loose-mode"], res.describe())
        self.assertEqual(res.rules(k_old), ["nonexclusive-create"], res.describe())
        self.assertEqual(res.rules(k_new), [], res.describe())
        # the expired kernel exception was never installed: its create reached user space
        self.assertEqual(res.summary["events"]["excepted_in_kernel"], 1, res.summary["events"])
        err = res.err.decode()
        self.assertIn("tmpguard: exception line 3 (test: an old lock file) expired at "
                      "2020-02-01T00:00:00Z: no longer applied\n", err)
        self.assertIn("tmpguard: exception line 13 (test: decided in the kernel, expired) "
                      "expired at 2020-01-31T10:00:00Z: no longer applied\n", err)
        self.assertNotIn("tmpguard: exception line 8 (", err)
        self.assertNotIn("tmpguard: exception line 17 (", err)
        xs = res.summary["exceptions"]
        self.assertEqual([x["expired"] for x in xs], [True, False, True, False], xs)
        self.assertEqual([x["applied_in"] for x in xs], ["user", "user", "kernel", "kernel"], xs)
        self.assertEqual([x["suppressed_user"] for x in xs], [0, 1, 0, 0], xs)
        self.assertEqual([x["suppressed_kernel"] for x in xs], [0, 0, 0, 1], xs)
        self.assertEqual([x.get("owner") for x in xs],
                         ["storage team <storage@example.com>", "ops", None, None], xs)
        self.assertEqual([x["expires"] for x in xs],
                         ["2020-02-01T00:00:00.000000000Z", "2100-01-01T00:00:00.000000000Z",
                          "2020-01-31T10:00:00.000000000Z", "2099-12-31T23:59:59.000000000Z"])
        # the session record lists them the same way, from the start
        self.assertEqual([x["expired"] for x in res.records[0]["exceptions"]],
                         [True, False, True, False])

    def test_an_exception_that_expires_mid_session_stops_applying_in_the_kernel_too(self):
        # Two exceptions expire a few seconds after start: one decided in user space (by path)
        # and one in the kernel (by exe, whose creates never reach the ring buffer while it
        # holds). Creates before the expiry are hidden; after it (once tmpguard says so) both
        # are reported, so the kernel's copy was replaced without the expired exception.
        before, after = self.name("/tmp", "xb"), self.name("/tmp", "xa")
        k_before, k_after = self.name("/tmp", "kb"), self.name("/tmp", "ka")
        expiry = int(time.time()) + 10
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            "  - rule: nonexclusive-create\n"
            "    path: /tmp/tg-x?-%s\n"
            "    reason: \"test: user space, expires soon\"\n"
            "    owner: \"test suite\"\n"
            "    expires: \"%s\"\n"
            "  - rule: \"*\"\n"
            "    exe: %s\n"
            "    reason: \"test: kernel, expires soon\"\n"
            "    expires: \"%s\"\n" % (self.tok, self.rfc3339(expiry), fixture("open_trunc"),
                                      self.rfc3339(expiry)))
        tg, _ = self.start_audit(["--format", "json", "--duration", "60", "--policy", pol])
        self.addCleanup(tg.stderr.close)
        self.addCleanup(tg.stdout.close)
        err_lines = queue.Queue()
        threading.Thread(target=lambda: [err_lines.put(l) for l in tg.stderr],
                         daemon=True).start()
        out = []
        t_out = threading.Thread(target=lambda: out.append(tg.stdout.read()), daemon=True)
        t_out.start()
        create = functools.partial(subprocess.run, check=True, env=ENV, umask=UMASK)
        create([BASH, "-c", 'echo x > "$0"', before])
        create([fixture("open_trunc"), k_before], stderr=subprocess.DEVNULL)
        self.track(k_before)
        margin = expiry - time.time()
        self.assertGreater(margin, 1, "start-up and the first creates took until %.1f s before "
                           "the expiry: too late to test it" % margin)
        seen, wanted = [], {b"exception line 3 (", b"exception line 8 ("}
        deadline = expiry + 30
        while wanted:
            self.assertLess(time.time(), deadline, "no expiry lines: %r" % seen)
            try:
                line = err_lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            for w in list(wanted):
                if w in line and b"expired at %s: no longer applied" % (
                        self.rfc3339(expiry).encode()) in line:
                    wanted.discard(w)
        self.assertGreaterEqual(time.time(), expiry)
        create([BASH, "-c", 'echo x > "$0"', after])
        create([fixture("open_trunc"), k_after], stderr=subprocess.DEVNULL)
        self.track(k_after)
        time.sleep(1)
        tg.send_signal(signal.SIGINT)
        self.assertEqual(tg.wait(timeout=30), 0)
        t_out.join(10)
        res = Result(0, out[0] if out else b"", b"", time.time() - 60, time.time())
        self.parse_json(res, res.out)
        self.assertEqual(res.rules(before), ["loose-mode"], seen)
        self.assertEqual(res.rules(k_before), [], seen)
        self.assertEqual(res.rules(after), ["loose-mode", "nonexclusive-create"], seen)
        self.assertEqual(res.rules(k_after), ["nonexclusive-create"], seen)
        self.assertEqual(res.summary["events"]["excepted_in_kernel"], 1)
        self.assertEqual(res.summary["policy_reloads"], 0)
        # each exception keeps what it hid before it expired, the kernel's count included
        xs = res.summary["exceptions"]
        self.assertEqual([(x["applied_in"], x["expired"]) for x in xs],
                         [("user", True), ("kernel", True)], xs)
        self.assertEqual([(x["suppressed_user"], x["suppressed_kernel"]) for x in xs],
                         [(1, 0), (0, 1)], xs)
        self.assertEqual(xs[0]["owner"], "test suite")
        self.assertEqual([x["expired"] for x in res.records[0]["exceptions"]], [False, False])

    def test_policy_check_lists_owners_and_expiry_and_warns(self):
        soon = self.rfc3339(time.time() + 10 * 86400)
        pol = self.policy(
            "version: 1\n"
            "exceptions:\n"
            "  - { rule: nonexclusive-create, path: /tmp/a-*, reason: a, owner: \"team a\",\n"
            "      expires: 2020-01-31 }\n"
            "  - { rule: nonexclusive-create, path: /tmp/b-*, reason: b, expires: \"%s\" }\n"
            "  - { rule: nonexclusive-create, path: /tmp/c-*, reason: c, owner: team c,\n"
            "      expires: 2099-12-31 }\n"
            "  - { rule: nonexclusive-create, path: /tmp/d-*, reason: d }\n" % soon)
        res = self.tg(["policy", "check", pol], parse=False)
        # valid: an expired exception is a warning, the policy loads and applies the others
        self.assertEqual(res.rc, 0, res.describe())
        out, err = res.out.decode(), res.err.decode()
        self.assertIn("#   exception at line 3: EXPIRED at 2020-02-01T00:00:00Z, no longer "
                      "applied; owner: team a\n", out)
        self.assertRegex(out, r"#   exception at line 5: applied in user space; owner: none; "
                              r"expires %s \(in 10 days\)\n" % re.escape(soon))
        self.assertRegex(out, r"#   exception at line 6: applied in user space; owner: team c; "
                              r"expires 2100-01-01T00:00:00Z \(in \d+ days\)\n")
        self.assertIn("#   exception at line 8: applied in user space; owner: none; never "
                      "expires\n", out)
        self.assertIn("    expires: \"2020-02-01T00:00:00Z\"  # the end of 2020-01-31 UTC\n", out)
        self.assertTrue(out.endswith("# %s: valid; 1 exception expired (no longer applied), "
                                     "1 expires within 30 days\n" % pol), out)
        self.assertIn("tmpguard: warning: exception line 3 expired at 2020-02-01T00:00:00Z and "
                      "is no longer applied; renew its expires or remove it (owner: team a)\n",
                      err)
        self.assertIn("tmpguard: note: exception line 5 expires at %s (in 10 days; owner: "
                      "none)\n" % soon, err)
        # a malformed expires is an error with its place, like any other
        bad = self.policy("version: 1\nexceptions:\n  - rule: nonexclusive-create\n"
                          "    path: /tmp/a-*\n    reason: a\n    expires: 2026-02-30\n")
        res = self.tg(["policy", "check", bad], parse=False)
        self.assertEqual(res.rc, 2, res.describe())
        self.assertIn("%s:6:14: bad expires '2026-02-30'; expected a date YYYY-MM-DD" % bad,
                      res.err.decode())


# ------------------------------------------------------------------------------------------
# Enforcement on a kernel without BPF LSM (the host); tests/vm/ covers the BPF LSM itself


DENY_NONEXCL = ("version: 1\nrules:\n  nonexclusive-create: { action: deny }\n"
                "  loose-mode: { enabled: false }\n")


@functools.lru_cache(maxsize=None)
def lsm_available():
    p = subprocess.run([TMPGUARD, "run", "--enforce", "--", "/bin/true"], env=ENV,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    return p.returncode == 0


class EnforceFallback(PolicyFiles):
    def setUp(self):
        super().setUp()
        if lsm_available():
            self.skipTest("this kernel runs BPF LSM programs: tests/vm covers enforcement")

    def test_enforce_refuses_to_start_without_lsm(self):
        p = self.name("/tmp", "refuse")
        res = self.tg(["run", "--enforce", "--policy", self.policy(DENY_NONEXCL), "--",
                       fixture("open_trunc"), p], parse=False)
        self.assertEqual(res.rc, 1, res.describe())
        self.assertIn(b"refuses BPF LSM programs", res.err)
        self.assertIn(b"--enforce-fallback=kill", res.err)
        self.assertFalse(os.path.exists(p), "COMMAND ran although enforcement was refused")

    def test_fallback_kills_after_the_create(self):
        p = self.name("/tmp", "fallback")
        res = self.run_cmd([BASH, "-c", 'echo x > "$0"; echo survived >&2', p],
                           opts=["--enforce", "--enforce-fallback=kill", "--policy",
                                 self.policy(DENY_NONEXCL)])
        self.assertEqual(res.rc, 128 + 9, res.describe())
        self.assertNotIn(b"survived", res.err)
        self.assertTrue(os.path.exists(p), "the fallback kills after the fact: the file exists")
        fs = self.assertFindings(res, p, ["nonexclusive-create"])
        self.assertEqual(fs["nonexclusive-create"]["action"], "killed")
        self.assertEqual(res.summary["events"]["killed"], 1)
        self.assertIn(b"after the file exists", res.err)

    def test_fallback_spares_secure_patterns_and_alert_rules(self):
        res = self.run_cmd([BASH, "-c",
                            'f=$(mktemp); echo x > "$f"; rm "$f"; umask 077; '
                            'echo y > /tmp/tg-alert-only.$$; rm /tmp/tg-alert-only.$$'],
                           opts=["--enforce", "--enforce-fallback=kill", "--policy",
                                 self.policy("version: 1\nrules:\n"
                                             "  symlink-follow: { action: deny }\n")])
        self.assertOk(res)
        self.assertEqual([f["action"] for f in res.findings], ["alert"])
        self.assertEqual(res.summary["events"]["killed"], 0)

    def test_enforce_and_dry_run_exclude_each_other(self):
        res = self.tg(["run", "--enforce", "--dry-run", "--", "/bin/true"], parse=False)
        self.assertEqual(res.rc, 2, res.describe())
        res = self.tg(["run", "--enforce-fallback=kill", "--", "/bin/true"], parse=False)
        self.assertEqual(res.rc, 2, res.describe())


# ------------------------------------------------------------------------------------------
# Hostile names


class LongPaths(TgTestCase):
    """Paths and names at the kernel's limits: reported whole, never silently cut."""

    def test_longest_path_and_dirfd_chain_past_path_max(self):
        root = self.private_dir()
        res = self.run_fixture("deep_path", root)
        self.assertOk(res)
        (_, rel), (_, name) = res.reports
        rel, name = rel.decode(), name.decode()
        self.assertEqual(len(rel), 4095)  # PATH_MAX - 1: the longest path open() takes
        self.assertEqual(len(name), 255)  # NAME_MAX
        self.assertEqual(sorted((g["path"], g["rule"]) for g in res.findings),
                         sorted([(rel, "nonexclusive-create"), (name, "nonexclusive-create")]),
                         res.describe())
        f = self.assertFindings(res, rel, ["nonexclusive-create"], only=False)[
            "nonexclusive-create"]
        ctx = json.dumps(f)[:400]
        self.assertFalse(f["path_truncated"], ctx)
        self.assertEqual(f["resolved_name"], "x" * 255, ctx)
        self.assertEqual(f["base_dir"], root, ctx)
        self.assertEqual(f["base_dir_status"], "ok", ctx)
        self.assertTrue(f["dir_shared"], ctx)
        # Past PATH_MAX, reached through dirfds: the name as given, and an explicit word on
        # the directory, whose path no tool can spell.
        deep = [g for g in res.findings if g["path"] == name]
        self.assertEqual([g["rule"] for g in deep], ["nonexclusive-create"], res.describe())
        g = deep[0]
        self.assertFalse(g["path_truncated"])
        self.assertEqual(g["resolved_name"], name)
        self.assertIsNone(g["base_dir"])
        self.assertEqual(g["base_dir_status"], "too-long")
        self.assertNotEqual(g["dfd"], -100)
        self.assertTrue(g["dir_shared"])

    def test_absolute_path_has_no_base(self):
        p = self.name("/tmp", "abs")
        res = self.run_fixture("open_trunc", p)
        f = self.assertFindings(res, p, ["nonexclusive-create"])["nonexclusive-create"]
        self.assertIsNone(f["base_dir"])
        self.assertEqual(f["base_dir_status"], "absolute")


class HostileNames(TgTestCase):
    def hostile(self):
        name = b"tg-hostile-" + self.tok.encode() + b"-\n\"q\"\x1b[31m\xff\t\r"
        return self.track(b"/tmp/" + name)

    def test_json_lines_stay_valid(self):
        p = self.hostile()
        res = self.run_fixture("open_trunc", p)  # parse_json: every line valid JSON
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        self.assertNotIn(b"\x1b", res.out)
        self.assertFalse([c for c in res.out if c < 0x20 and c != 0x0A],
                         "raw control bytes in JSON output: %r" % res.out)
        self.assertEqual(res.out.count(b"\n"), len(res.records))
        hits = [f for f in res.findings if self.tok in f["path"]]
        self.assertEqual(sorted(f["rule"] for f in hits), ["nonexclusive-create"],
                         res.describe())
        self.assertIn("tg-hostile-" + self.tok, hits[0]["resolved_name"])

    def test_text_output_has_no_raw_control_bytes(self):
        p = self.hostile()
        # The fixture's own stderr would echo the raw name: silence it, exec keeps the pid.
        res = self.tg(["run", "--format", "text", "--", SH, "-c", 'exec "$@" 2>/dev/null',
                       "sh", fixture("open_trunc"), p], fmt="text")
        self.assertOk(res)
        self.assertTrue(os.path.exists(p))
        both = res.out + res.err
        self.assertIn(("tg-hostile-" + self.tok).encode(), both,
                      "the finding is not in the text output\n" + res.describe())
        for stream, data in (("stdout", res.out), ("stderr", res.err)):
            bad = sorted({c for c in data if (c < 0x20 and c not in (0x09, 0x0A)) or c == 0x7F})
            self.assertEqual(bad, [], "raw control bytes on %s: %r" % (stream, data))
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as e:
                self.fail("%s is not valid UTF-8 (%s): %r" % (stream, e, data))


if __name__ == "__main__":
    sys.exit(main(prog="test_live"))
