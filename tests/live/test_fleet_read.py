#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of reading the fleet store: `tmpguard query` and `tmpguard report` with
--db postgresql://... against a real PostgreSQL 15 (test_fleet.Cluster: initdb in a temporary
directory, unix socket only) that three `tmpguard run --forward` hosts filled.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_fleet_read.py [Class[.test] ...]

The ground truth is the hosts' local stores: `query` over PostgreSQL must print, byte for byte,
what `query` prints over the three stores, merged in the order both backends share (time, then
host id, then each store's own order), for every filter; `report` over PostgreSQL must equal
`report --db a --db b --db c` (the hosts' stores in host-id order) but for the inputs' names.
"""

import calendar
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # importing the harness must not rewrite files in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmpguard_test as L  # noqa: E402
import test_fleet as F  # noqa: E402
from tmpguard_test import ENV, TMPGUARD  # noqa: E402


def time_ns(rfc3339):
    """"2026-12-06T18:21:04.968940663Z" -> ns since the epoch."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$", rfc3339)
    secs = calendar.timegm(tuple(int(x) for x in re.split(r"[-T:]", m.group(1))) + (0, 0, 0))
    return secs * 10**9 + int((m.group(2) or "0").ljust(9, "0"))


def split_records(fmt, out):
    """A query's output as one bytes string per finding (the CSV header apart)."""
    if fmt == "json":
        return [ln + b"\n" for ln in out.split(b"\n") if ln], b""
    if fmt == "csv":
        lines = [ln + b"\r\n" for ln in out.split(b"\r\n") if ln]
        return lines[1:], lines[0] if lines else b""
    recs = []
    for ln in out.split(b"\n")[:-1]:
        if ln.startswith(b"  ") and recs:
            recs[-1] += ln + b"\n"
        else:
            recs.append(ln + b"\n")
    return recs, b""


def md_escape(s):
    """report_escape.c's tg_md_escape, for the paths and URLs the report names inputs by."""
    out = ""
    for i, c in enumerate(s):
        if c in "\\`*_[]|~@" or (c == ":" and s[i + 1:i + 3] == "//") or (i == 0 and c in "#-+="):
            out += "\\"
        out += c
    return out


class FleetRead(F.FleetCase):
    def tmpguard(self, *argv, env=None, rc=0):
        p = subprocess.run([TMPGUARD] + list(argv), capture_output=True, timeout=F.WAIT * 2,
                           env=dict(ENV, **(env or {})), stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, rc, "%s: rc %d\n%s" % (argv, p.returncode,
                                                              p.stderr.decode()))
        return p

    def query(self, db, *args):
        extra = ["--password-file", self.cluster.pwfile] if db == self.url else []
        return self.tmpguard("query", "--db", db, *(extra + list(args))).stdout

    def test_host_queries_use_an_index(self):
        """`query --host H --since D` (and with --path) over PostgreSQL reads the partition
        through an index, with or without (host_id, time), which schema 4 dropped (with
        --path, the same one); the host + path + time question in SQL reads (host_id, path,
        time). The plans are the server's own for tmpguard's SQL (auto_explain)."""
        h = self.run_host("fleet-plan")
        self.assertExactlyOnce(h)
        # enough rows that a scan of the whole partition costs more: 40 hosts of 500, half of
        # them under /tmp/build-, a millisecond apart after a real finding
        self.pg("INSERT INTO tmpguard.findings (host_id, session_key, seq, time, time_ns, host, "
                "rule, severity, severity_level, action, pid, ppid, uid, exe, comm, path, "
                "container_id, body) SELECT 'fleet-x' || g % 40, 1, g, tmpguard.ns_time(f.time_ns "
                "+ g * 1000000::bigint), f.time_ns + g * 1000000::bigint, 'fleet-x' || g % 40, "
                "f.rule, f.severity, f.severity_level, f.action, f.pid, "
                "f.ppid, f.uid, f.exe, f.comm, CASE WHEN g / 40 % 2 = 0 THEN '/tmp/build-' || g "
                "ELSE '/var/tmp/o-' || g END, f.container_id, f.body FROM generate_series(1, "
                "20000) g, (SELECT * FROM tmpguard.findings ORDER BY time LIMIT 1) f")
        self.pg("ANALYZE tmpguard.findings")
        part = self.pg("SELECT DISTINCT tableoid::regclass FROM tmpguard.findings WHERE "
                       "host_id = 'fleet-x7'")
        self.assertEqual(len(part), 1, part)
        part = part[0][0].split(".")[-1]
        self.cluster.sql("ALTER DATABASE %s SET session_preload_libraries = 'auto_explain'"
                         % self.dbname)
        self.cluster.sql("ALTER DATABASE %s SET auto_explain.log_min_duration = 0"
                         % self.dbname)
        log = os.path.join(self.cluster.dir, "log")
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
        runs = ((["--host", "fleet-x7"], 500),
                (["--host", "fleet-x7", "--path", "/tmp/build-*"], 250))
        scan = re.compile(r"(Index Scan using|Index Only Scan using|Bitmap Index Scan on|"
                          r"Seq Scan on) (%s\S*)" % part)

        def scans(args, n):
            """The scans of the findings' partition in the plan of `query ARGS`."""
            start = os.path.getsize(log)
            out = self.query(self.url, "--since", since, "--format", "json", *args)
            self.assertEqual(out.count(b"\n"), n, args)
            with open(log, errors="replace") as f:
                f.seek(start)
                plans = [p for p in f.read().split("LOG:  duration:")
                         if "FROM tmpguard.findings WHERE true" in p]
            self.assertEqual(len(plans), 1, (args, plans))
            return scan.findall(plans[0]), plans[0]

        now = {}
        for args, n in runs:
            got, plan = scans(args, n)
            self.assertTrue(got, plan)
            self.assertNotIn("Seq Scan on", [k for k, _ in got], plan)
            self.assertFalse([i for _, i in got if i.endswith("_host_id_time_idx")], plan)
            now[tuple(args)] = (got, plan)
        # with the index schemas 1-3 had: index scans too (the planner, which sees the host
        # ids' values, may take that one for --host alone; with --path, (host_id, path, time))
        self.pg("CREATE INDEX findings_host ON tmpguard.findings (host_id, time)")
        self.pg("ANALYZE tmpguard.findings")
        for args, n in runs:
            got, plan = scans(args, n)
            self.assertTrue(got, plan)
            self.assertNotIn("Seq Scan on", [k for k, _ in got], plan)
            if "--path" in args:
                self.assertEqual(got, now[tuple(args)][0], "%s\n%s\n%s"
                                 % (args, now[tuple(args)][1], plan))
        self.pg("DROP INDEX tmpguard.findings_host")
        # the host + path + time question (bench/fleet.py's) reads (host_id, path, time)
        plan = "\n".join(r[0] for r in self.pg(
            "EXPLAIN SELECT body FROM tmpguard.findings WHERE host_id = 'fleet-x7' AND path "
            "LIKE '/tmp/build-%' AND time >= now() - interval '7 days' ORDER BY time"))
        self.assertRegex(plan, r"(Index Scan using|Bitmap Index Scan on) "
                               r"%s_host_id_path_time_idx" % part)
        self.assertNotIn("Seq Scan on %s" % part, plan)

    def merged(self, fmt, args):
        """What query over the fleet store must print: the stores' outputs merged by (time,
        host id), each store's own order kept; --limit N: the last N of them."""
        rows, header = [], b""
        limit = int(args[args.index("--limit") + 1]) if "--limit" in args else 0
        plain = [a for i, a in enumerate(args) if a != "--limit" and
                 (i == 0 or args[i - 1] != "--limit")]
        for h in self.hosts:
            keys = split_records("json", self.query(h.db, "--format", "json", *plain))[0]
            recs, hd = split_records(fmt, self.query(h.db, "--format", fmt, *plain))
            header = header or hd
            self.assertEqual(len(keys), len(recs))
            rows += [(time_ns(json.loads(k)["time"]), h.name, i, r)
                     for i, (k, r) in enumerate(zip(keys, recs))]
        rows.sort(key=lambda x: x[:3])
        if limit:
            rows = rows[-limit:]
        if fmt == "csv":
            header = header or b""
        return header + b"".join(r[3] for r in rows), len(rows)

    def assertSameQuery(self, args, fmts=("json",), at_least=1):
        for fmt in fmts:
            want, n = self.merged(fmt, list(args))
            got = self.query(self.url, "--format", fmt, *args)
            self.assertGreaterEqual(n, at_least, "%s %s: too few rows to compare" % (args, fmt))
            self.assertEqual(got, want, "query %s --format %s over PostgreSQL differs from the "
                             "stores merged" % (" ".join(args), fmt))
        return n

    def forward_three(self):
        self.hosts = [F.Host(self, "fleet-read-%d" % i, self.url, 3, gap=0.02) for i in range(3)]
        for h in self.hosts:
            self.assertEqual(h.wait(F.WAIT * 2), 0, h.text())
            self.assertExactlyOnce(h)
        with open(self.hosts[0].out) as f:
            first = [json.loads(ln) for ln in f if '"finding"' in ln][0]
        return first

    def test_query_equals_the_stores(self):
        first = self.forward_three()
        total = self.assertSameQuery([], fmts=("json", "text", "csv"), at_least=100)
        hid = self.hosts[1].name
        one = self.assertSameQuery(["--host", hid], fmts=("json", "text", "csv"))
        self.assertLess(one, total)
        self.assertEqual(self.assertSameQuery(["--host", first["host"]]), total)  # hostname
        self.assertEqual(self.assertSameQuery(["--host", hid, "--host", self.hosts[2].name]),
                         total - len(F.local_findings(self.hosts[0].db)))
        self.assertSameQuery(["--rule", "nonexclusive-create"], fmts=("json", "csv"))
        exe = first["proc"]["exe"]
        self.assertEqual(self.assertSameQuery(["--exe", exe]), total)
        self.assertEqual(self.assertSameQuery(["--exe", os.path.basename(exe)]), total)
        stem = self.hosts[0].stem
        self.assertEqual(self.assertSameQuery(["--path", stem + ".*"]),
                         len(F.local_findings(self.hosts[0].db)))
        n = self.assertSameQuery(["--path", stem[:-1] + "[" + stem[-1] + "x].1?"])
        self.assertEqual(n, 10)
        # the middle of the run: some before, some after
        times = sorted(time_ns(json.loads(r)["time"]) for h in self.hosts for r in
                       F.local_findings(h.db).values())
        mid = times[len(times) // 2]
        since = "%s.%09dZ" % (F.time.strftime("%Y-%m-%dT%H:%M:%S", F.time.gmtime(mid // 10**9)),
                              mid % 10**9)
        n = self.assertSameQuery(["--since", since], fmts=("json", "text"))
        self.assertTrue(0 < n < total, n)
        self.assertEqual(self.assertSameQuery(["--until", since]), total - n)
        self.assertEqual(self.assertSameQuery(["--host", hid, "--since", since, "--path",
                                               self.hosts[1].stem + ".*"]),
                         sum(1 for t, h in ((time_ns(json.loads(r)["time"]), 1) for r in
                                            F.local_findings(self.hosts[1].db).values())
                             if t >= mid))
        self.assertEqual(self.assertSameQuery(["--limit", "5"], fmts=("json", "text", "csv")), 5)
        # nothing matches: the same (empty) output, said on stderr
        p = self.tmpguard("query", "--db", self.url, "--password-file", self.cluster.pwfile,
                          "--host", "no-such-host", "--format", "csv")
        self.assertIn(b"no findings match", p.stderr)
        self.assertEqual(p.stdout, self.query(self.hosts[0].db, "--host", "no-such-host",
                                              "--format", "csv"))
        # libpq's environment gives the password too
        self.assertEqual(self.tmpguard("query", "--db", self.url, "--format", "json",
                                       env={"PGPASSWORD": F.PASSWORD}).stdout,
                         self.merged("json", [])[0])
        self.report_equals_the_stores(since)

    def normalised(self, fmt, out, names):
        if fmt == "json":
            def strip(o):
                if isinstance(o, dict):
                    return {k: strip(v) for k, v in o.items() if k != "input"}
                if isinstance(o, list):
                    return [strip(v) for v in o]
                return o
            d = json.loads(out)
            del d["generated"], d["inputs"]
            return strip(d)
        text = out.decode()
        text = re.sub(r"\n## Inputs\n.*?(?=\n## |\Z)", "\n", text, flags=re.S)
        text = re.sub(r"^Generated .*$", "", text, flags=re.M)
        for name in names:
            text = text.replace(md_escape(name), "INPUT")
        return text

    def report_equals_the_stores(self, since):
        until = F.time.strftime("%Y-%m-%dT%H:%M:%SZ", F.time.gmtime(F.time.time() + 3600))
        stores = sorted(self.hosts, key=lambda h: h.name.encode())
        name = self.url.split("?")[0]
        for fmt in ("json", "md", "csv"):
            for hosts in ([], ["--host", self.hosts[1].name], ["--since", since]):
                common = ["--format", fmt, "--until", until] + hosts
                pg = self.tmpguard("report", "--db", self.url, "--password-file",
                                   self.cluster.pwfile, *common).stdout
                loc = self.tmpguard("report", *sum((["--db", h.db] for h in stores), []),
                                    *common).stdout
                if fmt == "csv":  # one row per finding, no input named: byte for byte
                    self.assertEqual(pg, loc, "report --format csv %s" % " ".join(hosts))
                    continue
                if fmt == "json" and hosts[:1] != ["--since"]:
                    self.assertEqual([i["name"] for i in json.loads(pg)["inputs"]], [name])
                    d = json.loads(pg)
                    self.assertEqual(d["totals"]["findings"],
                                     sum(len(F.local_findings(h.db)) for h in stores
                                         if not hosts or h.name == hosts[1]))
                    self.assertEqual(d["totals"]["sessions"], 1 if hosts else 3)
                self.assertEqual(self.normalised(fmt, pg, [name]),
                                 self.normalised(fmt, loc, [h.db for h in stores]),
                                 "report --format %s %s over PostgreSQL differs from the "
                                 "stores'" % (fmt, " ".join(hosts)))
        # mixed with a store: that store's findings are duplicates of the fleet's
        p = self.tmpguard("report", "--db", self.url, "--password-file", self.cluster.pwfile,
                          "--db", self.hosts[0].db, "--format", "json", "--until", until)
        d = json.loads(p.stdout)
        self.assertEqual(d["totals"]["duplicates"], len(F.local_findings(self.hosts[0].db)))
        self.fleet_evidence(until)

    def fleet_report(self, until):
        return json.loads(self.tmpguard("report", "--db", self.url, "--password-file",
                                        self.cluster.pwfile, "--format", "json", "--until",
                                        until).stdout)

    def fleet_evidence(self, until):
        """The fleet store as an input stands as evidence: a content hash of the rows read
        (the same for the same rows, another when one changes), and the forward gaps the
        hosts recorded, per host."""
        first = self.fleet_report(until)
        digest = first["inputs"][0]["sha256"]
        self.assertRegex(digest or "", "^[0-9a-f]{64}$")
        self.assertEqual(first["inputs"][0]["kind"], "postgresql")
        self.assertEqual(self.fleet_report(until)["inputs"][0]["sha256"], digest)
        host = self.hosts[2].name
        self.assertEqual([h["forward_gaps"] for h in first["hosts"] if h["forward_gaps"]], [])
        # A gap as a host's forwarder writes it (forward.c: tmpguard.forward_gaps): 40 rows
        # of a session its size limit evicted before they were sent.
        key = self.pg("SELECT session_key FROM tmpguard.sessions WHERE host_id = '%s'"
                      % host)[0][0]
        self.pg("INSERT INTO tmpguard.forward_gaps (host_id, stream, session_key, first_seq, "
                "last_seq, evicted, from_time, to_time, time) VALUES ('%s', 'findings', %s, "
                "100001, 100040, 40, now() - interval '2 minutes', now() - interval "
                "'1 minute', now())" % (host, key))
        second = self.fleet_report(until)
        self.assertNotEqual(second["inputs"][0]["sha256"], digest)
        self.assertEqual(second["inputs"][0]["forward_gaps"], 1)
        gaps = {h["host"]: h for h in second["hosts"] if h["forward_gaps"]}
        self.assertEqual(len(gaps), 1, gaps.keys())
        (name, h), = gaps.items()
        self.assertEqual(h["forward_gap_rows"], 40)
        g = h["forward_gaps"][0]
        self.assertEqual((g["host_id"], g["stream"], g["session_key"], g["first_id"],
                          g["last_id"], g["evicted"]),
                         (host, "findings", int(key), 100001, 100040, 40))
        self.assertEqual(g["target"], self.url.split("?")[0])
        sess = [s for s in first["hosts"] if s["host"] == name]
        self.assertEqual(len(sess), 1, "the gap is listed under its host's name")
        # --host keeps a host's gaps and only its
        p = self.tmpguard("report", "--db", self.url, "--password-file", self.cluster.pwfile,
                          "--format", "json", "--until", until, "--host", self.hosts[0].name)
        self.assertEqual(json.loads(p.stdout)["inputs"][0]["forward_gaps"], 0)
        p = self.tmpguard("report", "--db", self.url, "--password-file", self.cluster.pwfile,
                          "--format", "md", "--until", until)
        self.assertIn(b"40", p.stdout)

    def test_errors(self):
        h = self.run_host("fleet-read-err", secs=0.3)
        self.assertExactlyOnce(h)
        pw = ["--password-file", self.cluster.pwfile]
        # a password in the URL: refused, never echoed
        url = self.url.replace("tmpguard@", "tmpguard:%s@" % F.PASSWORD)
        for cmd in ("query", "report"):
            p = self.tmpguard(cmd, "--db", url, rc=2)
            err = p.stderr.decode()
            self.assertIn("refusing a --db URL with a password in it", err)
            self.assertIn("--password-file FILE", err)
            self.assertNotIn(F.PASSWORD, err)
        # a wrong password
        wrong = os.path.join(self.cluster.private, "wrong-%s" % self.tok)
        self.track(wrong)
        fd = os.open(wrong, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"not-the-password\n")
        os.close(fd)
        for cmd in ("query", "report"):
            err = self.tmpguard(cmd, "--db", self.url, "--password-file", wrong,
                                rc=2).stderr.decode()
            self.assertIn('password authentication failed for user "tmpguard"', err)
            self.assertIn("check the password (--password-file, PGPASSWORD or PGPASSFILE)", err)
        # a loose password file
        os.chmod(wrong, 0o644)
        err = self.tmpguard("query", "--db", self.url, "--password-file", wrong,
                            rc=2).stderr.decode()
        self.assertIn("group or others may read or write it (chmod 600", err)
        # unreachable
        err = self.tmpguard("query", "--db", "postgresql://tmpguard@%2Fnonexistent/fleet",
                            *pw, rc=2).stderr.decode()
        self.assertRegex(err, r"postgresql://tmpguard@%2Fnonexistent/fleet: cannot connect: "
                              r".*No such file or directory.*is PostgreSQL running")
        self.assertNotIn("local store", err)
        # a database without the schema: said, and nothing created there
        self.cluster.sql("CREATE DATABASE %s_empty OWNER tmpguard" % self.dbname)
        empty = self.url.rsplit("/", 1)[0] + "/%s_empty" % self.dbname
        for cmd in ("query", "report"):
            err = self.tmpguard(cmd, "--db", empty, *pw, rc=2).stderr.decode()
            self.assertIn("holds no tmpguard fleet schema", err)
            self.assertIn("forward with `audit --db FILE --forward URL`", err)
        self.assertEqual(self.cluster.sql("SELECT count(*) FROM pg_namespace WHERE nspname = "
                                          "'tmpguard'", db="%s_empty" % self.dbname), [["0"]])
        # a newer schema
        self.pg("INSERT INTO tmpguard.schema_migrations(version, tmpguard) VALUES (99, 'x')")
        for cmd in ("query", "report"):
            err = self.tmpguard(cmd, "--db", self.url, *pw, rc=2).stderr.decode()
            self.assertIn("has tmpguard fleet schema version 99, newer than this tmpguard's 5",
                          err)
            self.assertIn("upgrade tmpguard on this host", err)
        self.pg("DELETE FROM tmpguard.schema_migrations WHERE version = 99")
        # read-only: a query runs in a read-only transaction (the server says so)
        self.assertEqual(self.tmpguard("query", "--db", self.url, *pw, "--format", "json")
                         .stdout.count(b"\n"), len(F.local_findings(h.db)))
        # --host is for stores only in a report; --password-file for a URL only in query
        err = self.tmpguard("report", "--host", "x", h.out, rc=2).stderr.decode()
        self.assertIn("--host reads stores (--db) only", err)
        err = self.tmpguard("query", "--db", h.db, *pw, rc=2).stderr.decode()
        self.assertIn("--password-file is for --db postgresql://", err)


def main():
    rc = L.preflight("test_fleet_read")
    if rc is not None:
        return rc
    return L.run_tests("__main__", "test_fleet_read")


if __name__ == "__main__":
    sys.exit(main())
