#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Start and stop times: tmpguard against the empty-program floor and bpftrace, side by side.

    python3 bench/loadtime.py --build-dir build [--rounds 7] [--hooks auto|tracepoint|fentry]
                              [--skip bpftrace]

Every start, daemon or tool, pays for loading its BPF programs (the verifier) and attaching
them; every stop for detaching them (each detach waits for an RCU grace period). Each round
runs every arm once, in a new random order:

  floor     bench_floor (empty programs on exactly tmpguard's hooks): exec to "attached"
  tmpguard  tmpguard audit: exec to "auditing" (its start-up line), then SIGINT to exit
  run       tmpguard run -- /bin/true: the whole command, start to exit
  bpftrace  bpftrace bench/shared_dirs.bt (the same syscalls, a string filter) with a BEGIN
            probe that prints once every probe is attached: exec to that line, SIGINT to exit

It prints, per arm, the median and range of the start and stop times, and the ratios of
tmpguard's median to the floor's and to bpftrace's, measured in the same run: the machine is
noisy, only the ratios mean much. Root only.
"""

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed_start(cmd, ready, env=None, timeout=120):
    """Starts cmd; seconds until a line holding ready appears (stdout or stderr), then SIGINT
    and seconds until it exits."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env)
    start = None
    try:
        while True:
            line = p.stdout.readline()
            if not line:
                raise RuntimeError("%s exited before %r (rc %s)" % (cmd[0], ready, p.wait()))
            if ready in line:
                start = time.monotonic() - t0
                break
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("%s: no %r after %d s" % (cmd[0], ready, timeout))
        t1 = time.monotonic()
        p.send_signal(signal.SIGINT)
        p.stdout.read()
        p.wait(timeout=timeout)
        return start, time.monotonic() - t1
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def timed_run(cmd, env=None, timeout=120):
    t0 = time.monotonic()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env, timeout=timeout, check=True)
    return time.monotonic() - t0


def summary(xs):
    return "%6.3f  (%.3f-%.3f)" % (statistics.median(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--hooks", default="auto", choices=("auto", "tracepoint", "fentry"))
    ap.add_argument("--skip", default="", help="comma-separated arms to leave out (bpftrace)")
    o = ap.parse_args()
    if os.geteuid() != 0:
        print("loadtime: run as root", file=sys.stderr)
        return 2
    tg = os.path.join(o.build_dir, "tmpguard")
    floor = os.path.join(o.build_dir, "bench", "bench_floor")
    env = dict(os.environ, TMPGUARD_HOOKS=o.hooks)
    fentry = o.hooks == "fentry" or (o.hooks == "auto" and b"hooks                   fentry"
                                     in subprocess.run([tg, "doctor"], capture_output=True,
                                                       env=env).stdout)
    skip = set(filter(None, o.skip.split(",")))
    bt = shutil.which("bpftrace")
    if "bpftrace" not in skip and not bt:
        print("loadtime: bpftrace is not installed (apt-get install bpftrace; or --skip "
              "bpftrace)", file=sys.stderr)
        return 2
    script = None
    if "bpftrace" not in skip:
        with open(os.path.join(HERE, "shared_dirs.bt")) as fh:
            text = fh.read()
        script = tempfile.NamedTemporaryFile("w", suffix=".bt", delete=False)
        script.write('BEGIN { printf("bench-ready\\n"); }\n' + text)
        script.close()
    arms = {
        "floor": lambda: timed_start([floor] + (["--fexit"] if fentry else []),
                                     b"programs attached"),
        "tmpguard": lambda: timed_start([tg, "audit", "--format", "json"],
                                        b"tmpguard: auditing", env=env),
        # run captures call sites by default (larger exit programs, the exec hooks)
        "run": lambda: (timed_run([tg, "run", "--", "/bin/true"], env=env), 0.0),
        "run-nocs": lambda: (timed_run([tg, "run", "--no-call-sites", "--", "/bin/true"],
                                       env=env), 0.0),
    }
    if script:
        arms["bpftrace"] = lambda: timed_start([bt, script.name], b"bench-ready")
    res = {k: ([], []) for k in arms}
    try:
        for r in range(o.rounds):
            order = list(arms)
            random.shuffle(order)
            for k in order:
                start, stop = arms[k]()
                res[k][0].append(start)
                res[k][1].append(stop)
            print("loadtime: round %d/%d done" % (r + 1, o.rounds), file=sys.stderr)
    finally:
        if script:
            os.unlink(script.name)
    print("load and attach, seconds (median and range of %d rounds; hooks %s, %s):"
          % (o.rounds, o.hooks, "fexit" if fentry else "tracepoints"))
    print("  %-10s %-24s %s" % ("arm", "start", "stop"))
    for k in ("floor", "tmpguard", "bpftrace"):
        if k in res:
            print("  %-10s %-24s %s" % (k, summary(res[k][0]), summary(res[k][1])))
    print("  %-10s %-24s (the whole command: start, run, summary, stop; call sites on)" % (
        "run -- true", summary(res["run"][0])))
    print("  %-10s %-24s (the same, --no-call-sites)" % ("", summary(res["run-nocs"][0])))
    print("ratio run / run --no-call-sites %.2f" % (
        statistics.median(res["run"][0]) / statistics.median(res["run-nocs"][0])))
    med = {k: (statistics.median(v[0]), statistics.median(v[1])) for k, v in res.items()}
    for other in ("floor", "bpftrace"):
        if other in med:
            print("ratio tmpguard / %-9s start %.2f  stop %.2f" % (
                other, med["tmpguard"][0] / med[other][0], med["tmpguard"][1] / med[other][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
