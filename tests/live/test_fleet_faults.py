#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of forwarding when the central side fails in ways other than going away: its disk
fills up, or its PostgreSQL is too old; and of `tmpguard daemon` forwarding to a real cluster.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_fleet_faults.py [Class[.test] ...]

Each class starts its own real PostgreSQL 15 cluster (tests/live/test_fleet.py's Cluster:
initdb in a temporary directory, unix socket only, scram passwords). What is real and what is
staged, class by class:

- FleetDiskFull: the cluster's data directory is a tmpfs of its own (mount -t tmpfs), its WAL
  on the machine's disk (initdb --waldir); a filler file takes all but 2 MiB of the tmpfs
  while hosts forward, and their findings fill the rest: PostgreSQL fails to extend a table
  (SQLSTATE 53100) and stays up. The filler is deleted: forwarding resumes by itself.
- FleetWalFull: the same with the tmpfs under pg_wal instead (initdb --waldir, segments of
  1 MiB: --wal-segsize=1), filled but for 512 KiB, less than a segment: PostgreSQL cannot
  create its next WAL segment, PANICs and restarts, and may stop for good; once the filler is
  deleted the test starts it again if it is down, as an operator would, and asserts the same.
- FleetOldServer: Debian 12 has no PostgreSQL older than 15, so the server is the real
  PostgreSQL 15 seen through a loopback proxy in this file that relays the protocol byte for
  byte except one field: the server_version ParameterStatus message of the startup, rewritten
  to "10.23" (libpq's PQserverVersion comes from it). Authentication, queries and rows are the
  real server's. Then the same host is pointed at the real server.
- FleetDaemon: `tmpguard daemon` in the foreground with a configuration file holding db,
  forward, forward-password-file, host-id and metrics-addr; findings from real insecure creates
  of the machine; reload (SIGHUP) and stop (SIGTERM), as tests/live/test_daemon.py drives it.

In every case the ground truth is the host's local store: every finding in it arrives in
PostgreSQL exactly once (key and body), and nothing of it is evicted or lost meanwhile.
"""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import types

sys.dont_write_bytecode = True  # importing must not rewrite files in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmpguard_test as L  # noqa: E402
import test_daemon as D  # noqa: E402
import test_fleet as F  # noqa: E402
from tmpguard_test import ENV, TMPGUARD  # noqa: E402

WAIT = F.WAIT


def count_printed(path):
    """Findings a run printed to its --output JSON."""
    with open(path) as f:
        return sum(1 for ln in f if ln.strip() and json.loads(ln)["type"] == "finding")


def wait_for(what, cond, timeout, text=lambda: ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError("%s: not within %d s\n%s" % (what, timeout, text()))


class SmallDiskCluster(F.Cluster):
    """A Cluster with a tmpfs of its own for its data directory (small="data", the WAL on the
    machine's disk) or for its WAL (small="wal", in segments of 1 MiB instead of 16, the data
    directory on the machine's disk). fill(room) leaves about room bytes free on it, free()
    gives them back."""

    def __init__(self, small):
        self.small = small
        self.size_mb = 96 if small == "data" else 256  # WAL stays until a checkpoint
        self.mount = None
        self.filler = None
        super().__init__()

    def setup(self):
        self.mount = os.path.join(self.dir, self.small)
        os.mkdir(self.mount, 0o700)
        pw = subprocess.run(["id", "-u", "postgres"], capture_output=True, check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700,uid=%s" % (
            self.size_mb, pw.stdout.decode().strip()), "tg-pg-small", self.mount],
            check=True, capture_output=True, timeout=WAIT)
        self.filler = os.path.join(self.mount, "filler")
        super().setup()

    def as_postgres(self, argv, check=True):
        if argv[0].endswith("/initdb"):
            wal = os.path.join(self.dir, "wal")
            argv = argv + ["--waldir=" + wal] + (["--wal-segsize=1"] if self.small == "wal"
                                                 else [])
        return super().as_postgres(argv, check)

    def free_bytes(self):
        st = os.statvfs(self.mount)
        return st.f_bavail * st.f_frsize

    def fill(self, room):
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.posix_fallocate(fd, 0, max(0, self.free_bytes() - room))
        finally:
            os.close(fd)

    def free(self):
        os.unlink(self.filler)

    def running(self):
        return self.as_postgres([F.PG_BIN + "/pg_ctl", "-D", self.data, "status"],
                                check=False).returncode == 0

    def close(self):
        if self.mount and os.path.ismount(self.mount):
            if os.path.exists(os.path.join(self.dir, "data", "postmaster.pid")):
                self.as_postgres([F.PG_BIN + "/pg_ctl", "-D", os.path.join(self.dir, "data"),
                                  "-m", "immediate", "stop"], check=False)
            subprocess.run(["umount", self.mount], capture_output=True, timeout=WAIT)
        super().close()


class DiskFullCase(F.FleetCase):
    small = "data"
    room = 2 << 20
    no_mount = None

    @classmethod
    def setUpClass(cls):
        if os.access(F.PG_BIN + "/initdb", os.X_OK):
            try:
                cls.cluster = SmallDiskCluster(cls.small)
            except subprocess.CalledProcessError as e:
                if "mount" not in e.cmd:
                    raise
                cls.no_mount = e.stderr.decode(errors="replace").strip()

    def setUp(self):
        if self.no_mount:
            # a capability of the machine (a container may not mount), not a package
            self.skipTest("cannot mount a tmpfs here for the server's disk: " + self.no_mount)
        super().setUp()

    def full_disk_outage(self):
        """Two hosts forward for 70 s; once both have forwarded, the data directory's
        filesystem is filled but for self.room, which their findings take; 20 s after the first
        failure the filler goes. Returns (hosts, stderr texts, metrics during, whether the server
        had stopped, PostgreSQL's PANIC lines)."""
        port = F.free_port()
        hosts = [F.Host(self, "fleet-full-%d" % i, self.url, 70, gap=0.01,
                        opts=["--metrics-addr", "127.0.0.1:%d" % port] if i == 0 else ())
                 for i in range(2)]

        def forwarded():
            if self.pg("SELECT to_regclass('tmpguard.findings') IS NOT NULL") != [["t"]]:
                return False
            counts = dict(self.pg("SELECT host_id, count(*) FROM tmpguard.findings GROUP BY "
                                  "host_id"))
            return all(int(counts.get(h.name, 0)) > 0 for h in hosts)

        wait_for("every host forwards", forwarded, WAIT,
                 lambda: "\n".join(h.text() for h in hosts))
        self.cluster.fill(self.room)
        t_full = time.time()
        failing = re.compile(r"forward to \S+: (.*); rows wait in the local store")
        wait_for("the forwarders notice", lambda: all(failing.search(h.text()) for h in hosts),
                 WAIT, lambda: "\n".join(h.text() for h in hosts))
        t_failed = time.time()
        time.sleep(10)
        during = F.scrape(port)
        time.sleep(10)
        died = not self.cluster.running()
        self.cluster.free()
        if died:
            self.cluster.start()  # what an operator does once there is space again
        t_freed = time.time()
        with open(os.path.join(self.cluster.dir, "log"), errors="replace") as f:
            panics = [ln.strip() for ln in f if "PANIC:" in ln]
        rcs = [h.wait(180) for h in hosts]
        texts = [h.text() for h in hosts]
        for h, rc in zip(hosts, rcs):
            self.assertEqual(rc, 0, "%s: rc %d\n%s" % (h.name, rc, h.text()))
        print("\n  filled at +0 s; both forwarders failing at +%.1f s; space freed at +%.1f s%s"
              % (t_failed - t_full, t_freed - t_full,
                 "; PostgreSQL had stopped and was started again" if died else
                 "; PostgreSQL stayed up"), file=sys.stderr)
        print("  PostgreSQL's log: %d PANIC lines%s" % (
            len(panics), (", the first: " + panics[0]) if panics else ""), file=sys.stderr)
        return hosts, texts, during, died, panics

    def assertEveryRowKept(self, hosts, texts):
        """Nothing lost on the host: every finding printed is in its store, none evicted, and
        all of them in PostgreSQL exactly once."""
        for h, err in zip(hosts, texts):
            n = count_printed(h.out)
            self.assertEqual(len(F.local_findings(h.db)), n, err)
            self.assertEqual(F.local_rows(h.db, "SELECT count(*) FROM forward_gaps"), [(0,)])
            self.assertEqual(self.assertExactlyOnce(h), n)
            self.assertEqual(err.count("rows wait in the local store and are sent once"), 1,
                             "the outage is said once\n" + err)
            back = re.search(r"working again after ([0-9.]+) s \((\d+) failed attempts\); "
                             r"(\d+) rows had waited", err)
            self.assertTrue(back, err)
            # A new reason within the outage is said again; PostgreSQL's message names the
            # file it could not extend, a new one each attempt (a temporary table's): at most
            # a line per attempt, and the attempts back off.
            again = err.count("still failing, now:")
            self.assertLess(again, int(back.group(2)), err)
            print("  %s: %d findings, each in PostgreSQL once; forwarding back after %s s "
                  "(%s failed attempts, %d said again), %s rows had waited" % (
                      h.name, n, back.group(1), back.group(2), again, back.group(3)),
                  file=sys.stderr)

    def assertBacklogShown(self, during):
        self.assertEqual(during.get("tmpguard_forward_up"), 0.0, during)
        self.assertGreater(during.get("tmpguard_forward_backlog_rows", 0), 0, during)
        self.assertGreaterEqual(during.get("tmpguard_forward_errors_total", 0), 1, during)
        self.assertEqual(during.get("tmpguard_forward_gap_rows_total"), 0.0, during)


class FleetDiskFull(DiskFullCase):
    def test_full_data_disk_keeps_every_row_then_sends_it_once(self):
        hosts, texts, during, died, panics = self.full_disk_outage()
        self.assertEqual(panics, [])
        self.assertFalse(died, "PostgreSQL stopped although its WAL had room")
        for err in texts:
            # PostgreSQL's own words, its SQLSTATE and what to do about it
            self.assertRegex(err, r"forward to \S+: cannot \w+ a batch[^:]*: could not extend "
                                  r"file .*No space left on device \[53100\] \(the PostgreSQL "
                                  r"server is out of disk space: free space on the "
                                  r"filesystem of its data directory or pg_wal")
        self.assertBacklogShown(during)
        self.assertEveryRowKept(hosts, texts)


class FleetWalFull(DiskFullCase):
    small = "wal"
    room = 512 << 10  # less than a WAL segment

    def test_full_disk_under_the_wal_keeps_every_row_then_sends_it_once(self):
        hosts, texts, during, died, panics = self.full_disk_outage()
        self.assertTrue(panics, "PostgreSQL wrote its WAL on a full disk without a PANIC")
        self.assertIn("No space left on device", panics[0])
        for err in texts:
            first = re.search(r"forward to \S+: (.*); rows wait in the local store", err)
            # The backend that could not write WAL tells its client why before it dies
            # (PANIC: could not write to file "pg_wal/xlogtemp.N": No space left on device):
            # said with what to do. The others were cut off by the crash: the server went
            # away, and forwarding resumes when it is back.
            self.assertRegex(first.group(1), r"No space left on device.* \(the PostgreSQL "
                             r"server is out of disk space: free space on the filesystem of "
                             r"its data directory or pg_wal \(and start PostgreSQL again if it "
                             r"stopped\)|the server went away|is PostgreSQL running", err)
        self.assertBacklogShown(during)
        self.assertEveryRowKept(hosts, texts)


class VersionProxy:
    """A loopback proxy to the cluster's unix socket that relays the protocol byte for byte,
    except the server_version ParameterStatus ('S') messages the server sends before its first
    ReadyForQuery, whose value becomes `version` (None: relayed as they are)."""

    SSL_REQUEST, GSS_REQUEST = 80877103, 80877104

    def __init__(self, cluster, version):
        self.cluster = cluster
        self.version = version
        self.rewritten = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, db):
        return ("postgresql://tmpguard@127.0.0.1:%d/%s?sslmode=disable&gssencmode=disable"
                % (self.port, db))

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _read(sock, n):
        buf = b""
        while len(buf) < n:
            got = sock.recv(n - len(buf))
            if not got:
                raise EOFError
            buf += got
        return buf

    def _serve(self, client):
        server = socket.socket(socket.AF_UNIX)
        self.conns += [client, server]
        try:
            server.connect(os.path.join(self.cluster.dir, ".s.PGSQL.%d" % self.cluster.port))
            # the startup packet; an SSL or GSS request first is answered with one byte
            while True:
                head = self._read(client, 8)
                n, code = struct.unpack("!II", head)
                server.sendall(head + self._read(client, n - 8))
                if n == 8 and code in (self.SSL_REQUEST, self.GSS_REQUEST):
                    client.sendall(self._read(server, 1))  # 'N': no encryption
                    continue
                break
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()
            # the server's messages until the first ReadyForQuery, then as they come
            while True:
                kind = self._read(server, 1)
                n = struct.unpack("!I", self._read(server, 4))[0]
                body = self._read(server, n - 4)
                if kind == b"S" and self.version and body.startswith(b"server_version\0"):
                    body = b"server_version\0" + self.version.encode() + b"\0"
                    self.rewritten += 1
                client.sendall(kind + struct.pack("!I", len(body) + 4) + body)
                if kind in (b"Z", b"E"):
                    break
            self._pipe(server, client)
        except (OSError, EOFError):
            pass
        finally:
            client.close()
            server.close()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FleetOldServer(F.FleetCase):
    """PostgreSQL 10 as libpq sees it: the real PostgreSQL 15 through VersionProxy, which
    rewrites only the server_version the server announces at startup to "10.23" (Debian 12
    has no older server to install). Everything else is the real server's."""

    def proxy(self, version):
        p = VersionProxy(self.cluster, version)
        self.addCleanup(p.close)
        return p

    def test_too_old_server_is_refused_and_rows_wait(self):
        # the proxy is transparent when it rewrites nothing: a host forwards through it
        through = self.run_host("fleet-old-through", url=self.proxy(None).url(self.dbname))
        self.assertExactlyOnce(through)
        # "PostgreSQL 10": refused before anything is created, said once, with what to do
        real = self.cluster.database(self.dbname + "_old")
        old = self.proxy("10.23")
        h = self.run_host("fleet-old", secs=4, url=old.url(self.dbname + "_old"))
        err = h.text()
        self.assertGreater(old.rewritten, 1, "the forwarder did not retry\n" + err)
        self.assertIn("the PostgreSQL server is version 10.23, older than 11, the oldest "
                      "tmpguard's fleet schema runs on (partitioned tables with primary keys "
                      "and ON CONFLICT): upgrade the server; rows wait in the local store and "
                      "are sent once it works", err)
        self.assertEqual(err.count("rows wait in the local store and are sent once"), 1, err)
        self.assertNotIn("still failing", err)
        n = count_printed(h.out)
        self.assertGreater(n, 0, err)
        self.assertEqual(len(F.local_findings(h.db)), n, err)
        self.assertEqual(F.local_rows(h.db, "SELECT hwm FROM forward_state WHERE stream = "
                                            "'findings'"), [(0,)])
        self.assertEqual(self.cluster.sql("SELECT count(*) FROM pg_namespace WHERE nspname = "
                                          "'tmpguard'", db=self.dbname + "_old"), [["0"]])
        # pointed at the real server (an upgrade, as far as this host can tell): every row
        # of both runs arrives, once
        self.dbname = self.dbname + "_old"
        self.run_host("fleet-old", secs=0.5, url=real)
        total = self.assertExactlyOnce(h)
        self.assertGreater(total, n)
        print("\n  refused through the proxy (server_version rewritten %d times); %d findings "
              "kept, then %d forwarded once from the real server" % (old.rewritten, n, total),
              file=sys.stderr)


class FleetDaemon(D.DaemonCase, F.FleetCase):
    """`tmpguard daemon` (foreground, as systemd runs it: tests/live/test_daemon.py's
    DaemonCase) with db, forward, forward-password-file, host-id and metrics-addr in its
    configuration, forwarding the machine's findings to a real cluster."""

    def pg_paths(self, paths):
        rows = self.pg("SELECT path FROM tmpguard.findings WHERE host_id = 'fleet-daemon'")
        return {r[0] for r in rows} & set(paths)

    def wait_forwarded(self, d, paths):
        wait_for("findings for %s in PostgreSQL" % ", ".join(paths),
                 lambda: d.poll() is None and
                 self.pg("SELECT to_regclass('tmpguard.findings') IS NOT NULL") == [["t"]] and
                 self.pg_paths(paths) == set(paths), WAIT)

    def wait_metrics(self, port, findings):
        """/metrics (sampled by the session, a poll behind the forwarder) once it shows the
        forwarder up, nothing waiting, and at least `findings` findings sent."""
        def settled():
            m = F.scrape(port)
            return m if (m.get("tmpguard_forward_up") == 1.0 and
                         m.get("tmpguard_forward_backlog_rows") == 0.0 and
                         m.get('tmpguard_forward_rows_total{stream="findings"}', 0) >= findings
                         ) else None
        return wait_for("tmpguard_forward_up 1, backlog 0, %d findings sent" % findings,
                        settled, WAIT)

    def test_daemon_forwards_through_reload_and_flushes_at_stop(self):
        port = F.free_port()
        db = os.path.join(self.dir, "store.db")
        conf = ("format: json\noutput: %s\ndb: %s\nforward: %s\nforward-password-file: %s\n"
                "host-id: fleet-daemon\nmetrics-addr: 127.0.0.1:%d\n" % (
                    self.out, db, self.url, self.cluster.pwfile, port))
        self.write_config(conf + "policy: %s\n" % self.policy_file)
        d = self.start()
        self.expect_notify(d, "READY=1")
        before = self.make_finding("before")
        self.wait_forwarded(d, [before])
        self.wait_metrics(port, 1)

        # SIGHUP with a new policy that hides some names: forwarding goes on
        later = self.policy(F.POLICY_ALL + 'exceptions:\n  - rule: "*"\n    path: /tmp/tg-'
                            'hidden-*\n    reason: "test: hidden after the reload"\n')
        self.write_config(conf + "policy: %s\n" % later)
        d.send_signal(signal.SIGHUP)
        self.expect_notify(d, "RELOADING=1")
        self.expect_notify(d, "READY=1")
        hidden = self.make_finding("hidden")
        after = self.make_finding("after")
        self.wait_forwarded(d, [after])
        self.wait_metrics(port, 2)

        # a burst right before SIGTERM: sent by then or at the stop, which waits for it
        base = self.name("/tmp", "burst")
        n = 300
        subprocess.run([L.SH, "-c", 'i=0; while [ $i -lt %d ]; do : > "%s.$i"; '
                        'i=$((i+1)); done' % (n, base)], env=ENV, check=True, timeout=120)
        burst = ["%s.%d" % (base, i) for i in range(n)]
        for path in burst:
            self.track(path)
        rc, err = self.stop(d)
        self.assertEqual(rc, 0, err)
        self.assertIn("policy reloaded from %s" % later, err)
        self.assertIn("nothing left to send", err)
        self.assertNotIn("rows wait in the local store", err)
        total = self.assertExactlyOnce(types.SimpleNamespace(name="fleet-daemon", db=db,
                                                             text=lambda: err))
        self.assertEqual(total, count_printed(self.out))
        self.assertEqual(self.pg_paths([before, after] + burst), set([before, after] + burst))
        self.assertEqual(self.pg_paths([hidden]), set())
        s = self.pg("SELECT count(*), bool_and(clean), bool_and(summary IS NOT NULL) FROM "
                    "tmpguard.sessions WHERE host_id = 'fleet-daemon'")
        self.assertEqual(s, [["1", "t", "t"]], err)
        print("\n  daemon: %d findings of the machine, each in PostgreSQL once, the %d of the "
              "burst before SIGTERM included" % (total, n), file=sys.stderr)


class DaemonCheck(D.DaemonCase):
    def test_check_shows_exception_owners_and_expiry(self):
        """`daemon --check` says of the configured policy's exceptions what `policy check`
        says: owner, expiry, and which expired (no longer applied) or expire soon."""
        soon = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 10 * 86400))
        pol = self.policy(
            "version: 1\nexceptions:\n"
            "  - rule: \"*\"\n    path: /tmp/tg-old-*\n    reason: \"test: old\"\n"
            "    owner: \"storage team <storage@example.com>\"\n    expires: 2020-01-31\n"
            "  - rule: \"*\"\n    path: /tmp/tg-new-*\n    reason: \"test: new\"\n"
            "    owner: ops\n    expires: 2099-12-31\n"
            "  - rule: \"*\"\n    path: /tmp/tg-soon-*\n    reason: \"test: soon\"\n"
            "    expires: %s\n" % soon)
        self.write_config("format: json\npolicy: %s\n" % pol)
        r = subprocess.run([TMPGUARD, "daemon", "--config", self.config, "--check"],
                           capture_output=True, env=ENV, timeout=60)
        out, err = r.stdout.decode(), r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        # the same lines as policy check's
        p = subprocess.run([TMPGUARD, "policy", "check", pol], capture_output=True, env=ENV,
                           timeout=60)
        lines = [ln for ln in p.stdout.decode().splitlines() if ln.startswith("#   ")]
        self.assertEqual(len(lines), 4, p.stdout)
        for ln in lines:
            self.assertIn(ln, out)
        self.assertIn("#   exception at line 3: EXPIRED at 2020-02-01T00:00:00Z, no longer "
                      "applied; owner: storage team <storage@example.com>", out)
        self.assertRegex(out, r"exception at line 8: applied in user space; owner: ops; "
                              r"expires 2100-01-01T00:00:00Z")
        self.assertIn("# policy %s: valid, 3 exceptions; 1 exception expired (no longer "
                      "applied), 1 expires within 30 days" % pol, out)
        self.assertIn("warning: exception line 3 expired at 2020-02-01T00:00:00Z and is no "
                      "longer applied; renew its expires or remove it (owner: storage team "
                      "<storage@example.com>)", err)
        self.assertIn("note: exception line 13 expires at", err)

    def check(self, config):
        self.write_config(config)
        r = subprocess.run([TMPGUARD, "daemon", "--config", self.config, "--check"],
                           capture_output=True, env=ENV, timeout=60)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def test_check_validates_forward_targets_without_connecting(self):
        """`daemon --check` refuses a forward or http-output URL that does not parse, holds a
        password or user, or has another scheme, naming the key and what to do; it reads the
        secret files as the start would; a valid configuration is checked without a
        connection to either target (both listen here and must see none)."""
        secret = "s3cr3t-%s" % self.tok
        base = "format: json\ndb: %s\n" % os.path.join(self.dir, "events.db")
        listeners = []
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            s.settimeout(0.5)
            self.addCleanup(s.close)
            listeners.append(s)
        pg_port, http_port = (s.getsockname()[1] for s in listeners)
        pg = "postgresql://tmpguard@127.0.0.1:%d/fleet" % pg_port
        http = "http://127.0.0.1:%d/" % http_port
        bad = [
            ("forward: 'postgresql://[::1/x'\n", "key forward: invalid --forward URL",
             "postgresql://USER@HOST[:PORT]/DATABASE"),
            ("forward: 'postgresql://tmpguard:%s@127.0.0.1/fleet'\n" % secret,
             "key forward: refusing a --forward URL with a password in it",
             "--forward-password-file FILE, or set PGPASSWORD or PGPASSFILE"),
            ("forward: 'postgresql://tmpguard:%s@[::1/fleet'\n" % secret,
             "key forward: invalid --forward URL, and it seems to hold a password",
             "--forward-password-file FILE, or set PGPASSWORD or PGPASSFILE"),
            ("forward: 'postgresql://tmpguard@127.0.0.1/fleet?password=%s'\n" % secret,
             "key forward: refusing a --forward URL with a password in it", "PGPASSFILE"),
            ("http-output: 'http://exa mple.com/'\n", "key http-output: invalid "
             "--http-output URL (", "expected http://HOST[:PORT]/PATH"),
            ("http-output: 'ftp://127.0.0.1/x'\n", "key http-output: invalid --http-output "
             "URL: its scheme is ftp, expected http or https", None),
            ("http-output: 'https://u:%s@127.0.0.1/'\n" % secret,
             "key http-output: refusing an --http-output URL with a user name or password",
             "--http-output-auth-file FILE, or set TMPGUARD_HTTP_AUTH"),
        ]
        for line, want, hint in bad:
            rc, out, err = self.check(base + line)
            self.assertEqual(rc, 2, line + err)
            self.assertIn("tmpguard daemon: %s: %s" % (self.config, want), err)
            if hint:
                self.assertIn(hint, err)
            self.assertNotIn(secret, err + out)
            self.assertNotIn("valid", out)
        # the same checks on audit's command line, before anything starts
        r = subprocess.run([TMPGUARD, "audit", "--db", os.path.join(self.dir, "a.db"),
                            "--http-output", "gopher://127.0.0.1/"], capture_output=True,
                           env=ENV, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("tmpguard: invalid --http-output URL: its scheme is gopher",
                      r.stderr.decode())
        # a password file others can read: refused as the start refuses it
        pw = self.write_config("%s\n" % secret, os.path.join(self.dir, "pw"))
        os.chmod(pw, 0o644)
        rc, out, err = self.check(base + "forward: '%s'\nforward-password-file: %s\n" %
                                  (pg, pw))
        self.assertEqual(rc, 2, err)
        self.assertIn("key forward-password-file: refusing the password file %s: group or "
                      "others may read or write it (chmod 600 %s)" % (pw, pw), err)
        # valid: said, and nothing connected to
        os.chmod(pw, 0o600)
        rc, out, err = self.check(base + "forward: '%s?sslmode=prefer'\n"
                                  "forward-password-file: %s\nhttp-output: '%s'\n" %
                                  (pg, pw, http))
        self.assertEqual(rc, 0, err)
        self.assertIn("# forward: %s (URL checked, not connected to)" % pg, out)
        self.assertIn("# http-output: http://127.0.0.1:%d/ (URL checked, not connected to)"
                      % http_port, out)
        for s in listeners:
            with self.assertRaises(socket.timeout):
                s.accept()[0].close()


def main():
    rc = L.preflight("test_fleet_faults")
    if rc is not None:
        return rc
    return L.run_tests("__main__", "test_fleet_faults")


if __name__ == "__main__":
    sys.exit(main())
