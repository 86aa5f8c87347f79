#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of the push output for event routers: `tmpguard run --db FILE --http-output URL`
against a real HTTP receiver on 127.0.0.1.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_http_output.py [Class[.test] ...]

The receiver is Python's ThreadingHTTPServer on an ephemeral loopback port (HTTP/1.1, so that
tmpguard's connection is kept alive), recording every POST's headers and body; for TLS it wraps
its socket with a certificate signed by a CA the test makes with openssl. The ground truth is
the local store: each finding in it must reach the receiver under its key
(output_fields["tmpguard.key"]), as a Falco event.
"""

import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # importing the harness must not rewrite files in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmpguard_test as L  # noqa: E402
from tmpguard_test import ENV, PYTHON, TMPGUARD, UMASK  # noqa: E402
import test_fleet  # noqa: E402
from test_fleet import LOOP, POLICY_ALL, free_port  # noqa: E402

WAIT = 60
FALCO_KEYS = {"output", "priority", "rule", "time", "output_fields", "source", "hostname",
              "tags"}
PRIORITIES = {"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational",
              "Debug"}


class Receiver:
    """An HTTP receiver on 127.0.0.1:port (0: a free one, kept across stop() and start()),
    recording each POST. answer(n) gives the status of the n-th post (from 0); a post answered
    other than 2xx is recorded in self.refused, not in self.posts. stop() closes the listening
    socket and every open connection, so that tmpguard meets refused connections."""

    def __init__(self, port=0, cert=None, answer=None):
        self.port = port or free_port()
        self.cert = cert
        self.answer = answer or (lambda n: 200)
        self.posts, self.refused, self.times = [], [], []
        self.n = 0
        self.lock = threading.Lock()
        self.server = None
        self.conns = set()
        self.start()

    def start(self):
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # headers and body are two writes: without this, Nagle holds the second
                # until the client's delayed ACK (40 ms a post)
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with rec.lock:
                    rec.conns.add(self.connection)

            def finish(self):
                with rec.lock:
                    rec.conns.discard(self.connection)
                super().finish()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                # Recorded and answered at once, or neither: stop() takes the same lock.
                with rec.lock:
                    if rec.server is None:
                        self.close_connection = True
                        return
                    status = rec.answer(rec.n)
                    rec.n += 1
                    (rec.posts if 200 <= status < 300 else rec.refused).append(
                        (dict(self.headers), body))
                    if 200 <= status < 300:
                        rec.times.append(time.monotonic())
                    text = b"ok" if status < 300 else b"go away: " + str(status).encode()
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                    self.wfile.flush()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        server = Server(("127.0.0.1", self.port), Handler)
        if self.cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.cert)
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        with self.lock:
            self.server = server
        self.thread.start()

    def stop(self):
        with self.lock:
            server, self.server = self.server, None
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if server:
            server.shutdown()
            server.server_close()
            self.thread.join(10)

    def events(self):
        with self.lock:
            return [json.loads(b) for _, b in self.posts]

    def keys(self):
        return [e["output_fields"]["tmpguard.key"] for e in self.events()]


def local_keys(db, stream="findings"):
    """{key: json} of a local store's rows of stream, each key as the post carries it."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return {"%s/%d/%s/%d" % (h, k, stream, i): j for h, k, i, j in con.execute(
            "SELECT COALESCE(s.host_id, s.host), s.key, t.id, t.json FROM %s t JOIN sessions "
            "s ON s.id = t.session" % stream)}
    finally:
        con.close()


class Tg:
    """One `tmpguard run --db FILE --http-output URL ... -- python LOOP` to the end."""

    def __init__(self, case, url, secs, opts=(), env=None, gap=0.05):
        self.db = os.path.join(case.dir, "store-%s.db" % case.tok)
        self.stem = os.path.join("/tmp", "tg-http-%s" % case.tok)
        argv = [TMPGUARD, "run", "--db", self.db, "--policy", case.policy, "--host-id",
                "http-test-host", "--http-output", url] + list(opts) + [
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

    def wait(self, timeout=WAIT * 2):
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(10)
        return rc

    def text(self):
        return self.err.decode(errors="backslashreplace")


class HttpCase(L.TgTestCase):
    def setUp(self):
        super().setUp()
        # root-only: the store, the policy, the secrets
        self.dir = self.private_dir(mode=0o700)
        self.policy = os.path.join(self.dir, "policy.yaml")
        with open(self.policy, "w") as f:
            f.write(POLICY_ALL)

    def receiver(self, **kw):
        r = Receiver(**kw)
        self.addCleanup(r.stop)
        return r

    def run_tg(self, url, secs=2, opts=(), env=None, rc=0):
        t = Tg(self, url, secs, opts=opts, env=env)
        got = t.wait()
        self.assertEqual(got, rc, "rc %d\n%s" % (got, t.text()))
        return t

    def assertAllArrived(self, t, r, dups=False):
        """Every finding of the store at the receiver, nothing else; once unless dups."""
        local = local_keys(t.db)
        keys = [k for k in r.keys() if "/findings/" in k]
        self.assertTrue(local, "no finding stored\n" + t.text())
        self.assertEqual(set(local) - set(keys), set(), "findings not posted\n" + t.text())
        self.assertEqual(set(keys) - set(local), set(), "posts of no stored finding")
        if not dups:
            self.assertEqual(len(keys), len(set(keys)), "a finding posted twice")
        return local, keys

    def assertFalco(self, events, local):
        """Each post is one Falco event (Falcosidekick's FalcoPayload) of its stored finding."""
        for e in events:
            self.assertTrue(FALCO_KEYS <= set(e), e)
            self.assertIn(e["priority"], PRIORITIES, e)
            self.assertTrue(e["rule"] and e["output"] and e["time"], e)
            self.assertEqual(e["source"], "tmpguard")
            f = e["output_fields"]
            self.assertEqual(f["tmpguard.host_id"], "http-test-host")
            self.assertEqual(f["tmpguard.key"], "%s/%d/%s/%d" % (
                f["tmpguard.host_id"], f["tmpguard.session_key"], f["tmpguard.stream"],
                f["tmpguard.seq"]))
            if f["tmpguard.stream"] == "findings":
                stored = json.loads(local[f["tmpguard.key"]])
                self.assertEqual(e["rule"], "Insecure temporary file: " + stored["rule"])
                self.assertEqual(f["fd.name"], stored["path"])


class HttpOutage(HttpCase):
    def test_receiver_away_for_20_s_nothing_lost(self):
        """The receiver goes away for 20 s (connections refused) and comes back on the same
        port: every finding of the local store arrives, once; the outage is said once and the
        recovery once; the metrics show it while it lasts."""
        r = self.receiver()
        mport = free_port()
        t0 = time.time()
        # back 26 s after the start; the backoff (1, 2, 4, 8, 16 s) tries again 31 s after
        # the first failure: the workload still runs then
        t = Tg(self, "http://127.0.0.1:%d/falco" % r.port, 44,
               opts=["--metrics-addr", "127.0.0.1:%d" % mport])
        deadline = time.time() + WAIT
        while not r.keys() and time.time() < deadline:
            time.sleep(0.2)
        self.assertTrue(r.keys(), "nothing posted within %d s\n%s" % (WAIT, t.text()))
        time.sleep(4)
        before = len(r.keys())
        r.stop()
        t_stop = time.time()
        time.sleep(8)
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=10) as m:
            during = dict(re.findall(r"^(tmpguard_http_output_[a-z_]+(?:\{[^}]*\})?) (\S+)$",
                                     m.read().decode(), re.M))
        time.sleep(12)
        r.start()
        t_back = time.time()
        n_back = len(r.keys())
        rc = t.wait()
        err = t.text()
        self.assertEqual(rc, 0, err)
        local, keys = self.assertAllArrived(t, r)
        self.assertFalco(r.events(), local)
        outage = re.findall(r"http output to http://127\.0\.0\.1:%d/falco: cannot post: .*; "
                            r"rows wait in the local store" % r.port, err)
        self.assertEqual(len(outage), 1, "the outage is said once\n" + err)
        back = re.findall(r"http output to \S+: working again after ([0-9.]+) s \((\d+) failed "
                          r"attempts\); (\d+) rows had waited", err)
        self.assertEqual(len(back), 1, "the recovery is said once\n" + err)
        self.assertGreaterEqual(float(back[0][0]), 15, err)
        self.assertGreater(int(back[0][2]), 0, err)
        self.assertIn("nothing left to post", err)
        self.assertEqual(during.get("tmpguard_http_output_up"), "0", during)
        self.assertGreater(int(during.get("tmpguard_http_output_backlog_rows", 0)), 0, during)
        self.assertGreater(float(during.get("tmpguard_http_output_lag_seconds", 0)), 3, during)
        self.assertEqual(during.get("tmpguard_http_output_outages_total"), "1", during)
        # the store's mark is its last finding
        con = sqlite3.connect("file:%s?mode=ro" % t.db, uri=True)
        mark = con.execute("SELECT hwm FROM forward_state WHERE target LIKE 'http://%' AND "
                           "stream = 'findings'").fetchone()[0]
        last = con.execute("SELECT max(id) FROM findings").fetchone()[0]
        # sessions are not posted: the mark follows them, so retention does not keep them
        smark = con.execute("SELECT hwm FROM forward_state WHERE target LIKE 'http://%' AND "
                            "stream = 'sessions'").fetchone()[0]
        rev = con.execute("SELECT max(rev) FROM sessions").fetchone()[0]
        con.close()
        self.assertEqual(mark, last)
        self.assertEqual(smark, rev)
        # the catch-up: the rows that waited, posted one by one on one kept-alive connection
        burst = r.times[n_back:n_back + int(back[0][2])]
        rate = (len(burst) - 1) / (burst[-1] - burst[0]) if len(burst) > 1 else 0
        print("\n  %d findings in %.0f s, %d posted before the receiver went away for %.0f s; "
              "posting back after %s s (%s failed attempts), %s rows had waited; every one "
              "at the receiver once; the %d waiting posted at %.0f posts/s" % (
                  len(local), time.time() - t0, before, t_back - t_stop, back[0][0], back[0][1],
                  back[0][2], len(burst), rate), file=sys.stderr)

    def test_500_answers_are_retried(self):
        """A receiver that answers 500 to its first posts: retried with backoff, said once,
        then everything arrives."""
        r = self.receiver(answer=lambda n: 500 if n < 2 else 200)
        # tried at about 1 s, again 1 s later, then 2 s later: within the workload's 6 s
        t = self.run_tg("http://127.0.0.1:%d/" % r.port, secs=6)
        err = t.text()
        self.assertAllArrived(t, r)
        self.assertEqual(len(r.refused), 2, err)
        self.assertEqual(len(re.findall(r"answered HTTP 500 \(\"go away: 500\"\)", err)), 1, err)
        self.assertEqual(len(re.findall(r"working again after", err)), 1, err)

    def test_evicted_before_posted_is_posted_as_a_gap(self):
        """The receiver away while the store fills, then a size limit at the next start: the
        findings evicted unposted are a forward gap of this target, and the receiver, back,
        gets it as a Falco Warning with the count and ids, besides every finding still kept."""
        r = self.receiver()
        url = "http://127.0.0.1:%d/" % r.port
        r.stop()
        first = Tg(self, url, 6, gap=0.003)
        self.assertEqual(first.wait(), 0, first.text())
        self.assertEqual(r.posts, [])
        self.assertGreater(os.path.getsize(first.db), 1 << 20, "not enough findings to evict")
        r.start()
        t = Tg(self, url, 0.1, opts=["--db-max-size", "1"])
        self.assertEqual(t.wait(), 0, t.text())
        self.assertIn("recorded as a forward gap", t.text())
        con = sqlite3.connect("file:%s?mode=ro" % t.db, uri=True)
        gaps = con.execute("SELECT id, stream, first_id, last_id, evicted FROM forward_gaps "
                           "WHERE target = ? ORDER BY id", (url,)).fetchall()
        con.close()
        self.assertTrue(gaps, "the size limit recorded no forward gap\n" + t.text())
        local, keys = self.assertAllArrived(t, r)
        events = r.events()
        self.assertFalco(events, local)
        posted = [e for e in events if e["output_fields"]["tmpguard.stream"] == "gaps"]
        self.assertEqual([e["output_fields"]["tmpguard.seq"] for e in posted],
                         [g[0] for g in gaps])
        for e, (_, stream, lo, hi, n) in zip(posted, gaps):
            self.validate_record(e, "falco")
            f = e["output_fields"]
            self.assertEqual((e["rule"], e["priority"], e["hostname"]),
                             ("tmpguard forward gap", "Warning", socket.gethostname()))
            self.assertEqual((f["tmpguard.gap_stream"], f["tmpguard.evicted"],
                              f["tmpguard.target"]), (stream, n, url))
            self.assertIn("%d %s of" % (n, stream), e["output"])
            self.assertIn("(ids %d-%d," % (lo, hi), e["output"])
            self.assertRegex(f["tmpguard.gap_from"], r"^\d{4}-\d\d-\d\dT")
        # posted once: a third start posts nothing again
        before = len(r.posts)
        t3 = Tg(self, url, 0.1)
        self.assertEqual(t3.wait(), 0, t3.text())
        again = [e for e in r.events()[before:] if e["output_fields"]["tmpguard.stream"] == "gaps"]
        self.assertEqual(again, [])

    def test_refusing_answer_stops_and_waits(self):
        """A 400 (the receiver refuses the event): the stream waits at that row, said once
        with the answer; nothing is skipped, and the rows stay for the next start."""
        r = self.receiver(answer=lambda n: 400)
        t = self.run_tg("http://127.0.0.1:%d/" % r.port, secs=1)
        err = t.text()
        self.assertEqual(r.posts, [])
        self.assertEqual(len(re.findall(r"answered HTTP 400 \(\"go away: 400\"\): it refuses "
                                        r"the findings row \d+", err)), 1, err)
        self.assertRegex(err, r"\d+ rows not posted yet stay in ")
        # the next start, the receiver fixed, posts them all
        r.answer = lambda n: 200
        t2 = Tg(self, "http://127.0.0.1:%d/" % r.port, 1)  # the same store
        self.assertEqual(t2.wait(), 0, t2.text())
        self.assertAllArrived(t2, r)


class HttpSecurity(HttpCase):
    def test_userinfo_in_the_url_is_refused(self):
        t = self.run_tg("http://tg:s3cr3t-pw@127.0.0.1:9/", rc=2)
        self.assertIn("refusing an --http-output URL with a user name or password", t.text())
        self.assertNotIn("s3cr3t-pw", t.text())

    def test_auth_header_from_a_root_only_file(self):
        r = self.receiver()
        auth = os.path.join(self.dir, "auth")
        fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"Bearer tok-%s\n" % self.tok.encode())
        os.close(fd)
        t = self.run_tg("http://127.0.0.1:%d/" % r.port, opts=["--http-output-auth-file", auth])
        self.assertAllArrived(t, r)
        self.assertEqual({h.get("Authorization") for h, _ in r.posts}, {"Bearer tok-" + self.tok})
        self.assertNotIn("tok-" + self.tok, t.text())
        # from the environment, without a file
        r2 = self.receiver()
        t = self.run_tg("http://127.0.0.1:%d/" % r2.port, env={"TMPGUARD_HTTP_AUTH": "Env x"})
        self.assertEqual({h.get("Authorization") for h, _ in r2.posts}, {"Env x"})
        # a file others can read is refused before anything starts
        os.chmod(auth, 0o644)
        t = self.run_tg("http://127.0.0.1:%d/" % r.port, rc=2,
                        opts=["--http-output-auth-file", auth])
        self.assertIn("refusing the Authorization file %s: group or others may read" % auth,
                      t.text())

    def openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, env=ENV,
                       timeout=WAIT, cwd=self.dir)

    def test_tls_with_a_local_ca(self):
        """https verified against --http-output-ca: posts arrive; against another CA they are
        refused by tmpguard, said once, and nothing is posted."""
        self.require(subprocess.run(["which", "openssl"], capture_output=True).returncode == 0,
                     "openssl is not installed (.ci/setup --tests)")
        for key, cert, cn in (("ca.key", "ca.pem", "tmpguard test CA"),
                              ("other.key", "other.pem", "another CA")):
            self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=" + cn, "-keyout", key, "-out", cert,
                         "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        with open(os.path.join(self.dir, "san.ext"), "w") as f:
            f.write("subjectAltName = IP:127.0.0.1\n")
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                     "-keyout", "server.key", "-out", "server.csr")
        self.openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                     "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out",
                     "server.pem")
        d = self.dir
        r = self.receiver(cert=(d + "/server.pem", d + "/server.key"))
        url = "https://127.0.0.1:%d/" % r.port
        t = self.run_tg(url, opts=["--http-output-ca", d + "/ca.pem"])
        self.assertAllArrived(t, r)
        self.assertIn("nothing left to post", t.text())
        n = len(r.posts)
        t = self.run_tg(url, opts=["--http-output-ca", d + "/other.pem"])
        err = t.text()
        self.assertEqual(len(r.posts), n, "posted over TLS not verified\n" + err)
        self.assertEqual(len(re.findall(r"http output to %s: cannot post: SSL certificate "
                                        r"problem" % re.escape(url), err)), 1, err)
        self.assertRegex(err, r"\d+ rows not posted yet stay in ")
        # without --http-output-ca, the system's CAs do not know ours either
        t = self.run_tg(url, secs=0.5)
        self.assertEqual(len(r.posts), n, t.text())
        self.assertIn("SSL certificate problem", t.text())


class HttpAndForward(HttpCase):
    """--http-output beside --forward: two targets on one store, each with its own marks."""
    cluster = None

    @classmethod
    def setUpClass(cls):
        if os.access(test_fleet.PG_BIN + "/initdb", os.X_OK):
            cls.cluster = test_fleet.Cluster()

    @classmethod
    def tearDownClass(cls):
        if cls.cluster:
            cls.cluster.close()

    def test_both_targets_get_every_finding(self):
        self.require(self.cluster is not None, test_fleet.PG_MISSING)
        name = "http_fwd_%d" % os.getpid()
        url = self.cluster.database(name)
        r = self.receiver()
        t = self.run_tg("http://127.0.0.1:%d/" % r.port, secs=3,
                        opts=["--forward", url, "--forward-password-file",
                              self.cluster.pwfile])
        local, _ = self.assertAllArrived(t, r)
        pg = {"%s/%s/findings/%s" % tuple(row) for row in self.cluster.sql(
            "SELECT host_id, session_key, seq FROM tmpguard.findings", db=name,
            user="tmpguard")}
        self.assertEqual(pg, set(local), t.text())
        con = sqlite3.connect("file:%s?mode=ro" % t.db, uri=True)
        marks = con.execute("SELECT target, hwm FROM forward_state WHERE stream = 'findings' "
                            "ORDER BY target").fetchall()
        last = con.execute("SELECT max(id) FROM findings").fetchone()[0]
        con.close()
        self.assertEqual([m[0].split(":")[0] for m in marks], ["http", "postgresql"])
        self.assertEqual({m[1] for m in marks}, {last})
        self.assertIn("nothing left to post", t.text())
        self.assertIn("nothing left to send", t.text())


def main():
    rc = L.preflight("test_http_output")
    if rc is not None:
        return rc
    return L.run_tests("__main__", "test_http_output")


if __name__ == "__main__":
    sys.exit(main())
