#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""tmpguard's container image, built and run with podman, sees a host process's insecure create.

    TMPGUARD=build/tmpguard PYTHONPATH=tests/lib python3 tests/container/test_container.py

It builds the image with packaging/container/build.sh (a Debian 12 root made by mmdebstrap,
cached in TG_CONTAINER_CACHE, default /var/cache/tmpguard-test, and reused for a week), runs it
as docs/container.md says (--privileged --pid=host --network=host --uts=host --read-only, the host's
/etc/machine-id, a state directory at /var/lib/tmpguard) with the image's own entrypoint and
configuration, waits until tmpguard says it is auditing, has a shell on the HOST (not in the
container) write `> /tmp/tg-ctr-$$` and another `mkdir -m 0777 /tmp/tg-ctr-$$`, and requires in
`podman logs` a JSON finding for each (nonexclusive-create, loose-tempdir) with the host
process's pid and executable (the shell, mkdir) and no container id. It scrapes the metrics endpoint
the DaemonSet's probes use, then `podman stop` must end tmpguard with status 0, its summary,
and the event store written on the host.

podman runs with storage and configuration of the test's own (CONTAINERS_CONF,
CONTAINERS_STORAGE_CONF in a temporary directory: overlay, else vfs; cgroupfs; a file events
log): the host's /etc/containers and /var/lib/containers are left alone. The OCI runtime is
crun, or runc where crun cannot run here (crun refuses hybrid cgroup v1/v2 hosts).

Exit 77 (skipped) without root, podman, mmdebstrap, or a kernel tmpguard runs on; under
CI=true a missing podman, runc or mmdebstrap fails instead (.ci/setup --tests installs them).
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from tmpguard_test import CI, TMPGUARD, skip_all

PROG = "test_container"
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(SRC, "packaging", "container", "build.sh")
CACHE = os.environ.get("TG_CONTAINER_CACHE", "/var/cache/tmpguard-test")
METRICS = "http://127.0.0.1:9464/metrics"  # packaging/container/tmpguard.yaml
ATTACH_TIMEOUT = 180


def say(msg):
    print("%s: %s" % (PROG, msg), file=sys.stderr, flush=True)


class Podman:
    """podman with a configuration and storage of its own, under a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tmpguard-podman.", dir="/var/tmp")
        self.env = dict(os.environ, CONTAINERS_CONF=os.path.join(self.dir, "containers.conf"),
                        CONTAINERS_STORAGE_CONF=os.path.join(self.dir, "storage.conf"))
        with open(self.env["CONTAINERS_CONF"], "w") as fh:
            fh.write('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                     'events_logfile_path = "%s/events.log"\n' % self.dir)
        self.runtime = None

    def storage(self, driver):
        with open(self.env["CONTAINERS_STORAGE_CONF"], "w") as fh:
            fh.write('[storage]\ndriver = "%s"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n'
                     % (driver, self.dir, self.dir))
        return self.run(["info", "--format", "{{.Store.GraphDriverName}}"]).returncode == 0

    def run(self, args, timeout=600, **kw):
        kw.setdefault("capture_output", True)
        return subprocess.run(["podman"] + args, env=self.env, stdin=subprocess.DEVNULL,
                              timeout=timeout, **kw)

    def logs(self, name):
        p = self.run(["logs", name], timeout=60)
        return p.stdout, p.stderr

    def cleanup(self):
        self.run(["rm", "-a", "-f"], timeout=120)
        self.run(["rmi", "-a", "-f"], timeout=120)
        subprocess.run(["umount", "-R", "-l", os.path.join(self.dir, "storage")],
                       stderr=subprocess.DEVNULL)
        with open("/proc/self/mounts") as fh:
            left = [line.split()[1] for line in fh if line.split()[1].startswith(self.dir)]
        if left:
            say("not removing %s: still mounted: %s" % (self.dir, left))
            return
        subprocess.run(["rm", "-rf", "--one-file-system", self.dir])


def limits():
    """--ulimit options at this process's own limits: podman's defaults (1048576 open files)
    are above what some hosts allow, and runc then fails to start the container."""
    opts = []
    for name, res in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        soft, hard = resource.getrlimit(res)
        cap = 4096 if name == "nproc" else 1048576
        val = cap if hard == resource.RLIM_INFINITY else min(hard, cap)
        opts += ["--ulimit", "%s=%d:%d" % (name, val, val)]
    return opts


def pick_runtime(pm, image):
    """crun (podman's default), else runc: the first that runs the image here."""
    errors = []
    for rt in ("crun", "runc"):
        if not shutil.which(rt):
            errors.append("%s is not installed" % rt)
            continue
        p = pm.run(["run", "--rm", "--runtime", rt] + limits() +
                   ["--privileged", "--pid=host", "--network=host", image, "version"], timeout=120)
        if p.returncode == 0 and p.stdout.startswith(b"tmpguard "):
            return rt, None
        errors.append("%s: %s" % (rt, (p.stderr or p.stdout).decode("utf-8", "replace").strip()))
    return None, "; ".join(errors)


def findings(out):
    recs = []
    for line in out.split(b"\n"):
        if line.startswith(b"{"):
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    return [r for r in recs if r.get("type") == "finding"]


def check(pm, image, state):
    """Runs the image, creates on the host, stops it. A list of problems (empty: passed)."""
    name = "tmpguard-test-%d" % os.getpid()
    args = ["run", "-d", "--name", name, "--runtime", pm.runtime] + limits() + [
        "--privileged", "--pid=host", "--network=host", "--uts=host",
        "--read-only",  # as the DaemonSet's readOnlyRootFilesystem (podman adds a /tmp tmpfs)
        "-v", "%s:/var/lib/tmpguard" % state]
    if os.path.exists("/etc/machine-id"):
        args += ["-v", "/etc/machine-id:/etc/machine-id:ro"]
    p = pm.run(args + [image], timeout=120)
    if p.returncode != 0:
        return ["podman run failed: %s" % p.stderr.decode("utf-8", "replace")]
    t0 = time.monotonic()
    while True:
        out, err = pm.logs(name)
        if b"tmpguard: auditing" in err:
            break
        st = pm.run(["inspect", "--format", "{{.State.Status}}", name]).stdout.strip()
        if st != b"running" or time.monotonic() - t0 > ATTACH_TIMEOUT:
            return ["tmpguard did not attach in the container (%s after %.0f s); its stderr:\n%s"
                    % (st.decode(), time.monotonic() - t0, err.decode("utf-8", "replace"))]
        time.sleep(1)
    say("attached in the container after %.1f s" % (time.monotonic() - t0))

    problems = []
    shell = os.path.realpath("/bin/sh")
    # Shells of the host's, outside the container: a predictable name in the shared /tmp, and a
    # world-writable directory there. Both exit at once: the directory is then judged through
    # the host's root (/proc/1/root), not the shell's.
    mkdir = os.path.realpath(shutil.which("mkdir"))
    for what, cmd, rule, exe in (
            ("file", "echo x > /tmp/tg-ctr-$$", "nonexclusive-create", shell),
            ("directory", "exec mkdir -m 0777 /tmp/tg-ctr-$$", "loose-tempdir", mkdir)):
        w = subprocess.run(["/bin/sh", "-c", "echo $$; " + cmd], capture_output=True,
                           timeout=60)
        pid = int(w.stdout)
        path = "/tmp/tg-ctr-%d" % pid
        subprocess.run(["rm", "-rf", path])
        found = None
        deadline = time.monotonic() + 30
        while found is None and time.monotonic() < deadline:
            out, err = pm.logs(name)
            found = next((f for f in findings(out) if f.get("path") == path and
                          f.get("rule") == rule), None)
            if found is None:
                time.sleep(1)
        if found is None:
            problems.append("no %s finding for the %s %s in podman logs" % (rule, what, path))
            continue
        proc = found.get("proc") or {}
        if proc.get("pid") != pid or proc.get("exe") != exe:
            problems.append("the %s finding's process is pid %r exe %r, not the host's %d %s"
                            % (rule, proc.get("pid"), proc.get("exe"), pid, exe))
        if proc.get("container_id") is not None:
            problems.append("the host shell is given a container id: %r"
                            % proc.get("container_id"))
        say("the %s finding: %s" % (rule, json.dumps(found)[:300]))

    # What the DaemonSet's probes ask for.
    try:
        with urllib.request.urlopen(METRICS, timeout=10) as r:
            body = r.read()
        if r.status != 200 or b"tmpguard_findings" not in body:
            problems.append("%s answered %d without tmpguard_findings" % (METRICS, r.status))
    except OSError as e:
        problems.append("%s: %s" % (METRICS, e))

    t1 = time.monotonic()
    p = pm.run(["stop", "-t", "60", name], timeout=120)
    rc = pm.run(["inspect", "--format", "{{.State.ExitCode}}", name]).stdout.strip()
    say("stopped in %.1f s, exit status %s" % (time.monotonic() - t1, rc.decode()))
    out, err = pm.logs(name)
    if p.returncode != 0 or rc != b"0":
        problems.append("podman stop: tmpguard exited %s, not 0 (%s)"
                        % (rc.decode(), p.stderr.decode("utf-8", "replace").strip()))
    if b"tmpguard: summary:" not in err:
        problems.append("no summary on stderr after podman stop")
    if not os.path.exists(os.path.join(state, "events.db")):
        problems.append("no event store in the host's state directory %s" % state)
    if problems:
        say("tmpguard's stderr in the container:\n%s" % err.decode("utf-8", "replace")[-4000:])
    return problems


def main():
    if os.geteuid() != 0:
        return skip_all(PROG, "needs root (rootful podman, and tmpguard loads BPF)")
    if not TMPGUARD or not os.access(TMPGUARD, os.X_OK):
        return skip_all(PROG, "TMPGUARD=%r is not an executable (set it to the built tmpguard)"
                        % TMPGUARD)
    missing = [t for t in ("podman", "mmdebstrap") if not shutil.which(t)]
    if missing:
        if CI:
            say("%s not installed; CI=true: .ci/setup --tests installs them" % ", ".join(missing))
            return 1
        return skip_all(PROG, "%s not installed (apt-get install podman runc mmdebstrap)"
                        % ", ".join(missing))
    doctor = subprocess.run([TMPGUARD, "doctor"], capture_output=True, timeout=120)
    if doctor.returncode != 0:
        return skip_all(PROG, "this kernel cannot run BPF auditing (tmpguard doctor exit %d)"
                        % doctor.returncode)

    pm = Podman()
    try:
        if not pm.storage("overlay") and not pm.storage("vfs"):
            say("podman cannot use overlay or vfs storage under %s" % pm.dir)
            return 1
        image = "localhost/tmpguard-test:%d" % os.getpid()
        t0 = time.monotonic()
        b = subprocess.run([BUILD, "--root-cache", CACHE, TMPGUARD, image], env=pm.env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=1500)
        if b.returncode != 0:
            say("build.sh failed (exit %d):\n%s" % (b.returncode,
                                                   b.stderr.decode("utf-8", "replace")[-4000:]))
            return 1
        say("image built in %.0f s: %s" % (time.monotonic() - t0,
                                          b.stdout.decode().strip().splitlines()[-1]))
        pm.runtime, why = pick_runtime(pm, image)
        if not pm.runtime:
            if CI:
                say("no OCI runtime runs the image here: %s" % why)
                return 1
            return skip_all(PROG, "no OCI runtime runs the image here: %s" % why)
        say("OCI runtime: %s" % pm.runtime)
        state = os.path.join(pm.dir, "state")
        os.mkdir(state, 0o700)
        problems = check(pm, image, state)
        if problems:
            say("FAILED: " + "; ".join(problems))
            return 1
        say("passed in %.0f s" % (time.monotonic() - t0))
        return 0
    finally:
        pm.cleanup()


if __name__ == "__main__":
    sys.exit(main())
