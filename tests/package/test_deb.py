#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The Debian package, built and used as an admin would (docs/install.md):

    python3 tests/package/test_deb.py SOURCE_DIR BUILD_DIR

1. In a brand-new Debian 12 root (mmdebstrap minbase, cached; tests/fresh/test_readme.py makes
   it), the build dependencies come from debian/control (`apt-get build-dep ./`), then
   `dpkg-buildpackage -b -us -uc`, then lintian on the .deb: no error and no warning.
2. The package's file list is the install set of `cmake --install BUILD_DIR --prefix DIR` (this
   build tree's, which also builds the tests and benchmarks, none of them installed), modulo
   the prefix and what only Debian adds (copyright, changelog, compressed man pages).
3. In another brand-new root, `apt-get install ./tmpguard_*.deb` (so that apt resolves its
   dependencies): the binary, the unit (not enabled), the conffile (0600), the policies, the
   man pages and the completion are there; `tmpguard --version` names the project's version,
   `tmpguard doctor` passes, and `tmpguard run -- sh -c 'echo x > /tmp/NAME'` reports that
   insecure create.
4. `apt-get purge tmpguard` leaves nothing: no package files, no /etc/tmpguard, and no
   /var/lib/tmpguard or /var/log/tmpguard (made beforehand as the service would).

TG_DEB_KEEP=DIR keeps a copy of the .deb in DIR. Exit 77 (skipped) without root or mmdebstrap; under CI=true a missing mmdebstrap fails
(.ci/setup --tests installs it). Needs network access to deb.debian.org.
"""

import io
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fresh"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import test_readme as fresh  # noqa: E402  (FreshRoot, copy_tree, the cached base root)
from tmpguard_test import skip_all  # noqa: E402

PROG = "test_deb"
CI = os.environ.get("CI") == "true"
APT = "DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o Dpkg::Use-Pty=0 "

# What the package must hold (besides /usr/share/doc/tmpguard/copyright and changelog).
REQUIRED = [
    "/usr/sbin/tmpguard",
    "/lib/systemd/system/tmpguard.service",
    "/etc/tmpguard/tmpguard.yaml",
    "/usr/share/tmpguard/policies/default.yaml",
    "/usr/share/tmpguard/policies/strict.yaml",
    "/usr/share/tmpguard/policies/ci.yaml",
    "/usr/share/man/man8/tmpguard.8.gz",
    "/usr/share/man/man5/tmpguard-policy.5.gz",
    "/usr/share/man/man5/tmpguard.yaml.5.gz",
    "/usr/share/bash-completion/completions/tmpguard",
    "/usr/share/doc/tmpguard/examples/tmpguard-alerts.yml",
    "/usr/share/doc/tmpguard/service.md",  # the unit's Documentation=, uncompressed
]
# Debian's own additions, not part of the upstream install set.
DEBIAN_ONLY = re.compile(r"^share/doc/tmpguard/(copyright|changelog(\.Debian)?(\.gz)?)$"
                         r"|^share/lintian/")


def say(msg):
    print("%s: %s" % (PROG, msg), file=sys.stderr, flush=True)


class Step:
    """A timed step; its duration goes into the summary."""
    times = []

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        say(self.name + " ...")
        self.t0 = time.monotonic()

    def __exit__(self, *exc):
        Step.times.append((self.name, time.monotonic() - self.t0))


def run_in(fr, cmd, timeout):
    """CMD in the root, its output on our stderr; the CompletedProcess, output captured."""
    p = fr.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
               timeout=timeout)
    p.text = p.stdout.decode("utf-8", "replace")
    return p


def must(fr, cmd, timeout, what):
    p = run_in(fr, cmd, timeout)
    if p.returncode != 0:
        tail = "\n".join(p.text.splitlines()[-60:])
        raise Failure("%s failed (exit %d): %s\n%s" % (what, p.returncode, cmd, tail))
    return p


class Failure(Exception):
    pass


def project_version(src):
    with open(os.path.join(src, "CMakeLists.txt")) as fh:
        m = re.search(r"project\(tmpguard VERSION ([0-9.]+)", fh.read())
    return m.group(1)


def deb_members(deb):
    """{path: mode} of the files and links in the package (directories left out)."""
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True,
                         stdout=subprocess.PIPE).stdout
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        for m in tf.getmembers():
            if not m.isdir():
                out[m.name.lstrip(".")] = m.mode
    return out


def deb_relative(path):
    """A package path as `cmake --install --prefix` would place it: /usr/X -> X, /etc -> etc,
    /lib/systemd -> lib/systemd; man pages without dh_compress's .gz."""
    rel = path[len("/usr/"):] if path.startswith("/usr/") else path.lstrip("/")
    if rel.startswith("share/man/") and rel.endswith(".gz"):
        rel = rel[:-3]
    return rel


def check_install_set(build, deb_files):
    """`cmake --install BUILD --prefix DIR` holds what the package holds."""
    if not os.access(os.path.join(build, "tmpguard"), os.X_OK):
        raise Failure("%s/tmpguard is not built: build it before this test" % build)
    with tempfile.TemporaryDirectory(prefix="tmpguard-install.") as d:
        subprocess.run(["cmake", "--install", build, "--prefix", d], check=True,
                       stdout=subprocess.DEVNULL)
        mine = {os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs}
        mode = os.stat(os.path.join(d, "etc/tmpguard/tmpguard.yaml")).st_mode & 0o777
        unit = open(os.path.join(d, "lib/systemd/system/tmpguard.service")).read()
    theirs = {deb_relative(p) for p in deb_files} - {""}
    theirs = {p for p in theirs if not DEBIAN_ONLY.match(p)}
    problems = []
    if mine != theirs:
        problems.append("cmake --install and the package differ: only cmake: %s; only the "
                        "package: %s" % (sorted(mine - theirs), sorted(theirs - mine)))
    if mode != 0o600:
        problems.append("cmake --install: etc/tmpguard/tmpguard.yaml is %o, not 600" % mode)
    if "/usr/sbin/tmpguard" in unit.replace("/usr/local/sbin/tmpguard", ""):
        problems.append("the installed unit still names /usr/sbin/tmpguard under a "
                        "/usr/local prefix")
    if problems:
        raise Failure("; ".join(problems))
    say("cmake --install installs the package's %d files" % len(mine))


def build_package(src, out):
    """dpkg-buildpackage and lintian in a fresh root; the .deb copied into OUT."""
    with fresh.FreshRoot() as fr:
        fresh.copy_tree(src, os.path.join(fr.root, "src"))
        with Step("build root: apt-get build-dep, lintian"):
            must(fr, APT + "update && " + APT + "install --no-install-recommends build-essential "
                 "lintian && cd /src && " + APT + "build-dep ./", 1200, "installing the build "
                 "dependencies")
        with Step("dpkg-buildpackage -b -us -uc"):
            must(fr, "cd /src && dpkg-buildpackage -b -us -uc", 1500, "dpkg-buildpackage")
        debs = [f for f in os.listdir(fr.root) if re.match(r"tmpguard_.*_amd64\.deb$", f)]
        if len(debs) != 1:
            raise Failure("dpkg-buildpackage made %r, not one tmpguard_*.deb" % debs)
        with Step("lintian"):
            p = run_in(fr, "lintian --fail-on error,warning --display-info /" + debs[0], 600)
            say("lintian:\n" + (p.text.strip() or "(nothing to say)"))
            if p.returncode != 0:
                raise Failure("lintian found errors or warnings (exit %d)" % p.returncode)
        ver = must(fr, "cd /src && dpkg-parsechangelog -S Version", 60, "dpkg-parsechangelog")
        shutil.copy(os.path.join(fr.root, debs[0]), out)
        return os.path.join(out, debs[0]), ver.text.strip()


def install_and_purge(deb, version):
    name = "/tmp/tg-deb-" + secrets.token_hex(4)
    with fresh.FreshRoot() as fr:
        shutil.copy(deb, os.path.join(fr.root, "root"))
        with Step("apt-get install ./tmpguard.deb"):
            must(fr, APT + "update && " + APT + "install /root/" + os.path.basename(deb), 900,
                 "apt-get install")
        listed = set(must(fr, "dpkg -L tmpguard", 60, "dpkg -L").text.split())
        missing = [p for p in REQUIRED if p not in listed]
        if missing:
            raise Failure("not installed: %s" % ", ".join(missing))
        conf = must(fr, "dpkg-query -W -f='${Conffiles}' tmpguard", 60, "dpkg-query").text
        if "/etc/tmpguard/tmpguard.yaml" not in conf:
            raise Failure("/etc/tmpguard/tmpguard.yaml is not a conffile: %r" % conf)
        mode = os.stat(os.path.join(fr.root, "etc/tmpguard/tmpguard.yaml")).st_mode & 0o777
        if mode != 0o600:
            raise Failure("/etc/tmpguard/tmpguard.yaml is %o, not 600" % mode)
        unit = open(os.path.join(fr.root, "lib/systemd/system/tmpguard.service")).read()
        if "ExecStart=/usr/sbin/tmpguard " not in unit:
            raise Failure("the unit does not start /usr/sbin/tmpguard")
        wants = os.path.join(fr.root, "etc/systemd/system/multi-user.target.wants/tmpguard.service")
        if os.path.lexists(wants):
            raise Failure("the package enabled the unit (%s): the admin enables it" % wants)
        v = must(fr, "tmpguard --version", 60, "tmpguard --version").text
        if version not in v:
            raise Failure("tmpguard --version says %r, the package is %s" % (v, version))
        with Step("tmpguard doctor, tmpguard run"):
            d = must(fr, "tmpguard doctor", 120, "tmpguard doctor")
            say("tmpguard doctor:\n" + d.text.strip())
            r = run_in(fr, "tmpguard run -- sh -c 'echo x > %s'; rm -f %s" % (name, name), 300)
        blocks = [b for b in r.text.split("\n\n") if name in b and "nonexclusive-create" in b]
        if r.returncode != 0 or not blocks:
            raise Failure("tmpguard run (exit %d) did not report the create of %s:\n%s"
                          % (r.returncode, name, r.text))
        say("tmpguard run reported:\n" + blocks[0].strip())
        # What the service would have made (StateDirectory=, LogsDirectory=), with content.
        must(fr, "mkdir -p /var/lib/tmpguard /var/log/tmpguard && touch /var/lib/tmpguard/events.db"
             " /var/log/tmpguard/findings.json /etc/tmpguard/policy.yaml", 60, "mkdir")
        with Step("apt-get purge tmpguard"):
            must(fr, APT + "purge tmpguard", 300, "apt-get purge")
        if run_in(fr, "dpkg -L tmpguard", 60).returncode == 0:
            raise Failure("dpkg -L tmpguard still lists files after the purge")
        left = [p for p in sorted(listed | {"/etc/tmpguard", "/var/lib/tmpguard",
                                            "/var/log/tmpguard"})
                if p.startswith(("/etc/tmpguard", "/var/", "/usr/sbin/tmpguard",
                                 "/usr/share/tmpguard", "/usr/share/doc/tmpguard"))
                or "tmpguard" in os.path.basename(p)]
        left = [p for p in left if os.path.lexists(os.path.join(fr.root, p.lstrip("/")))]
        if left:
            raise Failure("left after apt-get purge: %s" % ", ".join(left))


def main():
    if len(sys.argv) != 3:
        print("usage: test_deb.py SOURCE_DIR BUILD_DIR", file=sys.stderr)
        return 2
    src, build = (os.path.abspath(a) for a in sys.argv[1:])
    if os.geteuid() != 0:
        return skip_all(PROG, "needs root (mmdebstrap, chroot; tmpguard loads BPF)")
    if not shutil.which("mmdebstrap"):
        if CI:
            say("mmdebstrap is not installed; CI=true: .ci/setup --tests installs it")
            return 1
        return skip_all(PROG, "mmdebstrap is not installed (apt-get install mmdebstrap)")
    t0 = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="tmpguard-deb.") as out:
            deb, version = build_package(src, out)
            if version != project_version(src):
                raise Failure("debian/changelog's version %s is not the project's %s "
                              "(CMakeLists.txt)" % (version, project_version(src)))
            if os.environ.get("TG_DEB_KEEP"):  # a directory to keep the .deb in
                shutil.copy(deb, os.environ["TG_DEB_KEEP"])
            files = deb_members(deb)
            check_install_set(build, files)
            install_and_purge(deb, version)
    except (Failure, subprocess.TimeoutExpired, subprocess.CalledProcessError) as e:
        say("FAILED: %s" % e)
        return 1
    finally:
        say("durations: " + ", ".join("%s %.0f s" % t for t in Step.times))
    say("passed in %.0f s" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
