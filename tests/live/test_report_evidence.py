#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of the report as evidence (issue 16): inputs named with their content hashes,
the policy in force on each host (by the SHA-256 of the file as loaded, across a reload), the
rows a store evicted before its forward target had them (forward gaps), and a host that stopped
reporting. Real stores, written by real `tmpguard audit`/`run --db` runs; hashes checked with
sha256sum(1).

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \\
        python3 tests/live/test_report_evidence.py [Class[.test] ...]

Needs root and BPF auditing (exits 77 otherwise, as the live suite does). No PostgreSQL: the
forward target is a socket directory that does not exist, so every row waits in the store.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # importing the harness must not rewrite files in the tree
import tmpguard_test as L  # noqa: E402
from tmpguard_test import ENV, PYTHON, TMPGUARD, UMASK  # noqa: E402

WAIT = 60
# Creates stem.N without O_EXCL every `gap` seconds for `secs` seconds (and removes each).
LOOP = r"""
import os, sys, time
stem, secs, gap = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
end, i = time.time() + secs, 0
while time.time() < end:
    p = "%s.%d" % (stem, i)
    with open(p, "w") as f:
        f.write("x")
    os.unlink(p)
    i += 1
    time.sleep(gap)
"""
# Every repeat stored: the default rate limit prints one per process, rule and pattern a minute.
POLICY_ALL = ("version: 1\nrate_limit: { per_key_per_minute: 100000, per_user_per_minute: "
              "100000, per_host_per_minute: 100000 }\nrules:\n  loose-mode: { enabled: false }\n")
EXCEPTION = ("exceptions:\n  - rule: nonexclusive-create\n    path: /tmp/tg-evid-lock-*\n"
             "    reason: lock files of the test\n    owner: test team\n"
             "    expires: 2099-12-31\n")
DOWN = "postgresql://tmpguard@/tmpguard?host=/nonexistent-tg-evidence"


def sha256sum(path):
    """(digest, size) as sha256sum(1) says: the tool a reader has, not Python's hashlib."""
    out = subprocess.run(["sha256sum", path], capture_output=True, check=True).stdout
    return out.split()[0].decode(), os.path.getsize(path)


def iso(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 10**9))


class Evidence(L.TgTestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.private_dir()
        self.policy = os.path.join(self.dir, "policy.yaml")
        self.write_policy(POLICY_ALL + EXCEPTION)

    def write_policy(self, text):
        with open(self.policy, "w") as f:
            f.write(text)
        os.chmod(self.policy, 0o644)

    def report(self, args, rc=0):
        p = subprocess.run([TMPGUARD, "report"] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, env=ENV, timeout=WAIT)
        self.assertEqual(p.returncode, rc, "report %s: %s" % (args, p.stderr.decode()))
        return p

    def report_json(self, *args):
        return json.loads(self.report(["--format", "json"] + list(args)).stdout)

    def run_loop(self, db, secs, gap, opts=()):
        stem = os.path.join("/tmp", "tg-evid-%s" % self.tok)
        res = self.tg(["run", "--format", "json", "--db", db, "--policy", self.policy] +
                      list(opts) + ["--", PYTHON, "-c", LOOP, stem, str(secs), str(gap)],
                      parse=False, timeout=WAIT * 2)
        self.assertEqual(res.rc, 0, res.err.decode(errors="replace")[-3000:])
        return res

    def test_inputs_named_by_content(self):
        """A store and a JSON-line file, each with the SHA-256 sha256sum gives, its size and
        its records, in JSON, Markdown, HTML and SARIF; the same inputs and --as-of give the
        same bytes; a store read while its write-ahead log holds rows has that log hashed too."""
        db = self.track(os.path.join(self.dir, "events.db"))
        out = self.track(os.path.join(self.dir, "events.json"))
        self.run_loop(db, 0.3, 0.05, opts=["--output", out])
        self.assertFalse(os.path.exists(db + "-wal") and os.path.getsize(db + "-wal"),
                         "a clean stop leaves no write-ahead log")
        m = self.report_json("--db", db, out)
        (d_db, n_db), (d_js, n_js) = sha256sum(db), sha256sum(out)
        got = {i["name"]: i for i in m["inputs"]}
        self.assertEqual((got[db]["sha256"], got[db]["bytes"], got[db]["kind"]),
                         (d_db, n_db, "sqlite"))
        self.assertEqual((got[out]["sha256"], got[out]["bytes"]), (d_js, n_js))
        self.assertIsNone(got[db]["write_ahead_log"])
        with open(out) as f:
            lines = [ln for ln in f if ln.strip()]
        self.assertEqual(got[out]["records"], len(lines))
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        rows = sum(con.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM sessions", "SELECT count(summary) FROM sessions",
            "SELECT count(*) FROM findings", "SELECT count(*) FROM losses",
            "SELECT count(*) FROM health"))
        con.close()
        self.assertEqual(got[db]["records"], rows)
        asof = ["--as-of", "2030-01-01T00:00:00Z"]
        for fmt in ("md", "html", "json", "sarif"):
            a = self.report(["--format", fmt] + asof + ["--db", db, out]).stdout
            b = self.report(["--format", fmt] + asof + ["--db", db, out]).stdout
            self.assertEqual(a, b, "%s: the same inputs gave different bytes" % fmt)
            if fmt in ("md", "html"):
                self.assertIn(d_db.encode(), a)
                self.assertIn(d_js.encode(), a)
                self.assertIn(str(n_db).encode(), a)
            if fmt == "sarif":
                props = json.loads(a)["runs"][0]["properties"]["inputs"]
                self.assertEqual([(i["sha256"], i["bytes"]) for i in props],
                                 [(d_db, n_db), (d_js, n_js)])
        # A store a killed audit left with its write-ahead log: both hashed, both as read.
        db2 = self.track(os.path.join(self.dir, "killed.db"))
        for suffix in ("-wal", "-shm"):
            self.track(db2 + suffix)
        tg, _ = self.start_audit(["--format", "json", "--db", db2, "--policy", self.policy])
        self.wait_for_commit(db2)
        tg.send_signal(signal.SIGKILL)
        tg.wait()
        tg.stdout.close()
        tg.stderr.close()
        m = self.report_json("--db", db2)
        i = m["inputs"][0]
        self.assertEqual((i["sha256"], i["bytes"]), sha256sum(db2))
        self.assertTrue(os.path.getsize(db2 + "-wal"), "the killed audit left no log")
        self.assertEqual((i["write_ahead_log"]["sha256"], i["write_ahead_log"]["bytes"]),
                         sha256sum(db2 + "-wal"))

    def wait_for_commit(self, db):
        """Until the audit's session row is in the store, with a heartbeat."""
        end = time.time() + WAIT
        while time.time() < end:
            try:
                con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
                row = con.execute("SELECT last_commit_ns FROM sessions").fetchone()
                con.close()
                if row and row[0]:
                    return row[0]
            except sqlite3.Error:
                pass
            time.sleep(0.2)
        self.fail("no session committed in %s" % db)

    def test_policy_in_force_by_digest_across_a_reload(self):
        """The session record carries the SHA-256 of the policy file as loaded; after SIGHUP
        with another file the summary carries the new one and since when: the report lists
        both for the host, each with its time in force, the later one linked to its
        exception."""
        first = sha256sum(self.policy)[0]
        db = self.track(os.path.join(self.dir, "reload.db"))
        tg, _ = self.start_audit(["--format", "json", "--db", db, "--policy", self.policy,
                                  "--host-id", "evid-reload"])
        self.write_policy(POLICY_ALL + EXCEPTION.replace("test team", "other team"))
        second = sha256sum(self.policy)[0]
        self.assertNotEqual(first, second)
        time.sleep(1.2)  # a reload time apart from the start, to the second
        tg.send_signal(signal.SIGHUP)
        end = time.time() + WAIT
        err = b""
        while b"policy reloaded" not in err and time.time() < end:
            err += tg.stderr.readline()
        self.assertIn(b"policy reloaded", err)
        tg.send_signal(signal.SIGINT)
        out, rest = tg.communicate(timeout=WAIT)
        self.assertEqual(tg.returncode, 0, rest.decode(errors="replace"))
        recs = [json.loads(x) for x in out.splitlines() if x.strip()]
        session = [r for r in recs if r["type"] == "session"][0]
        summary = [r for r in recs if r["type"] == "summary"][0]
        self.assertEqual(session["policy_sha256"], first)
        self.assertEqual(summary["policy_sha256"], second)
        m = self.report_json("--db", db)
        host = [h for h in m["hosts"] if h["host"] == session["host"]][0]
        pols = host["policies"]
        self.assertEqual([p["sha256"] for p in pols], [first, second], pols)
        self.assertEqual(pols[0]["from"][:19], session["time"][:19])
        self.assertEqual(pols[0]["to"], pols[1]["from"])
        self.assertEqual(pols[1]["from"][:19], summary["policy_since"][:19])
        self.assertIsNone(pols[0]["exceptions"])  # the summary lists the later policy's
        linked = [m["exceptions"][i] for i in pols[1]["exceptions"]]
        self.assertEqual([(x["owner"], x["line"]) for x in linked], [("other team", 6)])
        md = self.report(["--db", db]).stdout.decode()
        self.assertIn("#### Policies in force", md)
        self.assertIn("| %s |" % second, md)
        self.assertIn("| line 6 |", md)

    def test_forward_gaps(self):
        """A store whose forward target is down, shrunk under a size limit at the next open:
        the findings evicted unforwarded are a forward gap, and the report lists each gap of
        the store's forward_gaps table under its host, with every count and id."""
        db = self.track(os.path.join(self.dir, "gaps.db"))
        for suffix in ("-wal", "-shm"):
            self.track(db + suffix)
        opts = ["--host-id", "evid-gaps", "--forward", DOWN]
        self.run_loop(db, 6, 0.003, opts=opts)
        self.assertGreater(os.path.getsize(db), 1 << 20, "not enough findings to evict")
        res = self.run_loop(db, 0.1, 0.05, opts=opts + ["--db-max-size", "1"])
        self.assertIn(b"recorded as a forward gap", res.err)
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        gaps = con.execute("SELECT target, stream, first_id, last_id, evicted, from_ns, to_ns "
                           "FROM forward_gaps ORDER BY from_ns, first_id").fetchall()
        host = con.execute("SELECT host FROM sessions LIMIT 1").fetchone()[0]
        con.close()
        self.assertTrue(gaps, "the size limit recorded no forward gap")
        m = self.report_json("--db", db)
        h = [x for x in m["hosts"] if x["host"] == host][0]
        self.assertEqual([(g["target"], g["stream"], g["first_id"], g["last_id"], g["evicted"],
                           g["from"][:19], g["to"][:19]) for g in h["forward_gaps"]],
                         [(t, s, a, b, n, iso(f)[:19], iso(e)[:19])
                          for t, s, a, b, n, f, e in gaps])
        self.assertEqual(h["forward_gap_rows"], sum(g[4] for g in gaps))
        self.assertEqual(m["totals"]["forward_gap_rows"], sum(g[4] for g in gaps))
        self.assertTrue(any("before %s had them" % gaps[0][0] in s and s.startswith(host)
                            for s in m["not_seen"]), m["not_seen"])
        p = self.report(["--db", db])
        md = p.stdout.decode()
        self.assertIn("### Forward gaps", md)
        # a cron job's log says it too, by host
        self.assertRegex(p.stderr.decode(), r"tmpguard report: note: the report lists \d+ "
                         r"things? it could not see \(.*\); 1 host with forward gaps\n")
        self.assertIn("| %d to %d |" % (gaps[0][2], gaps[0][3]), md)

    def test_host_that_stopped_reporting(self):
        """An audit killed with SIGKILL leaves a session without an end: judged at a time more
        than 2 minutes after its last heartbeat (--as-of) its host stopped reporting, last
        heard from at the store's last commit; judged at its last heartbeat, it did not."""
        db = self.track(os.path.join(self.dir, "silent.db"))
        for suffix in ("-wal", "-shm"):
            self.track(db + suffix)
        tg, _ = self.start_audit(["--format", "json", "--db", db, "--policy", self.policy,
                                  "--host-id", "evid-silent"])
        self.wait_for_commit(db)
        tg.send_signal(signal.SIGKILL)
        tg.wait()
        tg.stdout.close()
        tg.stderr.close()
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        host, heard = con.execute("SELECT host, last_commit_ns FROM sessions").fetchone()
        con.close()
        later = iso(heard + 5 * 60 * 10**9)
        m = self.report_json("--as-of", later, "--db", db)
        h = [x for x in m["hosts"] if x["host"] == host][0]
        self.assertIsNotNone(h["stopped_reporting"], h)
        self.assertEqual(h["stopped_reporting"]["last_heard"][:19], iso(heard)[:19])
        self.assertEqual(m["totals"]["hosts_stopped_reporting"], 1)
        self.assertTrue(any(s.startswith("%s: stopped reporting: last heard from at %s" % (
            host, iso(heard))) for s in m["not_seen"]), m["not_seen"])
        p = self.report(["--as-of", later, "--db", db])
        md = p.stdout.decode()
        self.assertIn("### Hosts that stopped reporting", md)
        self.assertRegex(p.stderr.decode(), r"tmpguard report: note: the report lists \d+ "
                         r"things? it could not see \(.*\); 1 host stopped reporting\n")
        # --until before then: judged at the period's end, it had just been heard from.
        m = self.report_json("--as-of", later, "--until", iso(heard + 60 * 10**9), "--db", db)
        h = [x for x in m["hosts"] if x["host"] == host][0]
        self.assertIsNone(h["stopped_reporting"])
        m = self.report_json("--as-of", iso(heard + 10**9), "--db", db)
        self.assertEqual(m["totals"]["hosts_stopped_reporting"], 0)


def main():
    rc = L.preflight("test_report_evidence")
    if rc is not None:
        return rc
    return L.run_tests("__main__", "test_report_evidence")


if __name__ == "__main__":
    sys.exit(main())
