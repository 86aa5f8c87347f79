#!/usr/bin/env bash
# Where tmpguard's time goes on one workload: perf (cpu-clock sampling, with call chains) of a
# bench_workload run while `tmpguard audit` is attached. Run bench/run.sh --quick first (it
# builds and installs what is needed). This VM exposes no hardware counters, so
# `bpftool prog profile` (cycles, instructions) cannot run here; cpu-clock sampling can.
#
#   bash bench/profile.sh                     # insecure creates, 50000
#   bash bench/profile.sh existing 400000
#   bash bench/profile.sh secure 100000
set -euo pipefail
cd "$(dirname "$0")/.."
workload=${1:-insecure}
n=${2:-50000}
build=build
work=$build/bench-work/profile
mkdir -p "$work" "$build/bench-work/existing"
command -v perf >/dev/null || { echo "bench: apt-get install linux-perf" >&2; exit 2; }

dir=/dev/shm
[[ $workload == existing ]] && dir=$build/bench-work/existing
rm -f "$work/tmpguard.json"
"$build/tmpguard" audit --format json --output "$work/tmpguard.json" 2>"$work/tmpguard.err" &
tg=$!
trap 'kill -INT $tg 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	grep -q 'auditing (' "$work/tmpguard.err" && break
	sleep 0.1
done
perf record -q -o "$work/perf.data" -e cpu-clock -g -- \
	"$build/bench/bench_workload" "$workload" -n "$n" --dir "$dir"
kill -INT $tg
wait $tg || true
trap - EXIT

echo "== self time, top 25"
perf report -i "$work/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
	grep '%' | head -25
echo "== time under tmpguard's programs (children included)"
perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
	grep -E 'trace_call_bpf|bpf_prog_|irq_work_queue|bpf_probe_read|bpf_ringbuf' | head -20
