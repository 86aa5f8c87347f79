#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The fleet store benchmark (issue 16; bench/README.md, "The fleet store"): ingest rate into
PostgreSQL through tmpguard's forwarder, and the investigation queries at several sizes on
PostgreSQL and on SQLite, side by side. Run as root through bench/fleet.sh.

1. Records real findings: `tmpguard run --db` over a workload of insecure creates in /tmp,
   /var/tmp and /dev/shm (the test fixtures, sh, python3, perl, cp, touch).
2. Starts a PostgreSQL 15 cluster of its own (tests/live/test_fleet.py's Cluster: initdb in a
   temporary directory, unix socket only, scram passwords), default settings plus --pg-set.
3. For each size (default 1, 3 and 5 million findings), unlocked: bench_fleet gen appends the
   next rows to every simulated host's local store (tmpguard's store writer; host, host id,
   session, times over --days and path suffixes rewritten) and copies them into one SQLite
   store that holds every host's rows. Locked (--lock FILE): bench_fleet forward sends them
   to PostgreSQL with tmpguard's forwarder, the hosts split in groups forwarded with 1, 4 and
   16 forwarders at a time (which group gets which rotates with the size); then the queries,
   PostgreSQL and SQLite one after the other with the same parameters, --reps times each.
4. Prints the tables and writes bench/results/DATE-fleet.json.
"""

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))

POLICY = ("version: 1\nrate_limit: { per_key_per_minute: 100000, per_user_per_minute: 100000, "
          "per_host_per_minute: 100000 }\n")
# Insecure creates of several kinds, executables and name patterns, three times each.
WORKLOAD = r"""
set -e
F=$1
for i in 1 2 3; do
  $F/creat /tmp/build-$$-$i.o
  $F/open_trunc /var/tmp/cache-$i.lock
  $F/open_syscall /dev/shm/sem.app-$i
  $F/mktemp_open /tmp/ccXXXXXX
  $F/tmpnam_fopen
  $F/excl_0644 /tmp/report-$$-$i.csv
  $F/mkdir_mode /tmp/session-$$-$i 0755
  echo x > /tmp/sh-redirect-$i.txt
  python3 -c "open('/tmp/pytmp-$i.json','w').write('{}')"
  perl -e "open(F, '>', '/tmp/perl-$i.pid'); print F 1"
  cp /etc/hostname /tmp/copy-$i.txt
  touch /var/tmp/touch-$i.stamp
done
rm -rf /tmp/build-$$-* /var/tmp/cache-? /dev/shm/sem.app-? /tmp/report-$$-* /tmp/session-$$-* \
  /tmp/sh-redirect-? /tmp/pytmp-?.json /tmp/perl-?.pid /tmp/copy-?.txt /var/tmp/touch-?.stamp
"""
QUERIES = ("host_path_time", "exe_time_hosts", "rule_time_count_by_host", "time_latest_100")


def log(msg):
    print("fleet: " + msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def locked(path):
    """Holds an flock on path (the machine's measuring lock) for the block; none without."""
    if not path:
        yield
        return
    with open(path, "a") as f:
        t = time.monotonic()
        fcntl.flock(f, fcntl.LOCK_EX)
        if time.monotonic() - t > 1:
            log("waited %.0f s for %s" % (time.monotonic() - t, path))
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def run_json(argv, env=None):
    """Runs argv, returns its JSON lines (stderr passes through)."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, env=env, check=False)
    if p.returncode:
        raise SystemExit("fleet: %s failed (exit %d)" % (" ".join(argv[:2]), p.returncode))
    return [json.loads(ln) for ln in p.stdout.decode().splitlines() if ln.startswith("{")]


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def postmaster(datadir):
    with open(os.path.join(datadir, "postmaster.pid")) as f:
        return f.readline().strip()


def proc_stats():
    """(pid, the fields of /proc/PID/stat after the command's name) of every process."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                yield pid, f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue


def pg_cpu(datadir):
    """CPU seconds (user + system) of the cluster so far: the postmaster and its live children,
    and what its children that ended had used (cutime, cstime)."""
    pm, total = postmaster(datadir), 0
    for pid, rest in proc_stats():
        if pid == pm:
            total += sum(int(x) for x in rest[11:15])
        elif rest[1] == pm:
            total += int(rest[11]) + int(rest[12])
    return total / os.sysconf("SC_CLK_TCK")


class PgCpuByKind:
    """The cluster's CPU during a stage by kind of process: the forwarders' backends, the
    autovacuum workers (which vacuum and analyze what earlier stages inserted as well), and
    the rest (checkpointer, WAL writer, ...). pg_cpu() gives the total exactly but cannot
    split it: a backend that ended is only in the postmaster's cutime. So the postmaster's
    children are sampled every 0.2 s; a process that ends loses at most its last 0.2 s."""

    KINDS = ("backends", "autovacuum", "other")

    def __init__(self, datadir):
        self.pm = postmaster(datadir)
        self.hz = os.sysconf("SC_CLK_TCK")
        self.first, self.last, self.kind = {}, {}, {}
        self.stop = threading.Event()
        self.initial = True
        self.sample()
        self.initial = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def sample(self):
        for pid, rest in proc_stats():
            if rest[1] != self.pm:
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    title = f.read().decode(errors="replace")
            except OSError:
                continue
            ticks = int(rest[11]) + int(rest[12])
            key = (pid, rest[19])  # pid and start time: a pid used again is another process
            # a process there at the start counts from then on, one started since wholly
            self.first.setdefault(key, ticks if self.initial else 0)
            self.last[key] = ticks
            self.kind[key] = ("autovacuum" if "autovacuum worker" in title else
                              "backends" if title.startswith("postgres: ") and
                              ("[local]" in title or "127.0.0.1" in title) else "other")

    def run(self):
        while not self.stop.wait(0.2):
            self.sample()

    def done(self):
        self.stop.set()
        self.t.join()
        self.sample()
        out = dict.fromkeys(self.KINDS, 0.0)
        for key, ticks in self.last.items():
            out[self.kind[key]] += (ticks - self.first[key]) / self.hz
        return {k: round(v, 2) for k, v in out.items()}


def record(build, work, lock):
    """Real findings: tmpguard run --db over the workload. The store's path."""
    db = os.path.join(work, "recorded.db")
    pol = os.path.join(work, "policy.yaml")
    sh = os.path.join(work, "workload.sh")
    with open(pol, "w") as f:
        f.write(POLICY)
    with open(sh, "w") as f:
        f.write(WORKLOAD)
    with locked(lock):
        p = subprocess.run([os.path.join(build, "tmpguard"), "run", "--db", db, "--policy", pol,
                            "--", "sh", sh, os.path.join(build, "tests", "fixtures")],
                           capture_output=True, check=False)
    if p.returncode:
        raise SystemExit("fleet: recording failed: %s" % p.stderr.decode()[-2000:])
    # mktemp and tmpnam chose names of their own: what the workload made and left, removed
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    for (path,) in con.execute("SELECT DISTINCT path FROM findings"):
        if os.path.isfile(path) and not os.path.islink(path):
            os.unlink(path)
    con.close()
    return db


NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"


def reserve_huge_pages(c):
    """Huge pages for the cluster's shared memory, as a server with a large shared_buffers is
    given them (PostgreSQL's "Linux Huge Pages"): as many 2 MB pages as the running cluster
    says it needs (shared_memory_size_in_huge_pages, PostgreSQL 15) are added to the kernel's
    pool, and the cluster restarted with huge_pages = on, which refuses to start without them.
    The pool's size before, for restoring it; SystemExit when the kernel cannot give them."""
    need = int(c.sql("SHOW shared_memory_size_in_huge_pages")[0][0])
    with open(NR_HUGEPAGES) as f:
        before = int(f.read())
    with open(NR_HUGEPAGES, "w") as f:
        f.write("%d\n" % (before + need))
    with open(NR_HUGEPAGES) as f:
        got = int(f.read())
    if got < before + need:
        with open(NR_HUGEPAGES, "w") as f:
            f.write("%d\n" % before)
        raise SystemExit("fleet: --huge-pages: the kernel gave %d of the %d huge pages asked "
                         "(memory too fragmented or too small)" % (got - before, need))
    with open(os.path.join(c.data, "postgresql.conf"), "a") as f:
        f.write("huge_pages = on\n")
    c.stop()
    c.start()
    return before


def release_huge_pages(before):
    with open(NR_HUGEPAGES, "w") as f:
        f.write("%d\n" % before)


def start_cluster(settings):
    import test_fleet  # noqa: E402 (needs tests/lib on the path)

    class Cluster(test_fleet.Cluster):
        """The tests' cluster, in /var/tmp under a name of the benchmark's own: a run lasts
        long enough for a test's clean-up of /tmp/tg-pg-* to take it away."""

        def __init__(self):
            self.tls, self.port, self.private = False, 5432, None
            self.dir = tempfile.mkdtemp(prefix="tg-fleet-bench-pg-", dir="/var/tmp")
            try:
                self.setup()
            except BaseException:
                self.close()
                raise

    c = Cluster()
    if settings:
        with open(os.path.join(c.data, "postgresql.conf"), "a") as f:
            f.write("".join("%s\n" % s for s in settings))
        c.stop()
        c.start()
    url = c.database("fleet")
    env = dict(os.environ, PGPASSWORD=test_fleet.PASSWORD)
    return c, url, env


def shown_settings(c):
    names = ("server_version", "shared_buffers", "work_mem", "effective_cache_size",
             "max_wal_size", "checkpoint_timeout", "synchronous_commit", "wal_level",
             "max_parallel_workers_per_gather", "jit", "autovacuum", "huge_pages",
             "shared_memory_size_in_huge_pages")
    rows = c.sql("SELECT name, setting, unit FROM pg_settings WHERE name IN (%s) ORDER BY name"
                 % ",".join("'%s'" % n for n in names))
    return {n: v + (" " + u if u else "") for n, v, u in rows}


def set_compression(c, method):
    """default_toast_compression, which a reload applies to the connections made after it."""
    c.sql("ALTER SYSTEM SET default_toast_compression = '%s'" % method)
    c.sql("SELECT pg_reload_conf()")
    for _ in range(50):
        if c.sql("SHOW default_toast_compression", db="fleet")[0][0] == method:
            return
        time.sleep(0.1)
    raise SystemExit("fleet: default_toast_compression did not become %s" % method)


SERVER_WRITES = (
    "SELECT w.wal_records, w.wal_fpi, w.wal_bytes, b.checkpoints_timed + b.checkpoints_req, "
    "b.buffers_checkpoint, b.buffers_clean, b.buffers_backend, b.buffers_alloc "
    "FROM pg_stat_wal w, pg_stat_bgwriter b")
SERVER_WRITE_KEYS = ("wal_records", "wal_fpi", "wal_bytes", "checkpoints", "buffers_checkpoint",
                     "buffers_clean", "buffers_backend", "buffers_alloc")


def server_writes(c):
    """The server's counters of WAL and of buffers written, by whom (cumulative)."""
    return [int(v) for v in c.sql(SERVER_WRITES)[0]]


def writes_per_finding(c, before, findings):
    """What the server wrote while these findings arrived, a finding: WAL records, full-page
    images and bytes; checkpoints; buffers written by the checkpointer, the background writer
    and the backends themselves (evicting a dirty page to make room), buffers allocated."""
    d = [x - y for x, y in zip(server_writes(c), before)]
    out = {k: round(v / findings, 3) for k, v in zip(SERVER_WRITE_KEYS, d)}
    out["checkpoints"] = d[3]
    return out


def ingest(a, c, url, env, stage, hosts_dir):
    """The stage's new rows to PostgreSQL: the hosts split in one group per (compression,
    forwarders at a time), in an order that rotates with the stage."""
    out = []
    variants = [(comp, k, send) for comp in a.compression for k in a.concurrency
                for send in a.send]
    for g in range(len(variants)):
        comp, k, send = variants[(g + stage) % len(variants)]
        set_compression(c, comp)
        cpu0, by_kind, w0 = pg_cpu(c.data), PgCpuByKind(c.data), server_writes(c)
        # staged: findings through the forwarder's staging table and INSERT ... ON CONFLICT,
        # as before the direct COPY (the other arm, in the same run)
        r = run_json([a.driver, "forward", "--dir", hosts_dir, "--url", url, "--hosts",
                      str(a.hosts), "--group", str(g), "--groups", str(len(variants)),
                      "--concurrency", str(k)],
                     dict(env, TMPGUARD_TEST_FORWARD_STAGED="1") if send == "staged" else env)[0]
        r["pg_cpu_s"] = round(pg_cpu(c.data) - cpu0, 2)
        r["pg_cpu_by_kind_s"] = by_kind.done()
        r["pg_writes_per_finding"] = writes_per_finding(c, w0, max(r["findings"], 1))
        r["send"] = send
        r["toast_compression"] = comp if send == "direct" else comp + "+staged"
        log("ingest: %d hosts, %s, %d forwarders at a time: %d findings in %.1f s = %.0f/s; "
            "CPU: forwarders %.1f s, PostgreSQL %.1f s (%s)"
            % (r["hosts"], r["toast_compression"], k, r["findings"], r["seconds"],
               r["rows_per_s"],
               r["cpu_user_s"] + r["cpu_sys_s"], r["pg_cpu_s"],
               ", ".join("%s %.1f" % kv for kv in r["pg_cpu_by_kind_s"].items())))
        w = r["pg_writes_per_finding"]
        log("ingest: a finding: %.1f WAL records, %.0f bytes (%.3f full pages); buffers "
            "written by backends %.3f, background writer %.3f, checkpointer %.3f; %d "
            "checkpoints" % (w["wal_records"], w["wal_bytes"], w["wal_fpi"],
                             w["buffers_backend"], w["buffers_clean"],
                             w["buffers_checkpoint"], w["checkpoints"]))
        out.append(r)
    set_compression(c, a.compression[0])
    return out


def cli_times(a, db, end_ns, reps, hosts):
    """tmpguard query over the SQLite store (and PostgreSQL when this tmpguard reads it): the
    latest 100 before a time, and the host+path+time query where --host exists."""
    tg = os.path.join(a.build, "tmpguard")
    helptext = subprocess.run([tg, "query", "--help"], capture_output=True).stdout.decode()
    res = {}
    for rep in range(reps):
        until = end_ns // 10**9 - (rep * 7919) % (a.days * 86400)
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until))
        runs = {"time_latest_100": ["--until", t, "--limit", "100"]}
        if "--host" in helptext:
            since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end_ns // 10**9 - 7 * 86400))
            h = "bench-h%04d" % (rep * 37 % hosts)
            runs["host_path_time"] = ["--host", h, "--path", "/tmp/build-*", "--since", since]
        for name, args in runs.items():
            for engine, target in db.items():
                t0 = time.monotonic()
                p = subprocess.run([tg, "query", "--db", target, "--format", "json"] + args,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=a.pg_env if engine == "pg" else None)
                dt = (time.monotonic() - t0) * 1000
                if p.returncode:
                    res.setdefault(name, {})[engine] = "not read by this tmpguard: " + \
                        p.stderr.decode().strip()[-160:]
                    break
                res.setdefault(name, {}).setdefault(engine, []).append(dt)
    return res


def explain(c, a, end_ns):
    """EXPLAIN ANALYZE of the host+path+time and exe+time queries, one host and exe each."""
    since = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(end_ns // 10**9 - 7 * 86400))
    until = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(end_ns // 10**9))
    host = c.sql("SELECT host_id FROM tmpguard.sessions ORDER BY host_id LIMIT 1 OFFSET %d"
                 % (7 % a.hosts), db="fleet")[0][0]
    exe = c.sql("SELECT exe FROM tmpguard.findings WHERE exe LIKE '%%/perl' LIMIT 1",
                db="fleet")
    plans = {}
    for name, sql in (
            ("host_path_time",
             "SELECT body, time_ns FROM tmpguard.findings WHERE host_id = '%s' AND path LIKE "
             "'/tmp/build-%%' AND time >= '%s' AND time < '%s' ORDER BY time, seq"
             % (host, since, until)),
            ("exe_time_hosts",
             "SELECT host_id, count(*), min(time), max(time) FROM tmpguard.findings WHERE exe "
             "= '%s' AND time >= '%s' AND time < '%s' GROUP BY host_id ORDER BY count(*) DESC, "
             "host_id" % (exe[0][0] if exe else "/usr/bin/perl", since, until))):
        plans[name] = [r[0] for r in c.sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, db="fleet")]
    return plans


def queries(a, c, url, env, sqlite_db, end_ns):
    lines = run_json([a.driver, "query", "--rec", a.recorded, "--url", url, "--sqlite",
                      sqlite_db, "--hosts", str(a.hosts), "--end", str(end_ns), "--days",
                      str(a.days), "--reps", str(a.reps)], env)
    res = {}
    for ln in lines:
        q = res.setdefault(ln["query"], {"pg": [], "sqlite": [], "rows": [], "mismatch": 0})
        q["pg"].append(ln["pg_ms"])
        q["sqlite"].append(ln["sqlite_ms"])
        q["rows"].append(ln["pg_rows"])
        q["mismatch"] += ln["pg_rows"] != ln["sqlite_rows"]
    return res


def summarise(samples):
    out = {}
    for name, q in samples.items():
        s = {"rows_median": statistics.median(q["rows"]), "mismatch": q["mismatch"]}
        for e in ("pg", "sqlite"):
            s[e + "_p50_ms"] = round(pct(q[e], 50), 2)
            s[e + "_p95_ms"] = round(pct(q[e], 95), 2)
        s["ratio_p50"] = round(s["pg_p50_ms"] / s["sqlite_p50_ms"], 3)
        s["ratio_p95"] = round(s["pg_p95_ms"] / s["sqlite_p95_ms"], 3)
        # the ratio of each pair measured together, then its median
        s["ratio_paired_median"] = round(statistics.median(
            p / max(l, 1e-3) for p, l in zip(q["pg"], q["sqlite"])), 3)
        out[name] = s
    return out


def sizes_of(c, sqlite_db):
    n = int(c.sql("SELECT count(*) FROM tmpguard.findings", db="fleet")[0][0])
    size, parts = c.sql("SELECT sum(pg_total_relation_size(inhrelid)), count(*) FROM pg_inherits "
                        "WHERE inhparent = 'tmpguard.findings'::regclass", db="fleet")[0]
    return {"pg_rows": n, "pg_findings_bytes": int(size), "pg_partitions": int(parts),
            "sqlite_bytes": os.path.getsize(sqlite_db)}


def stage(a, c, url, env, i, size, prev, end_ns, work):
    hosts_dir = os.path.join(work, "hosts")
    sqlite_db = os.path.join(work, "all.db")
    log("size %d: generating %d findings for %d hosts (unlocked)" % (size, size - prev, a.hosts))
    gen = run_json([a.driver, "gen", "--rec", a.recorded, "--dir", hosts_dir, "--sqlite",
                    sqlite_db, "--hosts", str(a.hosts), "--rows", str(size - prev), "--stage",
                    str(i), "--stages", str(len(a.sizes)), "--end", str(end_ns), "--days",
                    str(a.days)])[0]
    log("size %d: generated in %.0f s, copied into the SQLite store in %.0f s"
        % (size, gen["seconds"], gen["merge_seconds"]))
    with locked(a.lock):
        ing = ingest(a, c, url, env, i, hosts_dir)
        sz = sizes_of(c, sqlite_db)
        if sz["pg_rows"] != size:
            raise SystemExit("fleet: PostgreSQL holds %d findings, expected %d"
                             % (sz["pg_rows"], size))
        # Autovacuum analyzes the partitions, never a partitioned table itself; PostgreSQL's
        # documentation asks for a manual ANALYZE of it (section "Autovacuum Daemon").
        t = time.monotonic()
        c.sql("ANALYZE tmpguard.findings", db="fleet")
        analyze_s = time.monotonic() - t
        log("size %d: querying (%d repetitions each)" % (size, a.reps))
        q = queries(a, c, url, env, sqlite_db, end_ns)
        cli = cli_times(a, {"sqlite": sqlite_db, "pg": url}, end_ns, min(a.reps, 30), a.hosts)
        plan = explain(c, a, end_ns) if i == len(a.sizes) - 1 else None
    return {"size": size, "generate": gen, "ingest": ing, "storage": sz,
            "analyze_s": round(analyze_s, 2), "queries": summarise(q), "samples": q,
            "cli": {k: {e: ({"p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1),
                             "n": len(v)} if isinstance(v, list) else v)
                        for e, v in d.items()} for k, d in cli.items()},
            "explain_host_path_time": plan}


def live_stage(a, c, url, env, prev, end_ns, work):
    """A fleet's steady state: --live-rows findings of the last day (what hosts forward as it
    happens) into the store that already holds every stage's rows. The stages replay 14 days
    of history, every host's rows across every day's partition at once; here the inserts go
    to the last day's partitions only, as they do in operation."""
    hosts_dir = os.path.join(work, "hosts")
    sqlite_db = os.path.join(work, "all.db")
    stage_no = len(a.sizes)
    log("live: generating %d findings of the last day for %d hosts (unlocked)"
        % (a.live_rows, a.hosts))
    gen = run_json([a.driver, "gen", "--rec", a.recorded, "--dir", hosts_dir, "--sqlite",
                    sqlite_db, "--hosts", str(a.hosts), "--rows", str(a.live_rows), "--stage",
                    str(stage_no), "--stages", str(stage_no + 1), "--end", str(end_ns),
                    "--days", "1"])[0]
    with locked(a.lock):
        ing = ingest(a, c, url, env, stage_no, hosts_dir)
        sz = sizes_of(c, sqlite_db)
    if sz["pg_rows"] != prev + a.live_rows:
        raise SystemExit("fleet: PostgreSQL holds %d findings, expected %d"
                         % (sz["pg_rows"], prev + a.live_rows))
    return {"size": prev + a.live_rows, "live_rows": a.live_rows, "generate": gen,
            "ingest": ing, "storage": sz}


def print_tables(res):
    print("\nIngest (tmpguard's forwarder -> PostgreSQL %s), rows committed / wall time"
          % res["pg_settings"].get("server_version", ""))
    print("%10s %11s %6s %6s %10s %8s %10s %10s %10s" % (
        "size", "toast", "hosts", "fwds", "findings", "s", "rows/s", "fwd CPU s", "PG CPU s"))
    tot = {}
    for st in res["stages"]:
        for r in st["ingest"]:
            print("%10d %11s %6d %6d %10d %8.1f %10.0f %10.1f %10.1f" % (
                st["size"], r["toast_compression"], r["hosts"], r["concurrency"],
                r["findings"], r["seconds"], r["rows_per_s"], r["cpu_user_s"] + r["cpu_sys_s"],
                r["pg_cpu_s"]))
            t = tot.setdefault(r["toast_compression"], [0, 0.0, 0.0, 0.0])
            t[0] += r["findings"]
            t[1] += r["seconds"]
            t[2] += r["cpu_user_s"] + r["cpu_sys_s"]
            t[3] += r["pg_cpu_s"]
    for comp, (n, sec, fc, pc) in tot.items():
        print("%10s %11s %27d %8.1f %10.0f %10.1f %10.1f   (PG CPU %.0f us a row)"
              % ("all", comp, n, sec, n / sec, fc, pc, pc / n * 1e6))
    for r in res.get("live", {}).get("ingest", []):
        print("%10s %11s %6d %6d %10d %8.1f %10.0f %10.1f %10.1f   (the last day only, into "
              "%d)" % ("live", r["toast_compression"], r["hosts"], r["concurrency"],
                        r["findings"], r["seconds"], r["rows_per_s"],
                        r["cpu_user_s"] + r["cpu_sys_s"], r["pg_cpu_s"], res["live"]["size"]))
    res["ingest_total"] = {comp: {"findings": n, "seconds": round(sec, 2),
                                  "rows_per_s": round(n / sec), "forwarder_cpu_s": round(fc, 1),
                                  "pg_cpu_s": round(pc, 1)}
                           for comp, (n, sec, fc, pc) in tot.items()}
    print("\nQueries: p50 / p95 ms, PostgreSQL (libpq) and SQLite (one store of every host's "
          "rows), same parameters, side by side")
    print("%10s %-24s %8s %17s %17s %8s %8s" % ("size", "query", "rows", "PG p50/p95",
                                             "SQLite p50/p95", "PG/SQL", "p95"))
    for st in res["stages"]:
        for name in QUERIES:
            s = st["queries"].get(name)
            if not s:
                continue
            print("%10d %-24s %8.0f %8.1f/%8.1f %8.1f/%8.1f %8.2f %8.2f%s" % (
                st["size"], name, s["rows_median"], s["pg_p50_ms"], s["pg_p95_ms"],
                s["sqlite_p50_ms"], s["sqlite_p95_ms"], s["ratio_paired_median"],
                s["ratio_p95"], "  ROWS DIFFER x%d" % s["mismatch"] if s["mismatch"] else ""))
    print("\n`tmpguard query --format json` (the whole command, output discarded): p50 / p95 ms")
    for st in res["stages"]:
        for name, d in st["cli"].items():
            print("%10d %-24s %s" % (st["size"], name, "  ".join(
                "%s %s" % (e, ("%.1f/%.1f" % (v["p50_ms"], v["p95_ms"]))
                           if isinstance(v, dict) else "error: " + v.strip()[-120:])
                for e, v in sorted(d.items()))))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", dest="build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rows", type=int, default=5000000, help="findings at the end (5000000)")
    ap.add_argument("--sizes", default=None,
                    help="sizes to measure at, comma-separated (default: rows/5, 3*rows/5, rows)")
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--concurrency", default="1,4,16",
                    help="forwarders at a time, one group of hosts each (1,4,16)")
    ap.add_argument("--compression", default="pglz,lz4",
                    help="default_toast_compression of each group (pglz, the default, and lz4)")
    ap.add_argument("--send", default="direct",
                    help="how the forwarder sends findings, one group of hosts each: direct "
                    "(COPY into tmpguard.findings, tmpguard's way) and/or staged (the staging "
                    "table and INSERT ... ON CONFLICT, as before; TMPGUARD_TEST_FORWARD_STAGED)")
    ap.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                    help="a postgresql.conf line added to the defaults (repeatable)")
    ap.add_argument("--live-rows", type=int, default=500000,
                    help="then this many findings of the last day only, into the full store "
                         "(a fleet's steady state; 0: none)")
    ap.add_argument("--batch-rows", type=int, default=0,
                    help="rows a forwarder batch holds (default: tmpguard's, 1000)")
    ap.add_argument("--huge-pages", action="store_true",
                    help="reserve the huge pages the cluster's shared memory needs (vm."
                    "nr_hugepages, given back at the end) and run it with huge_pages = on")
    ap.add_argument("--lock", default=None, help="flock this file while measuring")
    ap.add_argument("--work", default="/var/tmp", help="where the stores go (needs ~5 KB a row)")
    ap.add_argument("--keep", action="store_true", help="keep the stores and the cluster dir")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke check: 60,000 rows, 12 hosts, 5 repetitions (~1 min)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.quick:
        a.rows, a.hosts, a.reps, a.live_rows = 60000, 12, 5, 12000
    a.sizes = ([int(x) for x in a.sizes.split(",")] if a.sizes else
               [a.rows // 5, 3 * a.rows // 5, a.rows])
    a.concurrency = [int(x) for x in a.concurrency.split(",")]
    a.compression = a.compression.split(",")
    a.send = a.send.split(",")
    a.driver = os.path.join(a.build, "bench", "bench_fleet")
    for p in (a.driver, os.path.join(a.build, "tmpguard")):
        if not os.access(p, os.X_OK):
            raise SystemExit("fleet: %s is missing: build first (bench/fleet.sh does)" % p)
    if os.geteuid():
        raise SystemExit("fleet: run as root (tmpguard run records; the cluster runs as postgres)")
    work = tempfile.mkdtemp(prefix="tg-fleet-bench-", dir=a.work)
    os.chmod(work, 0o700)
    os.mkdir(os.path.join(work, "hosts"), 0o700)
    c, huge_before = None, None
    t_start = time.monotonic()
    try:
        a.recorded = record(a.build, work, a.lock)
        c, url, a.pg_env = start_cluster(a.pg_set)
        if a.huge_pages:
            huge_before = reserve_huge_pages(c)
        if a.batch_rows:
            a.pg_env = dict(a.pg_env, TG_BENCH_BATCH_ROWS=str(a.batch_rows))
        res = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                    time.gmtime()),
               "hosts": a.hosts, "days": a.days, "reps": a.reps, "pg_set": a.pg_set,
               "batch_rows": a.batch_rows or 1000, "huge_pages": a.huge_pages,
               "pg_settings": shown_settings(c), "machine": {"cpus": os.cpu_count()}}
        res["recorded_findings"] = int(subprocess.run(
            ["sqlite3", a.recorded, "SELECT count(*) FROM findings"],
            capture_output=True).stdout or b"0") if shutil.which("sqlite3") else None
        log("recorded %s real findings; PostgreSQL: %s" % (res["recorded_findings"],
                                                            res["pg_settings"]))
        end_ns = int(time.time()) * 10**9
        res["stages"], prev = [], 0
        out = a.out or os.path.join(HERE, "results", time.strftime(
            "%Y%m%d-%H%M%S-fleet.json", time.gmtime()))
        for i, size in enumerate(a.sizes):
            res["stages"].append(stage(a, c, url, a.pg_env, i, size, prev, end_ns, work))
            prev = size
            # what is measured so far, written at every size: a long run stopped keeps it
            res["seconds"] = round(time.monotonic() - t_start)
            with open(out, "w") as f:
                json.dump(res, f, indent=1)
        if a.live_rows:
            res["live"] = live_stage(a, c, url, a.pg_env, prev, end_ns, work)
            res["seconds"] = round(time.monotonic() - t_start)
        print_tables(res)
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
        print("\nfleet: written %s (%d s)" % (out, res["seconds"]))
    finally:
        if c and not a.keep:
            c.close()
        if huge_before is not None:
            release_huge_pages(huge_before)
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept %s%s" % (work, " and " + c.dir if c else ""))


if __name__ == "__main__":
    main()
