# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The live test harness, shared by every suite that runs the real tmpguard: tests/live/test_*.py
and tests/vm/test_*.py. A library, not a test script; the suites import it by name
(`import tmpguard_test as live`, `from tmpguard_test import ...`), with tests/lib on PYTHONPATH:
tests/CMakeLists.txt sets it for every test it registers, and a suite run by hand needs it too:

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_live.py [Class[.test] ...]

What it holds: the environment (TMPGUARD, TG_FIXTURES, CI, TG_SKIP_LOG) and the programs the tests
run, by absolute path; TgTestCase, which runs tmpguard, checks every JSON record against the
schema and removes whatever a test created; Result, one tmpguard invocation; SysctlMixin and
PolicyFiles; and the script plumbing: preflight() (root, the binary, a kernel that runs BPF, the
fixtures; 77 when the suite cannot run here), run_tests(), main() and the skip log.

The fixtures say what they did on stderr, "tg-fixture: pid=<pid> path=<path>", because stdout
is shared with tmpguard's JSON (Result.reports). Names are unique per test (pid + random token)
and everything a test creates is removed in its cleanup.
"""

import calendar
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

TMPGUARD = os.environ.get("TMPGUARD", "")
FIXTURES = os.environ.get("TG_FIXTURES") or os.path.join(
    os.path.dirname(os.path.abspath(TMPGUARD or ".")), "tests", "fixtures")

# Absolute paths: PATH on a developer machine may hold shims (pyenv's python3 is a bash
# script tree) that would add processes and probes of their own to every run.
PYTHON = "/usr/bin/python3"
BASH = "/bin/bash"
SH = "/bin/sh"
GCC = "/usr/bin/gcc"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": "/root"}
UMASK = 0o022  # every run starts under umask 022 so modes are predictable
NOBODY = 65534

FIXTURE_NAMES = (
    "chdir_relative", "creat", "deep_path", "excl_0644", "excl_cloexec", "excl_umask0", "exit_status",
    "flood", "grandchild", "leader_exit", "mkdir_mode", "mkdirat_mode", "mkdtemp_inside", "mknod_mode", "mkstemp", "mktemp_open",
    "open_excl", "open_syscall", "open_trunc", "openat2", "openat_dirfd", "tmpfile",
    "tmpnam_fopen",
)

RULES = {"nonexclusive-create", "check-then-create", "loose-mode", "foreign-file-reuse",
         "symlink-follow", "loose-tempdir", "inheritable-fd"}
SEVERITIES = {"low", "medium", "high", "critical"}
SYSCALLS = {"open", "openat", "openat2", "creat", "mkdir", "mkdirat", "mknod", "mknodat", "bind",
            "socketcall"}
PROBE_SYSCALLS = {"stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2"}
ENTRIES = {"syscall", "ia32", "io_uring"}  # how the call entered the kernel
FINDING_KEYS = {"type", "time", "rule", "severity", "cwe", "syscall", "path", "resolved_name",
                "flags", "mode", "umask", "effective_mode", "file_mode", "created", "file_uid",
                "dir_shared", "symlink_followed", "path_changed", "path_mismatch",
                "requested_link", "requested_dir", "dir_link", "probe", "proc", "language",
                "advice", "count"}
PROC_KEYS = {"pid", "tid", "ppid", "uid", "euid", "comm", "exe", "cmdline", "user", "cgroup",
             "container_id", "start_time", "exec_id", "auid", "sessionid"}

TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{9})(Z|[+-]\d{2}:\d{2})$")
MODE_RE = re.compile(r"^[0-7]{4,5}$")
CWE_RE = re.compile(r"^CWE-[1-9][0-9]*$")
REPORT_RE = re.compile(rb"^tg-fixture: pid=(\d+) path=(.*)$", re.M)
# Cleanup never removes these, whatever a fixture reported (tmpfile reports "/tmp").
NEVER_REMOVE = {"/", "/tmp", "/var/tmp", "/dev/shm", "/root", "/var/lib", "/var", "/dev"}
RUN_TIMEOUT = 60
# The verifier's work on each loaded program (bpf_prog_info.verified_insns), a tenth of its
# 1M-instruction limit: every session record is checked against it, whatever mode the test
# runs in (audit, run, --enforce, the kill fallback, --hooks fentry in the VMs).
VERIFIED_INSNS_BUDGET = 100_000
# CI=true (.ci/run): what .ci/setup --tests installs must be there, so its absence fails.
CI = os.environ.get("CI") == "true"
# Where every skip is written, with its reason, for the run's summary (tests/skips.py).
SKIP_LOG = os.environ.get("TG_SKIP_LOG", "")
# The JSON Schema of each record type (docs/schema/TYPE.schema.json), which every record the
# harness parses is validated against (TgTestCase.validate_record).
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                          "schema")
_VALIDATORS = {}


def fixture(name):
    return os.path.join(FIXTURES, name)


def token():
    return "%d-%s" % (os.getpid(), secrets.token_hex(4))


def is_int(v):
    return type(v) is int  # bool is an int subclass: reject it


def rfc3339_to_epoch(s):
    m = TIME_RE.match(s)
    if not m:
        return None
    secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        secs -= sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
    return secs + int(m.group(2)) / 1e9


def cmdline_text(v):
    return " ".join(v) if isinstance(v, list) else v


_IA32_OFF = []


def ia32_emulation_off():
    """Why no 32-bit syscall can be made on this machine, or None when they can: asked of the
    kernel by the ia32_probe fixture (getpid through int $0x80). Emulation can be off at boot
    with ia32_emulation=0, or by a kernel built with IA32_EMULATION_DEFAULT_DISABLED, which no
    command line shows; so nothing short of a try tells."""
    if not _IA32_OFF:
        p = subprocess.run([fixture("ia32_probe")], capture_output=True, timeout=30)
        if p.returncode == -signal.SIGSEGV:
            _IA32_OFF.append("32-bit emulation is off on this host: int $0x80 faults "
                             "(dmesg: '32-bit emulation disabled'; ia32_emulation=on re-enables it)")
        elif p.returncode == 0:
            _IA32_OFF.append(None)
        else:
            raise AssertionError("ia32_probe: rc %d, %r" % (p.returncode, p.stderr))
    return _IA32_OFF[0]


class Result:
    """One tmpguard invocation: exit status, raw output, parsed JSON records."""

    def __init__(self, rc, out, err, t0, t1):
        self.rc, self.out, self.err, self.t0, self.t1 = rc, out, err, t0, t1
        self.records, self.findings, self.summary = [], [], None
        # What the fixtures said they did, in order: [(pid, path bytes)].
        self.reports = [(int(p), path) for p, path in REPORT_RE.findall(err)]

    def report(self, i=0):
        if len(self.reports) <= i:
            raise AssertionError("fixture did not report (stderr: %r)" % self.err[-2000:])
        return self.reports[i]

    def with_path(self, path):
        return [f for f in self.findings if f.get("path") == path]

    def rules(self, path):
        return sorted(f["rule"] for f in self.with_path(path))

    def describe(self):
        return "rc=%s\nstdout:\n%s\nstderr:\n%s" % (
            self.rc, self.out.decode(errors="backslashreplace")[-4000:],
            self.err.decode(errors="backslashreplace")[-4000:])


class TgTestCase(unittest.TestCase):
    """Runs tmpguard, checks every record against the schema, cleans up after itself."""

    maxDiff = None

    def setUp(self):
        self.tok = token()
        self._cleanup_paths = []
        self.addCleanup(self._cleanup)

    def require(self, ok, why):
        """A prerequisite that .ci/setup --tests installs: without it the test skips, saying
        why, except under CI=true, where a skip would hide a broken setup: there it fails."""
        if ok:
            return
        if CI:
            self.fail(why + "; CI=true: .ci/setup --tests installs it, so this is a failure")
        self.skipTest(why)

    # -- files ---------------------------------------------------------------------------

    def track(self, path):
        """Remove path (file, symlink or directory tree; str or bytes) after the test."""
        self._cleanup_paths.append(path)
        return path

    def name(self, directory, stem):
        return self.track(os.path.join(directory, "tg-%s-%s" % (stem, self.tok)))

    def private_dir(self, parent="/var/lib", mode=0o755):
        """A root-owned directory that is not shared (no sticky bit, not world-writable)."""
        d = self.track(tempfile.mkdtemp(prefix="tg-live-%s-" % self.tok, dir=parent))
        os.chmod(d, mode)
        return d

    def _cleanup(self):
        for p in reversed(self._cleanup_paths):
            if os.path.normpath(os.fsdecode(p)) in NEVER_REMOVE:
                continue
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)

    # -- running tmpguard ----------------------------------------------------------------

    def tg(self, args, fmt="json", timeout=RUN_TIMEOUT, parse=True, env=None, **kw):
        """Run tmpguard ARGS; with parse, check stdout line by line as JSON records."""
        t0 = time.time()
        try:
            p = subprocess.run([TMPGUARD] + list(args), stdin=subprocess.DEVNULL,
                               capture_output=True, env=env or ENV, umask=UMASK,
                               timeout=timeout, **kw)
        except subprocess.TimeoutExpired as e:
            self.fail("tmpguard %s: no exit after %d s (stderr: %r)" % (
                " ".join(map(str, args)), timeout, (e.stderr or b"")[-2000:]))
        res = Result(p.returncode, p.stdout, p.stderr, t0, time.time())
        # Whatever the programs made is removed even if the test fails before using it.
        for _, path in res.reports:
            if path.startswith(b"/"):
                self.track(path)
        if parse and fmt == "json":
            self.parse_json(res, res.out)
        return res

    def start_audit(self, args):
        """Starts `tmpguard audit ARGS` and returns (process, stderr so far) once it has
        attached: under QEMU loading takes seconds, so never start on a timer."""
        tg = subprocess.Popen([TMPGUARD, "audit"] + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
        self.addCleanup(lambda: tg.poll() is None and (tg.kill(), tg.wait()))
        err = b""
        while b"tmpguard: auditing" not in err:
            line = tg.stderr.readline()
            if not line:
                self.fail("tmpguard audit exited before attaching: %r" % err)
            err += line
        return tg, err

    def record_while_stopped(self, action, args=()):
        """Runs action() while a `tmpguard audit --format json ARGS` is stopped (SIGSTOP), so
        that the processes it starts are gone when their records are read; returns what
        tmpguard printed, parsed."""
        tg, _ = self.start_audit(["--format", "json"] + list(args))
        tg.send_signal(signal.SIGSTOP)
        try:
            action()
        finally:
            tg.send_signal(signal.SIGCONT)
        time.sleep(1)
        tg.send_signal(signal.SIGINT)
        out, err = tg.communicate(timeout=60)
        self.assertEqual(tg.returncode, 0, err[-2000:])
        res = Result(tg.returncode, out, err, time.time() - 60, time.time())
        self.parse_json(res, out)
        return res

    def run_cmd(self, cmd, opts=(), **kw):
        """tmpguard run --format json [OPTS] -- CMD..."""
        return self.tg(["run", "--format", "json"] + list(opts) + ["--"] + list(cmd), **kw)

    def run_fixture(self, name, *args, opts=()):
        return self.run_cmd([fixture(name)] + list(args), opts=opts)

    def parse_json(self, res, data):
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        else:
            self.fail("JSON output does not end with a newline:\n" + res.describe())
        records = []
        for i, line in enumerate(lines, 1):
            try:
                rec, err = json.loads(line.decode("utf-8")), None  # strict: no raw controls
            except (UnicodeDecodeError, ValueError) as e:
                rec, err = None, e
            if err is not None:
                self.fail("output line %d is not valid JSON (%s): %r\n%s" % (
                    i, err, line, res.describe()))
            self.assertIsInstance(rec, dict, "line %d is not an object: %r" % (i, line))
            records.append(rec)
        self.assertTrue(records, "no JSON records (a summary is always last)\n" + res.describe())
        types = [r.get("type") for r in records]
        self.assertEqual(types[-1], "summary", "last line is not the summary\n" + res.describe())
        self.assertEqual(types.count("summary"), 1, "more than one summary\n" + res.describe())
        self.assertEqual(types[0], "session", "first line is not the session\n" + res.describe())
        self.assertEqual(types.count("session"), 1, "more than one session\n" + res.describe())
        self.check_session(records[0], res)
        res.records = records
        res.findings = [r for r in records if r.get("type") == "finding"]
        res.summary = records[-1]
        for f in res.findings:
            self.check_schema(f, res)
        for r in records:
            self.validate_record(r)
        return records

    def validate_record(self, rec, kind=None):
        """rec against docs/schema/KIND.schema.json (KIND: rec["type"] unless given). Without
        python3-jsonschema this is skipped, said once on stderr and in the skip log; under
        CI=true, where .ci/setup --tests installs it, its absence fails."""
        kind = kind or rec.get("type")
        if kind not in _VALIDATORS:
            try:
                import jsonschema
            except ImportError:
                why = "python3-jsonschema is not installed: records are not validated"
                self.assertFalse(CI, why + "; CI=true: .ci/setup --tests installs it")
                print("tmpguard_test: " + why, file=sys.stderr)
                log_skip(os.path.basename(sys.argv[0]), "validate_record", why)
                _VALIDATORS.update({k: None for k in ("finding", "session", "loss", "health",
                                                      "summary", "falco", "doctor", "report")})
                _VALIDATORS[kind] = None
            else:
                path = os.path.join(SCHEMA_DIR, "%s.schema.json" % kind)
                self.assertTrue(os.path.exists(path), "no schema for a %r record: %s"
                                % (kind, json.dumps(rec)[:2000]))
                with open(path) as fh:
                    schema = json.load(fh)
                _VALIDATORS[kind] = jsonschema.Draft202012Validator(schema)
        v = _VALIDATORS[kind]
        errors = sorted(v.iter_errors(rec), key=str) if v else []
        self.assertFalse(errors, "a %s record does not match docs/schema/%s.schema.json: %s\n%s"
                         % (kind, kind, "; ".join("%s: %s" % (list(e.absolute_path), e.message)
                                                   for e in errors[:5]), json.dumps(rec)[:4000]))

    def check_session(self, rec, res):
        """The session record: what reports need to say what this run could see."""
        ctx = json.dumps(rec)
        self.assertTrue(rec["hooks"], "no hooks: " + ctx)
        # --hooks: syscall tracepoints, or fexit programs where the kernel loads them (the VMs)
        fentry = rec["hooks_kind"] == "fentry"
        self.assertIn(rec["hooks_kind"], ("tracepoint", "fentry"), ctx)
        kinds = ("fexit", "fentry", "tp_btf", "lsm") if fentry else ("tracepoint", "tp_btf", "lsm")
        self.assertTrue(all(h.split("/")[0] in kinds for h in rec["hooks"]), ctx)
        self.assertIn("fexit/do_sys_openat2" if fentry else "tracepoint/syscalls/sys_exit_openat",
                      rec["hooks"], ctx)
        self.assertIn(rec["enforcement"], ("off", "lsm", "dry-run", "kill-fallback"), ctx)
        # Each program within the verifier budget, and every attached one counted.
        budget = rec["verified_insns"]
        self.assertEqual(len(budget), len(rec["hooks"]), ctx)
        over = {k: v for k, v in budget.items() if not 0 < v <= VERIFIED_INSNS_BUDGET}
        self.assertFalse(over, "programs over the verifier budget of %d instructions: %s"
                         % (VERIFIED_INSNS_BUDGET, over))
        # 32-bit syscalls: the sys_exit hook only where they can happen (Ia32Off tests "off").
        self.assertIn(rec["ia32_syscalls"], ("on", "off", "unknown"), ctx)
        if rec["ia32_syscalls"] == "off":
            self.assertNotIn("tp_btf/sys_exit", rec["hooks"], ctx)
        sysctls = rec["posture"]["sysctls"]
        with open("/proc/sys/fs/protected_symlinks") as fh:
            self.assertEqual(sysctls["fs.protected_symlinks"], int(fh.read()), ctx)
        tmp = [m for m in rec["posture"]["mounts"] if m["path"] == "/tmp"]
        self.assertEqual(len(tmp), 1, ctx)
        self.assertEqual(tmp[0]["mode"], "%04o" % (os.stat("/tmp").st_mode & 0o7777), ctx)

    def check_schema(self, f, res):
        """Types and formats every finding must have, whatever the scenario."""
        ctx = json.dumps(f)
        missing = FINDING_KEYS - f.keys()
        self.assertFalse(missing, "finding lacks %s: %s" % (sorted(missing), ctx))
        t = rfc3339_to_epoch(f["time"])
        self.assertIsNotNone(t, "time is not RFC 3339 with ns: " + ctx)
        self.assertTrue(res.t0 - 5 <= t <= res.t1 + 5,
                        "time %s is outside the run [%f, %f]" % (f["time"], res.t0, res.t1))
        self.assertIn(f["rule"], RULES, ctx)
        self.assertIn(f["severity"], SEVERITIES, ctx)
        self.assertIsInstance(f["cwe"], list, ctx)
        self.assertTrue(f["cwe"], "empty cwe: " + ctx)
        for c in f["cwe"]:
            self.assertRegex(c, CWE_RE, ctx)
        self.assertIn(f["syscall"], SYSCALLS, ctx)
        self.assertIn(f.get("entry"), ENTRIES, ctx)
        self.assertIsInstance(f["path"], str, ctx)
        self.assertIsInstance(f["resolved_name"], str, ctx)
        self.assertIsInstance(f["flags"], list, ctx)
        for fl in f["flags"]:
            self.assertIsInstance(fl, str, ctx)
        for k in ("mode", "umask", "effective_mode", "file_mode"):
            self.assertRegex(f[k], MODE_RE, "%s: %s" % (k, ctx))
        for k in ("created", "dir_shared", "symlink_followed", "path_changed", "path_mismatch"):
            self.assertIsInstance(f[k], bool, "%s: %s" % (k, ctx))
        # Where the path does not lead to the opened file, what is there now is said.
        self.assertIn(f["requested_link"],
                      ("present", "absent", "unknown") if f["path_mismatch"] else (None,), ctx)
        if f["symlink_followed"]:
            # a link to the file (another name), or a link to a directory on the way
            self.assertTrue((f["path_mismatch"] or f["dir_link"]) and not f["path_changed"],
                            ctx)
        self.assertIn(f["requested_dir"], ("resolved", "unknown"), ctx)
        if f["dir_link"] is not None:
            self.assertEqual(set(f["dir_link"]), {"owner_uid", "foreign"}, ctx)
        self.assertTrue(is_int(f["file_uid"]), ctx)
        if f["created"]:
            self.assertEqual(int(f["effective_mode"], 8),
                             int(f["mode"], 8) & ~int(f["umask"], 8) & 0o7777,
                             "effective_mode != mode & ~umask: " + ctx)
        if f["probe"] is not None:
            pr = f["probe"]
            self.assertIsInstance(pr, dict, ctx)
            self.assertIn(pr.get("syscall"), PROBE_SYSCALLS, ctx)
            self.assertTrue(is_int(pr.get("pid")), ctx)
            self.assertIsInstance(pr.get("age_ms"), (int, float), ctx)
            self.assertNotIsInstance(pr.get("age_ms"), bool, ctx)
        proc = f["proc"]
        self.assertIsInstance(proc, dict, ctx)
        missing = PROC_KEYS - proc.keys()
        self.assertFalse(missing, "proc lacks %s: %s" % (sorted(missing), ctx))
        for k in ("pid", "tid", "ppid", "uid", "euid"):
            self.assertTrue(is_int(proc[k]), "proc.%s: %s" % (k, ctx))
        for k in ("comm", "exe", "user", "cgroup"):
            self.assertIsInstance(proc[k], str, "proc.%s: %s" % (k, ctx))
        self.assertIsInstance(proc["cmdline"], (str, list), ctx)
        self.assertIsInstance(proc["container_id"], (str, type(None)), ctx)
        self.assertIsInstance(f["language"], str, ctx)
        self.assertIsInstance(f["advice"], str, ctx)
        self.assertTrue(f["advice"].strip(), "empty advice: " + ctx)
        self.assertTrue(is_int(f["count"]) and f["count"] >= 1, ctx)

    # -- assertions ----------------------------------------------------------------------

    def assertOk(self, res, rc=0):
        self.assertEqual(res.rc, rc, "unexpected exit status\n" + res.describe())

    def assertClean(self, res, what):
        """No finding at all: the run only watches COMMAND's tree, so any is a false one."""
        self.assertEqual(res.findings, [], "%s must be clean\n%s" % (what, res.describe()))

    def assertFindings(self, res, path, rules, only=True):
        """path has exactly these rules, one finding each; returns {rule: finding}. With
        only, the run has no finding for any other path."""
        self.assertEqual(res.rules(path), sorted(rules),
                         "findings for %r\n%s" % (path, res.describe()))
        if only:
            others = [f for f in res.findings if f["path"] != path]
            self.assertEqual(others, [], "findings for other paths\n" + res.describe())
        return {f["rule"]: f for f in res.with_path(path)}

    def assertProc(self, f, pid, comm, exe=None, cmd_has=None):
        proc = f["proc"]
        ctx = json.dumps(f)
        self.assertEqual(proc["pid"], pid, ctx)
        self.assertEqual(proc["tid"], pid, ctx)  # all our programs are single-threaded
        self.assertGreater(proc["ppid"], 0, ctx)
        self.assertEqual(proc["uid"], 0, ctx)
        self.assertEqual(proc["euid"], 0, ctx)
        self.assertEqual(proc["user"], "root", ctx)
        self.assertEqual(proc["comm"], comm[:15], ctx)
        if exe is not None:
            self.assertTrue(os.path.basename(proc["exe"]).startswith(exe), ctx)
        if cmd_has is not None:
            self.assertIn(cmd_has, cmdline_text(proc["cmdline"]), ctx)

    def assertFlags(self, f, has, lacks=("O_EXCL",)):
        for fl in has:
            self.assertIn(fl, f["flags"], json.dumps(f))
        for fl in lacks:
            self.assertNotIn(fl, f["flags"], json.dumps(f))


class SysctlMixin:
    """Sets fs.protected_* to 0 for the test (the attacks must really work) and restores."""

    SYSCTLS = ("/proc/sys/fs/protected_symlinks", "/proc/sys/fs/protected_regular")

    def relax_protections(self):
        for path in self.SYSCTLS:
            with open(path) as fh:
                old = fh.read().strip()
            if old != "0":
                try:
                    self._write(path, "0")
                except OSError as e:
                    self.skipTest("%s is %s and cannot be set to 0: %s" % (path, old, e))
                self.addCleanup(self._write, path, old)

    @staticmethod
    def _write(path, value):
        with open(path, "w") as fh:
            fh.write(value)


class PolicyFiles(TgTestCase):
    """With policy files: test_live.py's Policies and EnforceFallback, the VM suites."""

    def policy(self, text):
        """A policy file owned by root, 0644, removed after the test."""
        path = self.track("/var/lib/tg-policy-%s-%s.yaml" % (self.tok, token()))
        with open(path, "w") as f:
            f.write(text)
        return path


# ------------------------------------------------------------------------------------------


def log_skip(prog, test, why):
    """Appends one skip to TG_SKIP_LOG (JSON lines), for the summary .ci/run prints."""
    if not SKIP_LOG:
        return
    line = json.dumps({"script": prog, "argv": sys.argv[1:], "test": test, "reason": str(why),
                       "kernel": os.uname().release})
    if SKIP_LOG == "-":  # in a VM: tests/vm/run-in-vm.sh relays it to the host's log
        print("tg-skip: " + line, file=sys.stderr, flush=True)
        return
    try:
        with open(SKIP_LOG, "a") as fh:
            fh.write(line + "\n")
    except OSError as e:
        print("%s: cannot write the skip log %s: %s" % (prog, SKIP_LOG, e), file=sys.stderr)


def skip_all(prog, why):
    """The whole script cannot run here: say why, log it, and return 77 (skipped)."""
    print("%s: skipped: %s" % (prog, why), file=sys.stderr)
    log_skip(prog, None, why)
    return 77


def finish(result, prog):
    """The exit status of a unittest run: 1 on any failure; 77 (skipped) when every test
    skipped, so that ctest counts the entry as not run; else 0. Every skip is logged."""
    for test, why in result.skipped:
        log_skip(prog, test.id(), why)
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        print("%s: every test skipped (%d): %s" % (
            prog, result.testsRun, "; ".join(sorted({w for _, w in result.skipped}))),
            file=sys.stderr)
        return 77
    return 0


def run_tests(module, prog):
    """unittest on the classes named on the command line (or all), then finish()."""
    os.umask(UMASK)
    prog_ = unittest.main(module=module, argv=sys.argv, exit=False, verbosity=2)
    return finish(prog_.result, prog)


def preflight(prog):
    """None when the live tests can run here, else the exit status (77: skipped)."""
    if os.geteuid() != 0:
        return skip_all(prog, "needs root (loads BPF programs, runs attacks as nobody)")
    if not TMPGUARD or not os.access(TMPGUARD, os.X_OK):
        return skip_all(prog, "TMPGUARD=%r is not an executable (set it to the built tmpguard)"
                        % TMPGUARD)
    doctor = subprocess.run([TMPGUARD, "doctor"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=60)
    if doctor.returncode != 0:
        last = doctor.stdout.decode("utf-8", "replace").strip().splitlines()[-1:]
        return skip_all(prog, "this kernel cannot run BPF auditing (tmpguard doctor: %s)"
                        % (last[0] if last else "exit %d" % doctor.returncode))
    missing = [n for n in FIXTURE_NAMES if not os.access(fixture(n), os.X_OK)]
    if missing:
        print("%s: fixtures missing in TG_FIXTURES=%s: %s (build tests/fixtures)"
              % (prog, FIXTURES, ", ".join(missing)), file=sys.stderr)
        return 1
    for tool in (PYTHON, BASH, SH, GCC):
        if not os.access(tool, os.X_OK):
            print("%s: %s not found" % (prog, tool), file=sys.stderr)
            return 1
    return None


def main(module="__main__", prog="test_live"):
    """Runs the test classes of module (named on the command line, or all)."""
    rc = preflight(prog)
    if rc is not None:
        return rc
    return run_tests(module, prog)
