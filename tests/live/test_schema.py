#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The JSON Schemas of docs/schema/ against what tmpguard really writes: every record type made
for real (findings, the session, the summary, a loss, a health record, Falco events, query's
stored records, the report, doctor) and validated, each schema shown to reject a record with an
unknown field, a missing field or a field of the wrong type, and query's and report's CSV shown
to be one column set with the same cells. SchemaFiles needs neither root nor BPF: each schema
file is itself a valid Draft 2020-12 schema.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \\
        python3 tests/live/test_schema.py [SchemaFiles | Records]
"""

import copy
import csv
import glob
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import tmpguard_test as test_live
from tmpguard_test import ENV, NOBODY, SCHEMA_DIR, TMPGUARD, fixture

TYPES = ("finding", "session", "loss", "health", "summary", "falco", "doctor", "report")
try:
    import jsonschema
except ImportError:
    jsonschema = None


def need_jsonschema(tc):
    tc.require(jsonschema is not None, "python3-jsonschema is not installed")


class SchemaFiles(test_live.TgTestCase):
    def test_every_schema_file_is_a_valid_schema(self):
        need_jsonschema(self)
        files = sorted(glob.glob(os.path.join(SCHEMA_DIR, "*.schema.json")))
        self.assertEqual(sorted(os.path.basename(f)[:-len(".schema.json")] for f in files),
                         sorted(TYPES))
        ids = set()
        for path in files:
            with open(path) as fh:
                s = json.load(fh)
            self.assertEqual(s.get("$schema"), "https://json-schema.org/draft/2020-12/schema",
                             path)
            jsonschema.Draft202012Validator.check_schema(s)
            self.assertNotIn(s["$id"], ids, path)
            ids.add(s["$id"])
            # closed: a field the schema does not name is an error, not silently accepted
            self.assertIs(s.get("additionalProperties"), False, path)

    def test_the_readme_lists_every_schema(self):
        with open(os.path.join(SCHEMA_DIR, "README.md")) as fh:
            text = fh.read()
        for t in TYPES:
            self.assertIn("%s.schema.json" % t, text)


class Records(test_live.TgTestCase):
    """Each record type made for real and validated (the harness validates every record it
    parses; here the ones it does not parse too), then broken on purpose and rejected."""

    def setUp(self):
        super().setUp()
        need_jsonschema(self)
        self.dir = self.private_dir(parent="/var/lib", mode=0o700)

    def validator(self, kind):
        with open(os.path.join(SCHEMA_DIR, "%s.schema.json" % kind)) as fh:
            return jsonschema.Draft202012Validator(json.load(fh))

    def assertRejected(self, kind, rec, what):
        v = self.validator(kind)
        self.assertTrue(list(v.iter_errors(rec)), "%s schema accepts %s: %s" % (
            kind, what, json.dumps(rec)[:1000]))

    def assertRejectsBroken(self, kind, rec, drop="time", retype=("time", 12)):
        """rec is valid; with an unknown field, without drop or with a wrong type it is not."""
        self.validate_record(rec, kind)
        r = copy.deepcopy(rec)
        r["no_such_field"] = 1
        self.assertRejected(kind, r, "an unknown field")
        r = copy.deepcopy(rec)
        del r[drop]
        self.assertRejected(kind, r, "a record without %s" % drop)
        r = copy.deepcopy(rec)
        r[retype[0]] = retype[1]
        self.assertRejected(kind, r, "%s of the wrong type" % retype[0])
        if "schema_version" in rec:
            r = copy.deepcopy(rec)
            r["schema_version"] = 2
            self.assertRejected(kind, r, "another schema version")

    def lines(self, data, kind=None):
        recs = [json.loads(line) for line in data.decode().splitlines()]
        for r in recs:
            self.validate_record(r, kind)
        return recs

    def test_run_query_report_and_csv(self):
        db = os.path.join(self.dir, "store.db")
        a, b = self.name("/tmp", "schema-creat"), "/tmp/tg-schema-%s-XXXXXX" % self.tok
        res = self.run_cmd([test_live.BASH, "-c", '"$0" "$1" && "$2" "$3"', fixture("creat"), a,
                            fixture("mktemp_open"), b], opts=["--db", db])
        self.assertOk(res)
        self.assertTrue(res.findings, res.describe())
        kinds = {r["type"] for r in res.records}
        self.assertLessEqual({"session", "finding", "summary"}, kinds)
        for r in res.records:
            self.assertEqual(r["schema_version"], 1, r)
        f = res.findings[0]
        self.assertRejectsBroken("finding", f, drop="proc", retype=("severity", "urgent"))
        p = copy.deepcopy(f)
        p["proc"]["pid"] = "12"
        self.assertRejected("finding", p, "proc.pid as a string")
        p = copy.deepcopy(f)
        p["proc"]["extra"] = True
        self.assertRejected("finding", p, "an unknown proc field")
        self.assertRejectsBroken("session", res.records[0], drop="hooks",
                                 retype=("hooks_kind", "kprobe"))
        self.assertRejectsBroken("summary", res.summary, drop="events",
                                 retype=("findings", -1))

        # query: the stored records as they were written, each valid
        q = self.tg(["query", "--db", db, "--format", "json"], parse=False)
        self.assertOk(q)
        stored = self.lines(q.out, "finding")
        self.assertEqual(len(stored), len(res.findings))

        # report --format json: one document
        rj = self.tg(["report", "--format", "json", "--db", db], parse=False)
        self.assertOk(rj)
        doc = json.loads(rj.out)
        self.assertRejectsBroken("report", doc, drop="totals", retype=("generated", 1))

        # query's and report's CSV: one header, and the same cells for each finding
        qc = self.tg(["query", "--db", db, "--format", "csv"], parse=False)
        rc = self.tg(["report", "--format", "csv", "--db", db], parse=False)
        self.assertOk(qc)
        self.assertOk(rc)
        qrows = list(csv.reader(io.StringIO(qc.out.decode(), newline=""), strict=True))
        rrows = list(csv.reader(io.StringIO(rc.out.decode(), newline=""), strict=True))
        self.assertEqual(qrows[0], rrows[0])
        self.assertEqual(qrows[0][:4], ["time", "host", "rule", "severity"])
        self.assertEqual(len(qrows) - 1, len(res.findings))
        self.assertEqual(sorted(qrows[1:]), sorted(rrows[1:]))
        # the column list docs/schema/README.md gives is the one both print
        with open(os.path.join(SCHEMA_DIR, "README.md")) as fh:
            self.assertIn("\n%s\n" % ",".join(qrows[0]), fh.read())
        col = {n: i for i, n in enumerate(qrows[0])}
        for row in qrows[1:]:
            self.assertRegex(row[col["time"]], test_live.TIME_RE)
            self.assertEqual(len(row), len(qrows[0]), row)
        self.assertEqual(sorted(r[col["time"]] for r in qrows[1:]),
                         sorted(f["time"] for f in res.findings))

    def test_falco_events(self):
        res = self.tg(["run", "--format", "falco", "--", fixture("creat"),
                       self.name("/tmp", "schema-falco")], parse=False)
        self.assertOk(res)
        events = self.lines(res.out, "falco")
        self.assertGreaterEqual(len(events), 3, res.describe())  # session, finding, summary
        for e in events:
            self.assertEqual(e["output_fields"]["tmpguard.schema_version"], 1, e)
        self.assertRejectsBroken("falco", events[0], drop="output_fields",
                                 retype=("priority", "Severe"))
        e = copy.deepcopy(events[0])
        del e["output_fields"]["evt.time"]
        self.assertRejected("falco", e, "an event without evt.time")

    def test_doctor(self):
        res = self.tg(["doctor", "--format", "json"], parse=False)
        self.assertOk(res)
        doc = json.loads(res.out)
        self.assertRejectsBroken("doctor", doc, drop="checks", retype=("can_audit", "yes"))

    def test_health_record(self):
        exits = ["tracepoint__syscalls__sys_exit_" + s
                 for s in ("open", "openat", "openat2", "creat")]
        out = os.path.join(self.dir, "out.json")
        p = subprocess.run([TMPGUARD, "audit", "--duration", "7", "--format", "json",
                            "--output", out],
                           env=dict(ENV, TMPGUARD_TEST_DETACH=",".join(exits)),
                           capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        with open(out, "rb") as fh:
            recs = self.lines(fh.read())
        health = [r for r in recs if r["type"] == "health"]
        self.assertTrue(health, "no health record: %s" % p.stderr[-3000:])
        self.assertRejectsBroken("health", health[0], drop="status",
                                 retype=("status", "sick"))

    def test_loss_record(self):
        """A 1 MiB ring buffer, its reader stopped while nobody floods /tmp: a loss."""
        setpriv = shutil.which("setpriv")
        self.require(setpriv, "setpriv is not installed (util-linux)")
        out = os.path.join(self.dir, "out.json")
        tg, _ = self.start_audit(["--format", "json", "--output", out, "--ringbuf-size", "1"])
        # stderr read on a thread, so that tmpguard never blocks on a full pipe
        threading.Thread(target=tg.stderr.read, daemon=True).start()
        flood = subprocess.Popen([setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                                  "--clear-groups", fixture("flood"), "/tmp",
                                  "tg-schema-%s" % self.tok, "3"],
                                 env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        tg.send_signal(signal.SIGSTOP)
        time.sleep(1.5)
        tg.send_signal(signal.SIGCONT)
        flood.wait(timeout=60)
        tg.send_signal(signal.SIGINT)
        tg.wait(timeout=120)
        tg.stdout.close()
        with open(out, "rb") as fh:
            recs = self.lines(fh.read())
        losses = [r for r in recs if r["type"] == "loss"]
        self.assertTrue(losses, "no loss record: summary %s" % recs[-1]["events"])
        self.assertRejectsBroken("loss", losses[0], drop="lost", retype=("lost", -1))


if __name__ == "__main__":
    if sys.argv[1:] == ["SchemaFiles"]:  # no root, no BPF: a check of the files alone
        sys.exit(test_live.run_tests("__main__", "test_schema"))
    sys.exit(test_live.main(prog="test_schema"))
