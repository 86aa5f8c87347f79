#!/usr/bin/env bash
# Checks run-in-vm.sh itself, in one boot per case: exit status, stdout/stderr kept apart and
# byte-exact, cwd, environment, the writable scratch mounts, and that the guest offers what the
# VM tier is for (bpf in the active LSMs, kernel BTF). tests/vm/selftest.sh [--kernel VERSION]
# Exit 0 = all passed, 1 = a check failed, 77 = no VM possible here (skipped).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vm=("$here/run-in-vm.sh" "$@")
fails=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

check() { # NAME EXPECTED-STATUS EXPECTED-STDOUT EXPECTED-STDERR -- COMMAND...
	local name=$1 want_rc=$2 want_out=$3 want_err=$4 rc
	shift 5
	"${vm[@]}" -- "$@" >"$out" 2>"$err"
	rc=$?
	[[ $rc -eq 77 ]] && { cat "$err" >&2; exit 77; }
	if [[ $rc -ne $want_rc || $(<"$out") != "$want_out" || $(<"$err") != "$want_err" ]]; then
		echo "FAIL $name: status $rc (want $want_rc)" >&2
		echo "  stdout: $(head -c 300 "$out" | od -c | head -5)" >&2
		echo "  stderr: $(head -c 300 "$err")" >&2
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

cd "$here/../.." || exit 1
check "exit status" 7 "out" "err" -- sh -c 'echo out; echo err >&2; exit 7'
check "signal status" 137 "" "" -- sh -c 'kill -9 $$'
check "bytes kept" 0 $'a\r\nb\tc' "" -- printf 'a\r\nb\tc\n'
check "cwd" 0 "$PWD" "" -- pwd
TG_SELFTEST=$'q\'"$x`\nz' check "environment" 0 $'q\'"$x`\nz' "" -- printenv TG_SELFTEST
# shellcheck disable=SC2016 # the $(x) must stay literal
check "arguments" 0 $'[a b]\n[]\n[$(x)]' "" -- printf '[%s]\n' 'a b' '' '$(x)'
check "stdin is empty" 0 "" "" -- cat
check "scratch dirs" 0 $'1777\n1777\n700\n755\n755\n1777\n1777' "" -- \
	sh -c 'touch /tmp/a /var/tmp/a /root/a /var/lib/a /run/a && stat -c %a /tmp /var/tmp /root /var/lib /run /run/lock /dev/shm'
check "host is read-only" 1 "" "" -- sh -c 'touch /usr/.tg-selftest 2>/dev/null || exit 1'
check "bpf lsm active" 0 "yes" "" -- sh -c 'grep -q "\(^\|,\)bpf\(,\|$\)" /sys/kernel/security/lsm && echo yes'
check "kernel btf" 0 "yes" "" -- sh -c 'test -s /sys/kernel/btf/vmlinux && echo yes'
[[ $fails -eq 0 ]] && echo "run-in-vm selftest: all passed" || echo "run-in-vm selftest: $fails failed"
[[ $fails -eq 0 ]]
