#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of the output sinks: rotation, syslog, --format falco, write errors, and
tmpguard's own files (it must never be a finding of its own, nor of another tmpguard).

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \\
        python3 tests/live/test_sinks.py [Class[.test] ...]

Same conventions and helpers as test_live.py (tests/lib/tmpguard_test.py): root, exit 77 when
skipped, names unique per test, everything removed afterwards, `tmpguard audit` started only
once it says it has attached. Other tmpguard instances may be running machine-wide at the same
time: these tests look only at their own paths and processes.

syslog(3) always writes to /dev/log, so the syslog tests run tmpguard in a private mount
namespace (unshare -m) whose /dev is a small tmpfs with /dev/log a symlink to a datagram
socket the test owns: a real syslog receiver that sees exactly what glibc sends, header and
all, without touching the host's /dev/log. The disk-full test uses the same namespace trick
for a tiny tmpfs.
"""

import calendar
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

# Import the harness without writing bytecode next to it: the tree is not ours to change.
sys.dont_write_bytecode = True
import tmpguard_test as test_live  # noqa: E402  (TgTestCase, fixtures, environment)
from tmpguard_test import (BASH, ENV, NOBODY, PYTHON, SH, TMPGUARD, UMASK, Result,  # noqa: E402
                           SysctlMixin, TgTestCase, fixture, rfc3339_to_epoch)

UNSHARE = "/usr/bin/unshare"
MIB = 1 << 20
FALCO_KEYS = {"output", "priority", "rule", "time", "source", "hostname", "tags",
              "output_fields"}
# Falcosidekick's PriorityType (types/priority.go).
FALCO_PRIORITIES = {"Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
                    "Informational", "Debug"}
FALCO_PRIORITY = {"critical": "Critical", "high": "Error", "medium": "Warning",
                  "low": "Notice"}
LOG_DAEMON, LOG_LOCAL3 = 3, 19
LOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5}
LOG_WARNING, LOG_INFO = 4, 6
SYSLOG_RE = re.compile(rb"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) tmpguard\[(\d+)\]: (.*)$",
                       re.S)

# N insecure creates (O_CREAT without O_EXCL, 0644 under umask 022) in /tmp, numbered: each
# is a nonexclusive-create and a loose-mode finding.
CREATE_MANY = (
    "import os, sys\n"
    "tok, n = sys.argv[1], int(sys.argv[2])\n"
    "for i in range(n):\n"
    "    p = '/tmp/tg-sink-%s-%05d' % (tok, i)\n"
    "    os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))\n"
    "    os.unlink(p)\n")


def shell_create(path):
    """bash writes path with > (O_CREAT|O_TRUNC, 0666 under umask 022): nonexclusive-create
    (high) and loose-mode (medium); it says its pid like the fixtures do."""
    return [BASH, "-c", 'echo x > "$1"; echo "tg-fixture: pid=$$ path=$1" >&2', "bash", path]


SEQ_RE = re.compile(r"^/tmp/tg-sink-(.+)-(\d{5})$")

# Inside `unshare -m`: /dev becomes a tmpfs of our own, with null/zero/urandom from the real
# one and /dev/log a symlink to the test's socket; then the command runs.
NS_SYSLOG = (
    'set -e; d="$1"; shift; mkdir "$d/stage"; mount --rbind /dev "$d/stage"; '
    'mount -t tmpfs -o mode=0755,size=64k tg-devlog /dev; '
    'for n in null zero urandom; do : > "/dev/$n"; mount --bind "$d/stage/$n" "/dev/$n"; done; '
    'ln -s "$d/log.sock" /dev/log; exec "$@"')


def time_ns(s):
    """RFC 3339 UTC with nanoseconds, exactly, as an integer."""
    m = test_live.TIME_RE.match(s)
    assert m and m.group(3) == "Z", s
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(
        m.group(2))


def read_records(test, path):
    """Every line of path as a JSON object; the file must be whole lines of JSON."""
    with open(path, "rb") as fh:
        data = fh.read()
    test.assertTrue(data.endswith(b"\n"), "%s does not end with a newline" % path)
    recs = []
    for i, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            rec = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            test.fail("%s line %d is not JSON (%s): %r" % (path, i, e, line[:300]))
        test.assertIsInstance(rec, dict)
        recs.append(rec)
    return recs, data


class SinkTestCase(TgTestCase):
    def scratch(self, parent="/tmp", sticky=False):
        """A directory for output files: mkdtemp'd (0700), or sticky and world-writable."""
        if sticky:
            d = self.track(os.path.join(parent, "tg-sink-sticky-%s" % self.tok))
            os.mkdir(d, 0o700)  # then opened up: a mkdir 0755 in /tmp is a finding itself
            os.chmod(d, 0o1777)
            return d
        return self.track(tempfile.mkdtemp(prefix="tg-sink-", dir=parent))

    def policy_no_rate_limit(self):
        p = os.path.join(self.private_dir(), "policy.yaml")
        with open(p, "w") as fh:
            fh.write("version: 1\nrate_limit: { per_key_per_minute: 100000, per_user_per_minute: "
                     "100000, per_host_per_minute: 100000 }\n")
        return p

    def rotated(self, out, keep):
        """FILE.keep .. FILE.1, FILE: the files of one rotated output, oldest first."""
        names = ["%s.%d" % (out, i) for i in range(keep, 0, -1)] + [out]
        return [n for n in names if os.path.lexists(n)]

    def seq(self, f):
        m = SEQ_RE.match(f.get("path", ""))
        return int(m.group(2)) if m and m.group(1) == self.tok else None

    def assertPrivateFile(self, path):
        st = os.lstat(path)
        self.assertTrue(stat.S_ISREG(st.st_mode), "%s is not a regular file" % path)
        self.assertEqual(st.st_uid, 0, path)
        self.assertEqual(oct(st.st_mode & 0o7777), oct(0o600), path)
        self.assertEqual(st.st_nlink, 1, path)


# ------------------------------------------------------------------------------------------


class Rotation(SinkTestCase):
    N = 2500  # creates: 5000 findings of ~1.8 KiB, about 9 MiB

    def run_many(self, out, keep):
        pol = self.policy_no_rate_limit()
        res = self.tg(["run", "--format", "json", "--output", out, "--rotate-size", "1",
                       "--rotate-keep", str(keep), "--policy", pol, "--",
                       PYTHON, "-c", CREATE_MANY, self.tok, str(self.N)],
                      parse=False, timeout=300)
        self.assertOk(res)
        self.assertEqual(res.out, b"", "records went to stdout despite --output")
        return res

    def check_files(self, res, files, limit):
        """Each file: whole JSON lines, at most limit bytes (a record alone may be longer),
        0600, starting with the very session record; returns the records after it."""
        session, body = None, []
        for path in files:
            self.assertPrivateFile(path)
            recs, data = read_records(self, path)
            self.assertGreaterEqual(len(recs), 2, path)
            self.assertEqual(recs[0]["type"], "session", path)
            if session is None:
                session = recs[0]
                self.check_session(session, res)
            self.assertEqual(recs[0], session, "%s starts with another session" % path)
            self.assertEqual([r["type"] for r in recs[1:]].count("session"), 0, path)
            longest = max(len(json.dumps(r)) for r in recs)
            self.assertLessEqual(len(data), limit + longest, path)
            body += recs[1:]
        return body

    def test_files_stand_alone_and_lose_nothing(self):
        d = self.scratch()
        out = os.path.join(d, "out.json")
        res = self.run_many(out, keep=50)
        files = self.rotated(out, 50)
        self.assertGreaterEqual(len(files), 5, "expected several files: %s" % files)
        self.assertFalse(os.path.exists(out + ".51"))
        body = self.check_files(res, files, MIB)
        summary = body[-1]
        self.assertEqual(summary["type"], "summary")
        self.assertEqual([r["type"] for r in body].count("summary"), 1)
        findings = [r for r in body if r["type"] == "finding"]
        for f in findings:
            self.check_schema(f, res)
        self.assertEqual(summary["events"]["lost"], 0, "ring buffer loss: cannot count")
        self.assertEqual(summary["events"]["repeats_not_printed"], 0)
        # Every finding printed is in the files, once, in order: two per create.
        self.assertEqual(len(findings), summary["findings"])
        self.assertEqual(len(findings), 2 * self.N)
        seqs = [self.seq(f) for f in findings]
        self.assertNotIn(None, seqs)
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(sorted(set(seqs)), list(range(self.N)))
        for i in range(self.N):
            self.assertEqual(sorted(f["rule"] for f in findings[2 * i:2 * i + 2]),
                             ["loose-mode", "nonexclusive-create"])
        self.assertEqual(summary["output"]["rotations"], len(files) - 1)
        self.assertEqual(summary["output"]["records_failed"], 0)
        # The session record and every finding (the summary is written after it counts).
        self.assertEqual(summary["output"]["records_written"], len(body))
        self.assertEqual([n for n in os.listdir(d) if n.startswith(".")], [],
                         "temporary files left behind")

    def test_keep_n_drops_the_oldest(self):
        d = self.scratch()
        out = os.path.join(d, "out.json")
        self.run_many(out, keep=2)
        self.assertEqual(sorted(os.listdir(d)), ["out.json", "out.json.1", "out.json.2"])
        res = Result(0, b"", b"", time.time() - 600, time.time())
        body = self.check_files(res, self.rotated(out, 2), MIB)
        self.assertEqual(body[-1]["type"], "summary")
        self.assertGreater(body[-1]["output"]["rotations"], 2)
        seqs = [self.seq(f) for f in body if f["type"] == "finding"]
        # The newest records, the last one included, contiguous: only whole old files went.
        self.assertEqual(seqs[-1], self.N - 1)
        self.assertGreater(seqs[0], 0)
        self.assertEqual(sorted(set(seqs)), list(range(seqs[0], self.N)))


# ------------------------------------------------------------------------------------------


class Symlinks(SysctlMixin, SinkTestCase):
    AS_NOBODY = dict(user=NOBODY, group=NOBODY, extra_groups=[], env=ENV, cwd="/",
                     stdin=subprocess.DEVNULL)

    def setUp(self):
        super().setUp()
        # Following a planted link must be possible here, or not following it proves nothing.
        self.relax_protections()
        self.dir = self.scratch(sticky=True)
        self.out = os.path.join(self.dir, "out.json")
        self.target = os.path.join(self.private_dir("/var/lib", 0o755), "precious")
        with open(self.target, "w") as fh:
            fh.write("precious\n")
        os.chmod(self.target, 0o644)
        self.before = os.stat(self.target)

    def plant(self, path, target=None):
        subprocess.run(["/bin/ln", "-s", target or self.target, path], check=True,
                       **self.AS_NOBODY)
        self.assertEqual(os.lstat(path).st_uid, NOBODY)

    def assertTargetUntouched(self):
        st = os.stat(self.target)
        with open(self.target) as fh:
            self.assertEqual(fh.read(), "precious\n", "the planted symlink was followed")
        self.assertEqual((st.st_size, st.st_mtime_ns, st.st_mode, st.st_uid),
                         (self.before.st_size, self.before.st_mtime_ns, self.before.st_mode,
                          self.before.st_uid))

    def test_links_planted_at_rotated_names_are_replaced_not_followed(self):
        for i in (1, 2, 3):
            self.plant("%s.%d" % (self.out, i))
        pol = self.policy_no_rate_limit()
        res = self.tg(["run", "--format", "json", "--output", self.out, "--rotate-size", "1",
                       "--rotate-keep", "3", "--policy", pol, "--",
                       PYTHON, "-c", CREATE_MANY, self.tok, "1200"], parse=False, timeout=300)
        self.assertOk(res)
        self.assertTargetUntouched()
        for i in (1, 2, 3):
            self.assertPrivateFile("%s.%d" % (self.out, i))
            recs, _ = read_records(self, "%s.%d" % (self.out, i))
            self.assertEqual(recs[0]["type"], "session")
        self.assertPrivateFile(self.out)

    def test_entries_planted_at_rotated_names_do_not_stop_or_join_rotation(self):
        # nobody plants a directory (with a file in it, so it cannot simply be removed) at
        # FILE.2, a file of their own at FILE.1 and a FIFO at FILE.3: rotation goes on, the
        # rotated set holds only tmpguard's files, and each planted entry is said.
        d2 = "%s.2" % self.out
        subprocess.run([SH, "-c", 'mkdir "$1" && echo x > "$1/keep"', "sh", d2], check=True,
                       **self.AS_NOBODY)
        subprocess.run([SH, "-c", 'echo "{\\"type\\":\\"session\\"}" > "$1"', "sh",
                        "%s.1" % self.out], check=True, **self.AS_NOBODY)
        subprocess.run(["/usr/bin/mkfifo", "%s.3" % self.out], check=True, **self.AS_NOBODY)
        pol = self.policy_no_rate_limit()
        res = self.tg(["run", "--format", "json", "--output", self.out, "--rotate-size", "1",
                       "--rotate-keep", "3", "--policy", pol, "--",
                       PYTHON, "-c", CREATE_MANY, self.tok, "1200"], parse=False, timeout=300)
        self.assertOk(res)
        for i in (1, 2, 3):
            self.assertPrivateFile("%s.%d" % (self.out, i))
        self.assertIn(b"%s.2 is not one of tmpguard's files" % self.out.encode(), res.err)
        self.assertIn(b"uid %d): planted; moved aside" % NOBODY, res.err)
        self.assertIn(b"uid %d): planted; removed" % NOBODY, res.err)
        aside = [n for n in os.listdir(self.dir) if n.startswith(".out.json.2.planted.")]
        self.assertEqual(len(aside), 1, os.listdir(self.dir))
        with open(os.path.join(self.dir, aside[0], "keep")) as fh:
            self.assertEqual(fh.read(), "x\n")
        recs, _ = read_records(self, self.out)
        summary = recs[-1]
        self.assertEqual(summary["type"], "summary")
        self.assertGreaterEqual(summary["output"]["rotation_planted"], 3)
        self.assertEqual(summary["output"]["rotations_failed"], 0)

    def test_link_at_the_output_itself_is_refused(self):
        self.plant(self.out)
        res = self.tg(["run", "--format", "json", "--output", self.out, "--", "/bin/true"],
                      parse=False)
        self.assertOk(res, 2)
        self.assertIn(b"symlink", res.err)
        self.assertTargetUntouched()
        self.assertTrue(os.path.islink(self.out))

    def test_file_planted_by_another_user_is_refused(self):
        subprocess.run([SH, "-c", ': > "$1"', "sh", self.out], check=True, umask=0o077,
                       **self.AS_NOBODY)
        res = self.tg(["run", "--format", "json", "--output", self.out, "--", "/bin/true"],
                      parse=False)
        self.assertOk(res, 2)
        self.assertIn(b"belongs to uid %d" % NOBODY, res.err)
        self.assertEqual(os.path.getsize(self.out), 0)

    def test_directory_others_can_write_is_refused(self):
        d = self.track(os.path.join("/tmp", "tg-sink-open-%s" % self.tok))
        os.mkdir(d, 0o700)
        os.chmod(d, 0o777)
        res = self.tg(["run", "--format", "json", "--output", os.path.join(d, "o.json"), "--",
                       "/bin/true"], parse=False)
        self.assertOk(res, 2)
        self.assertIn(b"not sticky", res.err)
        self.assertEqual(os.listdir(d), [])


# ------------------------------------------------------------------------------------------


class SyslogReceiver:
    """A datagram socket at path, read in a thread: what syslog(3) sends, message by message."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MIB)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs, self.done = [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                self.msgs.append(self.sock.recv(1 << 20))
            except socket.timeout:
                pass

    def stop(self):
        # Whatever tmpguard sent before it exited is already queued on the socket.
        time.sleep(0.5)
        self.done = True
        self.thread.join(5)
        self.sock.close()
        return self.msgs


class Syslog(SinkTestCase):
    def setUp(self):
        super().setUp()
        if not os.access(UNSHARE, os.X_OK):
            self.require(False, "%s not found (util-linux)" % UNSHARE)
        self.ns_dir = self.private_dir("/var/lib", 0o700)
        self.rx = SyslogReceiver(os.path.join(self.ns_dir, "log.sock"))
        self.addCleanup(lambda: self.rx.done or self.rx.stop())

    def run_ns(self, args, cmd, fmt="json"):
        """tmpguard run ARGS -- CMD, in a mount namespace whose /dev/log is our socket."""
        t0 = time.time()
        p = subprocess.run([UNSHARE, "--mount", "--propagation", "private", SH, "-c",
                            NS_SYSLOG, "sh", self.ns_dir, TMPGUARD, "run"] + list(args)
                           + ["--"] + list(cmd), stdin=subprocess.DEVNULL,
                           capture_output=True, env=ENV, umask=UMASK, timeout=120)
        res = Result(p.returncode, p.stdout, p.stderr, t0, time.time())
        for _, path in res.reports:
            self.track(path)
        self.assertOk(res)
        if fmt == "json":
            self.parse_json(res, res.out)
        msgs = []
        for m in self.rx.stop():
            h = SYSLOG_RE.match(m)
            self.assertIsNotNone(h, "not a syslog(3) message: %r" % m[:200])
            pri, pid, body = int(h.group(1)), int(h.group(3)), h.group(4)
            msgs.append((pri >> 3, pri & 7, pid, body))
        return res, msgs

    def own(self, res, msgs):
        """The messages of this tmpguard (its pid is in the session record, and in syslog's
        header), as (facility, severity, JSON body)."""
        pid = res.records[0]["pid"] if res.records else None
        return [(fac, sev, json.loads(body.decode("utf-8"))) for fac, sev, p, body in msgs
                if pid is None or p == pid]

    def test_findings_and_summary_with_facility_and_severity(self):
        p = self.name("/tmp", "syslog")
        res, msgs = self.run_ns(["--format", "json", "--syslog", "--syslog-facility", "local3"],
                                shell_create(p))
        fs = self.assertFindings(res, p, ["loose-mode", "nonexclusive-create"])
        got = self.own(res, msgs)
        self.assertTrue(got, "no syslog message from tmpguard pid %d" % res.records[0]["pid"])
        self.assertEqual({m[0] for m in got}, {LOG_LOCAL3})
        # Findings, then the summary; never the session record.
        self.assertEqual([m[2]["type"] for m in got], ["finding", "finding", "summary"])
        for fac, sev, body in got[:2]:
            self.assertEqual(sev, LOG_SEVERITY[body["severity"]])
            self.assertEqual(body, fs[body["rule"]], "syslog body differs from the record")
        self.assertEqual(got[0][1], 3)  # nonexclusive-create, high: LOG_ERR
        self.assertEqual(got[1][1], 4)  # loose-mode, medium: LOG_WARNING
        self.assertEqual(got[2][1], LOG_INFO)
        self.assertEqual(got[2][2]["findings"], res.summary["findings"])
        self.assertEqual(res.summary["output"]["syslog_messages"], 2)  # the summary is last

    def test_default_facility_is_daemon_and_falco_shape(self):
        p = self.name("/tmp", "syslogf")
        res, msgs = self.run_ns(["--format", "falco", "--syslog"], shell_create(p),
                                fmt="falco")
        lines = [json.loads(x) for x in res.out.decode().splitlines()]
        pid = lines[0]["output_fields"]["tmpguard.pid"]
        got = [(f, s, json.loads(b)) for f, s, hp, b in msgs if hp == pid]
        self.assertEqual({m[0] for m in got}, {LOG_DAEMON})
        ev = [m for m in got if m[2]["rule"].startswith("Insecure temporary file: ")
              and m[2]["output_fields"]["fd.name"] == p]
        self.assertEqual(sorted(m[2]["rule"] for m in ev),
                         ["Insecure temporary file: loose-mode",
                          "Insecure temporary file: nonexclusive-create"])
        for fac, sev, body in ev:
            self.assertEqual(set(body), FALCO_KEYS)
            self.assertEqual(sev, LOG_SEVERITY[body["output_fields"]["tmpguard.severity"]])
            self.assertIn(body, lines, "syslog body differs from the stdout line")
        self.assertEqual(got[-1][2]["rule"], "tmpguard session summary")

    def long_path(self):
        """A path of about 4 KiB whose last directory is sticky and world-writable."""
        top = self.track(os.path.join("/tmp", "tg-sink-long-%s" % self.tok))
        os.mkdir(top)
        d = top
        while len(d) < 3700:
            d = os.path.join(d, "d" * 200)
            os.mkdir(d)
        os.chmod(d, 0o1777)
        return os.path.join(d, "f" * (4000 - len(d) - 1))

    @staticmethod
    def plain(o):
        return len(json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode())

    def assertShortened(self, body, full, limit, raw_len):
        """body is full cut to fit limit: valid JSON, each cut field named, the rest equal."""
        self.assertLessEqual(raw_len, limit, "a syslog message over the limit")
        cut = body.pop("syslog_truncated")
        self.assertTrue(cut)
        whole = {c.split(".")[0].split("[")[0] for c in cut}
        self.assertEqual(set(body), set(full))
        for k, v in full.items():
            if k not in whole:
                self.assertEqual(body[k], v, "field %s changed" % k)
        return cut

    def test_4k_path_finding_fits_rsyslog_default_whole(self):
        p = self.long_path()
        self.assertEqual(len(p), 4000)
        res, msgs = self.run_ns(["--format", "json", "--syslog"], shell_create(p))
        fs = self.assertFindings(res, p, ["loose-mode", "nonexclusive-create"])
        got = [m for m in self.own(res, msgs) if m[2]["type"] == "finding"]
        self.assertEqual(len(got), 2)
        for fac, sev, body in got:
            self.assertLessEqual(self.plain(body), 8000)
            self.assertEqual(body, fs[body["rule"]], "a record that fits was changed")
        self.assertEqual(res.summary["output"]["syslog_truncated"], 0)

    def test_smaller_limit_shortens_to_valid_json(self):
        p = self.long_path()
        res, msgs = self.run_ns(["--format", "json", "--syslog", "--syslog-max-size", "2048"],
                                shell_create(p))
        fs = self.assertFindings(res, p, ["loose-mode", "nonexclusive-create"])
        pid = res.records[0]["pid"]
        got = [(json.loads(b), len(b)) for f, s, hp, b in msgs if hp == pid]
        got = [(b, n) for b, n in got if b["type"] == "finding"]
        self.assertEqual(len(got), 2)
        for body, n in got:
            full = fs[body["rule"]]
            self.assertGreater(self.plain(full), 2048)
            cut = self.assertShortened(body, full, 2048, n)
            self.assertIn("path", cut)
            self.assertTrue(body["path"].endswith("..."))
            self.assertTrue(p.startswith(body["path"][:-3]))
        self.assertEqual(res.summary["output"]["syslog_truncated"], 2)

    def test_4k_path_falco_event_is_shortened_to_8000(self):
        p = self.long_path()
        res, msgs = self.run_ns(["--format", "falco", "--syslog"], shell_create(p), fmt="falco")
        lines = [json.loads(x) for x in res.out.decode().splitlines()]
        full = {e["output_fields"]["tmpguard.rule"]: e for e in lines
                if e["output_fields"].get("fd.name") == p}
        self.assertEqual(sorted(full), ["loose-mode", "nonexclusive-create"])
        pid = lines[0]["output_fields"]["tmpguard.pid"]
        got = [(json.loads(b), len(b)) for f, s, hp, b in msgs if hp == pid]
        got = [(b, n) for b, n in got if b["rule"].startswith("Insecure")]
        self.assertEqual(len(got), 2)
        for body, n in got:
            ev = full[body["output_fields"]["tmpguard.rule"]]
            # The path is in the sentence and in fd.name: past rsyslog's 8 KiB whole.
            self.assertGreater(self.plain(ev), 8000)
            cut = self.assertShortened(body, ev, 8000, n)
            self.assertIn("output", cut)
            for k in ("priority", "rule", "time", "hostname", "source", "tags"):
                self.assertEqual(body[k], ev[k])

    def test_no_limit_sends_the_whole_record(self):
        p = self.long_path()
        res, msgs = self.run_ns(["--format", "falco", "--syslog", "--syslog-max-size", "0"],
                                shell_create(p), fmt="falco")
        lines = [json.loads(x) for x in res.out.decode().splitlines()]
        pid = lines[0]["output_fields"]["tmpguard.pid"]
        got = [json.loads(b) for f, s, hp, b in msgs if hp == pid]
        got = [b for b in got if b["output_fields"].get("fd.name") == p]
        self.assertEqual(len(got), 2)
        for body in got:
            self.assertGreater(self.plain(body), 8000)
            self.assertIn(body, lines)
            self.assertNotIn("syslog_truncated", body)


# ------------------------------------------------------------------------------------------


class FalcoFormat(SysctlMixin, SinkTestCase):
    def check_line(self, ev):
        ctx = json.dumps(ev)
        # Falcosidekick's FalcoPayload, and what its Check() requires.
        self.assertEqual(set(ev), FALCO_KEYS, ctx)
        self.assertIn(ev["priority"], FALCO_PRIORITIES, ctx)
        self.assertTrue(ev["rule"], ctx)
        t = rfc3339_to_epoch(ev["time"])
        self.assertIsNotNone(t, ctx)
        self.assertTrue(ev["time"].endswith("Z"), ctx)
        self.assertTrue(ev["output_fields"], ctx)
        self.assertEqual(ev["source"], "tmpguard", ctx)
        self.assertEqual(ev["hostname"], socket.gethostname(), ctx)
        self.assertIsInstance(ev["tags"], list, ctx)
        self.assertEqual(ev["tags"], sorted(set(ev["tags"])), ctx)
        et = ev["output_fields"]["evt.time"]
        self.assertTrue(test_live.is_int(et), ctx)
        self.assertEqual(et, time_ns(ev["time"]), ctx)
        self.assertTrue(ev["output"].startswith("%s: %s " % (ev["time"], ev["priority"])), ctx)

    def run_falco(self, cmd):
        res = self.tg(["run", "--format", "falco", "--"] + cmd, fmt="falco")
        self.assertOk(res)
        self.assertTrue(res.out.endswith(b"\n"))
        evs = [json.loads(x.decode("utf-8")) for x in res.out.split(b"\n")[:-1]]
        for ev in evs:
            self.check_line(ev)
        self.assertEqual(evs[0]["rule"], "tmpguard session started")
        self.assertEqual(evs[0]["priority"], "Informational")
        self.assertEqual(evs[-1]["rule"], "tmpguard session summary")
        self.assertIn(evs[-1]["priority"], ("Informational", "Warning"))
        return res, evs

    def test_findings_high_and_medium(self):
        p = self.name("/tmp", "falco")
        res, evs = self.run_falco(shell_create(p))
        pid, _ = res.report()
        ev = {e["output_fields"]["tmpguard.rule"]: e for e in evs
              if e["rule"].startswith("Insecure temporary file: ")}
        self.assertEqual(sorted(ev), ["loose-mode", "nonexclusive-create"])
        for rule, e in ev.items():
            of = e["output_fields"]
            self.assertEqual(e["rule"], "Insecure temporary file: " + rule)
            self.assertEqual(e["priority"], FALCO_PRIORITY[of["tmpguard.severity"]])
            self.assertEqual(of["proc.pid"], pid)
            self.assertEqual(of["proc.name"], "bash")
            self.assertEqual(of["user.name"], "root")
            self.assertEqual(of["user.uid"], 0)
            self.assertEqual(of["fd.name"], p)
            self.assertEqual(of["container.id"], "host")
            self.assertEqual(of["evt.type"], "openat")
            self.assertIn("O_CREAT", of["evt.arg.flags"].split("|"))
            self.assertTrue(of["proc.exepath"].endswith("bash"), of["proc.exepath"])
            self.assertTrue(of["tmpguard.advice"])
            self.assertIn("filesystem", e["tags"])
            self.assertIn("host", e["tags"])
            for c in of["tmpguard.cwe"].split(","):
                self.assertIn(c, e["tags"])
            self.assertIn("(pid %d, user root) on %s" % (pid, p), e["output"])
        self.assertEqual(ev["nonexclusive-create"]["priority"], "Error")
        self.assertEqual(ev["loose-mode"]["priority"], "Warning")
        self.assertEqual(evs[-1]["output_fields"]["tmpguard.findings"], 2)

    def test_symlink_follow_is_critical(self):
        self.relax_protections()
        target = self.name(self.private_dir("/var/lib", 0o755), "target")
        with open(target, "w") as fh:
            fh.write("x\n")
        link = self.name("/tmp", "falco-link")
        subprocess.run(["/bin/ln", "-s", target, link], check=True, user=NOBODY, group=NOBODY,
                       extra_groups=[], env=ENV, cwd="/", stdin=subprocess.DEVNULL)
        res, evs = self.run_falco([BASH, "-c", "echo pwned > " + link])
        ev = [e for e in evs if e["output_fields"].get("fd.name") == link]
        self.assertEqual([e["rule"] for e in ev], ["Insecure temporary file: symlink-follow"])
        self.assertEqual(ev[0]["priority"], "Critical")
        self.assertIn("mitre_privilege_escalation", ev[0]["tags"])
        self.assertIs(ev[0]["output_fields"]["tmpguard.symlink_followed"], True)


# ------------------------------------------------------------------------------------------


class OwnFiles(SinkTestCase):
    """tmpguard's rotated output in /tmp (a mkdtemp'd directory, and a sticky world-writable
    one) while it audits the machine, watched by a second tmpguard: neither reports any
    tmpguard process or any of its files."""

    def test_auditing_itself_reports_nothing(self):
        pol = self.policy_no_rate_limit()
        obs_dir = self.private_dir("/var/lib", 0o700)
        obs_out = os.path.join(obs_dir, "observer.json")
        places = (self.scratch(), self.scratch(sticky=True))
        obs, _ = self.start_audit(["--format", "json", "--output", obs_out, "--policy", pol])
        subjects, stores = [], []
        for d in places:
            out = os.path.join(d, "out.json")
            # Every file a machine-wide tmpguard makes: rotated output, the store (with its
            # -wal and -shm), the health canary under /run.
            store = self.private_dir("/var/lib", 0o700)
            stores.append(store)
            tg, _ = self.start_audit(["--format", "json", "--output", out, "--policy", pol,
                                      "--rotate-size", "1", "--rotate-keep", "3",
                                      "--db", os.path.join(store, "events.db")])
            subjects.append((tg, d, out))
        t0 = time.time()
        gen = subprocess.run([PYTHON, "-c", CREATE_MANY, self.tok, "2000"], env=ENV,
                             umask=UMASK, stdin=subprocess.DEVNULL, timeout=300)
        self.assertEqual(gen.returncode, 0)
        for tg, d, out in subjects + [(obs, None, obs_out)]:
            tg.send_signal(signal.SIGINT)
            _, err = tg.communicate(timeout=120)
            self.assertEqual(tg.returncode, 0, err.decode(errors="replace")[-3000:])
        pids = {obs.pid} | {tg.pid for tg, _, _ in subjects}
        dirs = [obs_dir] + [d for _, d, _ in subjects] + stores + ["/run/tmpguard-canary"]

        def ours(f):
            path = f.get("path", "")
            return (f["proc"]["pid"] in pids or f["proc"]["ppid"] in pids
                    or any(path.startswith(d) for d in dirs))

        res = Result(0, b"", b"", t0 - 600, time.time())
        recs, _ = read_records(self, obs_out)
        seen = [r for r in recs if r["type"] == "finding"]
        self.assertTrue([f for f in seen if self.seq(f) is not None],
                        "the observer saw none of the test's findings: it proves nothing")
        self.assertEqual([f for f in seen if ours(f)], [], "tmpguard reported itself")
        for tg, d, out in subjects:
            files = self.rotated(out, 3)
            self.assertEqual(len(files), 4, "%s: %s" % (d, os.listdir(d)))
            self.assertEqual(sorted(os.listdir(d)),
                             sorted(os.path.basename(f) for f in files))
            body = []
            for path in files:
                self.assertPrivateFile(path)
                recs, _ = read_records(self, path)
                self.assertEqual(recs[0]["type"], "session")
                self.assertEqual(recs[0]["pid"], tg.pid)
                body += recs[1:]
            self.assertEqual(body[-1]["type"], "summary")
            self.assertGreaterEqual(body[-1]["output"]["rotations"], 3)
            self.assertEqual(body[-1]["output"]["records_failed"], 0)
            mine = [r for r in body if r["type"] == "finding"]
            self.assertTrue([f for f in mine if self.seq(f) is not None])
            self.assertEqual([f for f in mine if ours(f)], [],
                             "tmpguard (pid %d, writing in %s) reported itself" % (tg.pid, d))


# ------------------------------------------------------------------------------------------


class Errors(SinkTestCase):
    def test_disk_full_is_counted_said_once_and_survived(self):
        if not os.access(UNSHARE, os.X_OK):
            self.require(False, "%s not found (util-linux)" % UNSHARE)
        d = self.private_dir("/var/lib", 0o700)
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt, 0o700)
        pol = self.policy_no_rate_limit()
        # A 256 KiB tmpfs, seen only inside the namespace: the file is copied out at the end.
        script = ('set -e; d="$1"; shift; mount -t tmpfs -o size=256k,mode=0700 tg-full '
                  '"$d/mnt"; rc=0; "$@" || rc=$?; cp "$d/mnt/out.json" "$d/copy.json"; '
                  'exit $rc')
        t0 = time.time()
        p = subprocess.run([UNSHARE, "--mount", "--propagation", "private", SH, "-c", script,
                            "sh", d, TMPGUARD, "run", "--format", "json", "--output",
                            os.path.join(mnt, "out.json"), "--policy", pol, "--", PYTHON,
                            "-c", CREATE_MANY, self.tok, "400"],
                           stdin=subprocess.DEVNULL, capture_output=True, env=ENV,
                           umask=UMASK, timeout=300)
        res = Result(p.returncode, p.stdout, p.stderr, t0, time.time())
        self.assertOk(res)
        err = res.err.decode(errors="replace")
        self.assertEqual(err.count("cannot write to %s/out.json: No space left on device"
                                   % mnt), 1, err[-3000:])
        m = re.search(r"summary: (\d+) findings", err)
        self.assertIsNotNone(m, err[-3000:])
        total = int(m.group(1))
        self.assertEqual(total, 800)
        m = re.search(r"(\d+) records could not be written to %s/out.json" % re.escape(mnt),
                      err)
        self.assertIsNotNone(m, err[-3000:])
        failed = int(m.group(1))
        recs, data = read_records(self, os.path.join(d, "copy.json"))  # whole lines only
        self.assertEqual(recs[0]["type"], "session")
        written = len(recs)
        self.assertGreater(written, 10)
        self.assertGreater(failed, 0)
        # session + every finding + summary: each either in the file or counted as failed.
        self.assertEqual(written + failed, total + 2)


class Options(SinkTestCase):
    def usage(self, args, says):
        res = self.tg(["run"] + args + ["--", "/bin/true"], parse=False)
        self.assertOk(res, 2)
        self.assertIn(says.encode(), res.err, res.describe())

    def test_bad_combinations_are_usage_errors(self):
        out = os.path.join(self.scratch(), "o.json")
        self.usage(["--format", "json", "--rotate-size", "1"], "--rotate-size needs --output")
        self.usage(["--output", out, "--rotate-size", "1"], "--format json or falco")
        self.usage(["--format", "json", "--output", out, "--rotate-keep", "3"],
                   "--rotate-keep needs --rotate-size")
        self.usage(["--format", "json", "--output", out, "--rotate-size", "0"],
                   "invalid rotation size")
        self.usage(["--format", "json", "--output", out, "--rotate-size", "1",
                    "--rotate-keep", "0"], "invalid number of rotated files")
        self.usage(["--syslog-facility", "local1"], "need --syslog")
        self.usage(["--syslog", "--syslog-facility", "local9"], "invalid syslog facility")
        self.usage(["--syslog", "--syslog-max-size", "100"], "below 1024")
        self.usage(["--format", "xml"], "expected text, json, falco or sarif")
        self.assertFalse(os.path.exists(out))


# ------------------------------------------------------------------------------------------


def main():
    rc = test_live.preflight('test_sinks')
    if rc is not None:
        return rc
    if not os.access(fixture("open_trunc"), os.X_OK):
        print("test_sinks: fixture open_trunc missing in TG_FIXTURES (build tests/fixtures)",
              file=sys.stderr)
        return 1
    return test_live.run_tests(__name__, "test_sinks")


if __name__ == "__main__":
    sys.exit(main())
