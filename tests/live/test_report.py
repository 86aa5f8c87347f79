#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of `tmpguard report`: real findings in, every format out, checked.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard \
        /usr/bin/python3 tests/live/test_report.py [Class[.test] ...]

Needs root (the findings come from real programs run under `tmpguard run`). Exits 77 (skipped)
when not root, when TMPGUARD is missing or when this kernel cannot run BPF auditing; also when
chromium or python3-jsonschema is missing, except under CI=true, where that is a failure
(.ci/setup --tests installs both).

Once per process, real programs run under `tmpguard run --format json --output F`: a shell
redirect to /tmp/name.$$, Python's tempfile.mktemp() then open(), Python creating a file whose
name holds a newline, ESC, quotes, '<script>', '|' and an invalid UTF-8 byte, and a copy of dash
whose own name does (and starts with '=', a spreadsheet formula). Each program's findings are
checked against what it did; then every number a report prints is checked against the records
in F (each finding record counts once), never against a constant.

Stores are built the way the writer will build them: TG_STORE_SCHEMA, read out of
user/fleet/store_schema.h, executed by Python's sqlite3, rows holding the real records.
"""

import calendar
import copy
import csv
import functools
import glob
import hashlib
import html
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import zlib

TMPGUARD = os.environ.get("TMPGUARD", "")
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SARIF_SCHEMA = os.path.join(SRC, "tests", "data", "sarif-schema-2.1.0.json")
STORE_SCHEMA_H = os.path.join(SRC, "user", "fleet", "store_schema.h")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": "/root"}
CI = os.environ.get("CI") == "true"
SEVERITIES = ("critical", "high", "medium", "low")
RUN_TIMEOUT = 60
CHROMIUM_TIMEOUT = 120

try:
    import jsonschema
except ImportError:  # checked in main()
    jsonschema = None

TOKEN = "%d-%s" % (os.getpid(), os.urandom(4).hex())
HOSTILE = b"\n\x1b[31m\"'<script>|&\xff=x"  # in a file name
HOSTILE_EXE = b"=1+2|<b>\x1b[7m\xfe\n"  # a program's own name (comm is its first 15 bytes)
HOST_B = "db-02|<i>x</i>"  # a second host, rewritten into a copy (hostile too)
HOST_C = "edge-03"  # a third, in a store


# ---- helpers ---------------------------------------------------------------------------------

def rfc3339_ns(s):
    """'2026-11-28T09:13:57.964850470Z' -> ns since the epoch (UTC, Z only: as tmpguard writes)."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$", s)
    assert m, "not an RFC 3339 UTC time: %r" % s
    secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((m.group(2) or "0").ljust(9, "0"))


def sec_rfc3339(ns):
    """As the report's Markdown and HTML print a time: to the second (floor)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 10**9))


def ns_rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


def lossless_bytes(s):
    """tmpguard's lossless form ("\\xNN", "\\\\") back to bytes."""
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] == "\\" and s[i + 1] == "\\":
            out += b"\\"
            i += 2
        elif s[i] == "\\" and s[i + 1] == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


def field_bytes(record, obj, key):
    """A string field of a finding as bytes: decoded when listed in escaped_fields."""
    v = obj[key]
    return lossless_bytes(v) if key in record.get("escaped_fields", []) else v.encode()


def read_records(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_records(path, records):
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def findings_of(records):
    return [r for r in records if r.get("type") == "finding"]


def count_by(items, key):
    out = {}
    for i in items:
        out[key(i)] = out.get(key(i), 0) + 1
    return out


def store_schema():
    """TG_STORE_SCHEMA's SQL, from the header the C code compiles (never a copy)."""
    with open(STORE_SCHEMA_H) as f:
        text = f.read()
    version = int(re.search(r"#define TG_STORE_SCHEMA_VERSION (\d+)", text).group(1))
    body = re.search(r"#define TG_STORE_SCHEMA\s+(.*?)\n\s*\n", text, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    sql = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
    return sql.encode().decode("unicode_escape"), version


SEV_LEVEL = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def make_store(path, sessions, schema_version=None):
    """A store as audit --db will write it. sessions: [{record, summary (or None), clean,
    findings, losses, last_commit_ns}] with real records."""
    sql, version = store_schema()
    db = sqlite3.connect(path)
    db.executescript(sql)
    db.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)",
               (str(version if schema_version is None else schema_version),))
    for s in sessions:
        rec, summ = s["record"], s.get("summary")
        started = rfc3339_ns(rec["time"])
        ended = rfc3339_ns(summ["time"]) if summ and "time" in summ else None
        cur = db.execute(
            "INSERT INTO sessions(host, started_ns, ended_ns, last_commit_ns, clean, json, "
            "summary) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rec["host"], started, ended, s.get("last_commit_ns"), 1 if s["clean"] else 0,
             json.dumps(rec), json.dumps(summ) if summ else None))
        sid = cur.lastrowid
        for f in s["findings"]:
            p = f["proc"]
            db.execute(
                "INSERT INTO findings(session, time_ns, host, rule, severity, severity_level, "
                "action, pid, ppid, uid, exe, comm, path, container_id, json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, rfc3339_ns(f["time"]), f["host"], f["rule"], f["severity"],
                 SEV_LEVEL[f["severity"]], f["action"], p["pid"], p["ppid"], p["uid"],
                 p["exe"], p["comm"], f["path"], p.get("container_id"), json.dumps(f)))
        for l in s.get("losses", []):
            db.execute("INSERT INTO losses(session, from_ns, to_ns, lost, json) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (sid, rfc3339_ns(l["from"]), rfc3339_ns(l["to"]), l["lost"],
                        json.dumps(l)))
    db.commit()
    db.close()


DAY = 86400 * 10**9


def fleet_exceptions(t0, now_ns, counts=None):
    """The exceptions of the fleet's policy as the session record and the summary list them
    (user/out/summary.c: tg_summary_policy_json), with owner and expiry around t0, the first
    finding: one that expires within 30 days, one that expired before the report's period, one
    that expired during it, one without owner or expiry (its owner elsewhere hostile). expired
    is as of now_ns, the record's time; counts: line -> (kernel, user), for a summary."""
    xs = [
        {"line": 12, "rule": "*", "reason": "lock files of the backup agent",
         "applied_in": "kernel", "owner": "backup team <backup@example.com>",
         "expires": ns_rfc3339(t0 + 10 * DAY)},
        {"line": 15, "rule": "nonexclusive-create", "reason": "cron jobs, until migrated",
         "applied_in": "user", "owner": "<i>x</i> | ops", "expires": ns_rfc3339(t0 - 2 * DAY)},
        {"line": 18, "rule": "*", "reason": "the incident of the week", "applied_in": "user",
         "owner": "secops", "expires": ns_rfc3339(t0 - 2 * 10**8)},
        {"line": 21, "rule": "*", "reason": "build cache", "applied_in": "user"},
    ]
    for x in xs:
        x["expired"] = "expires" in x and rfc3339_ns(x["expires"]) <= now_ns
        if counts is not None:
            x["suppressed_kernel"], x["suppressed_user"] = counts.get(x["line"], (0, 0))
    return xs


def session_record(host, t_ns, enforcement="off", symlinks=0, scope="host", exceptions=None):
    """A session record as `audit --format json` writes it first (user/cmd/records.c:
    emit_session_record, user/host/posture.c), built here by hand with the fields a test needs."""
    def mount(path, fstype, options, separate, mount_point):
        return {"path": path, "fstype": fstype, "mount_point": mount_point,
                "separate": separate, "options": options, "mode": "1777", "exists": True}
    return {
        "type": "session", "time": ns_rfc3339(t_ns), "host": host, "version": "0.1.0",
        "pid": 4242, "scope": scope,
        "hooks": ["tracepoint/syscalls/sys_exit_openat", "tracepoint/syscalls/sys_exit_creat",
                  "tracepoint/syscalls/sys_exit_mkdirat"],
        "enforcement": enforcement, "ringbuf_bytes": 8 << 20,
        "policy": "/etc/tmpguard/policy.yaml", "policy_reloads": 0,
        "policy_reloads_refused": 0,
        "exceptions": exceptions if exceptions is not None else [
            {"line": 12, "rule": "*", "reason": "lock files of the backup agent",
             "applied_in": "kernel"}],
        "posture": {
            "sysctls": {"fs.protected_symlinks": symlinks, "fs.protected_regular": 2,
                        "fs.protected_fifos": 1, "fs.protected_hardlinks": 1},
            "mounts": [mount("/tmp", "ext4", "rw,relatime", False, "/"),
                       {"path": "/var/tmp", "fstype": None, "mount_point": None,
                        "separate": False, "options": None, "mode": None, "exists": False},
                       mount("/dev/shm", "tmpfs", "rw,nosuid,nodev,noexec", True, "/dev/shm")],
        },
    }


def rehost(records, host):
    out = copy.deepcopy(records)
    for r in out:
        if "host" in r:
            r["host"] = host
            if "host" in r.get("escaped_fields", []):
                r["escaped_fields"].remove("host")
    return out


C1 = re.compile(rb"\xc2[\x80-\x9f]")


def control_bytes(data, allow=b"\n"):
    """Raw control bytes a terminal or viewer would act on: C0 (but allow), DEL, C1."""
    bad = sorted({b for b in data if (b < 0x20 and b not in allow) or b == 0x7f})
    return bad + ([0x80] if C1.search(data) else [])


def png_decode(path):
    """(width, height, bytes per pixel, rows) of an 8-bit RGB/RGBA PNG: chunk CRCs checked,
    IDAT inflated with zlib, every scanline unfiltered."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: %r" % data[:16]
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(ctype + body) == crc, "bad CRC in chunk %r" % ctype
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    assert ihdr, "no IHDR"
    w, h, depth, color, _, _, interlace = ihdr
    assert depth == 8 and color in (2, 6) and interlace == 0, "unexpected PNG %r" % (ihdr,)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    assert len(raw) == h * (stride + 1), "IDAT holds %d bytes, want %d" % (len(raw),
                                                                          h * (stride + 1))
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else:
            assert f == 0, "bad filter %d on row %d" % (f, y)
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


# ---- the recording: real programs under tmpguard run -----------------------------------------

class Recording:
    """What the programs did and what tmpguard recorded, once per process."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tg-report-", dir="/var/lib")
        os.chmod(self.dir, 0o700)
        self.file = os.path.join(self.dir, "findings.json")
        self.expected = []  # (program, path prefix as bytes, {rule: count})
        stem = "/tmp/tg-rpt-%s" % TOKEN
        exe = os.path.join(self.dir, "bin").encode()
        os.mkdir(exe)
        exe = os.path.join(exe, HOSTILE_EXE)
        shutil.copy("/usr/bin/dash", exe)
        self.hostile_exe = exe
        programs = [
            ("shell", ["/bin/sh", "-c", "echo hi > %s-sh.$$" % stem], stem + "-sh.",
             {"nonexclusive-create": 1, "loose-mode": 1}),
            ("python mktemp", ["/usr/bin/python3", "-c",
                               "import tempfile; n = tempfile.mktemp(prefix='tg-rpt-%s-py.'); "
                               "open(n, 'w').write('x')" % TOKEN],
             stem + "-py.", {"check-then-create": 1, "loose-mode": 1}),
            ("hostile name", ["/usr/bin/python3", "-c",
                              "import sys; open(%r, 'w').write('x')" % (stem.encode() + HOSTILE)],
             stem + "\n", {"nonexclusive-create": 1, "loose-mode": 1}),
            # /proc/PID/exe must still be readable when tmpguard enriches: the sleep keeps it.
            ("hostile exe", [exe, b"-c", b"echo x > " + stem.encode() + b"-exe.$$; sleep 0.3"],
             stem + "-exe.", {"nonexclusive-create": 1, "loose-mode": 1}),
        ]
        self.times = []  # first finding time of each program, ns
        for name, argv, prefix, rules in programs:
            before = len(findings_of(read_records(self.file))) if os.path.exists(self.file) else 0
            p = subprocess.run([TMPGUARD, "run", "--format", "json", "--output", self.file,
                                "--"] + argv, stdin=subprocess.DEVNULL, capture_output=True,
                               env=ENV, timeout=RUN_TIMEOUT, umask=0o022)
            if p.returncode != 0:
                raise AssertionError("tmpguard run %s: exit %d: %s" % (
                    name, p.returncode, p.stderr.decode(errors="replace")[-2000:]))
            new = findings_of(read_records(self.file))[before:]
            self.expected.append((name, prefix.encode() if isinstance(prefix, str) else prefix,
                                  rules))
            mine = [f for f in new if field_bytes(f, f, "path").startswith(
                prefix.encode() if isinstance(prefix, str) else prefix)]
            got = count_by(mine, lambda f: f["rule"])
            if got != rules:
                raise AssertionError("%s: tmpguard recorded %r for its files, the program did %r"
                                     % (name, got, rules))
            self.times.append(min(rfc3339_ns(f["time"]) for f in new))
        self.records = read_records(self.file)
        self.findings = findings_of(self.records)
        self.host = self.findings[0]["host"]

    def cleanup(self):
        for p in glob.glob("/tmp/tg-rpt-%s*" % TOKEN):
            os.unlink(p)
        shutil.rmtree(self.dir, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def recording():
    return Recording()


def tearDownModule():
    if recording.cache_info().currsize:
        recording().cleanup()


# ---- the test cases -------------------------------------------------------------------------

class ReportCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.rec = recording()
        self.tmp = tempfile.mkdtemp(prefix="tg-report-case-", dir=self.rec.dir)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def report(self, args, rc=0):
        p = subprocess.run([TMPGUARD, "report"] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, env=ENV, timeout=RUN_TIMEOUT)
        if rc is not None:
            self.assertEqual(p.returncode, rc, "tmpguard report %s: stderr: %s" % (
                " ".join(map(str, args)), p.stderr.decode(errors="replace")))
        return p

    def report_json(self, inputs, *args):
        return json.loads(self.report(["--format", "json"] + list(args) + list(inputs)).stdout)

    def render(self, fmt, inputs, *args):
        out = self.path("report.%s" % fmt)
        self.report(["--format", fmt, "--output", out] + list(args) + list(inputs))
        with open(out, "rb") as f:
            return f.read()

    def assert_counts(self, model, findings):
        """Every count of the model against the records themselves."""
        t = model["totals"]
        self.assertEqual(t["findings"], len(findings))
        self.assertEqual(t["by_severity"], {s: sum(1 for f in findings if f["severity"] == s)
                                            for s in SEVERITIES})
        self.assertEqual({r["rule"]: r["findings"] for r in model["findings"]["by_rule"]},
                         count_by(findings, lambda f: f["rule"]))
        self.assertEqual({r["host"]: r["findings"] for r in model["findings"]["by_host"]},
                         count_by(findings, lambda f: f["host"]))
        self.assertEqual(sum(r["findings"] for r in model["findings"]["by_executable"]),
                         len(findings))
        self.assertEqual(sum(sum(b[s] for s in SEVERITIES) for b in model["trend"]["buckets"]),
                         len(findings))
        self.assertEqual(model["trend"]["first_half"] + model["trend"]["second_half"],
                         len(findings))
        for o in model["top_offenders"]:
            mine = [f for f in findings if f["host"] == o["host"] and
                    field_bytes(f, f["proc"], "exe") == lossless_bytes(o["exe"])]
            self.assertEqual(o["findings"], len(mine), o)
            self.assertEqual(o["by_rule"], count_by(mine, lambda f: f["rule"]))

    def assert_clean_text(self, data, what, allow=b"\n"):
        self.assertEqual(control_bytes(data, allow), [], "raw control bytes in %s" % what)
        data.decode("utf-8")  # valid UTF-8 throughout

    def validate_sarif(self, log):
        with open(SARIF_SCHEMA) as f:
            schema = json.load(f)
        errors = []
        # The schema is draft-04; Draft7Validator as asked, Draft4Validator as it declares.
        for cls in (jsonschema.Draft7Validator, jsonschema.Draft4Validator):
            v = cls(schema, format_checker=sarif_format_checker(cls))
            errors += ["%s: %s at %s" % (cls.__name__, e.message[:300], list(e.absolute_path))
                       for e in v.iter_errors(log)]
        return errors


def sarif_format_checker(cls):
    """The schema's formats (uri, uri-reference, date-time) checked here, since Debian's
    jsonschema checks them only with optional packages."""
    fc = copy.deepcopy(cls.FORMAT_CHECKER)
    uri_chars = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")

    @fc.checks("uri")
    def uri(v):
        return not isinstance(v, str) or (bool(uri_chars.match(v)) and
                                          bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", v)))

    @fc.checks("uri-reference")
    def uri_reference(v):
        return not isinstance(v, str) or bool(uri_chars.match(v))

    @fc.checks("date-time")
    def date_time(v):
        return not isinstance(v, str) or bool(re.match(
            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", v))
    return fc


class Formats(ReportCase):
    """One real recording, every format."""

    def test_json_counts(self):
        m = self.report_json([self.rec.file])
        self.assert_counts(m, self.rec.findings)
        self.assertEqual([h["host"] for h in m["hosts"]], [self.rec.host])
        # One implicit session per run, each closed by its summary.
        summaries = [r for r in self.rec.records if r["type"] == "summary"]
        self.assertEqual(m["totals"]["sessions"], len(summaries))
        self.assertEqual(m["totals"]["unclean_sessions"], 0)
        self.assertEqual(m["inputs"][0]["records"], len(self.rec.records))
        self.assertEqual(m["inputs"][0]["unreadable"], 0)
        self.assertEqual(m["totals"]["lost"], sum(s["events"]["lost"] for s in summaries))
        # The hostile name survives losslessly: decoded from the record, re-escaped the same.
        # (The pattern has the name's digits as '*': look at a part without any.)
        pats = [lossless_bytes(p["pattern"]) for p in m["findings"]["by_path"]]
        self.assertTrue(any(b"\"'<script>|&\xff=x" in p for p in pats), pats)
        self.assertEqual(sum(p["findings"] for p in m["findings"]["by_path"]),
                         len(self.rec.findings))
        exes = [lossless_bytes(e["exe"]) for e in m["findings"]["by_executable"]]
        self.assertTrue(any(e.endswith(HOSTILE_EXE) or e == HOSTILE_EXE[:15] for e in exes), exes)
        # Advice per (rule, language), as the findings gave it.
        adv = {(a["rule"], a["language"]): a["advice"] for a in m["advice"]}
        for f in self.rec.findings:
            self.assertEqual(adv[(f["rule"], f["language"])], f["advice"])

    def test_markdown(self):
        md = self.render("md", [self.rec.file])
        self.assert_clean_text(md, "markdown")
        text = md.decode()
        self.assertNotIn("<script>", text)
        self.assertIn("&lt;script&gt;", text)  # the hostile name, as text
        self.assertIn("\\x1b", text)  # ESC as visible text
        # Every table row has as many cells as its header: no name adds a column.
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("|"):
                cols = len(re.findall(r"(?<!\\)\|", line))
                head = i
                while head > 0 and lines[head - 1].startswith("|"):
                    head -= 1
                self.assertEqual(cols, len(re.findall(r"(?<!\\)\|", lines[head])),
                                 "row %d: %r" % (i, line))
        for rule, n in count_by(self.rec.findings, lambda f: f["rule"]).items():
            self.assertRegex(text, r"\| %s \| [^|]* \| %d \|" % (re.escape(rule), n))

    def test_csv(self):
        data = self.render("csv", [self.rec.file])
        self.assert_clean_text(data, "csv", allow=b"\r\n")
        self.assertTrue(data.endswith(b"\r\n"))
        self.assertNotIn(b"\n", data.replace(b"\r\n", b""))  # RFC 4180 line ends only
        rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
        head, rows = rows[0], rows[1:]
        self.assertEqual(len(rows), len(self.rec.findings))
        col = {name: i for i, name in enumerate(head)}
        self.assertEqual(count_by(rows, lambda r: r[col["rule"]]),
                         count_by(self.rec.findings, lambda f: f["rule"]))
        for r in rows:
            for cell in r:
                self.assertFalse(cell[:1] in ("=", "+", "-", "@", "\t", "\r"),
                                 "formula cell %r" % cell)
        comms = [r[col["comm"]] for r in rows]
        self.assertTrue(any(c.startswith("'=1+2|<b>") for c in comms), comms)
        paths = [r[col["path"]] for r in rows]
        self.assertTrue(any("\\n\\x1b[31m\"'<script>|&\\xff=x" in p for p in paths), paths)

    def test_sarif(self):
        log = json.loads(self.render("sarif", [self.rec.file]))
        self.assertEqual(self.validate_sarif(log), [])
        run = log["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        self.assertEqual(run["tool"]["driver"]["name"], "tmpguard")
        # One result per (rule, executable, call site or path pattern), with its count.
        self.assertEqual(sum(r["properties"]["findings"] for r in run["results"]),
                         len(self.rec.findings))
        level = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
        arts = [a["location"]["uri"] for a in run["artifacts"]]
        first = {}
        for f in sorted(self.rec.findings, key=lambda f: f["time"]):
            first.setdefault((f["time"], f["rule"], f["path"]), f)
        for res in run["results"]:
            f = first[(res["properties"]["time"], res["ruleId"], res["properties"]["path"])]
            self.assertEqual(rules[res["ruleIndex"]]["id"], f["rule"])
            self.assertEqual(res["level"], level[f["severity"]])
            exe = field_bytes(f, f["proc"], "exe")
            want = ("file://" if exe.startswith(b"/") else "") + urllib.parse.quote(
                exe, safe="/-._~")
            loc = res["locations"][0]["physicalLocation"]["artifactLocation"]
            self.assertEqual(loc["uri"], want)
            self.assertEqual(arts[loc["index"]], want)
            for c in f["cwe"]:
                self.assertIn("external/cwe/%s" % c.lower(),
                              rules[res["ruleIndex"]]["properties"]["tags"])
            self.assertIn("security", rules[res["ruleIndex"]]["properties"]["tags"])
        # Every result its own fingerprint (repeats are merged into one result).
        fps = [r["partialFingerprints"]["tmpguard/v2"] for r in run["results"]]
        self.assertEqual(len(set(fps)), len(fps))
        # The validator does reject what SARIF forbids (so a pass above means something).
        bad = copy.deepcopy(log)
        bad["runs"][0]["results"][0]["level"] = "critical"
        del bad["version"]
        self.assertGreaterEqual(len(self.validate_sarif(bad)), 2)

    def test_html_static(self):
        page = self.render("html", [self.rec.file])
        self.assert_clean_text(page, "html")
        text = page.decode()
        self.assertEqual(text.count("<html"), 1)
        self.assertNotRegex(text.lower(), r"<script|<iframe|<img|<link|url\(|://")
        self.assertIn("&lt;script&gt;", text)
        self.assertIn("<svg class=\"chart\"", text)
        self.assertNotIn("<b>", text)  # the hostile exe's "<b>" stays text

    def test_html_chromium(self):
        page = self.render("html", [self.rec.file])
        text, shot = chromium_render(self, page)
        self.assertIn("tmpguard compliance report", text)
        self.assertIn("Host %s" % self.rec.host, text)
        for rule, n in count_by(self.rec.findings, lambda f: f["rule"]).items():
            self.assertRegex(text, r"(?m)^%s\t[^\t]*\t%d\t" % (re.escape(rule), n))
        self.assertRegex(text, r"(?m)^Findings\t%d \(" % len(self.rec.findings))
        # Hostile strings render as visible text, escapes and all.
        self.assertIn("<script>|&\\xff=x", text)
        self.assertIn("=1+2|<b>\\x1b[7m\\xfe", text)
        check_screenshot(self, shot, self.rec.findings)


def chromium_render(case, page):
    """Renders page in headless Chromium: (its rendered text, innerText through a same-origin
    frame, which is what a reader sees), and a 1280x2400 screenshot."""
    d = tempfile.mkdtemp(prefix="chromium-", dir=case.tmp)
    report = os.path.join(d, "report.html")
    with open(report, "wb") as f:
        f.write(page)
    wrapper = os.path.join(d, "wrap.html")
    with open(wrapper, "w") as f:
        f.write("<!DOCTYPE html><html><body><iframe id=f src=\"report.html\" "
                "style=\"width:1280px;height:2400px\"></iframe><script>"
                "document.getElementById('f').addEventListener('load', function () {"
                "var p = document.createElement('pre'); p.id = 'rendered';"
                "p.textContent = this.contentDocument.body.innerText;"
                "document.body.appendChild(p);});</script></body></html>")
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=" + os.path.join(d, "profile")]
    dom = subprocess.run(base + ["--allow-file-access-from-files", "--dump-dom",
                                 "file://" + wrapper],
                         capture_output=True, timeout=CHROMIUM_TIMEOUT, env=ENV)
    m = re.search(r'<pre id="rendered">(.*?)</pre>', dom.stdout.decode(), re.S)
    case.assertTrue(m, "chromium rendered nothing (exit %d): %s" % (
        dom.returncode, dom.stderr.decode(errors="replace")[-2000:]))
    shot = os.path.join(d, "shot.png")
    p = subprocess.run(base + ["--screenshot=" + shot, "--window-size=1280,2400",
                               "file://" + report],
                       capture_output=True, timeout=CHROMIUM_TIMEOUT, env=ENV)
    case.assertTrue(os.path.exists(shot), "no screenshot (exit %d): %s" % (
        p.returncode, p.stderr.decode(errors="replace")[-2000:]))
    return html.unescape(m.group(1)), shot


def check_screenshot(case, shot, findings):
    """A real PNG of the page: non-uniform, and the chart drawn in its severity colours."""
    w, h, bpp, rows = png_decode(shot)
    case.assertEqual((w, h), (1280, 2400))
    colours = {}
    for row in rows:
        for i in range(0, len(row), bpp):
            px = row[i:i + 3]
            colours[px] = colours.get(px, 0) + 1
    case.assertGreater(len(colours), 50, "a near-uniform screenshot")
    white = colours.get(b"\xff\xff\xff", 0)
    case.assertLess(white, w * h * 0.95)
    # Bars (not only the 11x11 legend swatches) in the colour of each severity found.
    colour = {"critical": "7f1d1d", "high": "dc2626", "medium": "d97706", "low": "2563eb"}
    for sev in {f["severity"] for f in findings}:
        case.assertGreater(colours.get(bytes.fromhex(colour[sev]), 0), 2000,
                           "no %s bar in the chart" % sev)


class Merge(ReportCase):
    """Several inputs, several hosts: JSON lines, a rewritten copy, a store."""

    def store_sessions(self):
        f = rehost(self.rec.findings, HOST_C)
        summaries = [r for r in rehost(self.rec.records, HOST_C) if r["type"] == "summary"]
        t0 = min(rfc3339_ns(x["time"]) for x in f)
        t1 = max(rfc3339_ns(x["time"]) for x in f)
        half = len(f) // 2
        summ = dict(summaries[0])
        summ["time"] = ns_rfc3339(t1 + 10**9)
        summ["exceptions"] = fleet_exceptions(t0, t1 + 10**9, {12: (7, 2), 18: (0, 3)})
        loss = {"type": "loss", "time": ns_rfc3339(t1), "host": HOST_C,
                "from": ns_rfc3339(t0 + 1000), "to": ns_rfc3339(t0 + 2000), "lost": 42}
        return [
            {"record": session_record(HOST_C, t0 - 10**9,
                                      exceptions=fleet_exceptions(t0, t0 - 10**9)),
             "summary": summ, "clean": True, "findings": f[:half]},
            # Killed: no summary, not clean; its last commit after its last finding.
            {"record": session_record(HOST_C, t0 - 5 * 10**8, enforcement="lsm", symlinks=1,
                                      exceptions=fleet_exceptions(t0, t0 - 5 * 10**8)),
             "summary": None, "clean": False, "findings": f[half:], "losses": [loss],
             "last_commit_ns": t1 + 5 * 10**8},
        ]

    def inputs(self):
        b = self.path("host-b.json")
        write_records(b, rehost(self.rec.records, HOST_B))
        db = self.path("store.db")
        make_store(db, self.store_sessions())
        return b, db

    def test_fleet(self):
        b, db = self.inputs()
        m = self.report_json([self.rec.file, b, "--db", db])
        everything = (self.rec.findings + rehost(self.rec.findings, HOST_B) +
                      rehost(self.rec.findings, HOST_C))
        self.assert_counts(m, everything)
        self.assertEqual(sorted(h["host"] for h in m["hosts"]),
                         sorted({self.rec.host, HOST_B, HOST_C}))
        self.assertEqual(m["totals"]["unclean_sessions"], 1)
        self.assertEqual([(l["host"], l["lost"], l["window_known"]) for l in m["losses"]],
                         [(HOST_C, 42, True)])
        c = next(h for h in m["hosts"] if h["host"] == HOST_C)
        self.assertEqual(len(c["sessions"]), 2)
        self.assertEqual([s["clean"] for s in c["sessions"]], [True, False])
        self.assertIsNotNone(c["sessions"][1]["unknown_after"])
        self.assertIn("tracepoint/syscalls/sys_exit_openat", c["hooks"])
        # The latest session's posture: protected_symlinks=1 there, /tmp not separate.
        self.assertEqual(c["posture"]["sysctls"]["fs.protected_symlinks"], 1)
        self.assertTrue(any("/tmp is not a separate mount" in r for r in c["remarks"]))
        self.assertTrue(any(g.startswith(HOST_C + ": the session started") and
                            "no clean stop" in g for g in m["not_seen"]), m["not_seen"])
        self.assertTrue(any("42 records lost" in g for g in m["not_seen"]))
        self.assertFalse(any("/var/tmp" in r for r in c["remarks"]))  # absent there
        self.assertEqual([s["scope"] for s in c["sessions"]], ["host", "host"])
        x = m["exceptions"]
        self.assertEqual([(e["reason"], e["sessions"], e["sessions_without_counts"],
                           e["hidden_kernel"], e["hidden_user"]) for e in x],
                         [("lock files of the backup agent", 2, 1, 7, 2),
                          ("cron jobs, until migrated", 2, 1, 0, 0),
                          ("the incident of the week", 2, 1, 0, 3),
                          ("build cache", 2, 1, 0, 0)])
        # Owner and expiry, judged against the period (its end: now, no --until).
        t0 = min(rfc3339_ns(f["time"]) for f in self.rec.findings)
        self.assertEqual([(e["line"], e["owner"], e["expired"], e["expiry"]) for e in x],
                         [(12, "backup team <backup@example.com>", False, "within-30-days"),
                          (15, "<i>x</i> | ops", True, "before-period"),
                          (18, "secops", True, "during-period"),
                          (21, None, False, "never")])
        self.assertEqual([e["expires"] and rfc3339_ns(e["expires"]) for e in x],
                         [t0 + 10 * DAY, t0 - 2 * DAY, t0 - 2 * 10**8, None])

    def test_posture_weak(self):
        db = self.path("weak.db")
        s = self.store_sessions()[:1]
        make_store(db, s)
        m = self.report_json(["--db", db])
        remarks = m["hosts"][0]["remarks"]
        self.assertTrue(any(r.startswith("fs.protected_symlinks=0") for r in remarks), remarks)
        self.assertTrue(any(r.startswith("enforcement off") for r in remarks), remarks)

    def test_process_tree_scope(self):
        """A `run` session watched one process tree: the report says the host was not."""
        # The recorded runs' own session records (tmpguard run: scope process-tree).
        p = self.path("run.json")
        recs = rehost(self.rec.records, HOST_C)
        n = sum(1 for r in recs if r["type"] == "session")
        self.assertGreater(n, 0)
        self.assertTrue(all(r["scope"] == "process-tree" for r in recs if r["type"] == "session"))
        write_records(p, recs)
        m = self.report_json([p])
        self.assertTrue(any(g.startswith("%s: %d of its %d" % (HOST_C, n, n)) and
                            "watched one process tree only" in g for g in m["not_seen"]),
                        m["not_seen"])
        self.assertFalse(any("no clean stop" in g for g in m["not_seen"]), m["not_seen"])

    def test_store_as_input(self):
        """A store given as INPUT is recognised by its header: same report as with --db."""
        _, db = self.inputs()
        a = self.report_json(["--db", db])
        b = self.report_json([db])
        for m in (a, b):
            del m["generated"]
            m["inputs"][0].pop("name")
            for h in m["hosts"]:
                for s in h["sessions"]:
                    s.pop("input")
        self.assertEqual(a, b)

    def test_store_read_only(self):
        _, db = self.inputs()
        with open(db, "rb") as f:
            before = hashlib.sha256(f.read()).hexdigest()
        listing = sorted(os.listdir(self.tmp))
        self.report_json(["--db", db])
        with open(db, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), before)
        self.assertEqual(sorted(os.listdir(self.tmp)), listing)

    def test_duplicates(self):
        """The same records from two inputs count once."""
        m = self.report_json([self.rec.file, self.rec.file])
        self.assertEqual(m["totals"]["findings"], len(self.rec.findings))
        self.assertEqual(m["totals"]["duplicates"], len(self.rec.findings))

    def test_every_format(self):
        b, db = self.inputs()
        inputs = [self.rec.file, b, "--db", db]
        for fmt in ("md", "html", "csv"):
            data = self.render(fmt, inputs)
            self.assert_clean_text(data, fmt, allow=b"\r\n" if fmt == "csv" else b"\n")
            if fmt != "csv":  # markup only means something in md and html
                self.assertNotIn(b"<i>x</i>", data)
        rows = list(csv.reader(io.StringIO(self.render("csv", inputs).decode(), newline="")))
        self.assertEqual(len(rows) - 1, 3 * len(self.rec.findings))
        self.assertEqual(count_by(rows[1:], lambda r: r[1]),
                         {self.rec.host: len(self.rec.findings),
                          HOST_B: len(self.rec.findings), HOST_C: len(self.rec.findings)})
        log = json.loads(self.render("sarif", inputs))
        self.assertEqual(self.validate_sarif(log), [])
        # Three hosts' copies of the same findings: the same results, three times the count.
        self.assertEqual(sum(r["properties"]["findings"] for r in log["runs"][0]["results"]),
                         3 * len(self.rec.findings))
        self.assertEqual(len(log["runs"][0]["results"]),
                         len(json.loads(self.render("sarif", [self.rec.file]))["runs"][0][
                             "results"]))
        notes = [n["message"]["text"] for n in
                 log["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
        self.assertTrue(any("42 records lost" in n for n in notes), notes)
        text, shot = chromium_render(self, self.render("html", inputs))
        for host in (self.rec.host, HOST_B, HOST_C):
            self.assertIn("Host " + host, text)
            self.assertRegex(text, r"(?m)^%s\t%d\t" % (re.escape(host), len(self.rec.findings)))
        self.assertRegex(text, r"(?m)^%s\t\S+\t\S+\t42\t" % HOST_C)  # the loss window
        self.assertIn("no clean stop", text)
        # Each exception with its owner and expiry, in the words an auditor reads.
        t0 = min(rfc3339_ns(f["time"]) for f in self.rec.findings)
        for out in (text, self.render("md", inputs).decode()):
            md = out is not text
            sep = r" \| " if md else r"\t"
            owner_x = r"&lt;i&gt;x&lt;/i&gt; \\\| ops" if md else re.escape("<i>x</i> | ops")
            backup = (r"backup team &lt;backup\\@example\.com&gt;" if md else
                      re.escape("backup team <backup@example.com>"))
            for want in (
                    backup + sep + re.escape(sec_rfc3339(t0 + 10 * DAY)) +
                    ": expires within 30 days of the report's end" + sep + "kernel",
                    owner_x + sep + re.escape(sec_rfc3339(t0 - 2 * DAY)) +
                    ": expired before the period, no longer applied" + sep,
                    "secops" + sep + re.escape(sec_rfc3339(t0 - 2 * 10**8)) +
                    ": expired during the period, no longer applied after then" + sep,
                    "build cache" + sep + "no owner" + sep + "never expires" + sep):
                self.assertRegex(out, want)
            self.assertIn("Of the 4 exceptions listed: 1 expired before the period and no longer "
                          "applied; 1 expired during the period; 1 expires within 30 days of "
                          "the report's end (", out)
            self.assertIn("); 1 has no owner; 1 never expires.", out)
        check_screenshot(self, shot, self.rec.findings)


class Period(ReportCase):
    """--since/--until: only findings inside count, in files and stores alike."""

    def test_since_until(self):
        t = self.rec.times  # first finding of each program
        inside = [f for f in self.rec.findings if t[1] <= rfc3339_ns(f["time"]) < t[3]]
        self.assertTrue(inside and len(inside) < len(self.rec.findings))
        until = ns_rfc3339(t[3] - 1)
        m = self.report_json([self.rec.file], "--since", ns_rfc3339(t[1]), "--until", until)
        self.assert_counts(m, inside)
        self.assertEqual(m["period"]["requested"]["since"], ns_rfc3339(t[1]))
        db = self.path("p.db")
        make_store(db, Merge.store_sessions(self)[:1])
        in_store = [f for f in rehost(self.rec.findings, HOST_C)[:len(self.rec.findings) // 2]
                    if t[1] <= rfc3339_ns(f["time"]) < t[3]]
        m = self.report_json(["--db", db], "--since", ns_rfc3339(t[1]), "--until", until)
        self.assert_counts(m, in_store)

    def test_nothing_in_period(self):
        before = ns_rfc3339(self.rec.times[0] - 3600 * 10**9)
        m = self.report_json([self.rec.file], "--until", before)
        self.assertEqual(m["totals"]["findings"], 0)
        self.assertEqual(m["totals"]["sessions"], 0)
        self.assertTrue(any("no session covers" in g for g in m["not_seen"]), m["not_seen"])

    def test_relative(self):
        m = self.report_json([self.rec.file], "--since", "30d")
        self.assert_counts(m, self.rec.findings)
        self.assertEqual(m["trend"]["bucket"], "day")


class Inputs(ReportCase):
    """What cannot be read is counted and said, never skipped silently; errors exit 2."""

    def test_unreadable_lines(self):
        p = self.path("mixed.json")
        with open(self.rec.file, "rb") as f:
            data = f.read()
        garbage = [b"not json", b"[1, 2]", b'{"type": "finding"', b"\x00\xff", b'"str"']
        with open(p, "wb") as f:
            f.write(garbage[0] + b"\n" + data + b"\n".join(garbage[1:]) + b"\n" +
                    b'{"type": "heartbeat"}\n')
        m = self.report_json([p])
        self.assert_counts(m, self.rec.findings)
        self.assertEqual(m["inputs"][0]["unreadable"], len(garbage))
        self.assertEqual(m["inputs"][0]["invalid"], 1)
        self.assertTrue(any("%d lines could not be read" % len(garbage) in g and "line 1)" in g
                            for g in m["not_seen"]), m["not_seen"])
        md = self.render("md", [p]).decode()
        self.assertIn("%d lines could not be read" % len(garbage), md)

    def test_unclean_file(self):
        """A file cut after the first run's findings (kill -9): no summary, a torn line."""
        with open(self.rec.file, "rb") as f:
            lines = f.read().split(b"\n")
        first_summary = next(i for i, l in enumerate(lines) if b'"type":"summary"' in l)
        p = self.path("killed.json")
        with open(p, "wb") as f:
            f.write(b"\n".join(lines[:first_summary]) + b"\n" + lines[first_summary][:40])
        m = self.report_json([p])
        self.assertEqual(m["totals"]["unclean_sessions"], 1)
        self.assertEqual(m["inputs"][0]["unreadable"], 1)
        last = max(rfc3339_ns(json.loads(l)["time"]) for l in lines[:first_summary])
        self.assertTrue(any("no clean stop" in g and ns_rfc3339(last)[:19] in g
                            for g in m["not_seen"]), m["not_seen"])

    def test_errors(self):
        txt = self.path("text.log")
        with open(txt, "w") as f:
            f.write("2026-11-28T06:07:29Z  HIGH  nonexclusive-create\n  process pid 1\n")
        nodb = self.path("plain.db")
        sqlite3.connect(nodb).execute("CREATE TABLE t(x)").connection.commit()
        v2 = self.path("v99.db")
        make_store(v2, [], schema_version=99)
        missing = self.path("missing.json")
        cases = [
            ([missing], missing + ": No such file"),
            (["--db", self.rec.file], "not an SQLite store"),
            ([nodb], "not a tmpguard store"),
            ([v2], "store schema version 99"),
            ([txt], "none of its 2 lines is a JSON record"),
            (["--since", "yesterday", self.rec.file], "invalid --since 'yesterday'"),
            (["--format", "pdf", self.rec.file], "invalid format 'pdf'"),
            ([], "no input"),
            ([self.tmp], "is a directory"),
        ]
        for args, msg in cases:
            p = self.report(args, rc=None)
            self.assertEqual(p.returncode, 2, "%r: exit %d, stderr %r" % (
                args, p.returncode, p.stderr))
            self.assertIn(msg, p.stderr.decode(errors="replace"), args)
            self.assertEqual(p.stdout, b"", args)

    def test_version_1_store_is_read_as_it_is(self):
        # A store written before forwarding (schema 1, tests/data/store-v1.db: two clean
        # runs and one killed) is read without being migrated: the report opens it
        # read-only, and its file is left as it was.
        src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "data", "store-v1.db")
        v1 = self.path("v1.db")
        shutil.copyfile(src, v1)
        with open(v1, "rb") as f:
            before = f.read()
        model = self.report_json([v1])
        self.assertEqual(model["totals"]["findings"], 9, model["totals"])
        with open(v1, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_output_not_through_a_planted_link(self):
        victim = self.path("victim")
        with open(victim, "w") as f:
            f.write("keep")
        out = self.path("out.md")
        os.symlink(victim, out)
        self.report(["--output", out, self.rec.file])
        with open(victim) as f:
            self.assertEqual(f.read(), "keep")
        self.assertFalse(os.path.islink(out))
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        self.assertEqual(glob.glob(out + ".*"), [])

    def test_output_not_into_a_fifo_another_user_planted(self):
        # nobody makes a FIFO where root will write its report, in a sticky directory others
        # can write to, and reads from it: the report must not reach them.
        d = tempfile.mkdtemp(prefix="tg-report-fifo-", dir="/tmp")
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o1777)
        fifo = os.path.join(d, "report.md")
        subprocess.run(["/usr/bin/mkfifo", "-m", "0622", fifo], check=True, user=65534,
                       group=65534, extra_groups=[], cwd="/", stdin=subprocess.DEVNULL)
        reader = subprocess.Popen(["/bin/cat", fifo], stdout=subprocess.PIPE, user=65534,
                                  group=65534, extra_groups=[], cwd="/",
                                  stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: reader.poll() is None and (reader.kill(), reader.wait()))
        p = self.report(["--output", fifo, self.rec.file], rc=2)
        self.assertIn(b"belongs to uid 65534", p.stderr)
        # The reader gets nothing: open it for writing ourselves to end its wait.
        with open(fifo, "w"):
            pass
        self.assertEqual(reader.communicate(timeout=10)[0], b"")
        # root's own FIFO there is written as it is.
        os.unlink(fifo)
        os.mkfifo(fifo, 0o600)
        reader = subprocess.Popen(["/bin/cat", fifo], stdout=subprocess.PIPE)
        self.report(["--output", fifo, self.rec.file])
        self.assertIn(b"tmpguard", reader.communicate(timeout=30)[0])


def main():
    def skip(why):  # test_live is imported below, before any call
        if CI:
            print("test_report: cannot run in CI: %s" % why, file=sys.stderr)
            return 1
        return test_live.skip_all("test_report", why)

    # the shared preflight: root, the binary, a kernel that runs BPF
    import tmpguard_test as test_live

    rc = test_live.preflight("test_report")
    if rc is not None:
        return rc
    if jsonschema is None:
        return skip("%s has no jsonschema module (apt install python3-jsonschema)"
                    % sys.executable)
    if not os.access(CHROMIUM, os.X_OK):
        return skip("chromium is not installed (apt install chromium)")
    return test_live.run_tests(__name__, "test_report")


if __name__ == "__main__":
    sys.exit(main())
