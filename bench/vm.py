#!/usr/bin/env python3
"""tmpguard's hook benchmark inside a VM (bench/run.sh --vm KERNEL): syscall tracepoints against
fexit programs, side by side in one run. See bench/README.md, "Hooks: tracepoints or fentry".

Arms: none (nothing attached), floor (bench_floor: empty programs on tmpguard's tracepoints),
floor-fexit (bench_floor --fexit: empty programs on --hooks fentry's functions), tracepoint
(tmpguard audit --hooks tracepoint), fentry (tmpguard audit --hooks fentry). Each round starts
every arm once, in an order rotated by one each round, and runs workloads (a), (c) and (d) of
bench_workload under it; ratios are taken between two samples of the same round (arm / none)
and summarised as median, min and max over the rounds. Runs as root in the guest; prints the
tables and, last, one JSON line with every sample.
"""
import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

WORKLOADS = [  # key, label, bench_workload argument, iterations (full run, TCG)
    ("a", "existing-file opens", "existing", 80000),
    ("c", "insecure creates /dev/shm", "insecure", 20000),
    ("d", "getppid loop", "getppid", 800000),
]
ARMS = ["none", "floor", "floor-fexit", "tracepoint", "fentry"]
WORK = "/root/tg-bench-vm"


def log(msg):
    print(f"bench-vm: {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.build = os.path.abspath(args.build_dir)
        self.tmpguard = os.path.join(self.build, "tmpguard")
        self.workload = os.path.join(self.build, "bench", "bench_workload")
        self.floor = os.path.join(self.build, "bench", "bench_floor")
        self.rounds = args.rounds
        self.scale = 0.1 if args.quick else 1.0
        self.arms = [a for a in ARMS if a not in (args.skip or "").split(",")]
        self.samples = []  # {round, arm, workload, ns_per_op, ...}

    def start(self, argv, ready, stream):
        """Starts a collector; returns it once `ready` (bytes) is on its stdout or stderr."""
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        pipe = p.stderr if stream == "stderr" else p.stdout
        seen = b""
        deadline = time.monotonic() + 120
        while ready not in seen:
            line = pipe.readline()
            if not line or time.monotonic() > deadline:
                p.kill()
                out, err = p.communicate()
                raise RuntimeError(f"{argv[0]} did not start: {seen + out + err!r}")
            seen += line
        return p

    def arm(self, name, rnd):
        if name == "none":
            return None
        if name.startswith("floor"):
            argv = [self.floor] + (["--fexit"] if name == "floor-fexit" else [])
            return self.start(argv, b"programs attached", "stdout")
        out = os.path.join(WORK, f"tg-{name}-{rnd}.json")
        argv = [self.tmpguard, "audit", "--hooks", name, "--format", "json", "--output", out]
        return self.start(argv, b"tmpguard: auditing", "stderr")

    def run_workload(self, key, arg, n):
        argv = [self.workload, arg, "-n", str(max(1, int(n * self.scale)))]
        if arg == "existing":
            argv += ["--dir", os.path.join(WORK, "existing")]
        r = subprocess.run(argv, check=True, capture_output=True, text=True)
        res = json.loads(r.stdout.strip().splitlines()[-1])
        res["ns_per_op"] = res["elapsed_ns"] / res["ops"]
        return res

    def one_arm(self, name, rnd):
        proc = self.arm(name, rnd)
        try:
            for key, _, arg, n in WORKLOADS:
                res = self.run_workload(key, arg, n)
                res.update({"round": rnd, "arm": name, "key": key})
                self.samples.append(res)
                log(f"round {rnd} {name:11} ({key}) {res['ns_per_op']:9.0f} ns/op")
        finally:
            if proc:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()

    def ratios(self, arm, key, base="none", metric="ns_per_op"):
        out = []
        for rnd in range(self.rounds):
            a = [s for s in self.samples if (s["round"], s["arm"], s["key"]) == (rnd, arm, key)]
            b = [s for s in self.samples if (s["round"], s["arm"], s["key"]) == (rnd, base, key)]
            if a and b:
                out.append(a[0][metric] / b[0][metric])
        return out

    def table(self, metric, what):
        print(f"\nkernel {platform.release()}, {os.cpu_count()} vCPUs, QEMU TCG, {self.rounds} "
              f"rounds; {what}: ratio to 'none' in the same round, median (min-max)")
        head = "| workload | none ns/op | " + " | ".join(
            a for a in self.arms if a != "none") + " |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        for key, label, _, _ in WORKLOADS:
            base = [s[metric] for s in self.samples if (s["arm"], s["key"]) == ("none", key)]
            cells = []
            for a in self.arms:
                if a == "none":
                    continue
                r = self.ratios(a, key, metric=metric)
                cells.append(f"{statistics.median(r):.3f} ({min(r):.2f}-{max(r):.2f})"
                             if r else "-")
            print(f"| ({key}) {label} | {statistics.median(base):.0f} | " + " | ".join(cells)
                  + " |")
        if "tracepoint" in self.arms and "fentry" in self.arms:
            print(f"\nfentry / tracepoint in the same round ({what}): median (min-max)")
            for key, label, _, _ in WORKLOADS:
                r = self.ratios("fentry", key, base="tracepoint", metric=metric)
                print(f"  ({key}) {label}: {statistics.median(r):.3f} "
                      f"({min(r):.2f}-{max(r):.2f})")

    def main(self):
        os.makedirs(os.path.join(WORK, "existing"), exist_ok=True)
        order = list(self.arms)
        t0 = time.monotonic()
        for rnd in range(self.rounds):
            for name in order:
                self.one_arm(name, rnd)
            order = order[1:] + order[:1]
        log(f"{self.rounds} rounds in {time.monotonic() - t0:.0f} s")
        self.table("ns_per_op", "whole loop")
        # The fastest of bench_workload's 20 equal batches: less exposed to a preempted vCPU.
        self.table("best_batch_ns_per_op", "fastest batch")
        print(json.dumps({"kernel": platform.release(), "rounds": self.rounds,
                          "scale": self.scale, "samples": self.samples}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="a tenth of the iterations")
    ap.add_argument("--skip", help="comma-separated arms to leave out")
    args = ap.parse_args()
    if os.geteuid() != 0:
        log("run as root (inside the VM: bench/run.sh --vm KERNEL)")
        return 2
    Bench(args).main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
