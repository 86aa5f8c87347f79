#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Floods: an unprivileged process creates insecure files as fast as it can for 10 s while
`tmpguard audit` runs machine-wide with the default ring buffer. tmpguard must keep running
within a memory bound, aggregate (print a handful, count the rest), and account for every
create: reported or counted as lost, with each loss alerted on stderr and recorded with its
window in the output.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_flood.py
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import tmpguard_test as test_live
from tmpguard_test import ENV, NOBODY, TMPGUARD, fixture, rfc3339_to_epoch

SECONDS = 10
RSS_BOUND_KIB = 64 * 1024  # the collector's peak RSS must stay under this


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Flood(test_live.TgTestCase):
    def test_flood_by_nobody(self):
        self.flood([])

    def test_flood_with_a_stalled_consumer_loses_and_says_when(self):
        # tmpguard stopped for 2 s (SIGSTOP) with a 1 MiB ring buffer: the kernel must drop,
        # and the loss must be counted, alerted and recorded with a window over the stall.
        ev, losses, stall = self.flood(["--ringbuf-size", "1"], stall=(2.0, 2.0))
        self.assertGreater(ev["lost"], 0, ev)
        stopped, resumed = stall
        self.assertTrue(any(rfc3339_to_epoch(r["from"]) <= stopped + 0.5 and
                            rfc3339_to_epoch(r["to"]) >= resumed for r in losses),
                        "no loss window covers the stall %s: %s" % (stall, losses))

    def test_flood_of_distinct_names_is_bounded_and_keeps_the_attack(self):
        # nobody makes every name a new rate-limit key (STEM.xabc, STEM.xabd, ...) for SECONDS,
        # and meanwhile plants a symlink that root's shell follows: the output and the store
        # stay small (nobody's findings past rate_limit.per_user_per_minute are counted, not
        # written), and root's critical finding is there afterwards: root's budget is its own.
        setpriv = shutil.which("setpriv")
        self.require(setpriv, "setpriv is not installed (util-linux)")
        with open("/proc/sys/fs/protected_symlinks") as fh:
            if fh.read().strip() != "0":
                self.skipTest("fs.protected_symlinks is on: the planted link is not followed")
        d = self.private_dir(parent="/var/lib", mode=0o700)
        out, db = os.path.join(d, "out.json"), os.path.join(d, "events.db")
        tg, err = self.start_audit(["--format", "json", "--output", out, "--rotate-size", "1",
                                    "--rotate-keep", "2", "--db", db, "--db-max-size", "8"])
        errbuf = []
        reader = threading.Thread(target=lambda: errbuf.append(tg.stderr.read()), daemon=True)
        reader.start()
        stem = "tg-floodd-%s" % self.tok
        flood = subprocess.Popen([setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                                  "--clear-groups", fixture("flood"), "/tmp", stem,
                                  str(SECONDS), "distinct"],
                                 env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(SECONDS / 3)
        target = self.track("/root/tg-flood-target-%s" % self.tok)
        with open(target, "w") as fh:
            fh.write("original\n")
        link = self.name("/tmp", "flood-link")
        subprocess.run([setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                        "--clear-groups", "ln", "-s", target, link], check=True, env=ENV)
        subprocess.run(["/bin/bash", "-c", 'echo pwned > "$0"', link], check=True, env=ENV)
        ferr = flood.communicate(timeout=SECONDS + 60)[1].decode()
        self.assertEqual(flood.returncode, 0, ferr)
        creates = int(re.search(r"creates=(\d+)", ferr).group(1))
        tg.send_signal(signal.SIGINT)
        tg.wait(timeout=120)
        reader.join(timeout=60)
        stderr = err.decode() + b"".join(errbuf).decode("utf-8", "replace")
        self.assertEqual(tg.returncode, 0, stderr[-3000:])

        files = [p for p in (out, out + ".1", out + ".2") if os.path.exists(p)]
        recs = []
        for p in files:
            with open(p, "rb") as fh:
                recs += [json.loads(line) for line in fh]
        summary = [r for r in recs if r["type"] == "summary"][-1]
        ev = summary["events"]
        out_bytes = sum(os.path.getsize(p) for p in files)
        db_bytes = sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))
        ctx = "creates %d, output %d bytes in %d files, store %d bytes, events %s" % (
            creates, out_bytes, len(files), db_bytes, ev)
        print("flood (distinct names): " + ctx, file=sys.stderr)
        self.assertGreater(creates, 10000, ctx)
        # Bounded: the output under its rotation bound, the store under its size limit
        # (plus the pages of one commit), whatever the number of creates.
        self.assertLess(out_bytes, 3 * (1 << 20) + 65536, ctx)
        self.assertLess(db_bytes, (8 + 4) << 20, ctx)
        # nobody's printed findings: at most its budget in each minute window the flood
        # touched (two at most); every finding printed or counted, the flood's by uid, and said.
        found = [r for r in recs if r["type"] == "finding"]
        by_nobody = [r for r in found if r["proc"]["uid"] == NOBODY]
        self.assertLessEqual(len(by_nobody), 2 * 120, ctx)
        self.assertEqual(len(found) + ev["repeats_not_printed"] + ev["over_budget"],
                         summary["findings"], ctx)
        self.assertGreater(ev["over_budget"], 1000, ctx)
        self.assertEqual(ev["over_budget_by_uid"][0]["uid"], NOBODY, ctx)
        # The summary lists the aggregates that matter, not one per distinct name.
        self.assertLessEqual(len(summary["aggregates"]), 512, ctx)
        self.assertGreater(summary["aggregates_not_listed"]["keys"], 0, ctx)
        self.assertEqual(summary["by_rule"]["symlink-follow"], 1, ctx)
        # nobody's distinct names past its share of the aggregation table are counted per
        # rule in one folded key: the table does not fill, and root's follow, made a third
        # into the flood (past 65,536 names on these hosts), has its own aggregate.
        self.assertEqual(ev["aggregate_overflow"], 0, ctx)
        self.assertGreater(ev["aggregate_folded"], 10000, ctx)
        folded = [a for a in summary["aggregates"] if a.get("folded")]
        self.assertEqual([(a["uid"], a["pid"], a["pattern"]) for a in folded],
                         [(NOBODY, 0, "*")], ctx)
        follow = [a for a in summary["aggregates"] if a["rule"] == "symlink-follow"]
        self.assertEqual([(a["uid"], a["comm"], a["count"]) for a in follow],
                         [(0, "bash", 1)], ctx)
        self.assertIn("uid %d made more than 120 findings this minute" % NOBODY, stderr)
        # The real attack, made during the flood, is there.
        attack = [r for r in recs if r["type"] == "finding" and r["path"] == link]
        self.assertEqual([r["rule"] for r in attack], ["symlink-follow"], ctx)
        q = subprocess.run([TMPGUARD, "query", "--db", db, "--rule", "symlink-follow",
                            "--format", "json"], capture_output=True, env=ENV, timeout=60)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertIn(link.encode(), q.stdout)

    def flood(self, opts, stall=None):
        """Runs the flood under `tmpguard audit OPTS`; stall=(after, for) stops tmpguard for a
        while. Checks memory, aggregation and accounting; returns (events, loss records,
        (stopped, resumed))."""
        setpriv = shutil.which("setpriv")
        self.require(setpriv, "setpriv is not installed (util-linux)")
        d = self.private_dir(parent="/var/lib", mode=0o700)
        out = os.path.join(d, "out.json")
        tg, err = self.start_audit(["--format", "json", "--output", out] + list(opts))
        # stderr is read on a thread so that tmpguard never blocks on a full pipe.
        errbuf = []
        reader = threading.Thread(target=lambda: errbuf.append(tg.stderr.read()), daemon=True)
        reader.start()

        stem = "tg-flood-%s" % self.tok
        t0 = time.time()
        flood = subprocess.Popen([setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                                  "--clear-groups", fixture("flood"), "/tmp", stem,
                                  str(SECONDS)],
                                 env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stopped = resumed = None
        while flood.poll() is None:
            self.assertIsNone(tg.poll(), "tmpguard died during the flood")
            if stall and stopped is None and time.time() - t0 >= stall[0]:
                stopped = time.time()
                tg.send_signal(signal.SIGSTOP)
            if stall and resumed is None and stopped and time.time() - stopped >= stall[1]:
                # Before the signal: tmpguard may read its counters before we read the clock.
                resumed = time.time()
                tg.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        if stopped and not resumed:
            resumed = time.time()
            tg.send_signal(signal.SIGCONT)
        ferr = flood.stderr.read().decode()
        self.assertEqual(flood.returncode, 0, ferr)
        m = re.search(r"pid=(\d+) creates=(\d+)", ferr)
        self.assertTrue(m, ferr)
        fpid, creates = int(m.group(1)), int(m.group(2))
        self.assertGreater(creates, 10000, "the flood was not a flood: %d creates" % creates)
        hwm = status_kib(tg.pid, "VmHWM")
        tg.send_signal(signal.SIGINT)
        tg.wait(timeout=120)
        reader.join(timeout=60)
        t1 = time.time()
        stderr = err.decode() + b"".join(errbuf).decode("utf-8", "replace")
        self.assertEqual(tg.returncode, 0, stderr[-3000:])

        with open(out, "rb") as fh:
            recs = [json.loads(line) for line in fh]
        summary = recs[-1]
        self.assertEqual(summary["type"], "summary")
        ev = summary["events"]
        aggs = [a for a in summary["aggregates"] if a["pid"] == fpid]
        counted = {a["rule"]: a["count"] for a in aggs}
        printed = [r for r in recs if r["type"] == "finding" and r["proc"]["pid"] == fpid]
        losses = [r for r in recs if r["type"] == "loss"]
        ctx = "creates %d, aggregates %s, events %s, printed %d, peak RSS %d KiB" % (
            creates, counted, ev, len(printed), hwm)
        print("flood: " + ctx, file=sys.stderr)

        # Memory: bounded however many findings arrive.
        self.assertLess(hwm, RSS_BOUND_KIB, ctx)
        # Aggregation: a handful printed (rate limit: 1 per key per minute), the rest counted.
        self.assertLessEqual(len(printed), 2 * 2 * (SECONDS // 60 + 2), ctx)
        self.assertEqual(set(counted), {"nonexclusive-create", "loose-mode"}, ctx)
        # Accounting: every create reported or counted lost, never more reported than made.
        self.assertLessEqual(counted["nonexclusive-create"], creates, ctx)
        self.assertGreaterEqual(counted["nonexclusive-create"] + ev["lost"], creates, ctx)
        self.assertEqual(counted["loose-mode"], counted["nonexclusive-create"], ctx)
        # Loss, if any, is never silent: stderr at once, loss records with their windows
        # inside the run, summing to the summary's count.
        self.assertEqual(sum(r["lost"] for r in losses), ev["lost"], ctx)
        if ev["lost"]:
            self.assertIn("records lost so far", stderr, ctx)
            self.assertIn("WARNING: %d records were lost" % ev["lost"], stderr, ctx)
            for r in losses:
                a, b = rfc3339_to_epoch(r["from"]), rfc3339_to_epoch(r["to"])
                self.assertLessEqual(a, b, r)
                self.assertGreaterEqual(a, t0 - 5, r)
                self.assertLessEqual(b, t1 + 1, r)
                if not stall:
                    self.assertLessEqual(b - a, 5, "a loss window wider than a few polls: %s" % r)
        return ev, losses, (stopped, resumed)


if __name__ == "__main__":
    sys.exit(test_live.main(prog="test_flood"))
