#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The README's first command, on a brand-new Debian 12: it must install, build and audit.

    python3 tests/fresh/test_readme.py [SOURCE_DIR]

A machine that has run the test setup hides what a new user's machine lacks (gcc-multilib once
made <asm/types.h> visible to the BPF build, so only new machines failed). So this test makes a
Debian 12 (bookworm) root with mmdebstrap (minbase, as bare as a fresh install gets, with the
sources a Debian 12 install writes: bookworm, bookworm-updates, bookworm-security), copies the
source tree into it (what `git ls-files` lists, tracked or not yet, but not ignored), and runs
the first ```sh block of README.md there, as root, in a chroot that shares the host's kernel,
/proc, /sys and /dev. When tmpguard says it is auditing, a shell in the root writes
`> /tmp/tg-fresh.$$`; the finding must be printed, and Ctrl-C (SIGINT) must end the command
with tmpguard's summary and exit status 0.

The base root is cached (TG_FRESH_CACHE, default /var/cache/tmpguard/bookworm-minbase.tar) and
rebuilt when it is older than a week; apt-get in the command fetches current packages.
Exit 77 (skipped) without root or without mmdebstrap; under CI=true a missing mmdebstrap fails
(.ci/setup --tests installs it).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CACHE = os.environ.get("TG_FRESH_CACHE", "/var/cache/tmpguard/bookworm-minbase.tar")
CACHE_DAYS = 7
MIRROR = "http://deb.debian.org/debian"
SOURCES = ("deb http://deb.debian.org/debian bookworm main\n"
           "deb http://deb.debian.org/debian bookworm-updates main\n"
           "deb http://deb.debian.org/debian-security bookworm-security main\n")
SETUP_TIMEOUT = int(os.environ.get("TG_FRESH_TIMEOUT", "1500"))  # apt and the build
CHROOT_ENV = ["/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "HOME=/root", "TERM=dumb", "LANG=C.UTF-8"]
CI = os.environ.get("CI") == "true"


def say(msg):
    print("test_readme: " + msg, file=sys.stderr, flush=True)


def readme_first_command(src):
    """The first ```sh block of README.md, as one shell command."""
    with open(os.path.join(src, "README.md")) as fh:
        lines = fh.read().split("\n")
    start = lines.index("```sh")
    end = lines.index("```", start + 1)
    block = [line for line in lines[start + 1:end] if line.strip()]
    if not block:
        raise SystemExit("README.md: the first ```sh block is empty")
    return "\n".join(block)


def base_root():
    """The cached minbase tarball, made (or remade after a week) with mmdebstrap."""
    if os.path.exists(CACHE) and time.time() - os.path.getmtime(CACHE) < CACHE_DAYS * 86400:
        return CACHE
    os.makedirs(os.path.dirname(CACHE), mode=0o755, exist_ok=True)
    part = CACHE + ".part.tar"  # mmdebstrap picks the format from the name: keep .tar last
    say("making a Debian 12 minbase root with mmdebstrap (cached in %s)" % CACHE)
    subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--format=tar",
                    "--include=ca-certificates", "bookworm", part, MIRROR], check=True,
                   stdin=subprocess.DEVNULL, timeout=900)
    os.replace(part, CACHE)
    return CACHE


def copy_tree(src, dst):
    """What a commit of SRC would hold: tracked files and untracked ones not ignored."""
    if os.path.isdir(os.path.join(src, ".git")) and shutil.which("git"):
        names = subprocess.run(["git", "-C", src, "ls-files", "-z", "--cached", "--others",
                                "--exclude-standard"], check=True, capture_output=True).stdout
        files = [n for n in names.decode().split("\0") if n]
    else:
        files = [os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src)
                 for f in fs if not os.path.relpath(d, src).startswith(("build", ".git"))]
    for rel in files:
        s = os.path.join(src, rel)
        if not os.path.lexists(s):  # deleted in the work tree, not yet committed
            continue
        d = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(s, d, follow_symlinks=False)


class FreshRoot:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="tmpguard-fresh.", dir="/var/tmp")
        self.mounts = []

    def mount(self, *args):
        subprocess.run(["mount"] + list(args), check=True)
        self.mounts.append(args[-1])

    def __enter__(self):
        r = self.root
        self.mount("--bind", r, r)  # a mount point, as / is (`unshare -m` needs that)
        subprocess.run(["tar", "-C", r, "-xf", base_root()], check=True)
        with open(os.path.join(r, "etc/apt/sources.list"), "w") as fh:
            fh.write(SOURCES)
        shutil.copy("/etc/resolv.conf", os.path.join(r, "etc/resolv.conf"))
        self.mount("-t", "proc", "proc", os.path.join(r, "proc"))
        self.mount("--rbind", "/sys", os.path.join(r, "sys"))
        self.mount("--make-rslave", os.path.join(r, "sys"))
        self.mount("--rbind", "/dev", os.path.join(r, "dev"))
        self.mount("--make-rslave", os.path.join(r, "dev"))
        return self

    def __exit__(self, *exc):
        # Everything below the root, deepest first (tmpguard mounts tracefs under its /sys),
        # then the root; only then is anything removed, and never across a file system.
        subprocess.run(["umount", "-R", "-l", self.root], stderr=subprocess.DEVNULL)
        with open("/proc/self/mounts") as fh:
            left = [line.split()[1] for line in fh if line.split()[1].startswith(self.root)]
        if left:
            say("not removing %s: still mounted: %s" % (self.root, left))
            return
        subprocess.run(["rm", "-rf", "--one-file-system", self.root])

    def popen(self, cmd, **kw):
        return subprocess.Popen(["chroot", self.root] + CHROOT_ENV + ["bash", "-c", cmd], **kw)

    def run(self, cmd, **kw):
        return subprocess.run(["chroot", self.root] + CHROOT_ENV + ["bash", "-c", cmd], **kw)


def wait_for(path, needle, proc, timeout):
    """Until the file at PATH holds NEEDLE; False if PROC ends or TIMEOUT passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as fh:
            if needle in fh.read():
                return True
        if proc.poll() is not None:
            return False
        time.sleep(1)
    return False


def tail(path, n=60):
    with open(path, "rb") as fh:
        return b"\n".join(fh.read().split(b"\n")[-n:]).decode("utf-8", "replace")


def main():
    src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), "..", ".."))
    if os.geteuid() != 0:
        say("skipped: needs root (mmdebstrap, chroot, and tmpguard loads BPF)")
        return 77
    if not shutil.which("mmdebstrap"):
        if CI:
            say("mmdebstrap is not installed; CI=true: .ci/setup --tests installs it")
            return 1
        say("skipped: mmdebstrap is not installed (apt-get install mmdebstrap)")
        return 77
    cmd = readme_first_command(src)
    say("the README's first command: %s" % cmd)
    t0 = time.monotonic()
    with FreshRoot() as fr:
        copy_tree(src, os.path.join(fr.root, "src"))
        log = os.path.join(fr.root, "root", "readme-command.log")
        with open(log, "wb") as out:
            p = fr.popen("cd /src && " + cmd, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if not wait_for(log, b"tmpguard: auditing", p, SETUP_TIMEOUT):
                say("the command did not reach 'tmpguard: auditing' (rc %s, %.0f s); its "
                    "output ends:\n%s" % (p.poll(), time.monotonic() - t0, tail(log)))
                return 1
            say("auditing after %.0f s" % (time.monotonic() - t0))
            # An insecure create by a shell in the new root: a predictable name in /tmp.
            w = fr.run("echo x > /tmp/tg-fresh.$$ && echo $$", capture_output=True, timeout=60)
            if w.returncode != 0:
                say("the shell in the root failed: %r" % w.stderr)
                return 1
            path = b"/tmp/tg-fresh.%d" % int(w.stdout)
            seen = wait_for(log, path, p, 30)
            os.killpg(p.pid, signal.SIGINT)  # Ctrl-C at the terminal
            rc = p.wait(timeout=120)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        with open(log, "rb") as fh:
            out = fh.read()
        # Text findings are blocks separated by blank lines; one names the path and the rule.
        block = [b for b in out.split(b"\n\n") if path in b and b"nonexclusive-create" in b]
        problems = []
        if not seen:
            problems.append("no finding names %s" % path.decode())
        elif not block:
            problems.append("no nonexclusive-create finding names %s" % path.decode())
        if rc != 0:
            problems.append("the command exited %d after SIGINT, not 0" % rc)
        if b"tmpguard: summary:" not in out:
            problems.append("no summary after SIGINT")
        if problems:
            say("FAILED: %s; output ends:\n%s" % ("; ".join(problems), tail(log, 80)))
            return 1
        say("passed in %.0f s; the finding:\n%s" % (time.monotonic() - t0,
                                                   block[0].decode("utf-8", "replace")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
