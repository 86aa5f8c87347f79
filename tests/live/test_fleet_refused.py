#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live test of a row the fleet store refuses for what it holds: a trigger on
tmpguard.findings (as a fleet's DBA might add) raises SQLSTATE 23514 for a finding whose path
holds a marker. The forwarder must pass over each such row alone (recorded locally in
forward_refused, said once, counted in tmpguard_forward_refused_rows_total) and go on: every
other finding arrives once and promptly, and no outage is said. A local row holding a value its
column's type cannot hold (a store changed by hand) is refused the same way by the forwarder
itself, which sends COPY's binary format.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_fleet_refused.py [Class[.test] ...]

It reuses tests/live/test_fleet.py's cluster (a real PostgreSQL 15 of its own, unix socket
only); without postgresql-15 it skips, saying why (under CI=true: fails).
"""

import os
import re
import sqlite3
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet as F  # noqa: E402
import tmpguard_test as L  # noqa: E402

MARK = "-refuse-"
# Like test_fleet's LOOP, but every EVERYth create has the marker in its name; then it waits
# TAIL seconds (the forwarder catches up while the metrics still answer).
LOOP = r"""
import os, sys, time
stem, secs, gap = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
every, tail = EVERY, TAIL
end, i = time.time() + secs, 0
while time.time() < end:
    p = ("%s" + "MARK" + "%d" if i % every == every - 1 else "%s.%d") % (stem, i)
    with open(p, "w") as f:
        f.write("x")
    os.unlink(p)
    i += 1
    time.sleep(gap)
time.sleep(tail)
""".replace("MARK", MARK)

TRIGGER = r"""
CREATE FUNCTION public.tg_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path LIKE '%MARK%' THEN
        RAISE EXCEPTION 'path % is not allowed here', NEW.path USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse BEFORE INSERT ON tmpguard.findings FOR EACH ROW
    EXECUTE FUNCTION public.tg_refuse();
""".replace("MARK", MARK)


class FleetRefused(F.FleetCase):
    def start(self, name, secs, every, tail, port):
        """test_fleet's Host running LOOP above (Host takes its program from F.LOOP)."""
        saved = F.LOOP
        F.LOOP = LOOP.replace("EVERY", str(every)).replace("TAIL", str(tail))
        try:
            return F.Host(self, name, self.url, secs, gap=0.03,
                          opts=["--metrics-addr", "127.0.0.1:%d" % port])
        finally:
            F.LOOP = saved

    def test_refused_rows_pass_and_the_stream_goes_on(self):
        # the schema, made by a first host's forwarder; then the DBA's trigger
        self.run_host("fleet-q-first", secs=0.1)
        self.cluster.sql(TRIGGER, db=self.dbname)
        port = F.free_port()
        t0 = time.time()
        h = self.start("fleet-q", 8, 7, 15, port)
        # after its creates (8 s, and its start), before the program ends: everything not
        # refused is there, the refused counted, nothing waits
        deadline = t0 + 8 + 15 - 2
        metrics, marked, ok = {}, [], False
        while time.time() < deadline:
            time.sleep(1)
            rows = F.local_rows(h.db, "SELECT f.id, f.path FROM findings f")
            marked = sorted(i for i, p in rows if MARK in p)
            try:
                metrics = F.scrape(port)
            except OSError:
                continue
            there = int(self.pg("SELECT count(*) FROM tmpguard.findings WHERE host_id = "
                                "'fleet-q'")[0][0])
            if (time.time() > t0 + 12 and there == len(rows) - len(marked) and
                    metrics.get("tmpguard_forward_backlog_rows") == 0 and
                    metrics.get("tmpguard_forward_refused_rows_total") == len(marked)):
                ok = True
                break
        self.assertEqual(h.wait(F.WAIT), 0, h.text())
        err = h.text()
        self.assertTrue(ok, "not caught up before the end: %s\n%s" % (metrics, err))
        self.assertGreaterEqual(len(marked), 5, err)
        self.assertEqual(metrics.get("tmpguard_forward_outages_total"), 0.0, metrics)
        self.assertEqual(metrics.get("tmpguard_forward_up"), 1.0, metrics)
        self.assertEqual(metrics.get("tmpguard_forward_backlog_rows"), 0.0, metrics)

        # every other finding arrived once, with its body; none of the refused
        local = {k: v for k, v in F.local_findings(h.db).items()}
        paths = dict(F.local_rows(h.db, "SELECT id, path FROM findings"))
        remote = self.pg_findings("fleet-q")
        want = {k for k in local if MARK not in paths[k[2]]}
        self.assertEqual(set(remote), want, err)
        self.assertEqual(self.pg("SELECT count(*) FROM tmpguard.findings WHERE path LIKE "
                                 "'%%%s%%'" % MARK), [["0"]])
        # promptly: the refusals did not hold the stream up
        delays = sorted(float(d) for (d,) in self.pg(
            "SELECT extract(epoch FROM received - time) FROM tmpguard.findings WHERE "
            "host_id = 'fleet-q'"))
        p99 = delays[len(delays) * 99 // 100]
        self.assertLess(p99, 5, delays)

        # recorded locally, each once, with the SQLSTATE and the server's message
        refused = F.local_rows(h.db, "SELECT stream, row_id, sqlstate, reason FROM "
                                     "forward_refused ORDER BY row_id")
        self.assertEqual([r[1] for r in refused], marked, err)
        for stream, row, state, reason in refused:
            self.assertEqual((stream, state), ("findings", "23514"))
            self.assertIn("is not allowed here", reason)
            self.assertIn(MARK, reason)
            # said once, with what to do
            said = re.findall(r"refuses the findings row %d for what it holds \[23514\]: "
                              r"[^\n]*fix the server's constraint or trigger" % row, err)
            self.assertEqual(len(said), 1, err)
        # the rows stay in the local store; no outage, no gap; the mark is the last row
        self.assertEqual(len(local), len(paths))
        self.assertNotIn("rows wait in the local store and are sent once", err)
        self.assertNotIn("still failing", err)
        self.assertEqual(F.local_rows(h.db, "SELECT count(*) FROM forward_gaps"), [(0,)])
        marks = dict(F.local_rows(h.db, "SELECT stream, hwm FROM forward_state"))
        self.assertEqual(marks["findings"], max(paths))
        print("\n  %d findings, %d refused by the trigger (each recorded, said once), the "
              "other %d in PostgreSQL once; arrival p50 %.2f s, p99 %.2f s" % (
                  len(local), len(refused), len(remote), delays[len(delays) // 2], p99),
              file=sys.stderr)

    def test_a_value_its_column_cannot_hold_is_refused_alone(self):
        """A local row holding a value its PostgreSQL column's type cannot hold (a store
        changed by hand, or damaged: a severity_level beyond a smallint, a pid that is not a
        number). COPY's binary format cannot carry it: the forwarder refuses the row itself,
        with the SQLSTATE the server gives the same value as text, records it in
        forward_refused, says so once, and sends every other row once."""
        # rows kept locally: the server is away for this first run
        away = "postgresql://tmpguard@%2Fnonexistent/fleet"
        h = self.run_host("fleet-v", url=away, secs=1)
        ids = [i for (i,) in F.local_rows(h.db, "SELECT id FROM findings ORDER BY id")]
        self.assertGreaterEqual(len(ids), 4, h.text())
        bad = {ids[1]: ("22003", 'severity_level 70000 is out of range for its smallint '
                                 'column'),
               ids[-2]: ("22P02", 'pid "12ab" is not an integer, for its integer column')}
        c = sqlite3.connect(h.db)
        with c:
            c.execute("UPDATE findings SET severity_level = 70000 WHERE id = ?", (ids[1],))
            c.execute("UPDATE findings SET pid = '12ab' WHERE id = ?", (ids[-2],))
        c.close()
        # the same store (Host's path is its name's), now with the server there
        h = self.run_host("fleet-v", secs=0.5)
        err = h.text()
        local = F.local_findings(h.db)
        remote = self.pg_findings("fleet-v")
        want = {k for k in local if k[2] not in bad}
        self.assertGreater(len(want), len(ids))  # the second run's findings too
        self.assertEqual(set(remote), want, err)
        refused = F.local_rows(h.db, "SELECT stream, row_id, sqlstate, reason FROM "
                                     "forward_refused ORDER BY row_id")
        self.assertEqual([tuple(r) for r in refused],
                         [("findings", i, bad[i][0], bad[i][1]) for i in sorted(bad)], err)
        for i, (state, reason) in bad.items():
            said = re.findall(r"cannot send the findings row %d for what it holds \[%s\]: "
                              r"%s; [^\n]*the local store was changed by hand or is damaged"
                              % (i, state, re.escape(reason)), err)
            self.assertEqual(len(said), 1, err)
        self.assertNotIn("refuses the findings row", err)
        marks = dict(F.local_rows(h.db, "SELECT stream, hwm FROM forward_state"))
        self.assertEqual(marks["findings"], max(k[2] for k in local))


def main():
    rc = L.preflight("test_fleet_refused")
    if rc is not None:
        return rc
    return L.run_tests("__main__", "test_fleet_refused")


if __name__ == "__main__":
    sys.exit(main())
