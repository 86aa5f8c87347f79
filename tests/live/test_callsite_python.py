#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of Python call sites: the file, line and function of the Python code that made an
insecure create.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        /usr/bin/python3 tests/live/test_callsite_python.py [Class[.test] ...]

Needs root. Scripts written by the test run under `tmpguard run` with Debian 12's CPython 3.11
(/usr/bin/python3.11) and, where the host has them, a CPython 3.12 and CPythons built with
--enable-shared (pyenv's: the runtime in libpython3.N.so); else those tests skip saying why. The kernel reads the interpreter's frames at the
finding and user space decodes them from the record alone: nothing is read from the process,
which has exited by the time `tmpguard run` has printed its findings.

The expected shape is the finding's: finding["call_site"] = {"kind": "python", "file", "line",
"function", "module"} and finding["stack"], the frames innermost first.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap

from tmpguard_test import TgTestCase, main

PY311 = "/usr/bin/python3.11"


def py_version(exe):
    try:
        out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.decode().strip()


def runtime_in_exe(exe):
    """Does the executable itself define _PyRuntime (no shared libpython)?"""
    try:
        out = subprocess.run(["readelf", "-Ws", "--dyn-syms", exe], capture_output=True,
                             timeout=30).stdout
    except OSError:
        return False
    return any(ln.split()[-1:] == [b"_PyRuntime"] and b" UND " not in ln
               for ln in out.splitlines())


# Where tmpguard looks for interpreters at its start (user/host/pyinterp.c, tg_interp_scan).
SCANNED = ["/usr/bin", "/usr/local/bin", "/root/.pyenv/versions/*/bin",
           "/home/*/.pyenv/versions/*/bin"]


def interpreters(version):
    """The python3.N executables tmpguard registers, one a file, that run as that version."""
    out, seen = [], set()
    for d in SCANNED:
        for p in sorted(glob.glob(os.path.join(d, "python" + version))):
            real = os.path.realpath(p)
            if real in seen or not os.access(p, os.X_OK) or py_version(p) != version:
                continue
            seen.add(real)
            out.append(p)
    return out


class PythonCallSite(TgTestCase):
    def script(self, text):
        d = self.private_dir()
        path = os.path.join(d, "app_%s.py" % self.tok)
        with open(path, "w") as fh:
            fh.write(textwrap.dedent(text))
        return path

    def line_of(self, path, marker):
        with open(path) as fh:
            for i, ln in enumerate(fh, 1):
                if marker in ln:
                    return i
        self.fail("no %r in %s" % (marker, path))

    def run_py(self, exe, script, *args):
        res = self.run_cmd([exe, script] + list(args), opts=["--call-sites"])
        self.assertEqual(res.rc, 0, res.describe())
        return res

    def finding(self, res, path):
        fs = res.with_path(path)
        self.assertTrue(fs, "no finding for %s\n%s" % (path, res.describe()))
        f = fs[0]
        self.assertIn("call_site", f, json.dumps(f))
        return f

    def assertSite(self, f, exe, file, line, function):
        ctx = json.dumps(f, indent=1)
        cs = f["call_site"]
        self.assertIsNotNone(cs, ctx)
        self.assertEqual(cs["kind"], "python", ctx)
        self.assertEqual(cs["file"], file, ctx)
        self.assertEqual(cs["line"], line, ctx)
        self.assertEqual(cs["function"], function, ctx)
        self.assertEqual(cs["module"], os.path.realpath(exe), ctx)
        self.assertTrue(f["stack"], ctx)
        # the call site is one of the stack's frames, and no runtime one
        keys = ("module", "offset", "function", "file", "line")
        frames = [fr for fr in f["stack"] if all(fr[k] == cs[k] for k in keys)]
        self.assertEqual([fr["runtime"] for fr in frames], [False], ctx)
        return cs

    def check_direct(self, exe):
        """open(mktemp()) in a function, and a with-open of /tmp/x.PID in a method."""
        out = os.path.join("/tmp", "tg-cs-%s" % self.tok)
        script = self.script("""\
            import os
            import sys
            import tempfile


            def make_report(prefix):
                f = open(tempfile.mktemp(prefix=prefix), "w")  # MKTEMP
                f.close()
                os.unlink(f.name)
                return f.name


            class Writer:
                def write_pid_file(self, stem):
                    with open("%s.%d" % (stem, os.getpid()), "w") as f:  # PIDFILE
                        f.write("x")
                    return f.name


            make_report("tg-cs-py-")
            Writer().write_pid_file(sys.argv[1])
            """)
        res = self.run_py(exe, script, out)
        first = [f for f in res.findings if os.path.basename(f["path"]).startswith("tg-cs-py-")]
        self.assertTrue(first, res.describe())
        self.assertSite(self.finding(res, first[0]["path"]), exe, script,
                        self.line_of(script, "# MKTEMP"), "make_report")
        pidfile = "%s.%d" % (out, first[0]["proc"]["pid"])
        self.track(pidfile)
        self.assertSite(self.finding(res, pidfile), exe, script,
                        self.line_of(script, "# PIDFILE"), "Writer.write_pid_file")

    def check_stdlib(self, exe):
        """logging.FileHandler opens the file: the call site is the program's line that
        made the handler, the standard library's frames are in the stack, marked runtime."""
        log = os.path.join("/tmp", "tg-cs-log-%s.log" % self.tok)
        self.track(log)
        script = self.script("""\
            import logging
            import sys


            def setup(path):
                h = logging.FileHandler(path)  # HANDLER
                h.close()


            setup(sys.argv[1])
            """)
        res = self.run_py(exe, script, log)
        f = self.finding(res, log)
        cs = self.assertSite(f, exe, script, self.line_of(script, "# HANDLER"), "setup")
        idx = [fr["offset"] == cs["offset"] and fr["function"] == cs["function"]
               for fr in f["stack"]].index(True)
        self.assertGreater(idx, 0, json.dumps(f))
        for fr in f["stack"][:idx]:
            self.assertIn("/logging/", fr["file"], json.dumps(f))
            self.assertTrue(fr["runtime"], json.dumps(f))

    def test_311_direct(self):
        self.require(os.access(PY311, os.X_OK), "no %s (Debian 12: python3.11)" % PY311)
        self.check_direct(PY311)

    def test_311_stdlib(self):
        self.require(os.access(PY311, os.X_OK), "no %s (Debian 12: python3.11)" % PY311)
        self.check_stdlib(PY311)

    def py312(self):
        found = interpreters("3.12")
        if not found:
            self.skipTest("no CPython 3.12 in %s: Debian 12 has none" % ", ".join(SCANNED))
        return found[0]

    def test_312_direct(self):
        self.check_direct(self.py312())

    def test_312_stdlib(self):
        self.check_stdlib(self.py312())

    def shared(self):
        """A CPython 3.11 or 3.12 whose runtime is in a shared libpython (pyenv's, the python
        Docker images'): the kernel finds the library through the dynamic loader's list."""
        found = [p for p in interpreters("3.11") + interpreters("3.12")
                 if not runtime_in_exe(os.path.realpath(p))]
        if not found:
            self.skipTest("no CPython 3.11 or 3.12 built with --enable-shared in %s"
                          % ", ".join(SCANNED))
        return found

    def test_shared_libpython_direct(self):
        for exe in self.shared():
            with self.subTest(exe=exe):
                self.check_direct(exe)

    def test_shared_libpython_stdlib(self):
        self.check_stdlib(self.shared()[-1])

    def test_registered_at_its_first_finding(self):
        """An interpreter tmpguard did not find at its start (here a copy of Debian's 3.11
        outside the directories it scans; an upgrade gives a new inode too): its first finding
        says so and registers it, the next one names its line."""
        self.require(os.access(PY311, os.X_OK), "no %s (Debian 12: python3.11)" % PY311)
        exe = os.path.join(self.private_dir(), "python3.11")
        shutil.copy(PY311, exe)
        script = self.script("import sys\nopen(sys.argv[1], 'w').close()  # TWICE-LINE\n")
        out = os.path.join("/tmp", "tg-cs-r-%s" % self.tok)
        self.track(out + ".1")
        self.track(out + ".2")
        # the second run after the first finding has been read (the collector reads within
        # a poll interval)
        res = self.run_cmd(["/bin/sh", "-c", '"$0" "$1" "$2.1"; sleep 1; "$0" "$1" "$2.2"',
                            exe, script, out])
        self.assertEqual(res.rc, 0, res.describe())
        first = self.finding(res, out + ".1")["call_site"]
        self.assertEqual((first["kind"], first["file"]), ("python", ""), first)
        self.assertIn("registered at this finding", first["missing"])
        self.assertSite(self.finding(res, out + ".2"), exe, script,
                        self.line_of(script, "# TWICE-LINE"), "<module>")

    def test_unsupported_says_why(self):
        """An interpreter tmpguard cannot walk: no frame, and what is missing says which
        version and that the call site is not available."""
        cands = [p for p in sorted(glob.glob("/root/.pyenv/versions/3.*/bin/python3.*")
                                   + glob.glob("/usr/local/bin/python3.*"))
                 if os.access(p, os.X_OK) and os.path.basename(p).count(".") == 1
                 and py_version(p) not in (None, "3.11", "3.12")]
        if not cands:
            self.skipTest("no CPython other than 3.11 and 3.12 on this host")
        exe = cands[0]
        out = os.path.join("/tmp", "tg-cs-u-%s" % self.tok)
        self.track(out)
        script = self.script("import sys\nopen(sys.argv[1], 'w').close()\n")
        res = self.run_py(exe, script, out)
        f = self.finding(res, out)
        cs = f["call_site"]
        self.assertIsNotNone(cs, json.dumps(f))
        self.assertEqual((cs["kind"], cs["file"], cs["line"]), ("python", "", None), cs)
        missing = cs["missing"]
        self.assertIn(exe, missing)
        self.assertIn("is CPython %s" % py_version(exe), missing)
        self.assertIn("not available", missing)


if __name__ == "__main__":
    sys.exit(main(prog="test_callsite_python"))
