#!/usr/bin/env python3
"""Print the benchmark's tables from a results file (bench.py writes one and calls this).

Usage: bench/report.py bench/results/FILE.json
"""
import json
import statistics
import sys

ARMS = ["floor", "tmpguard", "tmpguard-cs", "auditd", "bpftrace", "strace"]
REF_ARM = "tmpguard-ref"  # bench.py --reference: an earlier build, side by side
CS_ARM = "tmpguard-cs"  # tmpguard --call-sites
MIB = 1024


def by(samples):
    """{(round, key, arm): (ns_per_op, clean)}: clean = no other process had programs on
    syscall tracepoints before or after the sample."""
    return {(s["round"], s["key"], s["arm"]): (s["ns_per_op"], not s["foreign_tracers"])
            for s in samples}


def ratios(t, key, arm, base="none"):
    """Per-round ratios over the rounds where both samples are clean, or over all rounds
    when fewer than 3 are."""
    pairs = [(t[(r, key, arm)], t[(r, key, base)]) for r, k, a in sorted(t)
             if k == key and a == arm and (r, key, base) in t]
    clean = [(x[0], y[0]) for x, y in pairs if x[1] and y[1]]
    use = clean if len(clean) >= 3 else [(x[0], y[0]) for x, y in pairs]
    return [x / y for x, y in use]


def stat(xs):
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def cell(st):
    if not st:
        return "-"
    return f"{st['median']:.3f} [{st['min']:.2f}-{st['max']:.2f}] {st['n']}"


def fmt_ns(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.0f} ns"


def arms(res):
    """The arms this results file has (files before tmpguard-cs have none of it)."""
    have = {s["arm"] for s in res["samples"]}
    return [a for a in ARMS if a in have or a != CS_ARM] + ([REF_ARM] if res.get("reference") else [])


def summarize(res):
    t = by(res["samples"])
    keys = list(res["workloads"])
    out = {"ratio": {}, "vs_floor": {}, "vs_ref": {}, "baseline_ns": {}, "cs_vs_tg": {},
           "cs_vs_floor": {}}
    for k in keys:
        base = [v[0] for (r, kk, a), v in t.items() if kk == k and a == "none"]
        out["baseline_ns"][k] = statistics.median(base) if base else None
        out["ratio"][k] = {a: stat(ratios(t, k, a)) for a in arms(res)}
        out["vs_floor"][k] = stat(ratios(t, k, "tmpguard", "floor"))
        if res.get("reference"):
            out["vs_ref"][k] = stat(ratios(t, k, "tmpguard", REF_ARM))
        out["cs_vs_tg"][k] = stat(ratios(t, k, CS_ARM, "tmpguard"))
        out["cs_vs_floor"][k] = stat(ratios(t, k, CS_ARM, "floor"))
    return out


def cs_counts(e, sep=" "):
    """An arm's call-site counters (with call sites on: the summary's call_sites_lost, and
    call_sites_reused from builds that send stacks by reference), else ""."""
    if not e.get("call_sites_lost") and not e.get("call_sites_reused"):
        return ""
    return (f"{sep}call_sites_lost {e.get('call_sites_lost') or 0}"
            + (f" reused {e['call_sites_reused']}" if e.get("call_sites_reused") is not None else ""))


def events(res):
    """Per arm and round: what the tracer delivered for workloads b and c."""
    rows = []
    ops = {(s["round"], s["arm"], s["key"]): s["ops"] for s in res["samples"]}
    for run in res["arm_runs"]:
        arm, rnd, pids = run["arm"], run["round"], run.get("pids", {})
        if arm in ("tmpguard", CS_ARM, REF_ARM):
            sm = run["summary"]
            got = {k: sum(a["count"] for a in sm["aggregates"] if a["pid"] == pids.get(k) and
                          a["rule"] == "nonexclusive-create") for k in ("b", "c")}
            ev = sm["events"]
            rows.append({"arm": arm, "round": rnd, "c_expected": ops.get((rnd, arm, "c")),
                         "c_delivered": got["c"], "b_findings": got["b"], "sent": ev["sent"],
                         "received": ev["received"], "lost": ev["lost"],
                         "call_sites_lost": ev.get("call_sites_lost"),
                         "call_sites_reused": ev.get("call_sites_reused")})
        elif arm in ("auditd", "bpftrace"):
            per = run.get("records_per_pid") or run.get("lines_per_pid") or {}
            per = {int(k): v for k, v in per.items()}
            rows.append({"arm": arm, "round": rnd, "c_expected": ops.get((rnd, arm, "c")),
                         "c_delivered": per.get(pids.get("c"), 0),
                         "b_records": per.get(pids.get("b"), 0), "lost": run.get("lost")})
    return rows


def collectors(res):
    out = {}
    for run in res["arm_runs"]:
        c = run.get("collector")
        if c and c.get("cpu_s") is not None:
            out.setdefault(run["arm"], []).append(c)
    return out


def floods(res):
    """{arm: [flood results]}; results files before --reference hold tmpguard's one."""
    fl = res.get("flood") or {}
    return {"tmpguard": [fl]} if "creates" in fl else fl


def targets(res, s):
    tg = {k: s["vs_floor"].get(k) for k in s["vs_floor"]}
    out = []

    def add(name, ok, detail):
        out.append((name, "met" if ok else ("MISSED" if ok is not None else "n/a"), detail))

    for k in ("a", "d"):
        st = tg.get(k)
        add(f"({k}) within 3% of the empty-program floor", st and st["median"] <= 1.03,
            f"tmpguard/floor median {st['median']:.3f}" if st else "no data")
    st = res.get("bpf_stats", {}).get("tmpguard", {})
    for k in ("a", "b", "c"):
        if k not in st:
            continue
        progs = st[k]["programs"]
        ns = sum(v["ns_per_run"] for n, v in progs.items()
                 if n.endswith(("sys_enter_openat", "sys_exit_openat")))
        add(f"BPF entry+exit per open < 300 ns, ({k})", ns < 300, f"{ns:.0f} ns")
    fl = (floods(res).get("tmpguard") or [None])[0]
    if fl:
        add("no drops: 2 flooding processes, 10 s, default ring buffer", fl["lost"] == 0,
            f"lost {fl['lost']}, delivered {fl['delivered']}/{fl['creates']} creates "
            f"in {fl['seconds']} s")
    for k in ("b", "c"):
        r = s["ratio"][k]
        if r.get("tmpguard") and r.get("auditd"):
            added_tg = r["tmpguard"]["median"] - 1
            added_au = r["auditd"]["median"] - 1
            f = added_au / added_tg if added_tg > 0 else float("inf")
            add(f"({k}) tmpguard's added cost >= 5x smaller than auditd's", f >= 5,
                f"added {added_tg * 100:.1f}% vs {added_au * 100:.1f}%: {f:.1f}x")
    col = collectors(res).get("tmpguard", [])
    if fl:
        col = col + [fl["collector"]]
    if col:
        peak = max(c["maxrss_kib"] for c in col) / MIB
        add("collector peak RSS < 20 MiB", peak < 20, f"{peak:.1f} MiB")
    return out


def cs_per_finding(res):
    """Per round: the collector's CPU per finding of (c) (its utime+stime from the start to the
    end of its reading of (c)'s records, over the creates (c) made), for tmpguard and
    tmpguard-cs: {arm: {round: seconds}}."""
    out = {}
    for smp in res["samples"]:
        if smp["key"] == "c" and smp.get("collector_cpu_s") is not None and smp["ops"]:
            out.setdefault(smp["arm"], {})[smp["round"]] = smp["collector_cpu_s"] / smp["ops"]
    return out


def bpf_c(res, arm):
    """BPF time per insecure create (c), all of the arm's programs, from the stats pass."""
    st = res.get("bpf_stats", {}).get(arm, {}).get("c")
    return st["bpf_ns_per_op"] if st else None


def call_sites(res, s, p):
    """tmpguard --call-sites against tmpguard (call sites off), same rounds: ratios."""
    if CS_ARM not in arms(res):
        return
    p("")
    p("Call sites: tmpguard --call-sites (tmpguard-cs) against tmpguard (off, the default)")
    p("  wall time per operation, tmpguard-cs / tmpguard, per round:")
    for k, label in res["workloads"].items():
        p(f"    ({k}) {label:29} {cell(s['cs_vs_tg'][k])}")
    p("  (a) and (d) against the empty-program floor, per round, both modes:")
    for k in ("a", "d"):
        p(f"    ({k}) tmpguard / floor {cell(s['vs_floor'].get(k))}   "
          f"tmpguard-cs / floor {cell(s['cs_vs_floor'].get(k))}")
    a, b = bpf_c(res, CS_ARM), bpf_c(res, "tmpguard")
    if a and b:
        p(f"  BPF time per insecure create (c), stats pass: tmpguard-cs / tmpguard {a / b:.2f} "
          f"({fmt_ns(a)} / {fmt_ns(b)})")
    runs = res.get("call_sites") or []
    by = {(r["arm"], r["round"]): r for r in runs}

    def pair(field):
        xs = [by[(CS_ARM, rnd)][field] / by[("tmpguard", rnd)][field]
              for (arm, rnd) in by if arm == CS_ARM and ("tmpguard", rnd) in by
              and by[("tmpguard", rnd)].get(field)]
        return stat(xs)

    def med(arm, field, div):
        xs = [r[field] / r[div] for r in runs if r["arm"] == arm and r.get(field) is not None]
        return statistics.median(xs) if xs else None
    if runs:
        r0 = runs[0]
        p(f"  call-site pass ({len(runs) // 2} rounds, bpf_stats on): (p) {r0['creates']} "
          f"insecure creates {r0['gap_us']} us apart, (q) {r0['processes']} processes that "
          "create once each, after a first one; tmpguard-cs / tmpguard per round, median [min-max] n:")
        bpf = {a_: statistics.median(r["bpf_ns_per_create"] for r in runs if r["arm"] == a_)
               for a_ in (CS_ARM, "tmpguard")}
        p(f"    BPF time per insecure create (p)             {cell(pair('bpf_ns_per_create'))}"
          f"   (medians {fmt_ns(bpf[CS_ARM])} / {fmt_ns(bpf['tmpguard'])})")
        for field, div, what in (("cpu_s_paced", "creates", "collector CPU per finding (p)     "),
                                 ("cpu_s_processes", "processes",
                                  "collector CPU per process (q)     ")):
            a_, b_ = med(CS_ARM, field, div), med("tmpguard", field, div)
            p(f"    {what}       {cell(pair(field))}   (medians "
              f"{fmt_ns((a_ or 0) * 1e9)} / {fmt_ns((b_ or 0) * 1e9)})")
        if all("cpu_s_first" in r for r in runs):
            a_ = statistics.median(r["cpu_s_first"] for r in runs if r["arm"] == CS_ARM)
            b_ = statistics.median(r["cpu_s_first"] for r in runs if r["arm"] == "tmpguard")
            p(f"    collector CPU, first process's findings (the files' debug info read once): "
              f"{cell(pair('cpu_s_first'))}   (medians {fmt_ns(a_ * 1e9)} / {fmt_ns(b_ * 1e9)})")
        lost = [r["call_sites_lost"] for r in runs if r["arm"] == CS_ARM]
        p(f"    tmpguard-cs call_sites_lost per round: {lost}; records lost: "
          f"{[r['lost'] for r in runs]}")
    per = cs_per_finding(res)
    cs, tg = per.get(CS_ARM, {}), per.get("tmpguard", {})
    rs = [cs[r] / tg[r] for r in sorted(cs) if r in tg and tg[r] > 0]
    if rs:
        p(f"  collector CPU per finding of (c), tmpguard-cs / tmpguard, per round: "
          f"{cell(stat(rs))} (medians {statistics.median(cs.values()) * 1e6:.1f} us / "
          f"{statistics.median(tg.values()) * 1e6:.1f} us)")


def print_report(res, f=sys.stdout):
    s = summarize(res)
    w = res["workloads"]
    m = res["machine"]
    p = lambda *a: print(*a, file=f)
    p(f"tmpguard benchmark, {res['date']}: {m['cpus']} CPUs ({m['cpu_model']}), kernel "
      f"{m['kernel']}, shared noisy machine; {res['rounds']} rounds"
      f"{' (--quick)' if res['quick'] else ''}, {res['duration_s']:.0f} s")
    p("")
    p("Wall-time ratio to no tracing, per operation: median [min-max] n, over the n rounds in")
    p("which no other process had programs on syscall tracepoints (all rounds if fewer than 3)")
    hdr = f"{'workload':34} {'baseline':>10}" + "".join(f" {a:>20}" for a in arms(res))
    p(hdr)
    for k, label in w.items():
        row = f"({k}) {label:29} {fmt_ns(s['baseline_ns'][k]) if s['baseline_ns'][k] else '-':>10}"
        row += "".join(f" {cell(s['ratio'][k][a]):>22}" for a in arms(res))
        p(row)
    p("")
    if res.get("reference"):
        p(f"This build against the reference build ({res['reference']}), per round: below 1 "
          "is faster" + (" (the reference ran with --call-sites, this build without)"
                         if res.get("reference_call_sites") else ""))
        for k, label in w.items():
            p(f"  ({k}) {label:29} {cell(s['vs_ref'][k])}")
        p("")
    p("tmpguard against the empty-program floor (same tracepoints), per round")
    for k, label in w.items():
        p(f"  ({k}) {label:29} {cell(s['vs_floor'][k])}")
    fr = {}
    for smp in res["samples"]:
        if smp["foreign_tracers"]:
            fr[smp["arm"]] = fr.get(smp["arm"], 0) + 1
    if fr:
        p("  samples with another process's programs on syscall tracepoints (left out when 3 clean rounds remain): " +
          ", ".join(f"{a} {n}" for a, n in sorted(fr.items())))
    tps = res.get("tracepoints", {})
    if "tmpguard" in tps and "floor" in tps:
        same = tps["tmpguard"] == tps["floor"]
        p(f"  tracepoints: tmpguard {len(tps['tmpguard'])}, floor {len(tps['floor'])}, "
          f"{'the same' if same else 'DIFFERENT: ' + str(set(tps['tmpguard']) ^ set(tps['floor']))}")
    p("")
    p("Events for (c) insecure creates (expected = creates done) and (b) secure creates")
    for e in events(res):
        if e["arm"] in ("tmpguard", CS_ARM, REF_ARM):
            p(f"  round {e['round'] + 1} {e['arm']}: (c) {e['c_delivered']}/{e['c_expected']} "
              f"nonexclusive-create counted, (b) {e['b_findings']} findings; events sent "
              f"{e['sent']} received {e['received']} lost {e['lost']}"
              + cs_counts(e))
        else:
            p(f"  round {e['round'] + 1} {e['arm']}: (c) {e['c_delivered']}/{e['c_expected']} "
              f"records, (b) {e['b_records']} records; lost {e['lost']}")
    p("")
    st = res.get("bpf_stats", {})
    if st:
        p("BPF cost per program (kernel.bpf_stats_enabled pass): ns per run, runs per op")
        for arm, per in st.items():
            for k, v in per.items():
                progs = sorted(v["programs"].items(), key=lambda x: -x[1]["run_time_ns"])
                parts = [f"{n.split('__')[-1]} {x['ns_per_run']:.0f} ns x{x['run_cnt'] / v['ops']:.2f}"
                         for n, x in progs if x["run_cnt"] >= v["ops"] * 0.01]
                p(f"  {arm:8} ({k}) {v['bpf_ns_per_op']:7.0f} ns/op: " + "; ".join(parts))
        p("")
    p("Collectors: CPU time (user+system) and peak RSS over one arm (all workloads), median")
    for arm, cs in collectors(res).items():
        cpu = statistics.median(c["cpu_s"] for c in cs)
        rss = max(c["maxrss_kib"] for c in cs) / MIB
        p(f"  {arm:12} cpu {cpu:6.2f} s   peak RSS {rss:6.1f} MiB (max of {len(cs)})")
    if floods(res):
        p("")
    for arm, fl in ((a, f) for a, runs in floods(res).items() for f in runs):
        p(f"Flood ({arm}): 2 processes x {fl['seconds']} s insecure creates, default ring "
          f"buffer: {fl['creates']} creates, {fl['delivered']} counted, sent {fl['sent']}, "
          f"received {fl['received']}, lost {fl['lost']} ({fl['lost'] / max(fl['creates'], 1):.2%})"
          + cs_counts(fl, ", ")
          + "; "
          f"collector cpu {fl['collector']['cpu_s']:.2f} s, peak RSS "
          f"{fl['collector']['maxrss_kib'] / MIB:.1f} MiB")
    call_sites(res, s, p)
    p("")
    p("Targets")
    for name, verdict, detail in targets(res, s):
        p(f"  {verdict:7} {name}: {detail}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1]) as fh:
        print_report(json.load(fh))
