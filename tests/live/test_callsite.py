#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Call sites (issue 18): the line of code that made a finding's create.

The processes are gone when their records are read (tmpguard is stopped meanwhile): the call
site comes from what the kernel captured with the record (registers, a copy of the top of the
stack, the mappings) and the files those mappings name. The C, C++ and Rust fixtures are built
with -g and without frame pointers, so their call sites come from DWARF unwinding, past libc and
libstdc++ for C++, past std (linked into the program) for Rust. Without debug info (a
stripped copy) the record still names the module, its build id and the offset, and says what is
missing and how to get it. Call sites are on for run and off for audit (--call-sites); --no-call-sites,
which overrides it, gives call_site null.

Shell: a bash script's creates name the script and the line, which the kernel read from bash's
memory at the create (its line_number): at the top, in a function, and, for a file the script
sourced, the line of that file, which is said and not placed in the script; dash's line is not
known; a program a bash script started gets its parent's line as the kernel read it at the
program's execve (the line that started it, however far the parent has moved on when the record
is read), and, when the program exec'd again, the parent's line read from its memory as the
record is read (a fallback that says so)."""

import json
import os
import shutil
import subprocess
import sys
import time

from tmpguard_test import ENV, TgTestCase, fixture, main

FIXTURES_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
# Every finding printed (no rate limit to speak of): each one's call site is checked.
POLICY_CI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "policies",
                         "ci.yaml")


def marker_line(src="callsite_fopen.c", marker="CALLSITE-LINE"):
    """The line of the fixture's source that creates the file (its marker)."""
    path = os.path.join(FIXTURES_SRC, src)
    with open(path) as fh:
        for i, line in enumerate(fh, 1):
            if marker in line:
                return i
    raise AssertionError("no CALLSITE-LINE marker in " + path)


class NativeCallSites(TgTestCase):

    def create_with(self, exe, args=()):
        """exe creates a file in /tmp while tmpguard is stopped: the finding of that file."""
        p = self.name("/tmp", "callsite")
        res = self.record_while_stopped(lambda: self.assertEqual(subprocess.run(
            [exe, p], env=ENV, timeout=30, capture_output=True).returncode, 0),
            ["--call-sites"] + list(args))
        mine = [f for f in res.findings if f["path"] == p]
        self.assertTrue(mine, res.describe())
        return mine[0]

    def test_inlined_functions_are_frames_of_their_own(self):
        # open_report() inlined into save_report() inlined into main(), open() itself glibc's
        # inlined _FORTIFY_SOURCE wrapper: one frame each at the same address, innermost
        # first, each at its own line; the call site is open_report()'s open() line.
        src = "callsite_inline.c"
        f = self.create_with(fixture("callsite_inline"))
        ctx = json.dumps(f, indent=1)
        cs = f["call_site"]
        self.assertIsNotNone(cs, ctx)
        self.assertEqual((os.path.basename(cs["file"]), cs["line"], cs["function"]),
                         (src, marker_line(src, "INLINE-OPEN-LINE"), "open_report"), ctx)
        mine = [fr for fr in f["stack"] if fr["module"] == cs["module"]]
        got = [(fr["function"], os.path.basename(fr["file"]), fr["line"], fr["inlined"],
                fr["runtime"]) for fr in mine]
        self.assertEqual(got[:4], [
            ("open", "fcntl2.h", got[0][2], True, True),
            ("open_report", src, marker_line(src, "INLINE-OPEN-LINE"), True, False),
            ("save_report", src, marker_line(src, "INLINE-SAVE-LINE"), True, False),
            ("main", src, marker_line(src, "INLINE-MAIN-LINE"), False, False)], ctx)
        self.assertEqual(len({fr["offset"] for fr in mine[:4]}), 1, ctx)

    def test_c_without_frame_pointers_gone_before_its_record_is_read(self):
        f = self.create_with(fixture("callsite_fopen"))
        ctx = json.dumps(f, indent=1)
        cs = f["call_site"]
        self.assertIsNotNone(cs, ctx)
        self.assertEqual(cs["kind"], "native", ctx)
        self.assertEqual(os.path.basename(cs["file"]), "callsite_fopen.c", ctx)
        self.assertEqual(cs["line"], marker_line(), ctx)
        self.assertEqual(cs["function"], "write_report", ctx)
        self.assertEqual(cs["module"], os.path.realpath(fixture("callsite_fopen")), ctx)
        self.assertRegex(cs["build_id"], "^[0-9a-f]{40}$", ctx)
        self.assertNotIn("missing", cs, ctx)
        # The stack: libc's frames first, marked runtime; the call site's caller is main.
        stack = f["stack"]
        site = next(i for i, fr in enumerate(stack) if not fr["runtime"])
        self.assertEqual(stack[site]["function"], "write_report", ctx)
        self.assertTrue(all(fr["runtime"] for fr in stack[:site]), ctx)
        self.assertIn("main", [fr["function"] for fr in stack[site + 1:]], ctx)
        # JSON's advice is the language's as such (reports tabulate it); advice_at, like the
        # text format, names the line first.
        self.assertNotIn("`", f["advice"], ctx)
        self.assertTrue(f["advice_at"].startswith("`%s:%d in write_report()`: " % (
            os.path.basename(cs["file"]), marker_line())), ctx)
        self.assertTrue(f["advice_at"].endswith(f["advice"]), ctx)

    def test_go_gone_before_its_record_is_read(self):
        exe = fixture("callsite_go")
        self.require(os.path.exists(exe), "no Go fixture: golang-go is not installed")
        f = self.create_with(exe)
        ctx = json.dumps(f, indent=1)
        cs = f["call_site"]
        self.assertIsNotNone(cs, ctx)
        # os.Create is inlined there: the line is main.writeReport's own, past the runtime,
        # syscall and os frames.
        self.assertEqual(os.path.basename(cs["file"]), "callsite_go.go", ctx)
        self.assertEqual(cs["line"], marker_line("go/callsite_go.go"), ctx)
        self.assertEqual(cs["function"], "main.writeReport", ctx)
        runtime = [fr["function"] for fr in f["stack"] if fr["runtime"]]
        self.assertTrue(any(fn.startswith("syscall.") for fn in runtime), ctx)
        self.assertTrue(any(fn.startswith("os.") for fn in runtime), ctx)

    def native_site(self, exe, src, function):
        """exe's finding, made with the process gone: its call site is src's marker line, in
        function, in exe itself, with only runtime frames before it. Returns the finding, the
        call site's index in the stack, and the context to print."""
        f = self.create_with(exe)
        ctx = json.dumps(f, indent=1)
        cs = f["call_site"]
        self.assertIsNotNone(cs, ctx)
        self.assertEqual(os.path.basename(cs["file"]), os.path.basename(src), ctx)
        self.assertEqual(cs["line"], marker_line(src), ctx)
        self.assertEqual(cs["function"], function, ctx)
        self.assertEqual(cs["module"], os.path.realpath(exe), ctx)
        site = next(i for i, fr in enumerate(f["stack"]) if not fr["runtime"])
        self.assertTrue(all(fr["runtime"] for fr in f["stack"][:site]), ctx)
        return f, site, ctx

    def test_cxx_ofstream_gone_before_its_record_is_read(self):
        exe = fixture("callsite_cxx")
        self.require(os.path.exists(exe), "no C++ fixture: g++ is not installed")
        # std::ofstream opens through libstdc++ (basic_filebuf::open, then libc's fopen): the
        # call site is the program's line past both, its name demangled.
        f, site, ctx = self.native_site(exe, "cxx/callsite_cxx.cpp", "report::write_report")
        stack = f["stack"]
        self.assertTrue(any(os.path.basename(fr["module"]).startswith("libstdc++.so")
                            for fr in stack[:site]), ctx)
        self.assertIn("main", [fr["function"] for fr in stack[site + 1:]], ctx)

    def test_rust_gone_before_its_record_is_read(self):
        exe = fixture("callsite_rust")
        self.require(os.path.exists(exe), "no Rust fixture: rustc is not installed")
        # std is linked into the program: its frames (File::create, OpenOptions::_open...) are
        # the program's module too, and are skipped by their (demangled) names.
        f, site, ctx = self.native_site(exe, "rust/callsite_rust.rs",
                                        "callsite_rust::write_report")
        stack = f["stack"]
        std = [fr["function"] for fr in stack[:site] if fr["module"] == f["call_site"]["module"]]
        self.assertTrue(all(fn.lstrip("<").startswith(("std::", "core::", "alloc::"))
                            for fn in std), ctx)
        self.assertIn("std::fs::OpenOptions::_open", std, ctx)
        self.assertIn("callsite_rust::main", [fr["function"] for fr in stack[site + 1:]], ctx)

    def test_without_debug_info_says_what_is_missing(self):
        strip = shutil.which("strip")
        self.require(strip, "strip is not installed (binutils)")
        d = self.private_dir()
        exe = os.path.join(d, "stripped")
        shutil.copy(fixture("callsite_fopen"), exe)
        subprocess.run([strip, "--strip-all", exe], check=True)
        f = self.create_with(exe)
        ctx = json.dumps(f, indent=1)
        cs = f["call_site"]
        self.assertIsNotNone(cs, ctx)
        self.assertEqual(cs["module"], exe, ctx)
        self.assertRegex(cs["build_id"], "^[0-9a-f]{40}$", ctx)
        self.assertRegex(cs["offset"], "^0x[0-9a-f]+$", ctx)
        self.assertEqual(cs["file"], "", ctx)
        self.assertIsNone(cs["line"], ctx)
        for word in (cs["build_id"], cs["offset"], "-dbgsym", "-g"):
            self.assertIn(word, cs["missing"], ctx)
        self.assertEqual(f["rule"], "nonexclusive-create", ctx)

    def test_a_stack_seen_before_goes_as_a_reference(self):
        # One thread creates from write_a() and write_b() in turn: the same instruction, the
        # same stack pointer, only the callers' return addresses differ, and the loop's counter
        # changes in the saved registers. Once a stack is resolved, the kernel sends the next
        # create's from the same place as a reference to it (call_sites_reused), not a 13 KiB
        # copy; each finding must still name its own line.
        n = 40
        prefix = self.name("/tmp", "cs-loop")
        for i in range(n):
            self.track("%s.a.%d" % (prefix, i))
            self.track("%s.b.%d" % (prefix, i))
        res = self.run_cmd([fixture("callsite_loop"), prefix, str(n), "20000"],
                           opts=["--call-sites", "--policy", POLICY_CI])
        self.assertEqual(res.rc, 0, res.describe())
        lines = {"a": marker_line("callsite_loop.c", "CALLSITE-A"),
                 "b": marker_line("callsite_loop.c", "CALLSITE-B")}
        seen = {"a": 0, "b": 0}
        for f in res.findings:
            if f["rule"] != "nonexclusive-create" or not f["path"].startswith(prefix + "."):
                continue
            which = f["path"][len(prefix) + 1]
            cs = f["call_site"]
            ctx = json.dumps(f, indent=1)
            self.assertIsNotNone(cs, ctx)
            self.assertEqual(cs["function"], "write_" + which, ctx)
            self.assertEqual(cs["line"], lines[which], ctx)
            self.assertIn("main", [fr["function"] for fr in f["stack"]], ctx)
            seen[which] += 1
        self.assertEqual(seen, {"a": n, "b": n}, res.describe())
        ev = res.summary["events"]
        self.assertEqual(ev["call_sites_lost"], 0, json.dumps(ev))
        # The first create of each call site is copied (and maybe a few more while it is being
        # resolved); the rest are references.
        self.assertGreaterEqual(ev["call_sites_reused"], n, json.dumps(ev))

    def test_run_names_the_line_by_default(self):
        # run (a CI gate) captures call sites unless told not to; audit does not (below).
        p = self.name("/tmp", "callsite-run")
        res = self.run_fixture("callsite_fopen", p)
        mine = [f for f in res.findings if f["path"] == p]
        self.assertTrue(mine, res.describe())
        cs = mine[0]["call_site"]
        self.assertIsNotNone(cs, json.dumps(mine[0]))
        self.assertEqual(cs["line"], marker_line(), json.dumps(mine[0]))
        self.assertEqual(cs["function"], "write_report", json.dumps(mine[0]))
        p2 = self.name("/tmp", "callsite-run-no")
        res = self.run_fixture("callsite_fopen", p2, opts=["--no-call-sites"])
        mine = [f for f in res.findings if f["path"] == p2]
        self.assertTrue(mine, res.describe())
        self.assertIsNone(mine[0]["call_site"], json.dumps(mine[0]))
        self.assertNotIn("stack", mine[0])

    def test_off_by_default(self):
        p = self.name("/tmp", "callsite-default")
        res = self.record_while_stopped(lambda: subprocess.run(
            [fixture("callsite_fopen"), p], env=ENV, timeout=30, check=True))
        mine = [f for f in res.findings if f["path"] == p]
        self.assertTrue(mine, res.describe())
        self.assertIsNone(mine[0]["call_site"], json.dumps(mine[0]))
        self.assertIsNone(mine[0]["advice_at"], json.dumps(mine[0]))

    def test_no_call_sites(self):
        f = self.create_with(fixture("callsite_fopen"), ["--no-call-sites"])  # overrides
        self.assertIsNone(f["call_site"], json.dumps(f))
        self.assertNotIn("stack", f)

    def test_no_call_sites_for_interpreters_either(self):
        # --no-call-sites switches every kind off: a shell's script and CPython's frames too.
        sh, py = self.name("/tmp", "nocs-sh"), self.name("/tmp", "nocs-py")
        res = self.run_cmd(["/bin/sh", "-c", 'echo x > "$0"; /usr/bin/python3 -c '
                            '"open(\'%s\', \'w\')"' % py, sh], opts=["--call-sites", "--no-call-sites"])
        self.assertEqual(res.rc, 0, res.describe())
        for p in (sh, py):
            fs = res.with_path(p)
            self.assertTrue(fs, res.describe())
            self.assertEqual([f["call_site"] for f in fs], [None] * len(fs), res.describe())


BASH_SCRIPT = """#!/bin/bash
# a build step: $1 names the files it leaves in /tmp
out=$1
echo x > "$out.top"  # TOP-LINE
write() {
	echo y > "$out.fn"  # FN-LINE
}
write
. "$(dirname "$0")/lib.sh"
"""
BASH_LIB = """# sourced
echo z > "$out.src"  # SRC-LINE
"""


def line_of(text, word):
    return next(i for i, line in enumerate(text.splitlines(), 1) if word in line)


class ShellCallSites(TgTestCase):

    def script(self, text=BASH_SCRIPT):
        d = self.private_dir()
        path = os.path.join(d, "step.sh")
        for name, body in (("step.sh", text), ("lib.sh", BASH_LIB)):
            with open(os.path.join(d, name), "w") as fh:
                fh.write(body)
        os.chmod(path, 0o755)
        return path

    def test_bash_line_gone_before_its_record_is_read(self):
        script, out = self.script(), self.name("/tmp", "bashline")
        for suffix in (".top", ".fn", ".src"):
            self.track(out + suffix)
        res = self.record_while_stopped(lambda: self.assertEqual(subprocess.run(
            ["/usr/bin/bash", script, out], env=ENV, timeout=30).returncode, 0),
            ["--call-sites"])

        def site(suffix):
            mine = [f for f in res.with_path(out + suffix) if f["rule"] == "nonexclusive-create"]
            self.assertEqual(len(mine), 1, res.describe())
            cs = mine[0]["call_site"]
            self.assertIsNotNone(cs, json.dumps(mine[0]))
            self.assertEqual((cs["kind"], cs["file"], cs["module"]),
                             ("shell", script, "/usr/bin/bash"), json.dumps(cs))
            return cs

        cs = site(".top")
        self.assertEqual(cs["line"], line_of(BASH_SCRIPT, "TOP-LINE"), json.dumps(cs))
        self.assertNotIn("missing", cs)  # complete
        cs = site(".fn")
        self.assertEqual(cs["line"], line_of(BASH_SCRIPT, "FN-LINE"), json.dumps(cs))
        self.assertIn("in a shell function", cs["missing"])
        # the sourced file's line is not the script's: said, not placed
        cs = site(".src")
        self.assertIsNone(cs["line"], json.dumps(cs))
        self.assertIn("line %d of a file the script sourced" % line_of(BASH_LIB, "SRC-LINE"),
                      cs["missing"])

    def test_dash_line_not_known(self):
        dash = shutil.which("dash")
        self.require(dash, "dash is not installed")
        script, out = self.script(), self.name("/tmp", "dashline")
        for suffix in (".top", ".fn", ".src"):
            self.track(out + suffix)
        res = self.run_cmd([dash, script, out], opts=["--call-sites"])
        self.assertEqual(res.rc, 0, res.describe())
        mine = [f for f in res.with_path(out + ".top") if f["rule"] == "nonexclusive-create"]
        self.assertEqual(len(mine), 1, res.describe())
        cs = mine[0]["call_site"]
        self.assertEqual((cs["file"], cs["line"]), (script, None), json.dumps(cs))
        self.assertIn("line not known", cs["missing"])

    def test_child_gets_its_parent_bash_line_later(self):
        # env exec's touch: the image that creates is not the one exec'd from bash's child, so
        # the kernel gives no line; the fallback reads the parent's line from its memory as the
        # record is read, while the parent waits on the same line
        text = '#!/bin/bash\n\nenv touch "$1.child"; sleep 2  # CHILD-LINE\n'
        script, out = self.script(text), self.name("/tmp", "bashchild")
        self.track(out + ".child")
        res = self.run_cmd([script, out], opts=["--call-sites"])
        self.assertEqual(res.rc, 0, res.describe())
        mine = [f for f in res.with_path(out + ".child") if f["rule"] == "nonexclusive-create"]
        self.assertEqual(len(mine), 1, res.describe())
        cs = mine[0]["call_site"]
        self.assertEqual((cs["kind"], cs["file"], cs["line"]),
                         ("shell", script, line_of(text, "CHILD-LINE")), json.dumps(cs))
        self.assertIn("made by touch", cs["missing"])
        self.assertIn("when tmpguard read the record", cs["missing"])

    def test_child_line_read_at_its_exec(self):
        # touch creates on CHILD-LINE; the script goes on and is waiting on LATE-LINE when the
        # records are read (tmpguard stopped meanwhile): the kernel read touch's line at its
        # execve. A second exec (env; bash -c, whose own line is its text's line 1) gets no
        # line from the kernel: the fallback's later line, said to be so, never a wrong one
        # given as exact.
        text = ('#!/bin/bash\n'
                'out=$1\n'
                '\n'
                'touch "$out.child"  # CHILD-LINE\n'
                'true\n'
                'env touch "$out.env"  # ENV-LINE\n'
                'bash -c \'exec touch "$0"\' "$out.exec2"  # EXEC2-LINE\n'
                'echo moved on >/dev/null\n'
                'sleep 6  # LATE-LINE\n')
        script, out = self.script(text), self.name("/tmp", "bashexec")
        for suffix in (".child", ".env", ".exec2"):
            self.track(out + suffix)
        procs = []

        def run():
            procs.append(subprocess.Popen([script, out], env=ENV))
            deadline = time.time() + 20
            while time.time() < deadline and not self.child_named(procs[0].pid, "sleep"):
                time.sleep(0.05)
            self.assertTrue(self.child_named(procs[0].pid, "sleep"), "the script never slept")

        try:
            res = self.record_while_stopped(run, ["--call-sites"])
        finally:
            for p in procs:
                p.kill()
                p.wait()

        def site(suffix):
            mine = [f for f in res.with_path(out + suffix) if f["rule"] == "nonexclusive-create"]
            self.assertEqual(len(mine), 1, res.describe())
            cs = mine[0]["call_site"]
            self.assertIsNotNone(cs, json.dumps(mine[0]))
            self.assertEqual((cs["kind"], cs["file"]), ("shell", script), json.dumps(cs))
            return cs

        cs = site(".child")
        self.assertEqual(cs["line"], line_of(text, "CHILD-LINE"), json.dumps(cs))
        self.assertIn("made by touch", cs["missing"])
        self.assertNotIn("when tmpguard read the record", cs["missing"])
        for suffix, word in ((".env", "ENV-LINE"), (".exec2", "EXEC2-LINE")):
            cs = site(suffix)
            if cs["line"] not in (None, line_of(text, word)):
                self.assertIn("when tmpguard read the record", cs["missing"], json.dumps(cs))
                self.assertEqual(cs["line"], line_of(text, "LATE-LINE"), json.dumps(cs))

    def test_child_of_an_exited_script(self):
        # The script has exited when the records are read (tmpguard stopped meanwhile): its
        # arguments come from what the kernel kept at touch's execve, with the line read then.
        # A relative script name cannot be placed (the script's directory is gone with it).
        text = ('#!/bin/bash\n'
                'out=$1\n'
                'touch "$out.gone"  # GONE-LINE\n'
                'exit 0\n')
        script, out = self.script(text), self.name("/tmp", "bashgone")
        self.track(out + ".gone")
        self.track(out + ".rel.gone")

        def run():
            subprocess.run([script, out], env=ENV, timeout=30, check=True)
            subprocess.run(["bash", os.path.basename(script), out + ".rel"], env=ENV,
                           cwd=os.path.dirname(script), timeout=30, check=True)

        res = self.record_while_stopped(run, ["--call-sites"])
        for path, file in ((out + ".gone", script),
                           (out + ".rel.gone", os.path.basename(script))):
            mine = [f for f in res.with_path(path) if f["rule"] == "nonexclusive-create"]
            self.assertEqual(len(mine), 1, res.describe())
            cs = mine[0]["call_site"]
            self.assertIsNotNone(cs, json.dumps(mine[0]))
            self.assertEqual((cs["kind"], cs["file"], cs["line"]),
                             ("shell", file, line_of(text, "GONE-LINE")), json.dumps(cs))
            self.assertIn("made by touch", cs["missing"])
            self.assertIn("the shell had exited", cs["missing"])

    @staticmethod
    def child_named(ppid, comm):
        """A child of ppid runs comm (/proc)."""
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as fh:
                    st = fh.read()
            except OSError:
                continue
            name, rest = st[st.index("(") + 1:st.rindex(")")], st[st.rindex(")") + 2:].split()
            if name == comm and int(rest[1]) == ppid:
                return True
        return False

if __name__ == "__main__":
    sys.exit(main())
