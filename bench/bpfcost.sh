#!/bin/bash
# BPF time per run of the openat programs of one tmpguard audit (kernel.bpf_stats_enabled):
#   bench/bpfcost.sh TMPGUARD secure|insecure N
# Counts only the programs this tmpguard holds (prog_id in its fdinfo), not other instances'.
TG=$1; W=$2; N=$3
WL=${WORKLOAD:-$(dirname "$0")/../build/bench/bench_workload}
ERR=$(mktemp)
sysctl -q kernel.bpf_stats_enabled=1
# TG_ARGS: more audit options, e.g. --no-call-sites to compare the cost of call sites
$TG audit --format json --output /dev/null ${TG_ARGS:-} 2>"$ERR" &
P=$!
until grep -q auditing "$ERR" 2>/dev/null; do sleep 0.2; done
"$WL" "$W" -n "$N" --dir /dev/shm >/dev/null
IDS=$(cat /proc/$P/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {printf "%s,", $2}')
bpftool -j prog show | python3 -c "
import json,sys
ids={$IDS}
for p in json.load(sys.stdin):
    n=p.get('name','')
    if 'openat' in n and p.get('run_cnt') and p['id'] in ids:
        print('%-45s cnt=%8d avg=%6.0f ns' % (n, p['run_cnt'], p['run_time_ns']/p['run_cnt']))
"
kill $P; wait $P
sysctl -q kernel.bpf_stats_enabled=0
rm -f "$ERR"
