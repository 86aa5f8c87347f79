#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Hostile names through every output: a program with a hostile executable name creates files
with hostile names (newline, CR, quotes, ANSI escapes, a C1 control, a bidi override, invalid
UTF-8, markup and table syntax); every format tmpguard writes stays valid and no raw control
byte comes out: JSON lines, Falco lines, text, the store and `query` (text, JSON, CSV), and
`report` (Markdown, HTML, JSON, SARIF, CSV).

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \
        python3 tests/live/test_hostile.py
"""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import tmpguard_test as test_live
from tmpguard_test import ENV, TMPGUARD, fixture

# Each a hazard for some format: line breaks, quotes, terminal escapes (7-bit CSI, C1 CSI),
# a right-to-left override, bytes that are not UTF-8, HTML/Markdown/CSV syntax.
HOSTILE = [b"nl\nx", b"cr\rx", b"q\"'`x", b"esc\x1b[31mred\x1b[0m", b"c1\xc2\x9b2J",
           b"rlo\xe2\x80\xaetxt.exe", b"bad\xff\xfeutf8", b"<script>alert(1)<\\script><img src=x onerror=alert(1)>",
           b"pipe|col|", b"=HYPERLINK(1)"]
BIDI = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
        "\u2069")


class EveryFormat(test_live.TgTestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.private_dir(parent="/var/lib", mode=0o700)
        # An executable whose name is itself hostile: comm, exe and the advice tables get it.
        self.exe = os.path.join(self.dir.encode(), b"=cmd|\x1b[1m\xff-" + self.tok.encode())
        shutil.copy(fixture("open_trunc"), self.exe)
        os.chmod(self.exe, 0o755)
        self.paths = [self.track(b"/tmp/tg-h-" + self.tok.encode() + b"-" + h) for h in HOSTILE]
        self.script = b"".join(b'"$0" "${%d}" 2>/dev/null; ' % (i + 1)
                               for i in range(len(self.paths)))

    def run_tg(self, fmt, extra=()):
        # Files left by the previous run would be re-opened, not created: no finding.
        for p in self.paths:
            if os.path.lexists(p):
                os.unlink(p)
        out = os.path.join(self.dir, "out." + fmt)
        r = subprocess.run([TMPGUARD.encode(), b"run", b"--format", fmt.encode(), b"--output",
                            out.encode()] + [x.encode() for x in extra] +
                           [b"--", test_live.SH.encode(), b"-c", self.script, self.exe] +
                           self.paths, env=ENV, capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertClean("stderr of run --format %s" % fmt, r.stderr, newlines=True)
        with open(out, "rb") as fh:
            return out, fh.read()

    def assertClean(self, what, data, newlines=True, tabs=False):
        """No raw control byte (C0 but line ends, DEL, C1), no bidi control, valid UTF-8."""
        allowed = {0x0A} if newlines else set()
        if tabs:
            allowed.add(0x09)
        bad = sorted({c for c in data if (c < 0x20 and c not in allowed) or c == 0x7F})
        self.assertEqual(bad, [], "%s: raw control bytes %r" % (what, bad))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail("%s is not valid UTF-8: %s" % (what, e))
        c1 = [ch for ch in text if 0x80 <= ord(ch) <= 0x9F]
        self.assertEqual(c1, [], "%s: raw C1 controls" % what)
        self.assertFalse([ch for ch in text if ch in BIDI], "%s: raw bidi controls" % what)
        return text

    def json_lines(self, what, data):
        text = self.assertClean(what, data)
        recs = [json.loads(line) for line in text.split("\n") if line]
        self.assertEqual(len(recs), text.count("\n"), what)
        return recs

    def test_every_output_format(self):
        db = os.path.join(self.dir, "store.db")
        out, data = self.run_tg("json", ["--db", db])
        recs = self.json_lines("JSON lines", data)
        findings = [r for r in recs if r["type"] == "finding"]
        # Every hostile file was seen, each under its own finding.
        tok = self.tok
        self.assertEqual(len({f["resolved_name"] for f in findings if tok in f["path"]}),
                         len(HOSTILE), json.dumps(findings)[:3000])
        for f in findings:
            self.assertIn("=cmd|", f["proc"]["comm"])

        _, fdata = self.run_tg("falco")
        falco = self.json_lines("Falco lines", fdata)
        self.assertEqual(sorted(e["output_fields"]["fd.name"] for e in falco
                                if e["rule"].startswith("Insecure")),
                         sorted(f["path"] for f in findings))

        _, tdata = self.run_tg("text")
        self.assertClean("text", tdata, tabs=False)

        for fmt in ("text", "json", "csv"):
            r = subprocess.run([TMPGUARD, "query", "--db", db, "--format", fmt], env=ENV,
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            what = "query --format " + fmt
            if fmt == "json":
                rows = self.json_lines(what, r.stdout)
                self.assertEqual(sorted(json.dumps(x, sort_keys=True) for x in rows),
                                 sorted(json.dumps(x, sort_keys=True) for x in findings),
                                 "query's JSON rows are not the live JSON findings")
            elif fmt == "csv":
                # RFC 4180 ends records with CRLF: that CR is the format's, not a name's.
                rows = list(csv.reader(io.StringIO(
                    self.assertClean(what, r.stdout.replace(b"\r\n", b"\n")))))
                self.assertEqual(len(rows) - 1, len(findings))
                for row in rows[1:]:
                    for cell in row:
                        self.assertFalse(cell[:1] in ("=", "+", "-", "@"),
                                         "formula in CSV cell %r" % cell)
            else:
                self.assertClean(what, r.stdout)

        for fmt in ("md", "html", "json", "sarif", "csv"):
            r = subprocess.run([TMPGUARD, "report", "--format", fmt, out, "--db", db],
                               env=ENV, capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            what = "report --format " + fmt
            text = self.assertClean(what, r.stdout.replace(b"\r\n", b"\n")
                                    if fmt == "csv" else r.stdout)
            if fmt in ("json", "sarif"):
                json.loads(text)
            elif fmt == "html":
                self.assertNotIn("<script>", text)
                self.assertNotIn("<img", text)
                HTMLParser().feed(text)
            elif fmt == "csv":
                for row in list(csv.reader(io.StringIO(text)))[1:]:
                    for cell in row:
                        self.assertFalse(cell[:1] in ("=", "+", "-", "@"),
                                         "formula in report CSV cell %r" % cell)
            elif fmt == "md":
                # A table row never breaks: every line of a table has its column count.
                for block in text.split("\n\n"):
                    rows = [x for x in block.split("\n") if x.startswith("|")]
                    if rows:
                        cols = {x.replace("\\|", "").count("|") for x in rows}
                        self.assertEqual(len(cols), 1, "a broken table:\n" + block)


if __name__ == "__main__":
    sys.exit(test_live.main(prog="test_hostile"))
