#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""SARIF that code scanning can place: `report --format sarif --source-root DIR`.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard \\
        /usr/bin/python3 tests/live/test_sarif_callsite.py [Class[.test] ...]

Placed: findings written here as `audit --format json` prints them, with call sites in a
repository (one through a symlink to it), outside it, and none; the SARIF validated against
the OASIS 2.1.0 schema (tests/data), every result placed at a repository-relative file,
fingerprints independent of pid, time, host and how the executable was named.
ShellScript: a real shell script in a small repository, run twice under `tmpguard run`; the
findings name the script (and a child's create, touch's, its parent script), the SARIF of both runs
validates, every location resolves to a file in the repository, and both runs give the same
fingerprints. dash's line is not known; a bash script's findings name the line, and SARIF places
them at it (the region's startLine).
RunSarif: `tmpguard run --format sarif --source-root .` over a small repository (a shell script
that is gone before its record is read, a C program built with -g from it, a Python script):
the log validates, every result lands at the repository file and line that made the create,
two runs give the same fingerprints; --format sarif and --source-root refused where they do
not apply, before anything runs.

ShellScript and RunSarif need root and a kernel that runs BPF (exit 77 otherwise), Placed only the binary;
both need python3-jsonschema (under CI=true its absence is a failure: .ci/setup installs it).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_report  # noqa: E402  (the schema validator and its format checker)

TMPGUARD = os.environ.get("TMPGUARD", "")
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": "/root"}
CI = os.environ.get("CI") == "true"


def validate(log):
    with open(test_report.SARIF_SCHEMA) as f:
        schema = json.load(f)
    errors = []
    for cls in (test_report.jsonschema.Draft7Validator, test_report.jsonschema.Draft4Validator):
        v = cls(schema, format_checker=test_report.sarif_format_checker(cls))
        errors += ["%s: %s at %s" % (cls.__name__, e.message[:300], list(e.absolute_path))
                   for e in v.iter_errors(log)]
    return errors


def report(inputs, *opts):
    p = subprocess.run([TMPGUARD, "report", "--format", "sarif"] + list(opts) + list(inputs),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, timeout=60)
    return p


def finding(time, pid, exe, path, pattern, call_site=None, host="h1", rule="nonexclusive-create"):
    r = {"type": "finding", "time": time, "host": host, "rule": rule, "severity": "high",
         "cwe": ["CWE-377"], "action": "alert", "why": "w", "syscall": "openat",
         "entry": "syscall", "path": path,
         "proc": {"pid": pid, "tid": pid, "ppid": 1, "uid": 1000, "user": "u", "comm": "c",
                  "exe": exe, "cmdline": "c", "container_id": None, "container_runtime": None},
         "language": "shell", "advice": "use mktemp", "count": 1, "pattern": pattern}
    if call_site is not None:
        r["call_site"] = call_site
    return r


def shell_site(file):
    return {"kind": "shell", "module": "/usr/bin/dash", "build_id": None, "offset": None,
            "function": None, "file": file, "line": None,
            "missing": "line not known", "command": None}


def write(path, records):
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


class SarifChecks(unittest.TestCase):
    def check_placed(self, log, root):
        """Every result at a repository-relative file that exists under root."""
        self.assertEqual(validate(log), [])
        run = log["runs"][0]
        base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        self.assertEqual(base, "file://" + urllib.parse.quote(os.path.realpath(root)) + "/")
        self.assertEqual(run["automationDetails"]["id"], "tmpguard/runtime/")
        self.assertNotIn("artifacts", run)
        for res in run["results"]:
            self.assertEqual(len(res["locations"]), 1)
            loc = res["locations"][0]
            art = loc["physicalLocation"]["artifactLocation"]
            self.assertEqual(art["uriBaseId"], "%SRCROOT%")
            self.assertNotIn(":", art["uri"])  # relative: no scheme
            self.assertFalse(art["uri"].startswith("/"), art)
            full = os.path.join(os.path.realpath(root), urllib.parse.unquote(art["uri"]))
            self.assertTrue(os.path.isfile(full), full)
            self.assertTrue(os.path.realpath(full).startswith(os.path.realpath(root) + "/"))
            self.assertEqual(loc["logicalLocations"][0]["kind"], "module")
        return run


class Placed(SarifChecks):
    """Hand-made findings with call sites in, outside and without the repository."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        t = self.tmp.name
        self.repo = os.path.join(t, "repo")
        os.makedirs(os.path.join(self.repo, "ci"))
        os.makedirs(os.path.join(self.repo, "src"))
        for f in ("ci/build.sh", "src/a b.c"):
            open(os.path.join(self.repo, f), "w").close()
        os.symlink(self.repo, os.path.join(t, "alias"))  # the same checkout, by a symlink
        self.script = os.path.join(self.repo, "ci", "build.sh")
        c_site = {"kind": "native", "module": "/opt/p/prog", "build_id": "ab" * 20,
                  "offset": "0x1234", "function": "main",
                  "file": os.path.join(t, "alias", "src", "a b.c"), "line": 42,
                  "missing": None, "command": None}
        outside = shell_site("/usr/share/doc/x.sh")
        command = dict(shell_site(None), command="echo x > /tmp/f.$$")

        def records(pid, time, host, exe):
            return [
                {"type": "session", "time": time, "host": host},
                finding(time, pid, exe, "/tmp/f.%d" % pid, "/tmp/f.*", shell_site(self.script),
                        host=host),
                finding(time, pid + 1, "/opt/p/prog", "/tmp/p.%d" % pid, "/tmp/p.*", c_site,
                        host=host),
                finding(time, pid + 2, exe, "/tmp/o.%d" % pid, "/tmp/o.*", outside, host=host),
                finding(time, pid + 3, exe, "/tmp/c.%d" % pid, "/tmp/c.*", command, host=host),
                finding(time, pid + 4, exe, "/tmp/n.%d" % pid, "/tmp/n.*", None, host=host),
            ]
        self.in1 = os.path.join(t, "one.json")
        self.in2 = os.path.join(t, "two.json")
        # The second: other pids, times and host; the shell named as the kernel names a gone one.
        write(self.in1, records(100, "2026-12-01T10:00:00Z", "h1", "/usr/bin/dash"))
        write(self.in2, records(900, "2026-12-02T11:00:00Z", "h2", "dash"))

    def tearDown(self):
        self.tmp.cleanup()

    def sarif(self, inputs, root):
        p = report(inputs, "--source-root", root)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_placed(self):
        log = self.sarif([self.in1], self.repo)
        run = self.check_placed(log, self.repo)
        by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
                  for r in run["results"]}
        self.assertEqual(sorted(by_uri), ["ci/build.sh", "src/a%20b.c"])
        c = by_uri["src/a%20b.c"]["locations"][0]["physicalLocation"]
        self.assertEqual(c["region"]["startLine"], 42)
        self.assertNotIn("region", by_uri["ci/build.sh"]["locations"][0]["physicalLocation"])
        self.assertIn("Call site: src/a b.c:42 (in main). ", by_uri["src/a%20b.c"]["message"]["text"])
        # Outside the repository, a -c text, no call site: left out, counted, said.
        self.assertEqual(run["properties"]["findings_unplaced"], 3)
        notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
        self.assertTrue(any("3 finding(s) have no call site in the repository" in n
                            for n in notes), notes)
        self.assertNotIn("file:///", json.dumps(run["results"]))

    def test_root_by_symlink(self):
        # The root named through a symlink places the same files the same way.
        a = self.sarif([self.in1], self.repo)
        b = self.sarif([self.in1], os.path.join(self.tmp.name, "alias"))
        self.assertEqual([r["locations"] for r in a["runs"][0]["results"]],
                         [r["locations"] for r in b["runs"][0]["results"]])

    def test_fingerprints_stable(self):
        one = self.sarif([self.in1], self.repo)["runs"][0]["results"]
        two = self.sarif([self.in2], self.repo)["runs"][0]["results"]
        fp = lambda rs: sorted(r["partialFingerprints"]["tmpguard/v2"] for r in rs)
        self.assertEqual(fp(one), fp(two))
        self.assertEqual(len(set(fp(one))), 2)
        # Both inputs: one result per (rule, call site), with how many findings it stands for.
        both = self.sarif([self.in1, self.in2], self.repo)
        self.check_placed(both, self.repo)
        res = both["runs"][0]["results"]
        self.assertEqual(fp(res), fp(one))
        self.assertEqual([r["properties"]["findings"] for r in res], [2, 2])
        self.assertEqual(both["runs"][0]["properties"]["findings_unplaced"], 6)

    def test_without_root(self):
        # No repository: the executable is the artifact (as before), results still grouped.
        p = report([self.in1, self.in2])
        self.assertEqual(p.returncode, 0, p.stderr)
        log = json.loads(p.stdout)
        self.assertEqual(validate(log), [])
        run = log["runs"][0]
        self.assertEqual(sum(r["properties"]["findings"] for r in run["results"]), 10)
        # "dash" and "/usr/bin/dash" agree: the shell script's two findings are one result.
        script = [r for r in run["results"]
                  if (r["properties"]["call_site"] or {}).get("file") == self.script]
        self.assertEqual(len(script), 1)
        self.assertEqual(script[0]["properties"]["findings"], 2)
        for r in run["results"]:
            uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            self.assertIn(uri, [a["location"]["uri"] for a in run["artifacts"]])
        # A native frame's offset, written in hex, read back.
        native = [r["properties"]["call_site"] for r in run["results"]
                  if (r["properties"]["call_site"] or {}).get("kind") == "native"]
        self.assertEqual([c["offset"] for c in native], [0x1234])

    def test_usage(self):
        p = report([self.in1], "--source-root", os.path.join(self.tmp.name, "nonexistent"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--source-root", p.stderr.decode())
        p = subprocess.run([TMPGUARD, "report", "--format", "md", "--source-root", self.repo,
                            self.in1], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=ENV, timeout=60)
        self.assertEqual(p.returncode, 2)


SCRIPT = """#!/bin/sh
# a build step that leaves temporary files where anyone can plant them
echo start
echo x > /tmp/tg-sarif-sh.$$
touch /tmp/tg-sarif-child.$$
sleep 1
rm -f /tmp/tg-sarif-sh.$$ /tmp/tg-sarif-child.$$
"""


# Each create's line, by its marker. The child's shell waits on the same line (sleep), so the
# line it is at when tmpguard reads touch's record is still touch's.
BASH_SCRIPT = """#!/bin/bash
# a build step that leaves temporary files where anyone can plant them
echo start
echo x > /tmp/tg-sarif-bash.$$  # SHELL-LINE
touch /tmp/tg-sarif-bchild.$$; sleep 1  # CHILD-LINE
rm -f /tmp/tg-sarif-bash.$$ /tmp/tg-sarif-bchild.$$
"""


def marker(text, word):
    return next(i for i, line in enumerate(text.splitlines(), 1) if word in line)


class ShellScript(SarifChecks):
    """A real script under `tmpguard run`, twice."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.repo = os.path.join(self.tmp.name, "repo")
        os.makedirs(os.path.join(self.repo, ".git"))
        os.makedirs(os.path.join(self.repo, "ci"))
        for name, text in (("step.sh", SCRIPT), ("bstep.sh", BASH_SCRIPT)):
            with open(os.path.join(self.repo, "ci", name), "w") as f:
                f.write(text)
            os.chmod(os.path.join(self.repo, "ci", name), 0o755)

    def tearDown(self):
        self.tmp.cleanup()

    def run_once(self, i, argv):
        out = os.path.join(self.tmp.name, "run%d.json" % i)
        p = subprocess.run([TMPGUARD, "run", "--format", "json", "--call-sites", "--output", out,
                            "--"] + argv,
                           cwd=self.repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=ENV, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        return out, [r for r in recs if r["type"] == "finding"]

    def test_script_two_runs(self):
        script = os.path.join(os.path.realpath(self.repo), "ci", "step.sh")
        # `sh ci/step.sh` (relative: resolved to the file the shell holds), then by its #! line
        runs = [self.run_once(0, ["sh", "ci/step.sh"]), self.run_once(1, ["./ci/step.sh"])]
        for out, findings in runs:
            mine = {os.path.basename(f["path"]).split(".")[0]: f for f in findings
                    if "tg-sarif-" in f["path"] and f["rule"] == "nonexclusive-create"}
            self.assertEqual(sorted(mine), ["tg-sarif-child", "tg-sarif-sh"], findings)
            sh = mine["tg-sarif-sh"]["call_site"]
            self.assertEqual(sh["kind"], "shell")
            self.assertEqual(sh["file"], script)
            self.assertIn("line not known", sh["missing"])
            # touch's create: its parent's script (the script sleeps: its shell still lives)
            child = mine["tg-sarif-child"]
            self.assertEqual(child["call_site"]["file"], script, child)
            self.assertIn("made by touch", child["call_site"]["missing"])
        logs = []
        for out, _ in runs:
            p = report([out], "--source-root", self.repo)
            self.assertEqual(p.returncode, 0, p.stderr)
            log = json.loads(p.stdout)
            run = self.check_placed(log, self.repo)
            uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    for r in run["results"]}
            self.assertEqual(uris, {"ci/step.sh"})
            logs.append(log)
        fp = [sorted(r["partialFingerprints"]["tmpguard/v2"] for r in log["runs"][0]["results"])
              for log in logs]
        self.assertEqual(fp[0], fp[1])
        # the shell's create and touch's, each non-exclusive and of a loose mode: four results
        self.assertEqual(len(fp[0]), 4)

    def test_bash_script_lines(self):
        script = os.path.join(os.path.realpath(self.repo), "ci", "bstep.sh")
        lines = {"tg-sarif-bash": marker(BASH_SCRIPT, "SHELL-LINE"),
                 "tg-sarif-bchild": marker(BASH_SCRIPT, "CHILD-LINE")}
        # by its #! line, then `bash ci/bstep.sh`
        runs = [self.run_once(3, ["./ci/bstep.sh"]), self.run_once(4, ["bash", "ci/bstep.sh"])]
        for out, findings in runs:
            mine = {os.path.basename(f["path"]).split(".")[0]: f for f in findings
                    if "tg-sarif-b" in f["path"] and f["rule"] == "nonexclusive-create"}
            self.assertEqual(sorted(mine), sorted(lines), findings)
            # bash's redirection: its line, read by the kernel at the create; complete
            sh = mine["tg-sarif-bash"]["call_site"]
            self.assertEqual((sh["kind"], sh["file"], sh["line"]),
                             ("shell", script, lines["tg-sarif-bash"]), sh)
            self.assertNotIn("missing", sh)
            # touch's: its parent's line, read by the kernel at touch's execve
            child = mine["tg-sarif-bchild"]["call_site"]
            self.assertEqual((child["file"], child["line"]),
                             (script, lines["tg-sarif-bchild"]), child)
            self.assertIn("made by touch", child["missing"])
            self.assertNotIn("when tmpguard read the record", child["missing"])
        logs = []
        for out, _ in runs:
            p = report([out], "--source-root", self.repo)
            self.assertEqual(p.returncode, 0, p.stderr)
            log = json.loads(p.stdout)
            run = self.check_placed(log, self.repo)
            placed = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                       r["locations"][0]["physicalLocation"]["region"]["startLine"])
                      for r in run["results"]}
            self.assertEqual(placed, {("ci/bstep.sh", n) for n in lines.values()})
            logs.append(log)
        fp = [sorted(r["partialFingerprints"]["tmpguard/v2"] for r in log["runs"][0]["results"])
              for log in logs]
        self.assertEqual(fp[0], fp[1])
        self.assertEqual(len(fp[0]), 4)

    def test_sh_c(self):
        out, findings = self.run_once(2, ["sh", "-c", "echo x > /tmp/tg-sarif-c.$$; "
                                          "rm -f /tmp/tg-sarif-c.$$"])
        mine = [f for f in findings
                if "tg-sarif-c." in f["path"] and f["rule"] == "nonexclusive-create"]
        self.assertEqual(len(mine), 1, findings)
        self.assertEqual(mine[0]["call_site"]["command"],
                         "echo x > /tmp/tg-sarif-c.$$; rm -f /tmp/tg-sarif-c.$$")
        self.assertFalse(mine[0]["call_site"]["file"])  # "": no script file
        self.assertIsNone(mine[0]["call_site"]["offset"])


RUN_SH = """#!/bin/sh
# a step that leaves a predictable name in /tmp; gone before tmpguard reads its record
echo x > /tmp/tg-runsarif-sh.$$
rm -f /tmp/tg-runsarif-sh.$$
"""

RUN_C = """#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) static int save(const char *path)
{
	FILE *f = fopen(path, "w"); /* LINE */

	if (!f)
		return 1;
	fputs("x", f);
	return fclose(f) || unlink(path);
}

int main(void)
{
	char p[64];

	snprintf(p, sizeof(p), "/tmp/tg-runsarif-c.%d", (int)getpid());
	return save(p);
}
"""

RUN_PY = """import os
import tempfile


def save():
    name = tempfile.mktemp(prefix="tg-runsarif-py.")
    with open(name, "w") as f:  # LINE
        f.write("x")
    os.unlink(name)


save()
"""


def marker_line(text):
    return next(i for i, line in enumerate(text.splitlines(), 1) if "# LINE" in line
                or "/* LINE */" in line)


class RunSarif(SarifChecks):
    """`tmpguard run --format sarif --source-root .`: the log code scanning takes, in one step."""

    PY = "/usr/bin/python3.11"  # Debian 12's CPython, whose frames tmpguard reads

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.repo = os.path.join(self.tmp.name, "repo")
        for d in (".git", "ci", "src", "tools", "build"):
            os.makedirs(os.path.join(self.repo, d))
        for name, text in (("ci/step.sh", RUN_SH), ("src/save.c", RUN_C),
                           ("tools/gen.py", RUN_PY)):
            with open(os.path.join(self.repo, name), "w") as f:
                f.write(text)
        os.chmod(os.path.join(self.repo, "ci", "step.sh"), 0o755)
        p = subprocess.run(["gcc", "-g", "-O1", "-fomit-frame-pointer", "-o", "build/save",
                            "src/save.c"], cwd=self.repo, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=ENV, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.steps = "./ci/step.sh; ./build/save"
        self.python = os.access(self.PY, os.X_OK)
        if self.python:
            self.steps += "; %s tools/gen.py" % self.PY

    def tearDown(self):
        self.tmp.cleanup()

    def run_sarif(self, *opts, output=True):
        out = os.path.join(self.tmp.name, "out.sarif")
        if os.path.exists(out):
            os.unlink(out)
        argv = [TMPGUARD, "run", "--format", "sarif", "--source-root", "."] + list(opts)
        if output:
            argv += ["--output", out]
        p = subprocess.run(argv + ["--", "sh", "-c", self.steps], cwd=self.repo,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        if not output:
            return json.loads(p.stdout)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        with open(out) as f:
            return json.load(f)

    def placed(self, log):
        run = self.check_placed(log, self.repo)
        got = {}
        for r in run["results"]:
            loc = r["locations"][0]["physicalLocation"]
            got.setdefault(loc["artifactLocation"]["uri"], set()).add(
                (r["ruleId"], (loc.get("region") or {}).get("startLine")))
        return run, got

    def test_run_source_root(self):
        log = self.run_sarif()
        run, got = self.placed(log)
        want = {"ci/step.sh", "src/save.c"} | ({"tools/gen.py"} if self.python else set())
        self.assertEqual(set(got), want, json.dumps(run["results"], indent=1)[:3000])
        self.assertIn(("nonexclusive-create", marker_line(RUN_C)), got["src/save.c"])
        if self.python:
            # mktemp probes the name first: check-then-create, from the line that opens it
            self.assertIn(("check-then-create", marker_line(RUN_PY)), got["tools/gen.py"])
        self.assertIn("nonexclusive-create", {rule for rule, _ in got["ci/step.sh"]})
        # the same once more, to standard output: the same results, the same fingerprints
        again = self.run_sarif(output=False)
        fp = lambda lg: sorted((r["ruleId"], r["partialFingerprints"]["tmpguard/v2"])
                               for r in lg["runs"][0]["results"])
        self.assertEqual(fp(log), fp(again))
        self.assertEqual(self.placed(again)[1], got)

    def test_no_call_sites(self):
        # --no-call-sites: nothing can be placed; each finding is counted, none is lost
        log = self.run_sarif("--no-call-sites")
        run = log["runs"][0]
        self.assertEqual(validate(log), [])
        self.assertEqual(run["results"], [])
        self.assertGreaterEqual(run["properties"]["findings_unplaced"], 2)

    def test_refused_before_running(self):
        mark = os.path.join(self.tmp.name, "ran")
        cases = [
            (["run", "--format", "sarif", "--source-root", os.path.join(self.tmp.name, "no")],
             "--source-root"),
            (["run", "--source-root", "."], "--format sarif"),
            (["run", "--format", "sarif", "--rotate-size", "1", "--output", "x"],
             "--rotate-size"),
        ]
        for argv, said in cases:
            p = subprocess.run([TMPGUARD] + argv + ["--", "touch", mark], cwd=self.repo,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                               timeout=60)
            self.assertEqual(p.returncode, 2, (argv, p.stderr))
            self.assertIn(said, p.stderr.decode())
            self.assertFalse(os.path.exists(mark), argv)
        p = subprocess.run([TMPGUARD, "audit", "--format", "sarif", "--duration", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("tmpguard report --format sarif", p.stderr.decode())


def main():
    import tmpguard_test as test_live

    # Placed reads hand-made records: it needs the binary, not root or BPF.
    if sys.argv[1:] != ["Placed"] or not os.access(TMPGUARD, os.X_OK):
        rc = test_live.preflight("test_sarif_callsite")
        if rc is not None:
            return rc
    if test_report.jsonschema is None:
        why = "%s has no jsonschema module (apt install python3-jsonschema)" % sys.executable
        if CI:
            print("test_sarif_callsite: cannot run in CI: %s" % why, file=sys.stderr)
            return 1
        return test_live.skip_all("test_sarif_callsite", why)
    return test_live.run_tests(__name__, "test_sarif_callsite")


if __name__ == "__main__":
    sys.exit(main())
