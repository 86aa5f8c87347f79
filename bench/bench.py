#!/usr/bin/env python3
"""tmpguard's benchmark: alternating arms, ratios to the baseline. See bench/README.md.

Each round starts every arm once, in an order rotated by one each round (round-robin), and
runs every workload under it; a ratio is taken between two samples of the same round, so slow
drifts of a shared machine cancel. After the rounds: one pass with kernel.bpf_stats_enabled
for the per-program BPF cost (not timed: the statistics themselves cost two clock reads per
program run), and the ring-buffer flood check. Everything it changes (audit rules, auditd,
the audit enable flag and backlog, kernel.bpf_stats_enabled, tracefs) is put back on exit.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = "/dev/shm"
AUDIT_DIRS = ["/tmp", "/var/tmp", "/dev/shm"]
AUDIT_KEY = "tgbench"
AUDIT_SYSCALLS = "open,openat,openat2,creat"
STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
TRACEFS = "/sys/kernel/tracing"

# name, label, workload argument or None for the real workloads, iterations (full run)
MICRO = [
    ("a", "existing-file opens", "existing", 400000),
    ("b", "secure creates /dev/shm", "secure", 100000),
    ("c", "insecure creates /dev/shm", "insecure", 100000),
    ("d", "getppid loop", "getppid", 4000000),
]
ARMS = ["none", "floor", "tmpguard", "tmpguard-cs", "auditd", "bpftrace", "strace"]
# tmpguard with --call-sites: each finding's user stack captured and symbolized (libdw), side
# by side with tmpguard (call sites off, the default) in the same rounds.
CS_ARM = "tmpguard-cs"
TMPGUARD_ARMS = ("tmpguard", CS_ARM)
# With --reference BINARY: another tmpguard build (an earlier commit) as one more arm, so a
# change is measured against it side by side, in the same rounds.
REF_ARM = "tmpguard-ref"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(argv, **kw):
    return subprocess.run(argv, check=True, text=True, capture_output=True, **kw)


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def read_file(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def vm_hwm_kib(pid):
    """Peak RSS of the process's current image. ru_maxrss from wait4 would also count the
    forked copy of this Python process before exec."""
    m = re.search(r"VmHWM:\s+(\d+) kB", read_file(f"/proc/{pid}/status"))
    return int(m.group(1)) if m else 0


def reap(proc, sig, hwm=0):
    """Stop a child; its CPU time (wait4) and peak RSS (VmHWM, sampled, in KiB)."""
    hwm = max(hwm, vm_hwm_kib(proc.pid))
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        return {"cpu_s": None, "maxrss_kib": hwm, "exit": proc.returncode}
    return {"cpu_s": ru.ru_utime + ru.ru_stime, "utime_s": ru.ru_utime,
            "stime_s": ru.ru_stime, "maxrss_kib": hwm, "exit": proc.returncode}


def bpftool_json(*args):
    """bpftool fails now and then when a program or link goes away while it lists them
    (others attach and detach on this machine): try again."""
    for attempt in range(5):
        r = subprocess.run(["bpftool", "-j", *args], text=True, capture_output=True)
        if r.returncode == 0:
            return json.loads(r.stdout or "[]")
        time.sleep(0.1)
    raise RuntimeError(f"bpftool {' '.join(args)} failed: {r.stderr.strip()}")


def link_ids(pid):
    """The BPF links pid holds open (link_id in its fds' fdinfo): bpftool here cannot say
    which process holds a link, and a raw tracepoint (tp_btf) shows only as a link."""
    ids = set()
    d = f"/proc/{pid}/fdinfo"
    try:
        fds = os.listdir(d)
    except OSError:
        return ids
    for fd in fds:
        for line in read_file(os.path.join(d, fd)).splitlines():
            if line.startswith("link_id:"):
                ids.add(int(line.split()[1]))
    return ids


def syscall_tracepoints(pid=None, owners=()):
    """Syscall tracepoints with a BPF program attached: {pid: sorted names}. Raw tracepoint
    links are keyed by the pid among owners that holds them, else by -link id."""
    out = {}
    for e in bpftool_json("perf"):
        tp = e.get("tracepoint", "")
        if e.get("fd_type") == "tracepoint" and tp.startswith(("sys_enter", "sys_exit")):
            out.setdefault(e["pid"], []).append(tp)
    held = {i: p for p in set(owners) | ({pid} if pid else set()) for i in link_ids(p)}
    for e in bpftool_json("link"):
        if e.get("type") == "raw_tracepoint" and e.get("tp_name") in ("sys_enter", "sys_exit"):
            out.setdefault(held.get(e["id"], -e["id"]), []).append("raw:" + e["tp_name"])
    out = {k: sorted(v) for k, v in out.items()}
    return out if pid is None else out.get(pid, [])


def prog_ids(pid):
    return sorted(e["prog_id"] for e in bpftool_json("perf") if e["pid"] == pid)


class Host:
    """What the benchmark changes on the host, and how to put it back."""

    def __init__(self):
        self.stats0 = read_file(STATS_SYSCTL).strip() or None
        self.tracefs_mounted = os.path.exists(TRACEFS + "/events")
        self.audit0 = None
        self.audit_ever = False
        self.task_never = False
        self.children = []

    def ensure_tracefs(self):
        if not os.path.exists(TRACEFS + "/events"):
            run(["mount", "-t", "tracefs", "tracefs", TRACEFS])

    def bpf_stats(self, on):
        if self.stats0 is not None:
            with open(STATS_SYSCTL, "w") as f:
                f.write("1" if on else self.stats0)

    # audit: the kernel keeps audit_ever_enabled once auditing was switched on, and from
    # then on gives every new task an audit context (SYSCALL_WORK_SYSCALL_AUDIT: the syscall
    # slow path) unless a task rule says never. Between auditd arms a `never,task` rule keeps
    # the other arms' workloads off that path, as before the first auditd arm.
    def audit_status(self):
        st = {}
        for line in run(["auditctl", "-s"]).stdout.splitlines():
            k, _, v = line.partition(" ")
            st[k] = v.split()[0] if v else ""
        return st

    def audit_rules(self):
        out = run(["auditctl", "-l"]).stdout.strip()
        return [] if out == "No rules" else out.splitlines()

    def audit_task_never(self, on):
        if on and not self.task_never:
            run(["auditctl", "-a", "never,task"])
            self.task_never = True
        elif not on and self.task_never:
            run(["auditctl", "-d", "never,task"])
            self.task_never = False

    def audit_begin(self):
        """Before any arm: refuse a host that audits already; keep new tasks off the audit
        path (it may have been switched on since boot, by an earlier run or anyone)."""
        st = self.audit_status()
        if self.audit_rules():
            raise RuntimeError("audit rules are loaded on this host: the auditd arm would "
                               "change them; remove them or pass --skip auditd")
        if st.get("pid", "0") != "0":
            raise RuntimeError("auditd is running on this host; stop it or pass --skip auditd")
        self.audit0 = st
        self.audit_task_never(True)

    def restore(self):
        for p in self.children:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if self.audit0 is not None:
            for d in AUDIT_DIRS:
                subprocess.run(["auditctl", "-d", "always,exit", "-F", "arch=b64", "-S",
                                AUDIT_SYSCALLS, "-F", f"dir={d}", "-k", AUDIT_KEY],
                               capture_output=True)
            self.audit_task_never(False)
            subprocess.run(["auditctl", "-e", self.audit0["enabled"]], capture_output=True)
            subprocess.run(["auditctl", "-b", self.audit0["backlog_limit"]],
                           capture_output=True)
        self.bpf_stats(False)
        if not self.tracefs_mounted and os.path.exists(TRACEFS + "/events"):
            subprocess.run(["umount", TRACEFS], capture_output=True)
        for f in glob.glob(f"{SHARED}/tgbench-*"):
            os.unlink(f)


class Bench:
    def __init__(self, args, host):
        self.a = args
        self.host = host
        self.build = os.path.abspath(args.build_dir)
        self.work = os.path.abspath(args.work_dir)
        self.tmpguard = os.path.join(self.build, "tmpguard")
        self.reference = os.path.abspath(args.reference) if args.reference else None
        self.workload = os.path.join(self.build, "bench", "bench_workload")
        self.floor = os.path.join(self.build, "bench", "bench_floor")
        self.scale = 10 if args.quick else 1
        self.samples = []
        self.arm_runs = []
        self.tracepoints = {}
        self.hwm = {}
        self.own_pids = set()
        self.collector_pid = None
        self.python = self.find_tempfile_python()
        self.workloads = [(k, label) for k, label, _, _ in MICRO]
        if not args.no_build_workload:
            self.workloads.append(("e1", "parallel build (cmake -j2)"))
        if self.python:
            self.workloads.append(("e2", "CPython test_tempfile x3"))
        else:
            log("no python3 with test.test_tempfile (Debian: libpython3.11-testsuite): "
                "skipping workload e2")

    @staticmethod
    def find_tempfile_python():
        for py in ("/usr/bin/python3", shutil.which("python3")):
            if py and subprocess.run([py, "-c", "import test.test_tempfile"],
                                     capture_output=True).returncode == 0:
                return py
        return None

    # ---- workloads -------------------------------------------------------------------------
    def run_micro(self, key, name, n, prefix=()):
        argv = [*prefix, self.workload, name, "-n", str(n)]
        if name == "existing":
            argv += ["--dir", os.path.join(self.work, "existing")]
        else:
            argv += ["--dir", SHARED]
        out = run(argv).stdout
        res = json.loads(out.strip().splitlines()[-1])
        res["ns_per_op"] = res["elapsed_ns"] / res["ops"]
        return res

    def run_real(self, key):
        if key == "e1":
            bdir = os.path.join(self.work, "ebuild")
            shutil.rmtree(bdir, ignore_errors=True)
            cmds = [["cmake", "-S", REPO, "-B", bdir, "-DBUILD_TESTING=OFF", "-DTG_BENCH=OFF"],
                    ["cmake", "--build", bdir, "-j2"]]
        else:
            cmds = [[self.python, "-m", "test", "test_tempfile"]] * 3
        t0 = time.monotonic_ns()
        for c in cmds:
            run(c, cwd=self.work)
        el = time.monotonic_ns() - t0
        return {"workload": key, "ops": 1, "elapsed_ns": el, "ns_per_op": el}

    def foreign(self):
        """Other processes' programs on syscall tracepoints (others test tmpguard here): they
        run on this benchmark's syscalls too and put every syscall on the slow path."""
        return {p: v for p, v in syscall_tracepoints(owners=self.own_pids).items()
                if p not in self.own_pids}

    def wait_quiet(self):
        end = time.monotonic() + (5 if self.a.quick else 10)
        while self.foreign() and time.monotonic() < end:
            time.sleep(0.5)

    def run_workload(self, arm, rnd, key, strace=False):
        self.wait_quiet()
        foreign = self.foreign()
        if key.startswith("e"):
            res = self.run_real(key)
        else:
            _, _, name, n = next(m for m in MICRO if m[0] == key)
            n //= self.scale
            prefix = ()
            if strace:
                # strace costs ~20x: a tenth of the iterations, compared per operation.
                n //= 10
                prefix = ("strace", "-f", "-qq", "-o", os.path.join(self.work, "strace.out"))
            cpu0 = self.collector_cpu(arm)
            res = self.run_micro(key, name, n, prefix)
            if cpu0 is not None and key == "c":
                # The collector's CPU for (c)'s findings: it reads the ring after the
                # workload is done, so until its CPU time stops growing.
                res["collector_cpu_s"] = self.collector_settled(arm) - cpu0
        foreign.update(self.foreign())
        for pid in self.own_pids:
            self.hwm[pid] = max(self.hwm.get(pid, 0), vm_hwm_kib(pid))
        res.update(arm=arm, round=rnd, key=key, foreign_tracers=len(foreign))
        self.samples.append(res)
        return res

    def collector_cpu(self, arm):
        """CPU time (user + system) of this arm's tmpguard, its live threads' summed, in
        seconds, or None for other arms. From schedstat (nanoseconds): /proc/PID/stat's utime
        and stime count clock ticks, 10 ms, as much as 2,000 findings cost without call sites."""
        if arm not in TMPGUARD_ARMS or not self.collector_pid:
            return None
        d = f"/proc/{self.collector_pid}/task"
        try:
            tids = os.listdir(d)
        except OSError:
            return None
        ns = 0
        for t in tids:
            f = read_file(f"{d}/{t}/schedstat").split()
            ns += int(f[0]) if f else 0
        return ns / 1e9

    def collector_settled(self, arm, timeout=60):
        """The collector's CPU time once it has read what is in the ring: when it grows by
        less than 1 ms in 0.3 s (its poll timer's own cost is below that)."""
        last, end = self.collector_cpu(arm), time.monotonic() + timeout
        while time.monotonic() < end:
            time.sleep(0.3)
            now = self.collector_cpu(arm)
            if now - last < 0.001:
                return now
            last = now
        return last

    # ---- arms ------------------------------------------------------------------------------
    def start(self, argv, out, err, ready, what, timeout=60):
        p = subprocess.Popen(argv, stdout=open(out, "w"), stderr=open(err, "w"))
        self.host.children.append(p)

        def ok():
            if p.poll() is not None:
                raise RuntimeError(f"{what} exited ({p.returncode}): {read_file(err)[-2000:]}")
            return ready(p)

        wait_for(ok, timeout, what)
        self.own_pids.add(p.pid)
        return p

    def arm_tmpguard(self, tag, binary=None, arm="tmpguard", extra=()):
        out = os.path.join(self.work, f"{arm}-{tag}.json")
        err = os.path.join(self.work, f"{arm}-{tag}.err")
        for f in (out, err):
            if os.path.exists(f):
                os.unlink(f)
        p = self.start([binary or self.tmpguard, "audit", "--format", "json", "--output", out,
                        *extra], out + ".stdout", err, lambda p: "auditing (" in read_file(err),
                       f"{arm} audit")
        self.tracepoints[arm] = syscall_tracepoints(p.pid)
        self.collector_pid = p.pid

        def stop():
            ru = reap(p, signal.SIGINT, self.hwm.get(p.pid, 0))
            summary = None
            for line in read_file(out).splitlines():
                if '"summary"' in line:
                    summary = json.loads(line)
            if summary is None:
                raise RuntimeError(f"tmpguard wrote no summary: {read_file(err)[-2000:]}")
            return {"collector": ru, "summary": summary}
        return p, stop

    def arm_tmpguard_cs(self, tag):
        return self.arm_tmpguard(tag, arm=CS_ARM, extra=["--call-sites"])

    def arm_tmpguard_ref(self, tag):
        return self.arm_tmpguard(tag, self.reference, REF_ARM,
                                 extra=["--call-sites"] if self.a.reference_call_sites else [])

    def arm_floor(self, tag):
        out = os.path.join(self.work, f"floor-{tag}.out")
        p = self.start([self.floor], out, out + ".err",
                       lambda p: "attached" in read_file(out), "bench_floor")
        self.tracepoints["floor"] = syscall_tracepoints(p.pid)
        return p, lambda: {"collector": reap(p, signal.SIGTERM, self.hwm.get(p.pid, 0))}

    def arm_bpftrace(self, tag):
        out = os.path.join(self.work, f"bpftrace-{tag}.out")
        err = out + ".err"
        script = os.path.join(HERE, "shared_dirs.bt")
        p = self.start(["bpftrace", "-o", out, script], out + ".stdout", err,
                       lambda p: len(syscall_tracepoints(p.pid)) == 8, "bpftrace")

        def stop():
            ru = reap(p, signal.SIGINT, self.hwm.get(p.pid, 0))
            text = read_file(out) + read_file(err)
            lost = sum(int(x) for x in re.findall(r"Lost (\d+) events", text))
            per_pid = {}
            for line in read_file(out).splitlines():
                f = line.split(" ", 1)
                if f[0].isdigit():
                    per_pid[int(f[0])] = per_pid.get(int(f[0]), 0) + 1
            return {"collector": ru, "lost": lost, "lines_per_pid": per_pid}
        return p, stop

    def audit_conf(self):
        d = os.path.join(self.work, "auditd")
        os.makedirs(os.path.join(d, "log"), exist_ok=True)
        for f in glob.glob(os.path.join(d, "log", "audit.log*")):
            os.unlink(f)
        conf = read_file("/etc/audit/auditd.conf")
        conf = re.sub(r"(?m)^log_file\s*=.*$",
                      f"log_file = {os.path.join(d, 'log', 'audit.log')}", conf)
        # Debian rotates at 5 x 8 MB, which drops the oldest records of one arm before they
        # are counted; rotation is not what is measured.
        conf = re.sub(r"(?m)^max_log_file\s*=.*$", "max_log_file = 1024", conf)
        with open(os.path.join(d, "auditd.conf"), "w") as f:
            f.write(conf)
        os.chmod(os.path.join(d, "auditd.conf"), 0o640)
        return d

    def arm_auditd(self, tag):
        host = self.host
        host.audit_task_never(False)
        conf = self.audit_conf()
        p = self.start(["auditd", "-n", "-c", conf], os.path.join(conf, "auditd.stdout"),
                       os.path.join(conf, "auditd.stderr"),
                       lambda p: host.audit_status().get("pid") == str(p.pid), "auditd")
        host.audit_ever = True
        # Debian's /etc/audit/rules.d/audit.rules sets this backlog; the kernel's is 64.
        run(["auditctl", "-b", "8192"])
        for d in AUDIT_DIRS:
            run(["auditctl", "-a", "always,exit", "-F", "arch=b64", "-S", AUDIT_SYSCALLS,
                 "-F", f"dir={d}", "-k", AUDIT_KEY])
        lost0 = int(host.audit_status().get("lost", 0))

        def stop():
            for d in AUDIT_DIRS:
                run(["auditctl", "-d", "always,exit", "-F", "arch=b64", "-S", AUDIT_SYSCALLS,
                     "-F", f"dir={d}", "-k", AUDIT_KEY])
            lost = int(host.audit_status().get("lost", 0)) - lost0
            time.sleep(0.5)  # let auditd write what the kernel queued
            ru = reap(p, signal.SIGTERM, self.hwm.get(p.pid, 0))
            run(["auditctl", "-e", host.audit0["enabled"]])
            run(["auditctl", "-b", host.audit0["backlog_limit"]])
            host.audit_task_never(True)
            per_pid = {}
            pat = re.compile(r'type=SYSCALL .* pid=(\d+) .*key="' + AUDIT_KEY)
            for f in glob.glob(os.path.join(conf, "log", "audit.log*")):
                with open(f, errors="replace") as fh:
                    for line in fh:
                        m = pat.search(line)
                        if m:
                            per_pid[int(m.group(1))] = per_pid.get(int(m.group(1)), 0) + 1
                os.unlink(f)
            return {"collector": ru, "lost": lost, "records_per_pid": per_pid}
        return p, stop

    def one_arm(self, arm, rnd):
        self.own_pids = set()
        self.collector_pid = None
        stop = None
        if arm == "strace":
            res = self.run_workload(arm, rnd, "a", strace=True)
            self.arm_runs.append({"arm": arm, "round": rnd, "pids": {"a": res["pid"]}})
            return
        if arm != "none":
            _, stop = getattr(self, "arm_" + arm.replace("-", "_"))(f"r{rnd}")
        pids = {}
        try:
            for key, _ in self.workloads:
                res = self.run_workload(arm, rnd, key)
                pids[key] = res.get("pid")
        finally:
            info = stop() if stop else {}
        info.update(arm=arm, round=rnd, pids=pids)
        self.arm_runs.append(info)

    # ---- passes ----------------------------------------------------------------------------
    def rounds(self):
        arms = [a for a in ARMS if a not in self.a.skip] + ([REF_ARM] if self.reference else [])
        n = len(arms)
        for rnd in range(self.a.rounds):
            order = arms[rnd % n:] + arms[:rnd % n]
            log(f"round {rnd + 1}/{self.a.rounds}: {' '.join(order)}")
            for arm in order:
                t0 = time.monotonic()
                self.one_arm(arm, rnd)
                log(f"  {arm}: {time.monotonic() - t0:.1f} s")

    def stats_pass(self):
        """Per-program BPF cost (run_time_ns / run_cnt) for each micro workload."""
        out = {}
        for arm in ("tmpguard", CS_ARM, "floor") + ((REF_ARM,) if self.reference else ()):
            if arm in self.a.skip:
                continue
            self.own_pids = set()
            self.host.bpf_stats(True)
            try:
                p, stop = getattr(self, "arm_" + arm.replace("-", "_"))("stats")
                ids = prog_ids(p.pid)

                def snap():
                    return {e["id"]: (e.get("name", str(e["id"])), e.get("run_time_ns", 0),
                                      e.get("run_cnt", 0))
                            for e in bpftool_json("prog", "show") if e["id"] in ids}
                res = {}
                try:
                    for key, _, name, n in MICRO:
                        s0 = snap()
                        w = self.run_micro(key, name, n // self.scale)
                        s1 = snap()
                        progs = {}
                        for i in ids:
                            nm, t, c = s1[i]
                            dt, dc = t - s0[i][1], c - s0[i][2]
                            if dc:
                                progs[nm] = {"run_cnt": dc, "run_time_ns": dt,
                                             "ns_per_run": dt / dc}
                        res[key] = {"ops": w["ops"], "programs": progs,
                                    "bpf_ns_per_op": sum(v["run_time_ns"]
                                                         for v in progs.values()) / w["ops"]}
                finally:
                    stop()
                out[arm] = res
            finally:
                self.host.bpf_stats(False)
        return out

    def callsite_pass(self):
        """tmpguard and tmpguard-cs in turn, --cs-rounds times, kernel.bpf_stats_enabled on:
        (p) insecure creates paced (--gap-us) so that the reader keeps up and every finding's
        stack is captured (the kernel skips it while a quarter of the ring is unread, which a
        tight loop does): BPF time per create, collector CPU per finding; (q) short-lived
        processes that create once each (a distinct finding each, so each is unwound, within the
        default policy's 120 findings a minute): collector CPU per process."""
        arms = [a for a in TMPGUARD_ARMS if a not in self.a.skip]
        if CS_ARM not in arms:
            return None
        n = 2000 if self.a.quick else 10000
        procs = 50
        out = []
        for rnd in range(self.a.cs_rounds):
            for arm in arms[rnd % len(arms):] + arms[:rnd % len(arms)]:
                log(f"call sites {rnd + 1}/{self.a.cs_rounds}: {arm}")
                self.own_pids = set()
                self.host.bpf_stats(True)
                try:
                    out.append(self.callsite_one(arm, rnd, n, procs))
                finally:
                    self.host.bpf_stats(False)
        return out

    def callsite_one(self, arm, rnd, n, procs):
        p, stop = getattr(self, "arm_" + arm.replace("-", "_"))(f"cs{rnd}")
        ids = prog_ids(p.pid)

        def bpf_ns():
            return sum(e.get("run_time_ns", 0) for e in bpftool_json("prog", "show")
                       if e["id"] in ids)
        res = {"arm": arm, "round": rnd, "creates": n, "gap_us": self.a.gap_us,
               "processes": procs}
        try:
            # The first finding's unwinding reads libc's (and the workload's) debug info: a cost
            # once per file per collector, measured apart (first_s) from what follows.
            c0 = self.collector_cpu(arm)
            run([self.workload, "insecure", "-n", "20", "--dir", SHARED])
            c1 = self.collector_settled(arm)
            res["cpu_s_first"] = c1 - c0
            b0, c0 = bpf_ns(), c1
            w = run([self.workload, "insecure", "-n", str(n), "--dir", SHARED, "--gap-us",
                     str(self.a.gap_us)]).stdout
            c1 = self.collector_settled(arm)
            res["bpf_ns_per_create"] = (bpf_ns() - b0) / json.loads(w)["ops"]
            res["cpu_s_paced"] = c1 - c0
            c0 = c1
            for _ in range(procs):
                run([self.workload, "insecure", "-n", "20", "--dir", SHARED])
            res["cpu_s_processes"] = self.collector_settled(arm) - c0
        finally:
            info = stop()
        ev = info["summary"]["events"]
        res.update(received=ev["received"], lost=ev["lost"],
                   call_sites_lost=ev.get("call_sites_lost"),
                   call_sites_reused=ev.get("call_sites_reused"), collector=info["collector"])
        return res

    def flood(self):
        """Two processes create insecure files as fast as they can; default ring buffer. With
        --reference, the two builds flood in turn, --flood-rounds times: {arm: [results]}."""
        arms = [a for a in ("tmpguard", CS_ARM) + ((REF_ARM,) if self.reference else ())
                if a not in self.a.skip]
        out = {}
        for rnd in range(self.a.flood_rounds if arms else 0):
            for arm in arms[rnd % len(arms):] + arms[:rnd % len(arms)]:
                log(f"flood {rnd + 1}/{self.a.flood_rounds}: {arm}")
                out.setdefault(arm, []).append(self.flood_one(arm))
        return out or None

    def flood_one(self, arm):
        self.own_pids = set()
        secs = 3 if self.a.quick else 10
        _, stop = getattr(self, "arm_" + arm.replace("-", "_"))("flood")
        procs = [subprocess.Popen([self.workload, "flood", "--seconds", str(secs), "--dir",
                                   SHARED], stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
        time.sleep(secs - 0.5)
        for pid in self.own_pids:
            self.hwm[pid] = max(self.hwm.get(pid, 0), vm_hwm_kib(pid))
        results = [json.loads(p.communicate()[0]) for p in procs]
        info = stop()
        ev = info["summary"]["events"]
        pids = {r["pid"] for r in results}
        delivered = sum(a["count"] for a in info["summary"]["aggregates"]
                        if a["pid"] in pids and a["rule"] == "nonexclusive-create")
        return {"seconds": secs, "creates": sum(r["ops"] for r in results),
                "delivered": delivered, "sent": ev["sent"], "received": ev["received"],
                "lost": ev["lost"], "call_sites_lost": ev.get("call_sites_lost"),
                "call_sites_reused": ev.get("call_sites_reused"),
                "collector": info["collector"]}

    def main(self):
        os.makedirs(os.path.join(self.work, "existing"), exist_ok=True)
        self.host.ensure_tracefs()
        if "auditd" not in self.a.skip:
            self.host.audit_begin()
        t0 = time.monotonic()
        error = None
        try:
            self.rounds()
        except (RuntimeError, subprocess.CalledProcessError, json.JSONDecodeError) as e:
            # Keep the rounds done so far: a long run should not be lost to one failure.
            error = repr(e)
            log(f"rounds stopped early: {error}")
        log("bpf_stats pass")
        stats = self.stats_pass()
        log("call-site pass")
        cs = self.callsite_pass()
        log("flood check")
        flood = self.flood()
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"kernel": platform.release(), "cpus": os.cpu_count(),
                        "cpu_model": cpu_model(), "shared_noisy": True},
            "quick": self.a.quick, "rounds": self.a.rounds,
            "workloads": dict(self.workloads),
            "tracepoints": self.tracepoints, "reference": self.reference,
            "reference_call_sites": bool(self.reference and self.a.reference_call_sites),
            "samples": self.samples, "arm_runs": self.arm_runs, "bpf_stats": stats,
            "flood": flood, "call_sites": cs, "audit_was_enabled_here": self.host.audit_ever,
            "duration_s": round(time.monotonic() - t0, 1), "error": error,
        }


def cpu_model():
    for line in read_file("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--work-dir", default=None,
                    help="scratch directory (not in a shared directory); default BUILD/bench-work")
    ap.add_argument("--rounds", type=int, default=None, help="default 7 (quick: 2)")
    ap.add_argument("--quick", action="store_true",
                    help="a tenth of the iterations, 2 rounds, 3 s flood: checks it works")
    ap.add_argument("--skip", default="", help="comma-separated arms to leave out")
    ap.add_argument("--no-build-workload", action="store_true",
                    help="leave out workload e1 (the parallel build)")
    ap.add_argument("--reference", default=None, metavar="BINARY",
                    help="another tmpguard build (say, an earlier commit's) run as one more arm, "
                    "tmpguard-ref: ratios and collector CPU and RSS side by side")
    ap.add_argument("--reference-call-sites", action="store_true",
                    help="run the --reference arm with --call-sites: an earlier build's call "
                    "sites against tmpguard-cs (flood and (c) losses side by side)")
    ap.add_argument("--flood-rounds", type=int, default=1,
                    help="how many times each build floods (alternating with --reference)")
    ap.add_argument("--output", default=None, help="JSON results (default bench/results/DATE.json)")
    ap.add_argument("--cs-rounds", type=int, default=None,
                    help="rounds of the call-site pass, tmpguard and tmpguard-cs in turn "
                    "(default 5, quick 3)")
    ap.add_argument("--gap-us", type=int, default=200,
                    help="pause after each create of the call-site pass's paced workload")
    a = ap.parse_args()
    a.skip = [s for s in a.skip.split(",") if s]
    if a.rounds is None:
        a.rounds = 2 if a.quick else 7
    if a.cs_rounds is None:
        a.cs_rounds = 3 if a.quick else 5
    if a.work_dir is None:
        a.work_dir = os.path.join(a.build_dir, "bench-work")
    if a.reference and not os.access(a.reference, os.X_OK):
        log(f"--reference {a.reference}: not an executable")
        return 2
    if os.geteuid() != 0:
        log("needs root (BPF, auditd)")
        return 2
    unknown = set(a.skip) - set(ARMS)
    if unknown or "none" in a.skip:
        log(f"cannot skip {', '.join(sorted(unknown)) or 'none'}")
        return 2
    host = Host()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        res = Bench(a, host).main()
    finally:
        host.restore()
    if a.output is None:
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        a.output = os.path.join(HERE, "results",
                                f"{stamp}{'-quick' if a.quick else ''}.json")
    with open(a.output, "w") as f:
        json.dump(res, f, indent=1)
    import report
    report.print_report(res)
    log(f"results: {a.output}")
    if host.audit_ever:
        log("note: auditd ran, so the kernel keeps audit_ever_enabled until reboot: processes "
            "started from now on get an audit context and take the syscall slow path even "
            "with no rules. `auditctl -a never,task` stops that (Fedora ships it).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
