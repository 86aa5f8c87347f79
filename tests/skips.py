#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Prints what a test run skipped and why, from the skip log the live harness writes
(TG_SKIP_LOG, JSON lines: script, argv, test, reason). .ci/run prints it after ctest, so that
a skip the host decided (32-bit emulation off, no IPv6, no BPF LSM on this kernel) is counted
and seen, never a silent pass.

    python3 tests/skips.py build/Testing/skips.jsonl
"""

import collections
import json
import os
import sys

HOST_KERNEL = os.uname().release


def main(path):
    try:
        with open(path) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        rows = []
    if not rows:
        print("tmpguard tests: no test skipped")
        return 0
    by_reason = collections.OrderedDict()
    for r in rows:
        where = r["test"] or "%s %s (whole script)" % (r["script"], " ".join(r["argv"]))
        if r.get("kernel") and r["kernel"] != HOST_KERNEL:
            where += " [kernel %s]" % r["kernel"]
        by_reason.setdefault(r["reason"], []).append(where)
    print("tmpguard tests: %d skipped, for %d reason%s:" % (
        len(rows), len(by_reason), "" if len(by_reason) == 1 else "s"))
    for reason, tests in by_reason.items():
        print("  %d x %s" % (len(tests), reason))
        for t in tests[:50]:
            print("      %s" % t)
        if len(tests) > 50:
            print("      ... and %d more" % (len(tests) - 50))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/Testing/skips.jsonl"))
