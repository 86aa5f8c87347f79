#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of the event store: `tmpguard audit --db` and `tmpguard query`.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_store.py [Class[.test] ...]

Same conventions and helpers as test_live.py (tests/lib/tmpguard_test.py): root, real BPF, real
programs, exit 77 when that is not possible. Other tmpguard instances may audit the machine at
the same time, and `audit` sees the whole machine: every assertion about particular findings
selects this test's own paths (a per-test token), and comparisons between the printed JSON and
the database are made over everything this run printed.

The ground truth is the live JSON output of the same run (--output FILE): the database must hold
exactly what was printed, byte for byte.
"""

import calendar
import csv
import glob
import io
import json
import os
import queue
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # importing the harness must not rewrite files in the tree
import tmpguard_test as L  # noqa: E402
from tmpguard_test import (ENV, PYTHON, BASH, SH, UMASK, NOBODY, TMPGUARD, Result,  # noqa: E402
                           fixture)

SEVERITY_LEVEL = {"low": 0, "medium": 1, "high": 2, "critical": 3}
# A program that creates files without O_EXCL, one every few ms, until killed.
LOOP = r"""
import sys, time
stem, i = sys.argv[1], 0
while True:
    with open("%s.%d" % (stem, i), "w") as f:
        f.write("x")
    i += 1
    time.sleep(0.005)
"""
# Every repeat printed (the default prints one per process, rule and pattern per minute).
POLICY_ALL = ("version: 1\nrate_limit: { per_key_per_minute: 100000, per_user_per_minute: 100000, "
              "per_host_per_minute: 100000 }\n"
              "rules:\n  loose-mode: { enabled: false }\n")
WAIT = 60


def ns(rfc3339):
    """RFC 3339 UTC with nanoseconds (as tmpguard writes it) -> integer ns."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{9})Z$", rfc3339)
    assert m, rfc3339
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(
        m.group(2))


def fmt(t_ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_ns // 10**9)) + (
        ".%09dZ" % (t_ns % 10**9))


def db_ro(path):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)


def db_rows(path, sql, args=()):
    con = db_ro(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def integrity(path):
    return db_rows(path, "PRAGMA integrity_check")


def json_lines(data, partial_ok=False):
    """The lines of a JSON-lines file; with partial_ok, a last line cut by kill -9 is
    dropped."""
    lines = data.split(b"\n")
    if lines[-1] == b"" or partial_ok:
        lines.pop()
    return [ln.decode() for ln in lines]


class Audit:
    """`tmpguard audit ARGS` once attached (start_audit: waits for "tmpguard: auditing"), its
    stderr read on in a thread so that it never blocks on a full pipe."""

    def __init__(self, case, args):
        self.t0 = time.time()
        self.proc, self.head = case.start_audit(args)
        self.lines = queue.Queue()
        self.tail = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        case.addCleanup(self.proc.stdout.close)
        case.addCleanup(self.proc.stderr.close)

    def _read(self):
        for line in self.proc.stderr:
            self.tail.append(line)
            self.lines.put(line)

    def err(self):
        return self.head + b"".join(self.tail)

    def stop(self, sig=signal.SIGTERM, timeout=WAIT):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(10)
        return rc


class StoreCase(L.TgTestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.private_dir("/var/lib", 0o700)
        self.db = os.path.join(self.dir, "events.db")
        self.out = os.path.join(self.dir, "out.json")

    def policy(self, text):
        path = os.path.join(self.dir, "policy.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def audit(self, args):
        return Audit(self, args)

    def loop(self, stem):
        """Starts LOOP creating stem.N; stopped and its files removed after the test."""
        p = subprocess.Popen([PYTHON, "-c", LOOP, stem], env=ENV, umask=UMASK,
                             stdin=subprocess.DEVNULL)

        def stop():
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in glob.glob(glob.escape(stem) + ".*"):
                os.unlink(f)
        self.addCleanup(stop)
        return p

    def wait_until(self, what, cond, timeout=WAIT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.2)
        self.fail("no %s within %d s" % (what, timeout))

    def printed(self, a, rc, partial_ok=False):
        """The run's --output as a Result (checked by test_live's schema checks)."""
        with open(self.out, "rb") as f:
            data = f.read()
        res = Result(rc, b"", a.err(), a.t0, time.time())
        if partial_ok:
            data = data[:data.rfind(b"\n") + 1]
        else:
            self.parse_json(res, data)
        res.lines = json_lines(data)
        res.finding_lines = [ln for ln in res.lines if json.loads(ln)["type"] == "finding"]
        return res

    def stored(self, session=None):
        sql = "SELECT json FROM findings %s ORDER BY id" % (
            "WHERE session = ?" if session else "")
        return [r[0] for r in db_rows(self.db, sql, (session,) if session else ())]

    def query(self, *args, rc=0):
        p = subprocess.run([TMPGUARD, "query", "--db", self.db] + list(args), env=ENV,
                           capture_output=True, timeout=WAIT, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, rc, "query %s: rc %d, stderr %r" % (
            args, p.returncode, p.stderr))
        return p


# ------------------------------------------------------------------------------------------


class StoreAudit(StoreCase):
    def test_db_holds_exactly_the_printed_findings(self):
        a = self.audit(["--format", "json", "--output", self.out, "--db", self.db])
        c = self.name("/tmp", "st-c")
        p = subprocess.run([fixture("open_trunc"), c], env=ENV, umask=UMASK,
                           capture_output=True, timeout=WAIT)
        self.assertEqual(p.returncode, 0, p.stderr)
        py = self.name("/tmp", "st-py")
        subprocess.run([PYTHON, "-c", "import os, sys; p = sys.argv[1]\n"
                        "if not os.path.exists(p): open(p, 'w').write('x')", py],
                       env=ENV, umask=UMASK, check=True, timeout=WAIT)
        # One process, four creates of one pattern: the default policy prints the first.
        sh = self.name("/tmp", "st-sh")
        subprocess.run([BASH, "-c", 'for i in 1 2 3 4; do echo x > "$1.$i"; done', "bash", sh],
                       env=ENV, umask=UMASK, check=True, timeout=WAIT)
        for i in range(1, 5):
            self.track("%s.%d" % (sh, i))
        rc = a.stop(signal.SIGTERM)
        res = self.printed(a, rc)
        self.assertOk(res)
        session, summary = res.records[0], res.records[-1]

        # the session: its record, its summary, stopped cleanly
        rows = db_rows(self.db, "SELECT id, json, summary, clean, started_ns, ended_ns, "
                       "last_commit_ns, host FROM sessions")
        self.assertEqual(len(rows), 1, rows)
        sid, sjson, ssum, clean, started, ended, last, host = rows[0]
        self.assertEqual(sjson, res.lines[0])
        self.assertEqual(ssum, res.lines[-1])
        self.assertEqual(clean, 1)
        self.assertEqual(started, ns(session["time"]))
        self.assertIsNotNone(ended)
        self.assertEqual(last, ended)
        self.assertEqual(host, session["host"])

        # every printed finding, in order, byte for byte; nothing else
        self.assertEqual(self.stored(), res.finding_lines)
        self.assertEqual(summary["store"]["findings_stored"], len(res.finding_lines))
        self.assertEqual(summary["store"]["commit_failures"], 0)
        self.assertIn(b"database %s: %d findings" % (self.db.encode(), len(res.finding_lines)),
                      res.err)

        # the indexed columns are the JSON's fields
        cols = db_rows(self.db, "SELECT session, time_ns, host, rule, severity, "
                       "severity_level, action, pid, ppid, uid, exe, comm, path, "
                       "container_id, json FROM findings ORDER BY id")
        for row in cols:
            f = json.loads(row[-1])
            pr = f["proc"]
            self.assertEqual(row[:-1], (
                sid, ns(f["time"]), f["host"], f["rule"], f["severity"],
                SEVERITY_LEVEL[f["severity"]], f["action"], pr["pid"], pr["ppid"],
                pr["uid"], pr["exe"], pr["comm"], f["path"], pr["container_id"]), row[-1])

        # our programs' findings, with the parent chain recorded at event time
        mine = [json.loads(ln) for ln in self.stored() if self.tok in json.loads(ln)["path"]]
        self.assertEqual(sorted((f["path"], f["rule"]) for f in mine), sorted([
            (c, "nonexclusive-create"),
            (py, "check-then-create"), (py, "loose-mode"),
            (sh + ".1", "nonexclusive-create"), (sh + ".1", "loose-mode")]),
            json.dumps(mine, indent=1))
        for f in mine:
            anc = f["ancestry"]
            self.assertEqual(anc[0]["pid"], f["proc"]["ppid"], json.dumps(f))
            self.assertEqual(anc[0]["pid"], os.getpid(), json.dumps(f))  # this test
            self.assertEqual(anc[-1]["pid"], 1, json.dumps(f))
        # the repeats the rate limit did not print are not stored, but counted
        self.assertGreaterEqual(summary["events"]["repeats_not_printed"], 6)

        # own hygiene: writing the database made no finding of tmpguard itself
        own = [f for f in res.findings
               if f["proc"]["pid"] == session["pid"] or f["path"].startswith(self.dir)]
        self.assertEqual(own, [], "tmpguard reported itself:\n" + json.dumps(own, indent=1))


class StoreQuery(StoreCase):
    def setUp(self):
        super().setUp()
        # A: a C program (root), B: a shell as nobody, C: Python's check-then-create (root).
        a = self.audit(["--format", "json", "--output", self.out, "--db", self.db])
        self.pa = self.name("/tmp", "q-c")
        p = subprocess.run([fixture("open_trunc"), self.pa], env=ENV, umask=UMASK,
                           capture_output=True, timeout=WAIT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.pb = self.name("/tmp", "q-nobody")
        subprocess.run([SH, "-c", 'echo x > "$1"', "sh", self.pb], env=ENV, umask=UMASK,
                       user=NOBODY, check=True, timeout=WAIT)
        self.pc = self.name("/tmp", "q-py")
        subprocess.run([PYTHON, "-c", "import os, sys; p = sys.argv[1]\n"
                        "if not os.path.exists(p): open(p, 'w').write('x')", self.pc],
                       env=ENV, umask=UMASK, check=True, timeout=WAIT)
        rc = a.stop(signal.SIGTERM)
        self.res = self.printed(a, rc)
        self.assertOk(self.res)
        self.glob = "/tmp/tg-q-*-%s" % self.tok
        self.mine = [(ln, json.loads(ln)) for ln in self.res.finding_lines
                     if self.tok in json.loads(ln)["path"]]
        self.assertEqual(sorted((f["path"], f["rule"]) for _, f in self.mine), sorted([
            (self.pa, "nonexclusive-create"), (self.pb, "nonexclusive-create"),
            (self.pb, "loose-mode"), (self.pc, "check-then-create"), (self.pc, "loose-mode")]),
            self.res.describe())

    def expect(self, args, pred):
        """query --path OURS ARGS --format json prints exactly the printed lines matching
        pred, in order."""
        p = self.query("--path", self.glob, "--format", "json", *args)
        want = [ln for ln, f in self.mine if pred(f)]
        self.assertEqual(json_lines(p.stdout) if p.stdout else [], want,
                         "query %s" % (args,))
        if not want:
            self.assertIn(b"no findings match", p.stderr)
        return want

    def test_each_filter_returns_exactly_the_expected_rows(self):
        fa = [f for _, f in self.mine if f["path"] == self.pa][0]
        fb = [f for _, f in self.mine if f["path"] == self.pb][0]
        fc = [f for _, f in self.mine if f["path"] == self.pc][0]
        cases = [
            ([], lambda f: True),
            (["--rule", "loose-mode"], lambda f: f["rule"] == "loose-mode"),
            (["--rule", "check-then-create"], lambda f: f["rule"] == "check-then-create"),
            (["--severity", "high"], lambda f: f["severity"] in ("high", "critical")),
            (["--severity", "medium"], lambda f: True),
            (["--severity", "critical"], lambda f: False),
            (["--exe", "open_trunc"], lambda f: f["path"] == self.pa),
            (["--exe", fa["proc"]["exe"]], lambda f: f["path"] == self.pa),
            (["--exe", os.path.basename(fb["proc"]["exe"])], lambda f: f["path"] == self.pb),
            (["--exe", "trunc"], lambda f: False),
            (["--pid", str(fb["proc"]["pid"])], lambda f: f["path"] == self.pb),
            (["--uid", str(NOBODY)], lambda f: f["proc"]["uid"] == NOBODY),
            (["--uid", "nobody"], lambda f: f["proc"]["uid"] == NOBODY),
            (["--uid", "0"], lambda f: f["proc"]["uid"] == 0),
            (["--since", fc["time"]], lambda f: f["path"] == self.pc),
            (["--until", fc["time"]], lambda f: f["path"] != self.pc),
            (["--since", fb["time"], "--until", fc["time"]], lambda f: f["path"] == self.pb),
            (["--since", "1h"], lambda f: True),
            (["--until", "1h"], lambda f: False),
            (["--container", "0123abcd"], lambda f: False),  # no container here
            (["--path", self.pc], lambda f: f["path"] == self.pc),
            (["--path", "/tmp/tg-q-[cp]*-%s" % self.tok], lambda f: f["path"] != self.pb),
            (["--rule", "loose-mode", "--uid", "nobody"],
             lambda f: f["rule"] == "loose-mode" and f["path"] == self.pb),
        ]
        for args, pred in cases:
            with self.subTest(args=args):
                self.expect(args, pred)
        # the limit keeps the newest N, printed oldest first
        p = self.query("--path", self.glob, "--format", "json", "--limit", "2")
        self.assertEqual(json_lines(p.stdout), [ln for ln, _ in self.mine][-2:])

    def test_json_rows_are_the_live_json_lines(self):
        p = self.query("--format", "json")
        # everything this run printed (the machine's findings too), byte for byte
        self.assertEqual(json_lines(p.stdout), self.res.finding_lines)

    def test_csv_parses_and_matches(self):
        p = self.query("--path", self.glob, "--format", "csv")
        text = p.stdout.decode()
        self.assertTrue(text.endswith("\r\n"))
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        # report --format csv's columns (docs/schema/README.md): test_schema.py compares them
        self.assertEqual(rows[0][:6], ["time", "host", "rule", "severity", "cwe", "action"])
        head = rows[0]
        self.assertEqual(len(rows) - 1, len(self.mine))
        for row, (_, f) in zip(rows[1:], self.mine):
            self.assertEqual(len(row), len(head), row)
            r = dict(zip(head, row))
            pr = f["proc"]
            self.assertEqual((r["time"], r["host"], r["rule"], r["severity"], r["action"]),
                             (f["time"], f["host"], f["rule"], f["severity"], f["action"]))
            self.assertEqual((r["pid"], r["ppid"], r["uid"]),
                             (str(pr["pid"]), str(pr["ppid"]), str(pr["uid"])))
            self.assertEqual((r["user"], r["comm"], r["exe"], r["path"]),
                             (pr["user"], pr["comm"], pr["exe"], f["path"]))
            self.assertEqual(r["flags"], "|".join(f["flags"]))
            self.assertEqual(r["cwe"], "|".join(f["cwe"]))
            self.assertEqual(r["container_id"], "")
            self.assertTrue(r["ancestry"].startswith("%d %s < " % (
                f["ancestry"][0]["pid"], f["ancestry"][0]["comm"])), r["ancestry"])

    def test_text_shows_each_finding_and_its_ancestry(self):
        p = self.query("--path", self.glob)
        lines = p.stdout.decode().splitlines()
        heads = [ln for ln in lines if not ln.startswith("  ")]
        self.assertEqual(len(heads), len(self.mine), lines)
        for ln, (_, f) in zip(heads, self.mine):
            self.assertTrue(ln.startswith("%s  %s  %s  " % (f["time"], f["severity"].upper(),
                                                           f["rule"])), ln)
            self.assertIn("pid %d " % f["proc"]["pid"], ln)
            self.assertTrue(ln.endswith("path " + f["path"]), ln)
        anc = [ln for ln in lines if ln.startswith("  ancestry ")]
        self.assertEqual(anc, ["  ancestry " + " < ".join(
            "%d %s" % (a["pid"], a["comm"]) for a in f["ancestry"]) + (
            " < ..." if f["ancestry_truncated"] else "") for _, f in self.mine])

    def test_errors_exit_2_with_a_message(self):
        for args, msg in ((["--rule", "no-such-rule"], b"unknown rule"),
                          (["--since", "yesterday"], b"invalid time"),
                          (["--severity", "severe"], b"invalid severity"),
                          (["--container", "xyz"], b"hex"),
                          (["--format", "xml"], b"invalid format"),
                          (["--limit", "0"], b"invalid limit")):
            with self.subTest(args=args):
                p = self.query(*args, rc=2)
                self.assertIn(msg, p.stderr)
        p = subprocess.run([TMPGUARD, "query"], env=ENV, capture_output=True, timeout=WAIT)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--db FILE is required", p.stderr)
        missing = os.path.join(self.dir, "missing.db")
        p = subprocess.run([TMPGUARD, "query", "--db", missing], env=ENV, capture_output=True,
                           timeout=WAIT)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"cannot open the database", p.stderr)
        self.assertFalse(os.path.exists(missing))
        # a database of a newer schema version
        other = os.path.join(self.dir, "v3.db")
        shutil.copy(self.db, other)
        con = sqlite3.connect(other)
        con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        con.commit()
        con.close()
        p = subprocess.run([TMPGUARD, "query", "--db", other], env=ENV, capture_output=True,
                           timeout=WAIT)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"schema version 3", p.stderr)
        p = subprocess.run([TMPGUARD, "audit", "--db", other], env=ENV, capture_output=True,
                           timeout=WAIT)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"schema version 3", p.stderr)


class StoreCrash(StoreCase):
    def test_kill9_loses_at_most_the_open_batch_and_the_next_start_says_so(self):
        pol = self.policy(POLICY_ALL)
        a = self.audit(["--format", "json", "--output", self.out, "--db", self.db,
                        "--policy", pol])
        stem = self.name("/tmp", "crash")
        self.loop(stem)
        def committed():
            return db_rows(self.db, "SELECT count(*) FROM findings WHERE path GLOB ?",
                           (stem + ".*",))[0][0]

        def printed_not_committed():
            with open(self.out, "rb") as f:
                n = sum(1 for ln in f.read().split(b"\n") if stem.encode() in ln)
            return n - committed() >= 20

        # kill -9 once a good part of the stream is committed, and while a batch is open
        self.wait_until("300 committed findings", lambda: committed() >= 300)
        self.wait_until("an open batch", printed_not_committed)
        a.proc.kill()
        a.proc.wait(timeout=WAIT)
        res = self.printed(a, a.proc.returncode, partial_ok=True)
        session = json.loads(res.lines[0])

        self.assertEqual(integrity(self.db), [("ok",)])
        (sid, clean, ended, last), = db_rows(
            self.db, "SELECT id, clean, ended_ns, last_commit_ns FROM sessions")
        self.assertEqual((clean, ended), (0, None))
        stored = self.stored()
        # Nothing invented, nothing lost in the middle: the committed rows are the first
        # ones printed, in order ...
        self.assertEqual(stored, res.finding_lines[:len(stored)])
        # ... and they include every finding printed before the last commit.
        before = [ln for ln in res.finding_lines if ns(json.loads(ln)["time"]) < last]
        self.assertLessEqual(len(before), len(stored))
        self.assertEqual(set(before) - set(stored), set())
        mine = [ln for ln in stored if stem in ln]
        self.assertGreaterEqual(len(mine), 300)
        print("\n  kill -9: %d findings printed, %d committed (%d before the last commit), "
              "%d in the open batch lost" % (len(res.finding_lines), len(stored), len(before),
                                             len(res.finding_lines) - len(stored)),
              file=sys.stderr)

        # The next start says so, once, and marks the session.
        a2 = self.audit(["--db", self.db, "--format", "json", "--output",
                         os.path.join(self.dir, "out2.json")])
        want = ("tmpguard: the previous session (pid %d, started %s) did not stop cleanly; "
                "findings after %s may be missing" % (session["pid"], session["time"],
                                                      fmt(last))).encode()
        self.assertIn(want, a2.head)
        self.assertEqual(a2.stop(signal.SIGTERM), 0, a2.err())
        self.assertEqual(integrity(self.db), [("ok",)])
        rows = db_rows(self.db, "SELECT id, clean, ended_ns, last_commit_ns FROM sessions "
                       "ORDER BY id")
        self.assertEqual(rows[0], (sid, 0, last, last))
        self.assertEqual(rows[1][1], 1)
        self.assertEqual(self.stored(sid), stored)  # the crashed session's rows, untouched
        res3 = self.tg(["audit", "--duration", "1", "--db", self.db], parse=False)
        self.assertOk(res3)
        self.assertNotIn(b"did not stop cleanly", res3.err)


class StoreConcurrent(StoreCase):
    def test_query_reads_while_audit_writes(self):
        pol = self.policy(POLICY_ALL)
        a = self.audit(["--format", "json", "--output", self.out, "--db", self.db,
                        "--policy", pol])
        stem = self.name("/tmp", "conc")
        loop = self.loop(stem)
        counts = []
        deadline = time.time() + WAIT
        # queries back to back while rows are committed: each one succeeds (no SQLITE_BUSY)
        while len(set(c for c in counts if c)) < 5 and time.time() < deadline:
            p = self.query("--format", "json", "--path", stem + ".*")
            self.assertNotIn(b"locked", p.stderr)
            self.assertNotIn(b"busy", p.stderr)
            counts.append(len(json_lines(p.stdout)) if p.stdout else 0)
        self.assertGreaterEqual(len(set(c for c in counts if c)), 5,
                                "the rows did not grow under the queries: %s" % counts)
        self.assertEqual(counts, sorted(counts), "a query saw fewer rows than one before it")
        print("\n  %d queries while writing, all exit 0; distinct row counts seen: %s" % (
            len(counts), sorted(set(counts))), file=sys.stderr)
        # a second writer is refused; the first goes on
        p = subprocess.run([TMPGUARD, "audit", "--db", self.db, "--duration", "1"], env=ENV,
                           capture_output=True, timeout=WAIT)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"already being written by another tmpguard", p.stderr)
        loop.kill()
        loop.wait()
        self.assertEqual(a.stop(signal.SIGTERM), 0, a.err())
        res = self.printed(a, 0)
        p = self.query("--format", "json", "--path", stem + ".*")
        self.assertEqual(json_lines(p.stdout),
                         [ln for ln in res.finding_lines if json.loads(ln)["path"].startswith(
                             stem + ".")])


class StoreRetention(StoreCase):
    def make_db(self):
        """A database with one real session and finding; returns (session id, finding)."""
        p = self.name("/tmp", "ret")
        res = self.tg(["run", "--format", "json", "--db", self.db, "--",
                       fixture("open_trunc"), p])
        self.assertOk(res)
        (sid,), = db_rows(self.db, "SELECT id FROM sessions")
        (js,), = db_rows(self.db, "SELECT json FROM findings WHERE path = ?", (p,))
        return sid, json.loads(js)

    def insert(self, con, session, f, t_ns, pad=0):
        f = dict(f, time=fmt(t_ns), proc=dict(f["proc"]))
        if pad:
            f["proc"]["cmdline"] = os.urandom(pad // 2).hex()
        pr = f["proc"]
        con.execute("INSERT INTO findings(session, time_ns, host, rule, severity, "
                    "severity_level, action, pid, ppid, uid, exe, comm, path, container_id, "
                    "json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (session, t_ns, f["host"], f["rule"], f["severity"],
                     SEVERITY_LEVEL[f["severity"]], f["action"], pr["pid"], pr["ppid"],
                     pr["uid"], pr["exe"], pr["comm"], f["path"], pr["container_id"],
                     json.dumps(f, separators=(",", ":"))))

    def test_retention_at_start_deletes_old_rows(self):
        sid, f = self.make_db()
        day = 86400 * 10**9
        now = time.time_ns()
        (sjson,), = db_rows(self.db, "SELECT json FROM sessions")
        con = sqlite3.connect(self.db)
        # an old session with 5 findings of 100 days and a loss of 120 days; 3 findings of
        # 10 days in the real session
        cur = con.execute("INSERT INTO sessions(host, started_ns, ended_ns, last_commit_ns, "
                          "clean, json) VALUES ('old', ?, ?, ?, 1, ?)",
                          (now - 200 * day, now - 99 * day, now - 99 * day, sjson))
        old = cur.lastrowid
        for i in range(5):
            self.insert(con, old, f, now - 100 * day + i)
        con.execute("INSERT INTO losses(session, from_ns, to_ns, lost, json) VALUES "
                    "(?, ?, ?, 7, '{}')", (old, now - 120 * day, now - 120 * day + 1))
        for i in range(3):
            self.insert(con, sid, f, now - 10 * day + i)
        con.commit()
        con.close()

        res = self.tg(["audit", "--duration", "1", "--format", "json", "--db", self.db])
        self.assertOk(res)
        self.assertIn(b"retention: removed 5 findings, 1 losses and 1 sessions", res.err)
        self.assertEqual(res.summary["store"]["retention_removed"],
                         {"findings": 5, "losses": 1, "sessions": 1})
        self.assertEqual(db_rows(self.db, "SELECT count(*) FROM findings WHERE time_ns < ?",
                                 (now - 90 * day,)), [(0,)])
        self.assertEqual(db_rows(self.db, "SELECT count(*) FROM findings WHERE time_ns "
                                 "BETWEEN ? AND ?", (now - 11 * day, now - 9 * day)), [(3,)])
        # (by host: without AUTOINCREMENT the next session may take the freed id)
        self.assertEqual(db_rows(self.db, "SELECT count(*) FROM sessions WHERE host = 'old'"),
                         [(0,)])
        self.assertEqual(db_rows(self.db, "SELECT count(*) FROM losses"), [(0,)])
        # a shorter age takes the 10-day findings as well, and nothing recent
        recent = db_rows(self.db, "SELECT count(*) FROM findings WHERE time_ns > ?",
                         (now - day,))[0][0]
        res = self.tg(["audit", "--duration", "1", "--format", "json", "--db", self.db,
                       "--db-max-age", "5"])
        self.assertOk(res)
        self.assertEqual(res.summary["store"]["retention_removed"]["findings"], 3)
        self.assertGreaterEqual(db_rows(self.db, "SELECT count(*) FROM findings")[0][0],
                                recent)
        self.assertEqual(integrity(self.db), [("ok",)])

    def test_retention_by_size_keeps_the_newest_and_shrinks_the_file(self):
        sid, f = self.make_db()
        now = time.time_ns()
        con = sqlite3.connect(self.db)
        t0 = now - 86400 * 10**9
        for i in range(4000):  # ~2.3 KiB each
            self.insert(con, sid, f, t0 + i * 10**6, pad=2048)
        con.commit()
        con.close()
        size0 = os.stat(self.db).st_size
        self.assertGreater(size0, 8 << 20)

        res = self.tg(["audit", "--duration", "1", "--format", "json", "--db", self.db,
                       "--db-max-size", "2"])
        self.assertOk(res)
        removed = res.summary["store"]["retention_removed"]["findings"]
        self.assertIn(b"retention: removed %d findings" % removed, res.err)
        left = [t for (t,) in db_rows(self.db, "SELECT time_ns FROM findings WHERE time_ns "
                                      "BETWEEN ? AND ? ORDER BY time_ns",
                                      (t0, t0 + 4000 * 10**6))]
        # the oldest went, the newest stayed
        self.assertEqual(len(left), 4000 - removed)
        self.assertEqual(left, [t0 + i * 10**6 for i in range(removed, 4000)])
        self.assertGreater(len(left), 0)
        size1 = os.stat(self.db).st_size
        self.assertLessEqual(size1, (2 << 20) + (512 << 10), "%d -> %d" % (size0, size1))
        self.assertEqual(integrity(self.db), [("ok",)])


class StoreFiles(StoreCase):
    def test_files_are_0600_root_even_under_umask_0(self):
        old = os.umask(0)
        try:
            a = self.audit(["--format", "json", "--output", self.out, "--db", self.db])
        finally:
            os.umask(old)
        for path in (self.db, self.db + "-wal", self.db + "-shm"):
            st = os.lstat(path)
            self.assertTrue(stat.S_ISREG(st.st_mode), path)
            self.assertEqual((st.st_uid, st.st_mode & 0o7777), (0, 0o600), path)
        self.assertEqual(a.stop(signal.SIGTERM), 0, a.err())
        res = self.printed(a, 0)
        own = [f for f in res.findings if f["proc"]["pid"] == res.records[0]["pid"]]
        self.assertEqual(own, [], "tmpguard reported itself:\n" + json.dumps(own, indent=1))
        self.assertEqual(os.stat(self.db).st_mode & 0o7777, 0o600)

    def refused(self, db, msg):
        p = subprocess.run([TMPGUARD, "audit", "--duration", "1", "--db", db], env=ENV,
                           capture_output=True, timeout=WAIT, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(msg, p.stderr)
        self.assertNotIn(b"tmpguard: auditing", p.stderr)

    def test_symlink_at_the_db_path_is_refused(self):
        target = os.path.join(self.dir, "target")
        link = os.path.join(self.dir, "link.db")
        os.symlink(target, link)
        self.refused(link, b"symbolic link")
        self.assertFalse(os.path.lexists(target), "a file was created through the symlink")
        with open(target, "w") as fh:
            fh.write("precious")
        self.refused(link, b"symbolic link")
        with open(target) as fh:
            self.assertEqual(fh.read(), "precious")

    def test_unsafe_places_and_owners_are_refused(self):
        shared = self.track("/tmp/tg-db-%s.db" % self.tok)
        self.refused(shared, b"writable by group or others")
        self.assertFalse(os.path.lexists(shared))
        with open(self.db, "w"):
            pass
        os.chmod(self.db, 0o600)
        os.chown(self.db, NOBODY, NOBODY)
        self.refused(self.db, b"owned by uid %d" % NOBODY)
        os.chown(self.db, 0, 0)
        os.chmod(self.db, 0o622)
        self.refused(self.db, b"writable by group or others")


# ------------------------------------------------------------------------------------------


def main():
    rc = L.preflight('test_store')
    if rc is not None:
        return rc
    if not os.access(fixture("open_trunc"), os.X_OK):
        print("test_store: fixtures missing in TG_FIXTURES=%s (build tests/fixtures)"
              % L.FIXTURES, file=sys.stderr)
        return 1
    return L.run_tests(__name__, "test_store")


if __name__ == "__main__":
    sys.exit(main())
