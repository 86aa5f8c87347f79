#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of forwarding to the fleet store: `tmpguard run --db FILE --forward URL` against a
real PostgreSQL 15.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_fleet.py [Class[.test] ...]

Each class starts its own PostgreSQL cluster: initdb in a temporary directory owned by user
postgres, listening only on a unix socket in that directory (listen_addresses = ''), password
(scram-sha-256) authentication for everyone. tmpguard connects as role tmpguard with its
password in a root-only file (--forward-password-file); every test has a database of its own.
Without postgresql-15 the tests skip, saying why; under CI=true that is a failure.

The ground truth is each host's local store: every finding in it must be in PostgreSQL
exactly once, under its key (host id, session key, id) and with its JSON body byte for byte.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.dont_write_bytecode = True  # importing the harness must not rewrite files in the tree
import tmpguard_test as L  # noqa: E402
from tmpguard_test import ENV, PYTHON, TMPGUARD, UMASK  # noqa: E402

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_MISSING = "postgresql-15 is not installed (apt-get install postgresql-15; .ci/setup --tests)"
PASSWORD = "fwd-%s" % L.token()
WAIT = 60
# Creates stem.N without O_EXCL every `gap` seconds for `secs` seconds (and removes each: the
# unlink is no create), then exits.
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


class Cluster:
    """A PostgreSQL cluster of our own in a temporary directory, on a unix socket only; with
    tls, on 127.0.0.1 too, TLS only there, its certificate signed by a CA of the test's."""

    def __init__(self, tls=False):
        self.tls = tls
        self.port = 5432
        self.private = None
        self.dir = tempfile.mkdtemp(prefix="tg-pg-", dir="/tmp")
        try:
            self.setup()
        except BaseException:
            self.close()  # setUpClass failed: tearDownClass will not run
            raise

    def setup(self):
        self.data = os.path.join(self.dir, "data")
        self.admin_pw = "admin-%s" % L.token()
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.admin_pw + "\n")
        shutil.chown(pwfile, "postgres")
        self.as_postgres([PG_BIN + "/initdb", "-D", self.data, "-U", "postgres", "-E", "UTF8",
                          "--auth-local=scram-sha-256", "--auth-host=reject",
                          "--pwfile=" + pwfile])
        os.unlink(pwfile)
        # A root-only place for tmpguard's files, and its password file.
        self.private = tempfile.mkdtemp(prefix="tg-fleet-", dir="/var/lib")
        os.chmod(self.private, 0o700)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = ''\nunix_socket_directories = '%s'\n" % self.dir)
            if self.tls:
                self.port = free_port()
                self.make_certs()
                f.write("listen_addresses = '127.0.0.1'\nport = %d\nssl = on\n"
                        "ssl_cert_file = '%s/server.pem'\nssl_key_file = '%s/server.key'\n"
                        % (self.port, self.dir, self.dir))
        if self.tls:
            # TCP only with TLS; pg_hba.conf takes the first line that matches.
            hba = os.path.join(self.data, "pg_hba.conf")
            with open(hba) as f:
                rest = f.read()
            with open(hba, "w") as f:
                f.write("hostnossl all all 127.0.0.1/32 reject\n"
                        "hostssl all all 127.0.0.1/32 scram-sha-256\n" + rest)
        self.start()
        self.sql("CREATE ROLE tmpguard LOGIN PASSWORD '%s'" % PASSWORD)
        self.pwfile = os.path.join(self.private, "password")
        fd = os.open(self.pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (PASSWORD + "\n").encode())
        os.close(fd)

    def openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, env=ENV,
                       timeout=WAIT, cwd=self.dir)

    def make_certs(self):
        """A CA (its certificate for tmpguard in self.ca), the server's key and certificate
        for localhost signed by it, and another CA that signed nothing (self.other_ca)."""
        self.ca = os.path.join(self.private, "ca.pem")
        self.other_ca = os.path.join(self.private, "other-ca.pem")
        for key, cert, cn in (("ca.key", self.ca, "tmpguard test CA"),
                              ("other.key", self.other_ca, "another CA")):
            self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=" + cn, "-keyout", key, "-out", cert,
                         "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        with open(os.path.join(self.dir, "san.ext"), "w") as f:
            f.write("subjectAltName = DNS:localhost\n")
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                     "-keyout", "server.key", "-out", "server.csr")
        self.openssl("x509", "-req", "-in", "server.csr", "-CA", self.ca, "-CAkey", "ca.key",
                     "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out",
                     "server.pem")
        for name in ("server.key", "server.pem"):
            path = os.path.join(self.dir, name)
            shutil.chown(path, "postgres", "postgres")
            os.chmod(path, 0o600)
        os.unlink(os.path.join(self.dir, "ca.key"))

    def as_postgres(self, argv, check=True):
        p = subprocess.run(["runuser", "-u", "postgres", "--"] + argv, capture_output=True,
                           env=ENV, timeout=120, stdin=subprocess.DEVNULL, cwd="/")
        if check and p.returncode:
            raise AssertionError("%s: rc %d: %s %s" % (argv, p.returncode, p.stdout, p.stderr))
        return p

    def start(self):
        self.as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-l",
                          os.path.join(self.dir, "log"), "-w", "-t", "60", "start"])

    def stop(self):
        self.as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])

    def sql(self, sql, db="postgres", user="postgres"):
        """Rows of sql (psql -At, tab-separated), as lists of strings."""
        env = dict(ENV, PGPASSWORD=self.admin_pw if user == "postgres" else PASSWORD)
        p = subprocess.run([PG_BIN + "/psql", "-h", self.dir, "-p", str(self.port),
                            "-U", user, "-d", db, "-At",
                            "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, env=env, timeout=WAIT, stdin=subprocess.DEVNULL)
        if p.returncode:
            raise AssertionError("psql %r: %s" % (sql, p.stderr.decode()))
        return [ln.split("\t") for ln in p.stdout.decode().splitlines() if ln]

    def database(self, name):
        self.sql("CREATE DATABASE %s OWNER tmpguard ENCODING 'UTF8'" % name)
        if self.tls:
            return ("postgresql://tmpguard@localhost:%d/%s?sslmode=verify-full&sslrootcert=%s"
                    % (self.port, name, self.ca))
        return "postgresql://tmpguard@%s/%s" % (self.dir.replace("/", "%2F"), name)

    def close(self):
        if os.path.exists(os.path.join(self.dir, "data", "postmaster.pid")):
            self.as_postgres([PG_BIN + "/pg_ctl", "-D", os.path.join(self.dir, "data"), "-m",
                              "immediate", "stop"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.private:
            shutil.rmtree(self.private, ignore_errors=True)


def local_findings(db):
    """{(host_id, session key, id): json} of a local store."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return {(h, k, i): j for h, k, i, j in con.execute(
            "SELECT s.host_id, s.key, f.id, f.json FROM findings f JOIN sessions s ON "
            "s.id = f.session")}
    finally:
        con.close()


def local_rows(db, sql):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r"^(tmpguard_forward_[a-z_]+(?:\{[^}]*\})?) (\S+)$", text, re.M)}


class Host:
    """One `tmpguard run --db --forward` with its own host id, local store and program."""

    def __init__(self, case, name, url, secs, gap=0.02, opts=(), env=None):
        self.name = name
        self.db = os.path.join(case.cluster.private, "%s-%s.db" % (name, case.tok))
        self.out = os.path.join(case.cluster.private, "%s-%s.json" % (name, case.tok))
        self.stem = os.path.join("/tmp", "tg-fleet-%s-%s" % (name, case.tok))
        case.track(self.db)
        case.track(self.db + "-wal")
        case.track(self.db + "-shm")
        case.track(self.out)
        argv = [TMPGUARD, "run", "--format", "json", "--output", self.out, "--db", self.db,
                "--policy", case.policy_file, "--host-id", name, "--forward", url,
                "--forward-password-file", case.cluster.pwfile] + list(opts) + [
                "--", PYTHON, "-c", LOOP, self.stem, str(secs), str(gap)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=dict(ENV, **(env or {})),
                                     umask=UMASK)
        case.addCleanup(self.proc.stderr.close)
        case.addCleanup(lambda: self.proc.poll() is None and (self.proc.kill(), self.proc.wait()))
        self.err = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.err += line

    def wait(self, timeout):
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(10)
        return rc

    def text(self):
        return self.err.decode(errors="backslashreplace")


class FleetCase(L.TgTestCase):
    cluster = None
    n_db = 0
    tls = False

    @classmethod
    def setUpClass(cls):
        if os.access(PG_BIN + "/initdb", os.X_OK):
            cls.cluster = Cluster(tls=cls.tls)

    @classmethod
    def tearDownClass(cls):
        if cls.cluster:
            cls.cluster.close()

    def setUp(self):
        super().setUp()
        self.require(self.cluster is not None, PG_MISSING)
        FleetCase.n_db += 1
        self.dbname = "fleet_%d_%d" % (os.getpid(), FleetCase.n_db)
        self.url = self.cluster.database(self.dbname)
        self.policy_file = os.path.join(self.cluster.private, "policy-%s.yaml" % self.tok)
        self.track(self.policy_file)
        with open(self.policy_file, "w") as f:
            f.write(POLICY_ALL)

    def pg(self, sql):
        return self.cluster.sql(sql, db=self.dbname, user="tmpguard")

    def pg_findings(self, host_id):
        """{(host_id, session key, seq): md5 of the body} in PostgreSQL."""
        return {(h, int(k), int(s)): m for h, k, s, m in self.pg(
            "SELECT host_id, session_key, seq, md5(body::text) FROM tmpguard.findings WHERE "
            "host_id = '%s'" % host_id)}

    def assertExactlyOnce(self, host):
        """Every finding of host's store in PostgreSQL once, with its body byte for byte,
        and nothing else of that host there."""
        local = {k: hashlib.md5(v.encode()).hexdigest()
                 for k, v in local_findings(host.db).items()}
        remote = self.pg_findings(host.name)
        self.assertTrue(local, "%s stored no finding\n%s" % (host.name, host.text()))
        self.assertEqual(set(remote) - set(local), set(), "rows in PostgreSQL not in the store")
        self.assertEqual(set(local) - set(remote), set(), "rows of the store not forwarded\n"
                         + host.text())
        self.assertEqual(remote, local, "bodies differ")
        dup = self.pg("SELECT count(*) - count(DISTINCT md5(body::text)) FROM tmpguard.findings "
                      "WHERE host_id = '%s'" % host.name)
        self.assertEqual(dup, [["0"]], "a finding arrived twice under different keys")
        # the time the forwarder sends with each row (COPY) is the server's ns_time(time_ns)
        off = self.pg("SELECT count(*) FROM tmpguard.findings WHERE host_id = '%s' AND time "
                      "<> tmpguard.ns_time(time_ns)" % host.name)
        self.assertEqual(off, [["0"]], "a finding's time is not ns_time(time_ns)")
        return len(local)

    def run_host(self, name, opts=(), secs=0.5, url=None, env=None, rc=0):
        """A short run to its end: (Host, rc)."""
        h = Host(self, name, url or self.url, secs, opts=opts, env=env)
        got = h.wait(WAIT * 2)
        self.assertEqual(got, rc, "%s: rc %d\n%s" % (name, got, h.text()))
        return h


class FleetForward(FleetCase):
    def test_three_hosts_through_an_outage_exactly_once(self):
        """Three hosts forward while PostgreSQL is stopped for 30 s in the middle: every finding
        of every local store arrives exactly once; the outage is said once per host when it
        starts and once when it ends, with how long and how many rows waited."""
        port = free_port()
        t0 = time.time()
        hosts = [Host(self, "fleet-test-%d" % i, self.url, 90,
                      opts=["--metrics-addr", "127.0.0.1:%d" % port] if i == 0 else (),
                      # one host's commit answers "lost" now and then: each batch sent again
                      env={"TMPGUARD_TEST_FORWARD_FORGET": "5"} if i == 2 else None)
                 for i in range(3)]
        # Stop PostgreSQL once every host has forwarded some findings.
        deadline = time.time() + WAIT
        while time.time() < deadline:
            counts = dict(self.pg(
                "SELECT host_id, count(*) FROM tmpguard.findings GROUP BY host_id")
                if self.pg("SELECT to_regclass('tmpguard.findings') IS NOT NULL") == [["t"]]
                else [])
            if all(int(counts.get(h.name, 0)) > 0 for h in hosts):
                break
            time.sleep(0.5)
        else:
            self.fail("not every host forwarded within %d s:\n%s" % (
                WAIT, "\n".join(h.text() for h in hosts)))
        time.sleep(15)  # in the middle of their activity
        t_stop = time.time()
        self.cluster.stop()
        time.sleep(10)
        during = scrape(port)
        time.sleep(20)
        self.cluster.start()
        t_start = time.time()
        rcs = [h.wait(180) for h in hosts]
        t_end = time.time()
        after = [h.text() for h in hosts]
        for h, rc in zip(hosts, rcs):
            self.assertEqual(rc, 0, "%s: rc %d\n%s" % (h.name, rc, h.text()))

        n = [self.assertExactlyOnce(h) for h in hosts]
        for h, err in zip(hosts, after):
            outage = re.findall(r"forward to \S+: .*; rows wait in the local store and are sent "
                                r"once it works", err)
            self.assertEqual(len(outage), 1, "the outage is said once\n" + err)
            back = re.findall(r"working again after ([0-9.]+) s \((\d+) failed attempts\); "
                              r"(\d+) rows had waited", err)
            self.assertEqual(len(back), 1, "the recovery is said once\n" + err)
            self.assertGreaterEqual(float(back[0][0]), 25, err)
            self.assertGreater(int(back[0][2]), 0, err)
            self.assertIn("nothing left to send", err)
            if h is hosts[2]:
                # its batches sent again met their rows (the COPY straight into findings
                # refused them) and went the staged way, which counts them
                again = re.findall(r"\((\d+) were there already\)", err)
                self.assertTrue(again and int(again[-1]) > 0, err)
            # the mark in the store is its last row
            marks = dict(local_rows(h.db, "SELECT stream, hwm FROM forward_state"))
            self.assertEqual(marks["findings"],
                             local_rows(h.db, "SELECT max(id) FROM findings")[0][0])
            # its session, ended cleanly, with its summary, once
            s = self.pg("SELECT count(*), bool_and(clean), bool_and(summary IS NOT NULL) FROM "
                        "tmpguard.sessions WHERE host_id = '%s'" % h.name)
            self.assertEqual(s, [["1", "t", "t"]], err)
            print("\n  %s: %d findings; outage of PostgreSQL %.0f s; forwarding back after "
                  "%s s (%s failed attempts), %s rows had waited" % (
                      h.name, len(local_findings(h.db)), t_start - t_stop, back[0][0],
                      back[0][1], back[0][2]), file=sys.stderr)
        # the retried batches: sent again, kept once
        dups = re.search(r"\((\d+) were there already\)", after[2])
        self.assertTrue(dups and int(dups.group(1)) > 0, after[2])
        # the metrics said it while it lasted
        self.assertEqual(during.get("tmpguard_forward_up"), 0.0, during)
        self.assertGreater(during.get("tmpguard_forward_backlog_rows", 0), 0, during)
        self.assertGreater(during.get("tmpguard_forward_lag_seconds", 0), 5, during)
        self.assertGreaterEqual(during.get("tmpguard_forward_outages_total", 0), 1, during)
        total = int(self.pg("SELECT count(*) FROM tmpguard.findings")[0][0])
        self.assertEqual(total, sum(n))
        # how long a finding took to arrive, before the outage and once caught up after it
        rows = [(float(t), float(r)) for t, r in self.pg(
            "SELECT extract(epoch FROM time), extract(epoch FROM received) FROM "
            "tmpguard.findings")]
        for what, lo, hi in (("before the outage", 0, t_stop - 2),
                             ("10 s after it", t_start + 10, t_end)):
            d = sorted(r - t for t, r in rows if lo <= t < hi)
            if d:
                print("  arrival delay %s: p50 %.2f s, p99 %.2f s, max %.2f s (%d findings)"
                      % (what, d[len(d) // 2], d[len(d) * 99 // 100], d[-1], len(d)),
                      file=sys.stderr)
        print("  %d findings from 3 hosts in %.0f s, each in PostgreSQL once "
              "(partitions: %s)" % (total, t_end - t0, ", ".join(
                  r[0] for r in self.pg("SELECT c.relname FROM pg_inherits i JOIN pg_class c "
                                        "ON c.oid = i.inhrelid WHERE i.inhparent = "
                                        "'tmpguard.findings'::regclass ORDER BY 1"))),
              file=sys.stderr)
        self.assertReportIsTheStores(hosts)

    def test_staging_tables_only_when_a_batch_needs_them(self):
        """A connection makes a stream's temporary table only when a batch needs it, once:
        findings go straight into tmpguard.findings, so their table is made only for a batch
        sent again; sessions (upserted) make theirs at the first session row."""
        # this database's DDL in the server's log: log_line_prefix begins '%m [%p] ' (the
        # default; Debian's clusters add '%q%u@%d '), each line with its backend's pid
        self.cluster.sql("ALTER DATABASE %s SET log_statement = 'ddl'" % self.dbname)
        log = os.path.join(self.cluster.dir, "log")

        def made(run):
            start = os.path.getsize(log)
            h = run()
            with open(log, errors="replace") as f:
                f.seek(start)
                lines = f.read().splitlines()
            tables = {}
            for ln in lines:
                m = re.search(r"\[(\d+)\] (?:\S+ )?LOG:  statement: CREATE TEMP TABLE "
                              r"(tg_stage_\w+)", ln)
                if m:
                    tables.setdefault(m.group(2), []).append(m.group(1))
            for name, pids in tables.items():
                self.assertEqual(len(pids), len(set(pids)),
                                 "%s made more than once on a connection\n%s" % (
                                     name, "\n".join(lines)))
            self.assertExactlyOnce(h)
            return tables, h

        tables, h = made(lambda: self.run_host("fleet-stage-0"))
        self.assertNotIn("tg_stage_findings", tables, h.text())
        self.assertIn("tg_stage_sessions", tables, h.text())
        # the other streams' tables: made if and only if the store had rows of theirs
        for name, table in (("tg_stage_losses", "losses"), ("tg_stage_health", "health"),
                            ("tg_stage_gaps", "forward_gaps")):
            had = local_rows(h.db, "SELECT count(*) FROM %s" % table)[0][0]
            self.assertEqual(name in tables, had > 0, "%s, with %d rows of %s to send\n%s"
                             % (name, had, table, h.text()))
        # every other commit's answer lost: those batches go again, and meet their rows
        tables, h = made(lambda: self.run_host("fleet-stage-1", secs=2,
                                               env={"TMPGUARD_TEST_FORWARD_FORGET": "2"}))
        self.assertIn("tg_stage_findings", tables, h.text())
        self.assertRegex(h.text(), r"\([1-9]\d* were there already\)")

    def assertReportIsTheStores(self, hosts):
        """The fleet report over PostgreSQL, after the outage, is the report over the three
        hosts' stores (given in host-id order, as the fleet store gives its rows), but for how
        the inputs are named; tests/live/test_fleet_read.py checks the filters and formats."""
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))

        def report(*inputs):
            p = subprocess.run([TMPGUARD, "report", "--format", "json", "--until", until,
                                "--as-of", until] + list(inputs), capture_output=True,
                               env=ENV, timeout=WAIT, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            d = json.loads(p.stdout)
            self.assertTrue(all(i["records"] > 0 for i in d["inputs"]), d["inputs"])

            def strip(o):  # which input a session came from
                if isinstance(o, dict):
                    return {k: strip(v) for k, v in o.items() if k != "input"}
                return [strip(v) for v in o] if isinstance(o, list) else o
            del d["inputs"], d["generated"]
            return json.dumps(strip(d), sort_keys=True)

        pg = report("--db", self.url, "--password-file", self.cluster.pwfile)
        local = report(*sum((["--db", h.db] for h in sorted(hosts, key=lambda h:
                                                              h.name.encode())), []))
        self.assertEqual(pg, local, "report --db postgresql://... differs from the report "
                         "over the three stores")
        print("  report --db postgresql://... equals the report over the three stores (%d "
              "findings)" % json.loads(pg)["totals"]["findings"], file=sys.stderr)

    def test_a_finding_is_one_row(self):
        """A finding's row is written whole: the body compressed in it and no column moved
        out of line into the partition's TOAST table, where each costs a heap and an index
        insert more (schema 5, pg_schema.c's migration_5)."""
        h = self.run_host("fleet-toast-%s" % self.tok)  # a host id TOAST would move (> 24 B)
        self.assertExactlyOnce(h)
        big = "octet_length(body::text) > 2100"
        self.assertGreater(int(self.pg("SELECT count(*) FROM tmpguard.findings WHERE " + big)
                               [0][0]), 0, "no body is over 2 KB, where a row is toasted: "
                           "this test would check nothing")
        self.assertEqual(self.pg("SELECT DISTINCT pg_column_compression(body) FROM "
                                 "tmpguard.findings WHERE " + big), [["lz4"]])
        toasts = [r[0] for r in self.cluster.sql(
            "SELECT c.reltoastrelid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = "
            "i.inhrelid WHERE i.inhparent = 'tmpguard.findings'::regclass", db=self.dbname)]
        self.assertTrue(toasts)
        moved = {t: int(self.cluster.sql("SELECT count(*) FROM %s" % t, db=self.dbname)[0][0])
                 for t in toasts}
        self.assertEqual(sum(moved.values()), 0, "values moved out of line: %s" % moved)


class FleetErrors(FleetCase):
    def assertKept(self, h):
        """Every finding the run printed is in its local store, none forwarded."""
        with open(h.out) as f:
            printed = [json.loads(ln) for ln in f if ln.strip()]
        n = sum(1 for r in printed if r["type"] == "finding")
        self.assertGreater(n, 0, h.text())
        self.assertEqual(len(local_findings(h.db)), n, h.text())
        return n

    def test_url_with_a_password_is_refused(self):
        h = Host(self, "fleet-err-url", self.url.replace("tmpguard@", "tmpguard:%s@" % PASSWORD),
                 0.1)
        self.assertEqual(h.wait(WAIT), 2, h.text())
        self.assertIn("refusing a --forward URL with a password in it", h.text())
        self.assertIn("--forward-password-file", h.text())
        self.assertNotIn(PASSWORD, h.text())
        h = Host(self, "fleet-err-url", "postgresql://[::1/x", 0.1)
        self.assertEqual(h.wait(WAIT), 2, h.text())
        self.assertIn("invalid --forward URL", h.text())
        self.assertIn("postgresql://USER@HOST[:PORT]/DATABASE", h.text())

    def test_unreachable_server_and_database_keep_every_row(self):
        h = self.run_host("fleet-err-away", url="postgresql://tmpguard@%2Fnonexistent/fleet")
        self.assertRegex(h.text(), r"forward to postgresql://tmpguard@%2Fnonexistent/fleet: "
                                   r"cannot connect: .*No such file or directory.*is PostgreSQL "
                                   r"running.*rows wait in the local store")
        self.assertEqual(self.assertKept(h), len(local_findings(h.db)))
        self.assertIn("rows not sent yet stay in", h.text())
        self.assertEqual(local_rows(h.db, "SELECT hwm FROM forward_state WHERE stream = "
                                          "'findings'"), [(0,)])
        # a database that does not exist
        url = self.url.rsplit("/", 1)[0] + "/nosuchdb"
        h = self.run_host("fleet-err-db", url=url)
        self.assertIn('database "nosuchdb" does not exist', h.text())
        self.assertIn("create the database, or fix the database name in the URL", h.text())
        self.assertKept(h)

    def test_wrong_password_then_right_one(self):
        wrong = os.path.join(self.cluster.private, "wrong-%s" % self.tok)
        self.track(wrong)
        fd = os.open(wrong, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"not-the-password\n")
        os.close(fd)
        h = Host(self, "fleet-err-pw", self.url, 0.5, opts=["--forward-password-file", wrong])
        self.assertEqual(h.wait(WAIT * 2), 0, h.text())
        self.assertIn('password authentication failed for user "tmpguard"', h.text())
        self.assertIn("check the password (--forward-password-file, PGPASSWORD or PGPASSFILE)",
                      h.text())
        self.assertEqual(h.text().count("rows wait in the local store"), 1, h.text())
        self.assertNotIn("still failing", h.text())
        n = self.assertKept(h)
        self.assertEqual(self.pg("SELECT count(*) FROM pg_namespace WHERE nspname = "
                                 "'tmpguard'"), [["0"]])
        # the right password next time: the first run's rows arrive too, once
        self.run_host("fleet-err-pw", secs=0.5)
        self.assertEqual(self.assertExactlyOnce(h), len(local_findings(h.db)))
        self.assertGreater(len(local_findings(h.db)), n)
        # a password file others can read is refused before anything starts
        os.chmod(wrong, 0o644)
        h = Host(self, "fleet-err-pw2", self.url, 0.1, opts=["--forward-password-file", wrong])
        self.assertEqual(h.wait(WAIT), 2, h.text())
        self.assertIn("group or others may read or write it (chmod 600", h.text())
        # and so is a missing machine of an id: not tested here (the test machine has one)

    def test_newer_schema_waits_for_an_upgrade(self):
        first = self.run_host("fleet-err-schema")
        self.assertExactlyOnce(first)
        self.pg("INSERT INTO tmpguard.schema_migrations(version, tmpguard) VALUES (99, 'x')")
        h = self.run_host("fleet-err-schema")
        self.assertIn("the fleet database has tmpguard schema version 99, newer than this "
                      "tmpguard's 5: upgrade tmpguard on this host", h.text())
        self.assertGreater(len(local_findings(h.db)), len(self.pg_findings(h.name)))
        # once it is fixed, the waiting rows go
        self.pg("DELETE FROM tmpguard.schema_migrations WHERE version = 99")
        self.run_host("fleet-err-schema", secs=0.1)
        self.assertExactlyOnce(h)

    def test_schema_1_is_migrated_to_5(self):
        """A fleet database at schema version 1 (as the first fleet build left it: no
        (host_id, path, time) index, bodies compressed with pglz and moved out of line), 3
        (with the (host_id, time) index that 4 drops) or 4 (text columns that TOAST may move
        out of line) is brought to version 5 by the next host that connects, without losing
        or repeating a row."""
        def column(col, which):
            return self.pg("SELECT DISTINCT a.%s FROM pg_attribute a JOIN pg_class c ON "
                           "c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = 'tmpguard' AND c.relname LIKE 'findings%%' AND "
                           "c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
                           "AND %s" % (col, which))

        def body(col):
            return column(col, "a.attname = 'body'")

        def texts():  # the storage of every text column but the body
            return column("attstorage", "a.atttypid = 'text'::regtype")

        def text_storage(s):  # sets it on the parent and each partition, as schema 4 had it
            self.pg("DO $$ DECLARE p record; col text; BEGIN FOR p IN SELECT c.relname FROM "
                    "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname "
                    "= 'tmpguard' AND c.relname LIKE 'findings%%' AND c.relkind IN ('r', 'p') "
                    "LOOP FOREACH col IN ARRAY ARRAY['host_id', 'host', 'rule', 'severity', "
                    "'action', 'exe', 'comm', 'path', 'container_id'] LOOP EXECUTE "
                    "format('ALTER TABLE ONLY tmpguard.%%I ALTER COLUMN %%I SET STORAGE %s', "
                    "p.relname, col); END LOOP; END LOOP; END $$" % s)

        def indexes(cols):
            return int(self.pg("SELECT count(*) FROM pg_indexes WHERE schemaname = 'tmpguard' "
                               "AND indexdef LIKE '%%(%s)%%'" % cols)[0][0])

        def state():
            return (self.pg("SELECT max(version) FROM tmpguard.schema_migrations"),
                    indexes('host_id, path, "time"'), indexes('host_id, "time"'),
                    body("attcompression"), body("attstorage"), texts())

        def versions():
            return self.pg("SELECT version, tmpguard IS NOT NULL FROM "
                           "tmpguard.schema_migrations ORDER BY 1")

        first = self.run_host("fleet-migrate")
        self.assertExactlyOnce(first)
        version, host_path, host_time, compression, storage, text = state()
        self.assertEqual(version, [["5"]])
        partitions = int(self.pg("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                                 "'tmpguard.findings'::regclass")[0][0])
        self.assertEqual(host_path, partitions + 1)  # the parent's and each one's
        self.assertEqual(host_time, 0)  # a new database never had it
        self.assertEqual(compression, [["l"]])  # Debian's PostgreSQL 15 has lz4
        self.assertEqual(storage, [["m"]])  # the parent's and the partitions made after it
        self.assertEqual(text, [["m"]])
        # back to version 4: text columns EXTENDED, the default
        text_storage("EXTENDED")
        self.pg("DELETE FROM tmpguard.schema_migrations WHERE version = 5")
        self.assertEqual(state()[::5], ([["4"]], [["x"]]))
        h = self.run_host("fleet-migrate")
        self.assertExactlyOnce(h)
        self.assertEqual(state(), ([["5"]], partitions + 1, 0, [["l"]], [["m"]], [["m"]]))
        # back to version 3: (host_id, time) on the parent and every partition
        self.pg("CREATE INDEX findings_host ON tmpguard.findings (host_id, time)")
        text_storage("EXTENDED")
        self.pg("DELETE FROM tmpguard.schema_migrations WHERE version IN (4, 5)")
        self.assertEqual(state()[:3], ([["3"]], partitions + 1, partitions + 1))
        h = self.run_host("fleet-migrate")
        self.assertExactlyOnce(h)
        self.assertEqual(state(), ([["5"]], partitions + 1, 0, [["l"]], [["m"]], [["m"]]))
        self.assertEqual(versions(), [["1", "t"], ["2", "t"], ["3", "t"], ["4", "t"],
                                      ["5", "t"]])
        # back to version 1
        self.pg("CREATE INDEX findings_host ON tmpguard.findings (host_id, time)")
        self.pg("DROP INDEX tmpguard.findings_host_path")
        self.pg("DO $$ DECLARE p record; BEGIN FOR p IN SELECT c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'tmpguard' "
                "AND c.relname LIKE 'findings%' AND c.relkind IN ('r', 'p') LOOP EXECUTE "
                "format('ALTER TABLE ONLY tmpguard.%I ALTER COLUMN body SET COMPRESSION pglz, "
                "ALTER COLUMN body SET STORAGE EXTENDED', p.relname); END LOOP; END $$")
        self.pg("DROP INDEX tmpguard.sessions_host")
        text_storage("EXTENDED")
        self.pg("DELETE FROM tmpguard.schema_migrations WHERE version IN (2, 3, 4, 5)")
        partitions = int(self.pg("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                                 "'tmpguard.findings'::regclass")[0][0])
        self.assertEqual(state(), ([["1"]], 0, partitions + 1, [["p"]], [["x"]], [["x"]]))
        h = self.run_host("fleet-migrate")
        self.assertExactlyOnce(h)
        version, host_path, host_time, compression, storage, text = state()
        self.assertEqual(version, [["5"]])
        self.assertEqual(host_path, partitions + 1)
        self.assertEqual(host_time, 0)
        self.assertEqual(compression, [["l"]])
        self.assertEqual(storage, [["m"]])  # the existing partitions too
        self.assertEqual(text, [["m"]])
        self.assertEqual(self.pg("SELECT indexdef FROM pg_indexes WHERE schemaname = "
                                 "'tmpguard' AND indexname = 'sessions_host'"),
                         [["CREATE INDEX sessions_host ON tmpguard.sessions USING btree (host)"]])
        self.assertEqual(versions(), [["1", "t"], ["2", "t"], ["3", "t"], ["4", "t"],
                                      ["5", "t"]])

    def test_partitions_and_retention(self):
        h = self.run_host("fleet-part")
        self.assertExactlyOnce(h)
        today = time.strftime("findings_p%Y%m%d", time.gmtime())
        parts = [r[0] for r in self.pg(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'tmpguard.findings'::regclass ORDER BY 1")]
        self.assertIn(today, parts)
        self.assertIn(len(parts), (2, 3), parts)  # today, tomorrow made ahead (and yesterday
        # when the test runs over midnight UTC)
        # the schema, as applied: keys lead with host_id, indexes for investigations
        keys = self.pg("SELECT c.relname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
                       "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = "
                       "c.relnamespace WHERE n.nspname = 'tmpguard' AND k.contype = 'p' AND "
                       "c.relname NOT LIKE 'findings_p%'")
        for table, key in keys:
            if table != "schema_migrations":
                self.assertTrue(key.startswith("PRIMARY KEY (host_id"), (table, key))
        # retention drops whole days
        dropped = self.pg("SELECT tmpguard.drop_findings_before(now() + interval '3 days')")
        self.assertEqual(sorted(r[0] for r in dropped), parts)
        self.assertEqual(self.pg("SELECT count(*) FROM tmpguard.findings"), [["0"]])


class FleetTls(FleetCase):
    """To a server on 127.0.0.1 that takes TLS only, its certificate signed by a local CA."""
    tls = True

    def test_verified_tls(self):
        # sslmode=verify-full against the CA that signed it: forwarded (the server takes
        # nothing else on TCP)
        h = self.run_host("fleet-tls")
        self.assertEqual(self.assertExactlyOnce(h), len(local_findings(h.db)))
        self.assertIn("to postgresql://tmpguard@localhost:%d/%s as host fleet-tls"
                      % (self.cluster.port, self.dbname), h.text())
        # another CA: refused, said with what to check, every row kept
        url = self.url.replace(self.cluster.ca, self.cluster.other_ca)
        h = self.run_host("fleet-tls-other-ca", url=url)
        self.assertIn("certificate verify failed", h.text())
        self.assertIn("check sslmode and sslrootcert in the URL", h.text())
        self.assertEqual(self.pg_findings("fleet-tls-other-ca"), {})
        self.assertGreater(len(local_findings(h.db)), 0)
        # without TLS: the server's pg_hba.conf refuses it, and the hint says where to look
        url = self.url.split("?")[0] + "?sslmode=disable"
        h = self.run_host("fleet-tls-off", url=url)
        self.assertRegex(h.text(), r"pg_hba.conf rejects connection .* no encryption \(allow "
                                   r"this host and user in the server's pg_hba.conf, or fix the "
                                   r"user and sslmode in the URL\)")
        # retried, and said once
        self.assertEqual(h.text().count("rows wait in the local store"), 1, h.text())
        self.assertNotIn("still failing", h.text())


def main():
    rc = L.preflight("test_fleet")
    if rc is not None:
        return rc
    return L.run_tests("__main__", "test_fleet")


if __name__ == "__main__":
    sys.exit(main())
