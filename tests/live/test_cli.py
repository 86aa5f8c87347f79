#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The command line's conventions: -h, --help and --version on every command; a reader that
goes away (EPIPE) stops audit, run, query, report and policy with status 141 and a message;
the non-root error says what is needed and what to do; the text format's lines; --enforce
with a policy that denies nothing says so; the man pages render without warnings and match
--help; the bash completion loads and completes each command's options.

Help, ManPages and Completion need no privilege; the others need root and a kernel tmpguard
can audit on (they skip, saying why, elsewhere).
    TMPGUARD=build/tmpguard PYTHONPATH=tests/lib python3 tests/live/test_cli.py [Class...]
"""
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

from tmpguard_test import CI, ENV, TMPGUARD, TgTestCase, run_tests

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
MAN = os.path.join(SRC, "docs", "man")
COMPLETION = os.path.join(SRC, "packaging", "bash-completion", "tmpguard")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
COMMANDS = ("audit", "run", "daemon", "doctor", "query", "report", "policy")
COMMON = {"--help", "--usage", "--version"}
SESSION = "Session options (audit, run)"
# The sections of tmpguard.8 that document each command's options.
SECTIONS = {c: ["tmpguard " + c] for c in COMMANDS}
SECTIONS["audit"].append(SESSION)
SECTIONS["run"].append(SESSION)
EPIPE_STATUS = 141
EPIPE_MSG = b"output closed (EPIPE): stopping"
NOT_ROOT = (b": needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) to load its BPF programs: "
            b"run it with sudo, or as root\n")


def tg(*args, timeout=60, **kw):
    return subprocess.run([TMPGUARD] + list(args), capture_output=True, env=ENV,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def help_longs(cmd):
    """The long options `tmpguard CMD --help` lists, argp's own (--help ...) left out."""
    out = tg(cmd, "--help").stdout.decode()
    return set(re.findall(r"^\s+(?:-\S, )?(--[a-z][a-z0-9-]*)", out, re.M)) - COMMON


def man_sections(path):
    """{section or subsection title: [the option tags of its .TP entries]} of a man page."""
    with open(path) as f:
        lines = f.read().splitlines()
    sections, cur = {}, None
    for i, line in enumerate(lines):
        m = re.match(r'^\.S[HS]\s+"?([^"]*)"?\s*$', line)
        if m:
            cur = m.group(1)
            sections.setdefault(cur, [])
        elif line.startswith(".TP") and cur and i + 1 < len(lines):
            sections[cur].append(lines[i + 1])
    return sections


def tag_longs(tags):
    found = set()
    for tag in tags:
        for m in re.finditer(r"\\-\\-((?:[a-z0-9]|\\-)+)", tag):
            found.add("--" + m.group(1).replace("\\-", "-"))
    return found


class Help(unittest.TestCase):
    """-h, --help and --version on tmpguard and every command: stdout, exit 0."""

    def check_help(self, args, usage):
        for flag in ("-h", "--help"):
            with self.subTest(args=args, flag=flag):
                r = tg(*args, flag)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, b"")
                self.assertTrue(r.stdout.startswith(b"Usage: " + usage), r.stdout[:200])

    def test_help_everywhere(self):
        self.check_help([], b"tmpguard [OPTION...] COMMAND")
        for cmd in COMMANDS:
            self.check_help([cmd], b"tmpguard " + cmd.encode())
        self.check_help(["policy", "check"], b"tmpguard policy")
        self.check_help(["policy", "check", "policies/strict.yaml"], b"tmpguard policy")

    def test_version_everywhere(self):
        want = tg("version").stdout
        self.assertRegex(want.decode(), r"^tmpguard \d+\.\d+\.\d+ \(ABI \d+\)\n$")
        for args in [[], *[[c] for c in COMMANDS], ["policy", "check"]]:
            for flag in ("--version", "-V"):
                with self.subTest(args=args, flag=flag):
                    r = tg(*args, flag)
                    self.assertEqual((r.returncode, r.stdout, r.stderr), (0, want, b""))

    def test_help_command(self):
        self.assertEqual(tg("help", "query").stdout, tg("query", "--help").stdout)
        self.assertEqual(tg("help").stdout, tg("--help").stdout)

    def test_usage_errors(self):
        for args, msg in ((["frob"], b"tmpguard: unknown command 'frob'"),
                          ([], b"tmpguard: missing COMMAND"),
                          (["audit", "--frob"], b"tmpguard audit: unrecognized option"),
                          (["policy", "frob"], b"unknown policy command 'frob'")):
            with self.subTest(args=args):
                r = tg(*args)
                self.assertEqual(r.returncode, 2)
                self.assertIn(msg, r.stderr)
                self.assertEqual(r.stdout, b"")


class ManPages(unittest.TestCase):
    """docs/man: render without a warning, and tmpguard.8 documents exactly --help's options."""

    PAGES = ("tmpguard.8", "tmpguard-policy.5", "tmpguard.yaml.5")

    def test_render_cleanly(self):
        have = shutil.which("groff") and shutil.which("man")
        if not have:
            if CI:
                self.fail("groff or man missing; .ci/setup --tests installs groff-base, man-db")
            self.skipTest("groff or man not installed (groff-base, man-db)")
        for page in self.PAGES:
            path = os.path.join(MAN, page)
            with self.subTest(page=page):
                r = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True)
                self.assertEqual((r.returncode, r.stderr), (0, b""))
                r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path],
                                   capture_output=True,
                                   env=dict(ENV, MANWIDTH="80", MAN_DISABLE_SECCOMP="1"))
                self.assertEqual((r.returncode, r.stderr), (0, b""))
                self.assertIn(b"NAME", r.stdout)

    def test_options_match_help(self):
        sections = man_sections(os.path.join(MAN, "tmpguard.8"))
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                documented = set()
                for title in SECTIONS[cmd]:
                    self.assertIn(title, sections)
                    documented |= tag_longs(sections[title])
                listed = help_longs(cmd)
                self.assertEqual(sorted(listed - documented), [], "in --help, not in tmpguard.8")
                self.assertEqual(sorted(documented - listed), [], "in tmpguard.8, not in --help")
        self.assertEqual(tag_longs(sections["COMMON OPTIONS"]), COMMON)

    def test_config_keys_are_audit_options(self):
        keys = set()
        for tag in man_sections(os.path.join(MAN, "tmpguard.yaml.5"))["KEYS"]:
            keys |= {"--" + k.replace("\\-", "-") for k in
                     re.findall(r"\b((?:[a-z0-9]|\\-)+)\b", tag.split(" ", 1)[1])
                     if k not in ("BR", "B")}
        self.assertIn("--format", keys)
        self.assertEqual(sorted(keys - help_longs("audit")), [])


class Completion(unittest.TestCase):
    """packaging/bash-completion/tmpguard: sourced by bash, it completes commands and every
    long option of each command's --help."""

    def complete(self, words, framework):
        script = "source %s\n" % BASH_COMPLETION if framework else "shopt -s extglob\n"
        script += ('source "$1"; shift; complete -p tmpguard; COMP_WORDS=("$@"); '
                   'COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; '
                   '_tmpguard tmpguard "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; '
                   'printf "%s\\n" "${COMPREPLY[@]}"')
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash",
                            COMPLETION] + list(words), capture_output=True, timeout=30,
                           cwd=SRC)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        lines = r.stdout.decode().splitlines()
        self.assertEqual(lines[0], "complete -F _tmpguard tmpguard")
        return set(lines[1:])

    def frameworks(self):
        if os.path.exists(BASH_COMPLETION):
            return (False, True)
        if CI:
            self.fail("bash-completion missing; .ci/setup --tests installs it")
        return (False,)

    def test_commands_and_options(self):
        for fw in self.frameworks():
            with self.subTest(framework=fw):
                self.assertEqual(self.complete(["tmpguard", "qu"], fw), {"query"})
                self.assertIn("policy", self.complete(["tmpguard", ""], fw))
                for cmd in COMMANDS:
                    if cmd == "policy":
                        continue
                    got = self.complete(["tmpguard", cmd, "--"], fw)
                    self.assertEqual(sorted(help_longs(cmd) - got), [], cmd)
                self.assertEqual(self.complete(["tmpguard", "policy", ""], fw), {"check"})

    def test_values_and_files(self):
        for fw in self.frameworks():
            with self.subTest(framework=fw):
                self.assertEqual(self.complete(["tmpguard", "run", "--fail-on", "h"], fw),
                                 {"high"})
                self.assertEqual(self.complete(["tmpguard", "report", "-f", "s"], fw),
                                 {"sarif"})
                got = self.complete(["tmpguard", "policy", "check", "policies/st"], fw)
                self.assertEqual(got, {"policies/strict.yaml"})


class Live(TgTestCase):
    """What needs root and BPF: start every test only where tmpguard can audit."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (loads BPF programs)")
        if not getattr(Live, "_doctor_ok", None):
            r = tg("doctor", timeout=120)
            Live._doctor_ok = (r.returncode == 0, r.stdout.decode()[-300:])
        if not Live._doctor_ok[0]:
            self.skipTest("tmpguard doctor: this kernel cannot audit: " + Live._doctor_ok[1])


class Epipe(Live):
    """A reader that goes away stops the writer: exit 141, "output closed (EPIPE): stopping",
    within a poll of the ring buffer."""

    def wait_closed(self, p, what):
        t0 = time.monotonic()
        try:
            _, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            self.fail("%s: still running 30 s after its reader left" % what)
        took = time.monotonic() - t0
        print("\n  %s: stopped %.2f s after its reader left" % (what, took), file=sys.stderr)
        self.assertEqual(p.returncode, EPIPE_STATUS, err)
        self.assertIn(b"tmpguard %s: " % what.split()[0].encode() + EPIPE_MSG, err)
        self.assertLess(took, 5, err)
        return err

    def test_audit_json_head(self):
        # `tmpguard audit --format json | head -c 100`, with a real pipe and a real head
        p = subprocess.Popen([TMPGUARD, "audit", "--format", "json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=ENV)
        head = subprocess.run(["head", "-c", "100"], stdin=p.stdout, capture_output=True,
                              timeout=60)
        p.stdout.close()
        self.assertEqual(len(head.stdout), 100)
        self.assertTrue(head.stdout.startswith(b"{"), head.stdout)
        err = self.wait_closed(p, "audit")
        self.assertIn(b"tmpguard: summary:", err)  # stopped as SIGINT stops it

    def test_audit_idle_reader_gone(self):
        # nothing written since: the closed pipe is noticed without a write
        p = subprocess.Popen([TMPGUARD, "audit"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=ENV)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        line = b""
        while b"tmpguard: auditing" not in line:
            line = p.stderr.readline()
            self.assertTrue(line, "audit exited before attaching")
        p.stdout.close()
        self.wait_closed(p, "audit")

    def test_run_stops_command(self):
        p = subprocess.Popen([TMPGUARD, "run", "--format", "json", "--", "sleep", "30"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=ENV)
        self.assertTrue(p.stdout.read(1))  # the session record: attached, sleep started
        p.stdout.close()
        self.wait_closed(p, "run")

    def closed_pipe(self, args):
        r_fd, w_fd = os.pipe()
        os.close(r_fd)
        try:
            return subprocess.run([TMPGUARD] + args, stdout=w_fd, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, env=ENV, timeout=60)
        finally:
            os.close(w_fd)

    def test_query_report_policy(self):
        d = self.private_dir()
        db = os.path.join(d, "events.db")
        r = tg("run", "--db", db, "--", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        for cmd in (["query", "--db", db, "--format", "csv"], ["report", "--db", db],
                    ["policy", "check"], ["doctor"]):
            with self.subTest(cmd=cmd[0]):
                r = self.closed_pipe(cmd)
                self.assertEqual(r.returncode, EPIPE_STATUS, r.stderr)
                self.assertIn(b"tmpguard %s: " % cmd[0].encode() + EPIPE_MSG, r.stderr)


class NotRoot(Live):
    """As nobody, without capabilities: what is needed and what to do, exit 2."""

    def test_message(self):
        for cmd in (["audit"], ["run", "--", "true"]):
            with self.subTest(cmd=cmd[0]):
                r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                                    "--clear-groups", "--inh-caps=-all", TMPGUARD] + cmd,
                                   capture_output=True, env=ENV, timeout=60)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stderr, b"tmpguard " + cmd[0].encode() + NOT_ROOT)


class TextOutput(Live):
    """The text format: the path on its line, then what the call opened; no stray line."""

    def test_open_finding(self):
        path = self.name("/tmp", "cli-text")
        r = self.tg(["run", "--format", "text", "--", "sh", "-c", "echo x > " + path],
                    fmt="text")
        self.assertEqual(r.rc, 0, r.err)
        out = r.out.decode()
        base = os.path.basename(path)
        self.assertIn("\n  path     %s\n  opened   %s (created), owner uid 0\n" % (path, base),
                      out)
        self.assertNotIn("(directory)", out)
        for line in out.splitlines():
            if line.startswith("  ") and not line.startswith("    "):
                self.assertRegex(line, r"^  (\S+ +\S|\(the same)", line)


class EnforceDefault(Live):
    """--enforce with the built-in policy, which only alerts: said at start, with what to do."""

    def test_says_nothing_is_blocked(self):
        path = self.name("/tmp", "cli-enforce")
        r = self.tg(["run", "--enforce", "--", "sh", "-c", "echo x > " + path], fmt="text")
        self.assertIn(b"tmpguard run: WARNING: --enforce: the policy <builtin default> has no "
                      b"enabled rule with action deny or kill: nothing will be blocked", r.err)
        self.assertIn(b"--policy policies/strict.yaml", r.err)
        if r.rc == 0:  # this kernel has the BPF LSM: it ran, and blocked nothing, as said
            self.assertTrue(os.path.exists(path))
        else:  # no BPF LSM: refused, but the user was told the policy would not block anyway
            self.assertIn(b"without BPF LSM", r.err)


if __name__ == "__main__":
    sys.exit(run_tests("__main__", "test_cli"))
