#!/usr/bin/env bash
# Runs a libFuzzer target for SECONDS on a fresh corpus seeded from SEED files/directories.
# Usage: run_fuzz.sh FUZZER SECONDS SEED...
set -euo pipefail
fuzzer=$1 seconds=$2
shift 2
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for seed in "$@"; do
	cp -r "$seed" "$corpus/" 2>/dev/null || true
done
# Crash reproducers go to the corpus dir too, so nothing is written into the source tree.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$corpus/" -print_final_stats=1 "$corpus"
