#!/usr/bin/env bash
# The fleet store benchmark (bench/README.md, "The fleet store"; issue 16): builds tmpguard and
# bench_fleet into ./build, then runs bench/fleet.py, which records real findings, replays them
# as many hosts into their local stores, forwards them to a PostgreSQL 15 of its own, times the
# investigation queries on PostgreSQL and SQLite side by side, prints the tables and writes
# bench/results/DATE-fleet.json.
#
#   bash bench/fleet.sh                     5 million findings, 200 hosts, ~25 min
#   bash bench/fleet.sh --quick             60,000 findings, 12 hosts: checks it works (~1 min)
#   bash bench/fleet.sh --rows N --hosts N  scaled (sizes N/5, 3N/5, N)
#   bash bench/fleet.sh --lock /work/live.lock ...   measure under that flock only
#   bash bench/fleet.sh --help              the other options (--pg-set, --reps, --work, ...)
#
# Needs root (tmpguard run records; the cluster runs as user postgres), Debian's postgresql-15
# and libpq-dev (.ci/setup --tests), and about 5 KB of disk a finding under --work (/var/tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TG_BUILD_DIR:-build}
if [[ $(id -u) != 0 ]]; then
	echo "fleet: run as root" >&2
	exit 2
fi
if [[ ! -x /usr/lib/postgresql/15/bin/initdb ]]; then
	echo "fleet: postgresql-15 is not installed (apt-get install postgresql-15)" >&2
	exit 2
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTG_BENCH=ON >/dev/null
# tmpguard, the driver, and the fixtures the recording runs
cmake --build "$build" -j "$(nproc)" --target tmpguard bench_fleet fixture_creat \
	fixture_open_trunc fixture_open_syscall fixture_mktemp_open fixture_tmpnam_fopen \
	fixture_excl_0644 fixture_mkdir_mode >/dev/null
exec python3 bench/fleet.py --build-dir "$PWD/$build" "$@"
