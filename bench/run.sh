#!/usr/bin/env bash
# tmpguard's benchmark, one command (bench/README.md): installs what the arms need (Debian,
# root), builds tmpguard and the drivers into ./build, and runs bench/bench.py, which prints
# the tables and writes bench/results/DATE.json.
#
#   bash bench/run.sh            full run: 7 rounds, ~15 min
#   bash bench/run.sh --quick    2 rounds, a tenth of the iterations: checks it works (~2 min)
#   bash bench/run.sh --help     bench.py's options (--rounds, --skip ARM,..., ...)
#   bash bench/run.sh --vm 6.1 [--quick] [--rounds N]
#                                hooks: tracepoints vs fentry in a VM (bench/vm.py, ~15 min)
#   bash bench/run.sh --load [--rounds N] [--hooks H] [--skip bpftrace]
#                                start and stop times against the floor and bpftrace
#                                (bench/loadtime.py, ~1 min)
set -euo pipefail
cd "$(dirname "$0")/.."

# In a VM (tests/vm/run-in-vm.sh): where fentry loads, tracepoints against fexit hooks. Needs
# only what the build and the VM tier need (.ci/setup --tests), not the other arms' packages.
if [[ ${1:-} == --vm ]]; then
	kver=${2:?"--vm needs a kernel version: 6.1 or 6.12 (tests/vm/README.md)"}
	shift 2
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTG_BENCH=ON >/dev/null
	cmake --build build -j "$(nproc)" --target tmpguard bench_workload bench_floor >/dev/null
	mkdir -p bench/results
	out=bench/results/vm-$kver-$(date -u +%Y%m%dT%H%M%SZ).txt
	echo "bench: kernel $kver under QEMU TCG; tables and samples also in $out" >&2
	tests/vm/run-in-vm.sh --kernel "$kver" --smp 2 --timeout 5400 --expose "$PWD" \
		-- /usr/bin/python3 bench/vm.py --build-dir "$PWD/build" "$@" | tee "$out"
	exit "${PIPESTATUS[0]}"
fi

if [[ $(id -u) != 0 ]]; then
	echo "bench: run as root (BPF programs, auditd, kernel.bpf_stats_enabled)" >&2
	exit 2
fi

# Bench-only packages (not in .ci/setup): the other arms, and CPython's test suite for (e2).
pkgs=(cmake make gcc pkg-config clang bpftool libbpf-dev libelf-dev zlib1g-dev libjson-c-dev
	libyaml-dev python3 auditd bpftrace strace libpython3.11-testsuite)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "bench: installing ${missing[*]}" >&2
	# Installing auditd would start and enable it; the benchmark starts its own. Debian's
	# policy-rc.d convention (exit 101) keeps the package's daemon from starting.
	policy=/usr/sbin/policy-rc.d
	own_policy=false
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=true
	fi
	trap '$own_policy && rm -f "$policy"' EXIT
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
	$own_policy && rm -f "$policy"
	trap - EXIT
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTG_BENCH=ON >/dev/null
cmake --build build -j "$(nproc)" --target tmpguard bench_workload bench_floor >/dev/null
if [[ ${1:-} == --load ]]; then
	shift
	exec python3 bench/loadtime.py --build-dir build "$@"
fi
exec python3 bench/bench.py --build-dir build "$@"
