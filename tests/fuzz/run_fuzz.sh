#!/usr/bin/env bash
# Runs a libFuzzer target for SECONDS on a fresh corpus seeded from SEED files/directories.
# Usage: run_fuzz.sh FUZZER SECONDS SEED...
# Exit 77 (skipped) when FUZZER was not built; under CI=true that is a failure (1).
set -euo pipefail
fuzzer=$1 seconds=$2
shift 2
if [[ ! -x $fuzzer ]]; then
	# Not built: clang could not link -fsanitize=fuzzer (tests/CMakeLists.txt says so).
	why="$fuzzer was not built: clang has no libFuzzer runtime (install libclang-rt-14-dev)"
	if [[ ${CI:-} == true ]]; then
		echo "run_fuzz: $why; CI=true: .ci/setup --tests installs it, so this is a failure" >&2
		exit 1
	fi
	echo "run_fuzz: skipped: $why" >&2
	exit 77
fi
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for seed in "$@"; do
	cp -r "$seed" "$corpus/" 2>/dev/null || true
done
# Crash reproducers go to the corpus dir too, so nothing is written into the source tree.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$corpus/" -print_final_stats=1 "$corpus"
