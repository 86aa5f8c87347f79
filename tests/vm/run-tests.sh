#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs several test scripts in one VM boot (run-in-vm.sh -- sh run-tests.sh A.py B.py ...), each
# with /usr/bin/python3, and combines their statuses as ctest reads one: 1 if any failed, 77 if
# all were skipped, else 0. A.py:C1,C2 runs only A.py's classes C1 and C2, in that order.
failed=0 ran=0
for t in "$@"; do
	case $t in
	*.py:*) classes=$(echo "${t#*.py:}" | tr , ' ') t=${t%%.py:*}.py ;;
	*) classes= ;;
	esac
	# shellcheck disable=SC2086 # class names are words
	/usr/bin/python3 "$t" $classes
	rc=$?
	case $rc in
	0) ran=1 ;;
	77) ;;
	*) echo "run-tests: $t exited $rc" >&2; failed=1 ;;
	esac
done
[ $failed = 1 ] && exit 1
[ $ran = 1 ] && exit 0
exit 77
