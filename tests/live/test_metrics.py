#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live tests of the Prometheus endpoint (--metrics-addr, --bpf-stats) and of the shipped
Prometheus configuration (packaging/), scraped by a real Prometheus server.

    PYTHONPATH=tests/lib TMPGUARD=build/tmpguard TG_FIXTURES=build/tests/fixtures \\
        python3 tests/live/test_metrics.py [Class[.test] ...]

Needs root (BPF), Debian's prometheus (prometheus, promtool) and python3-yaml. Exits 77 when
not root, without BPF, or without those tools (outside CI; under CI=true a missing tool fails).

Every tmpguard here is scoped with --pid to a shell the test starts, so that the counters are
exactly what the test did even while other tmpguards and tests run on the machine. The shell
waits for a "go" file, created once tmpguard has attached, then makes its files in /tmp.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import tmpguard_test as live
from tmpguard_test import BASH, ENV, PYTHON, TMPGUARD, UMASK, TgTestCase

try:
    import yaml
except ImportError:  # checked in main()
    yaml = None

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGING = os.path.join(REPO, "packaging")
SCRAPE_CONFIG = os.path.join(PACKAGING, "prometheus.yml")
FEDERATION_CONFIG = os.path.join(PACKAGING, "prometheus-federation.yml")
ALERTS = os.path.join(PACKAGING, "tmpguard-alerts.yml")
ALERTS_TEST = os.path.join(REPO, "tests", "prometheus", "alerts.test.yml")
PROMETHEUS = shutil.which("prometheus", path=ENV["PATH"])
PROMTOOL = shutil.which("promtool", path=ENV["PATH"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WAIT = 60  # seconds: the bound on every wait for something to happen
CREATES = 5  # files the shell makes: each is nonexclusive-create (high) + loose-mode (medium)

# No proxy from the environment may stand between the test and 127.0.0.1.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], v)


def parse_exposition(text):
    """{(name, ((label, value), ...)): float} of a text exposition; asserts its grammar."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        labels, pos, body = {}, 0, m.group(2) or ""
        while pos < len(body):
            lm = LABEL_RE.match(body, pos)
            if not lm:
                raise AssertionError("bad labels in %r" % line)
            labels[lm.group(1)] = unescape(lm.group(2))
            pos = lm.end()
        key = (m.group(1), tuple(sorted(labels.items())))
        if key in samples:
            raise AssertionError("sample twice: %r" % line)
        samples[key] = float(m.group(3))
    return samples


def sample(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def family(samples, name):
    """[(labels dict, value)] of one metric name."""
    return [(dict(k[1]), v) for k, v in samples.items() if k[0] == name]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, method="GET", data=None):
    """(status, headers, body bytes); never raises on an HTTP status."""
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with HTTP.open(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class MetricsCase(TgTestCase):
    """Starts scoped tmpguards and Prometheus servers; stops them all in tearDown."""

    def setUp(self):
        super().setUp()
        self.procs = []
        self.work = self.private_dir()

    def tearDown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        t = getattr(self, "tg_err_thread", None)
        if t:
            t.join(WAIT)
        for p in self.procs:
            for pipe in (p.stdout, p.stderr):
                if pipe:
                    pipe.close()
        super().tearDown()

    def wait_for(self, what, fn, timeout=WAIT):
        """Polls fn until it returns something true; fails naming what and the last value."""
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.2)
        self.fail("%s: not within %d s (last: %r)" % (what, timeout, last))

    # -- the workload --------------------------------------------------------------------

    def start_shell(self):
        """A shell that makes CREATES files in /tmp once self.go exists: returns it and the
        paths it will write."""
        base = self.name("/tmp", "metrics")
        self.go = self.name(self.work, "go")
        paths = [self.track("%s-%d" % (base, i)) for i in range(1, CREATES + 1)]
        script = ('while [ ! -e "$2" ]; do sleep 0.05; done; '
                  'for i in $(seq 1 %d); do echo x > "$1-$i"; done' % CREATES)
        sh = subprocess.Popen([BASH, "-c", script, "bash", base, self.go], env=ENV,
                              umask=UMASK)
        self.procs.append(sh)
        return sh, base, paths

    def make_findings(self, sh):
        open(self.go, "w").close()
        self.assertEqual(sh.wait(timeout=WAIT), 0)

    # -- tmpguard ------------------------------------------------------------------------

    def start_tmpguard(self, pid, extra=()):
        """tmpguard audit --pid PID --metrics-addr 127.0.0.1:<free port>, JSON to a file."""
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/metrics" % self.port
        self.out = os.path.join(self.work, "findings.json")
        tg, err = self.start_audit(["--pid", str(pid), "--format", "json", "--output",
                                    self.out, "--metrics-addr", "127.0.0.1:%d" % self.port]
                                   + list(extra))
        self.procs.append(tg)
        self.assertIn(("tmpguard: serving metrics on %s" % self.url).encode(), err)
        # Keep reading stderr, so that a full pipe never stalls tmpguard.
        self.tg_err = [err]
        t = threading.Thread(target=lambda: self.tg_err.append(tg.stderr.read()), daemon=True)
        t.start()
        self.tg_err_thread = t
        return tg

    def stop_tmpguard(self, tg):
        """SIGINT; returns the JSON records tmpguard wrote."""
        tg.send_signal(signal.SIGINT)
        rc = tg.wait(timeout=WAIT)
        self.tg_err_thread.join(WAIT)
        err = b"".join(self.tg_err)
        self.assertEqual(rc, 0, err.decode(errors="replace")[-3000:])
        with open(self.out, "rb") as fh:
            data = fh.read()
        res = live.Result(rc, data, err, 0, time.time() + 5)
        return self.parse_json(res, data), res

    def scrape(self):
        status, headers, body = http(self.url)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], CONTENT_TYPE)
        return body.decode("utf-8")

    def promtool_check_metrics(self, text):
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, env=ENV, timeout=WAIT)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, b""),
                         "promtool check metrics found problems in:\n" + text)


# ------------------------------------------------------------------------------------------


class Endpoint(MetricsCase):
    def test_counters_follow_what_happened(self):
        sh, base, paths = self.start_shell()
        t0 = time.time()
        tg = self.start_tmpguard(sh.pid, ["--bpf-stats"])

        # Before any finding: every rule x severity is there, at 0.
        text = self.scrape()
        self.promtool_check_metrics(text)
        m = parse_exposition(text)
        self.assertEqual(sample(m, "tmpguard_findings_total", rule="nonexclusive-create",
                                severity="high"), 0)
        self.assertEqual(len(family(m, "tmpguard_findings_total")), 7 * 4)
        self.assertEqual(sum(v for _, v in family(m, "tmpguard_findings_total")), 0)

        self.make_findings(sh)

        def all_counted():
            t = self.scrape()
            n = sample(parse_exposition(t), "tmpguard_findings_total", rule="loose-mode",
                       severity="medium")
            return t if n == CREATES else None

        text = self.wait_for("tmpguard_findings_total for %d creates" % CREATES, all_counted)
        self.promtool_check_metrics(text)
        m = parse_exposition(text)

        # Exactly what the shell did: --pid scopes tmpguard to it.
        self.assertEqual(sample(m, "tmpguard_findings_total", rule="nonexclusive-create",
                                severity="high"), CREATES, text)
        self.assertEqual(sample(m, "tmpguard_findings_total", rule="loose-mode",
                                severity="medium"), CREATES, text)
        self.assertEqual(sum(v for _, v in family(m, "tmpguard_findings_total")), 2 * CREATES,
                         text)
        sent = sample(m, "tmpguard_records_sent_total")
        self.assertGreaterEqual(sent, CREATES, text)
        self.assertEqual(sample(m, "tmpguard_records_received_total"), sent, text)
        self.assertEqual(sample(m, "tmpguard_records_lost_total"), 0, text)
        self.assertGreaterEqual(sample(m, "tmpguard_events_seen_total", kind="create"), CREATES)
        self.assertEqual(sample(m, "tmpguard_findings_excepted_total"), 0, text)
        self.assertEqual(sample(m, "tmpguard_policy_reloads_total"), 0, text)
        for action in ("denied", "killed", "would-deny"):
            self.assertEqual(sample(m, "tmpguard_enforcement_actions_total", action=action), 0)

        # The process: version, scope, start time, ring buffer.
        version = subprocess.run([TMPGUARD, "version"], capture_output=True, env=ENV,
                                 timeout=WAIT).stdout.decode().split()[1]
        self.assertEqual(sample(m, "tmpguard_info", version=version, enforcement="off",
                                scope="process-tree"), 1, text)
        self.assertTrue(t0 - 5 <= sample(m, "tmpguard_start_time_seconds") <= time.time(), text)
        self.assertEqual(sample(m, "tmpguard_ringbuf_size_bytes"), 4 << 20, text)

        # --bpf-stats: run time measured, in seconds, for the program every create went
        # through; the run count covers at least our creates.
        self.assertEqual(sample(m, "tmpguard_bpf_run_time_stats_enabled"), 1, text)
        prog = dict(program="tracepoint__syscalls__sys_exit_openat",
                    hook="tracepoint/syscalls/sys_exit_openat")
        run_s = sample(m, "tmpguard_bpf_program_run_seconds_total", **prog)
        runs = sample(m, "tmpguard_bpf_program_runs_total", **prog)
        self.assertGreater(run_s, 0, text)
        self.assertGreaterEqual(runs, CREATES, text)
        # Seconds, not nanoseconds: well under a millisecond a run on average.
        self.assertLess(run_s / runs, 1e-3, text)
        hooks = {lab["hook"] for lab, _ in family(m, "tmpguard_bpf_program_runs_total")}
        self.assertIn("tracepoint/syscalls/sys_enter_openat", hooks)

        # What tmpguard printed and summarised agrees with what it served.
        records, _ = self.stop_tmpguard(tg)
        summary = records[-1]
        printed = [f for f in records if f.get("type") == "finding"]
        self.assertTrue(all(f["path"] in paths for f in printed), printed)
        self.assertEqual(len(printed) + sample(m, "tmpguard_findings_repeats_not_printed_total")
                         + sample(m, "tmpguard_findings_over_budget_total"), 2 * CREATES)
        self.assertEqual(summary["events"]["over_budget"],
                         sample(m, "tmpguard_findings_over_budget_total"))
        self.assertEqual(summary["events"]["repeats_not_printed"],
                         sample(m, "tmpguard_findings_repeats_not_printed_total"))
        self.assertEqual(summary["by_rule"]["nonexclusive-create"], CREATES)
        self.assertEqual(summary["by_rule"]["loose-mode"], CREATES)
        self.assertEqual(summary["events"]["sent"], sent)
        self.assertEqual(summary["events"]["received"], sent)

    def test_http(self):
        sh, _, _ = self.start_shell()
        self.start_tmpguard(sh.pid)
        root = "http://127.0.0.1:%d" % self.port
        status, headers, body = http(root + "/metrics")
        self.assertEqual((status, headers["Content-Type"]), (200, CONTENT_TYPE))
        self.assertIn(b"\n# TYPE tmpguard_findings_total counter\n", body)
        status, headers, body = http(root + "/metrics", method="HEAD")
        self.assertEqual((status, headers["Content-Type"], body), (200, CONTENT_TYPE, b""))
        for path in ("/", "/metric", "/metrics/", "/federate"):
            self.assertEqual(http(root + path)[0], 404, path)
        for method in ("POST", "PUT", "DELETE"):
            status, headers, _ = http(root + "/metrics", method=method, data=b"x=1")
            self.assertEqual(status, 405, method)
            self.assertEqual(headers["Allow"], "GET, HEAD")
        # The endpoint still answers after the refusals.
        self.assertEqual(http(root + "/metrics")[0], 200)
        # Without --bpf-stats the gauge is the sysctl's own setting.
        with open("/proc/sys/kernel/bpf_stats_enabled") as fh:
            sysctl = int(fh.read())
        m = parse_exposition(self.scrape())
        self.assertEqual(sample(m, "tmpguard_bpf_run_time_stats_enabled"), min(sysctl, 1))

    def test_one_user_cannot_hold_every_connection(self):
        # nobody opens 16 connections and keeps them alive, a header line every 4 s (the
        # idle timeout is 10 s): the 5th and later are refused at once, and the scraper, another
        # user, is served while they are held.
        sh, _, _ = self.start_shell()
        tg = self.start_tmpguard(sh.pid)
        script = (
            "import socket, sys, time\n"
            "port = int(sys.argv[1])\n"
            "held, closed = [], 0\n"
            "for i in range(16):\n"
            "    s = socket.create_connection(('127.0.0.1', port))\n"
            "    s.sendall(b'GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n')\n"
            "    held.append(s)\n"
            "time.sleep(1)\n"
            "for s in held:\n"
            "    s.setblocking(False)\n"
            "    try:\n"
            "        closed += s.recv(1) == b''\n"
            "    except BlockingIOError:\n"
            "        pass\n"
            "    except OSError:\n"
            "        closed += 1\n"
            "print(closed, flush=True)\n"
            "for _ in range(3):\n"
            "    time.sleep(4)\n"
            "    for s in held:\n"
            "        try:\n"
            "            s.sendall(b'X-Slow: 1\\r\\n')\n"
            "        except OSError:\n"
            "            pass\n")
        hog = subprocess.Popen([PYTHON, "-c", script, str(self.port)], stdout=subprocess.PIPE,
                               user=live.NOBODY, group=live.NOBODY, extra_groups=[], cwd="/",
                               env=ENV)
        self.procs.append(hog)
        self.assertEqual(int(hog.stdout.readline()), 12, "nobody's 5th to 16th connections")
        for _ in range(3):
            self.assertIn("tmpguard_findings_total", self.scrape())
            time.sleep(2)
        self.assertEqual(hog.wait(timeout=30), 0)
        _, res = self.stop_tmpguard(tg)
        self.assertIn(b"metrics: refused a connection of uid %d, which holds 4 already"
                      % live.NOBODY, res.err)

    def test_port_in_use_stops_start_up(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            addr = "127.0.0.1:%d" % s.getsockname()[1]
            res = self.tg(["audit", "--metrics-addr", addr, "--duration", "30"], parse=False)
        self.assertEqual(res.rc, 1, res.describe())
        self.assertIn(("tmpguard: cannot listen on %s (--metrics-addr): Address already in use"
                       % addr).encode(), res.err)
        self.assertNotIn(b"auditing", res.err)

    def test_address_not_on_this_host_stops_start_up(self):
        res = self.tg(["audit", "--metrics-addr", "192.0.2.1:9464", "--duration", "30"],
                      parse=False)  # TEST-NET-1: never a local address
        self.assertEqual(res.rc, 1, res.describe())
        self.assertIn(b"cannot listen on 192.0.2.1:9464 (--metrics-addr): Cannot assign "
                      b"requested address", res.err)

    def test_bad_address_is_usage_error(self):
        for addr in ("localhost:9464", "127.0.0.1", "::1:9464", "127.0.0.1:0"):
            res = self.tg(["audit", "--metrics-addr", addr], parse=False)
            self.assertEqual(res.rc, 2, res.describe())
            self.assertIn(b"invalid --metrics-addr '" + addr.encode() + b"'", res.err)

    def test_ipv6_loopback(self):
        if not socket.has_ipv6 or not os.path.exists("/proc/net/if_inet6"):
            self.skipTest("no IPv6 on this host (booted with ipv6.disable=1, or no IPv6 stack)")
        sh, _, _ = self.start_shell()
        port = free_port()
        tg, err = self.start_audit(["--pid", str(sh.pid), "--output",
                                    os.path.join(self.work, "out.txt"),
                                    "--metrics-addr", "[::1]:%d" % port])
        self.procs.append(tg)
        self.assertIn(b"serving metrics on http://[::1]:%d/metrics" % port, err)
        status, _, body = http("http://[::1]:%d/metrics" % port)
        self.assertEqual(status, 200)
        self.assertIn(b"tmpguard_info{", body)
        # Bound to exactly what was given: not the IPv4 loopback.
        with socket.socket() as s:
            self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0)

    def test_run_serves_metrics_to_its_command(self):
        """`run` has the options too: COMMAND makes a finding and reads it back."""
        port = free_port()
        path = self.name("/tmp", "run-metrics")
        seen = os.path.join(self.work, "seen.txt")
        script = r"""
import sys, time, urllib.request
open(sys.argv[1], "w").close()  # O_CREAT|O_TRUNC without O_EXCL, in /tmp
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
want = 'tmpguard_findings_total{rule="nonexclusive-create",severity="high"} 1\n'
deadline = time.time() + 30
while time.time() < deadline:
    text = opener.open(sys.argv[2], timeout=10).read().decode()
    if want in text:
        open(sys.argv[3], "w").write(text)
        sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
"""
        res = self.tg(["run", "--format", "json", "--output", os.path.join(self.work, "o.json"),
                       "--metrics-addr", "127.0.0.1:%d" % port, "--", PYTHON, "-c", script,
                       path, "http://127.0.0.1:%d/metrics" % port, seen], parse=False)
        self.assertEqual(res.rc, 0, res.describe())
        with open(seen) as fh:
            m = parse_exposition(fh.read())
        self.assertEqual(sample(m, "tmpguard_findings_total", rule="nonexclusive-create",
                                severity="high"), 1)
        self.assertEqual(len([k for k in m if k[0] == "tmpguard_info"
                              and ("scope", "process-tree") in k[1]]), 1)


class ShippedConfig(MetricsCase):
    """packaging/: what promtool says of the configuration and rules a fleet would copy."""

    def promtool(self, *args):
        p = subprocess.run([PROMTOOL] + list(args), capture_output=True, env=ENV,
                           timeout=WAIT, cwd=self.work)
        self.assertEqual(p.returncode, 0, (p.stdout + p.stderr).decode(errors="replace"))
        return (p.stdout + p.stderr).decode()

    def test_scrape_config(self):
        out = self.promtool("check", "config", "--lint=all", "--lint-fatal", SCRAPE_CONFIG)
        self.assertIn("SUCCESS: 1 rule files found", out)

    def test_federation_config(self):
        self.promtool("check", "config", "--lint=all", "--lint-fatal", FEDERATION_CONFIG)

    def test_alert_rules(self):
        out = self.promtool("check", "rules", "--lint=all", "--lint-fatal", ALERTS)
        self.assertIn("SUCCESS: 5 rules found", out)

    def test_alert_rules_unit_tests(self):
        self.assertIn("SUCCESS", self.promtool("test", "rules", ALERTS_TEST))


class PrometheusServer(MetricsCase):
    """A real Prometheus runs packaging/prometheus.yml (targets and intervals rewritten)
    against a live tmpguard, evaluates packaging/tmpguard-alerts.yml, and a second one
    federates from it with packaging/prometheus-federation.yml."""

    def start_prometheus(self, config, name):
        """Writes config (a dict) and starts Prometheus on it; returns its base URL once
        ready."""
        d = os.path.join(self.work, name)
        os.makedirs(os.path.join(d, "data"))
        path = os.path.join(d, "prometheus.yml")
        with open(path, "w") as fh:
            yaml.safe_dump(config, fh, sort_keys=False)
        check = subprocess.run([PROMTOOL, "check", "config", path], capture_output=True,
                               env=ENV, timeout=WAIT)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        port = free_port()
        log = open(os.path.join(d, "log"), "wb")
        self.addCleanup(log.close)
        p = subprocess.Popen([PROMETHEUS, "--config.file=" + path,
                              "--storage.tsdb.path=" + os.path.join(d, "data"),
                              "--web.listen-address=127.0.0.1:%d" % port],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             env=ENV, cwd=d)
        self.procs.append(p)
        base = "http://127.0.0.1:%d" % port

        def ready():
            if p.poll() is not None:
                with open(os.path.join(d, "log"), "rb") as fh:
                    self.fail("prometheus exited (%d): %s" % (p.returncode, fh.read()[-3000:]))
            try:
                return http(base + "/-/ready")[0] == 200
            except OSError:
                return False

        self.wait_for("prometheus %s ready" % name, ready)
        return base

    def query(self, base, q):
        status, _, body = http(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        self.assertEqual(status, 200, body)
        r = json.loads(body)
        self.assertEqual(r["status"], "success", r)
        return [(x["metric"], float(x["value"][1])) for x in r["data"]["result"]]

    def test_scrape_alert_and_federate(self):
        sh, _, _ = self.start_shell()
        self.start_tmpguard(sh.pid, ["--bpf-stats"])
        target = "127.0.0.1:%d" % self.port

        # The shipped configuration, pointed at this tmpguard: the static target, and the
        # same endpoint again through file_sd with a label of its own.
        with open(SCRAPE_CONFIG) as fh:
            cfg = yaml.safe_load(fh)
        cfg["global"]["scrape_interval"] = cfg["global"]["evaluation_interval"] = "1s"
        cfg["rule_files"] = [ALERTS]
        job = cfg["scrape_configs"][0]
        self.assertEqual(job["job_name"], "tmpguard")
        job["scrape_timeout"] = "1s"
        job["static_configs"][0]["targets"] = [target]
        sd = os.path.join(self.work, "sd")
        os.makedirs(sd)
        with open(os.path.join(sd, "local.yml"), "w") as fh:
            yaml.safe_dump([{"targets": [target], "labels": {"via": "file_sd"}}], fh)
        job["file_sd_configs"][0]["files"] = [os.path.join(sd, "*.yml")]
        site = self.start_prometheus(cfg, "site")

        high = 'tmpguard_findings_total{rule="nonexclusive-create",severity="high"}'

        def query_until(base, q, want):
            """The result of q once it has 2 series (one per target), each valued want."""
            def fn():
                r = self.query(base, q)
                return r if len(r) == 2 and all(v == want for _, v in r) else None
            return self.wait_for("%s == %s on both targets" % (q, want), fn)

        query_until(site, 'up{job="tmpguard"}', 1)
        # The zeros are scraped before the first finding: increase() will see it.
        r = query_until(site, high, 0)
        self.assertEqual({x["instance"] for x, _ in r}, {target})
        self.assertEqual(sorted(x.get("via", "") for x, _ in r), ["", "file_sd"])
        self.assertTrue(all(x["env"] == "ci" for x, _ in r if "via" not in x), r)

        self.make_findings(sh)
        query_until(site, high, CREATES)
        run = self.query(site, 'tmpguard_bpf_program_run_seconds_total{hook='
                               '"tracepoint/syscalls/sys_exit_openat"}')
        self.assertEqual(len(run), 2, run)
        self.assertTrue(all(v > 0 for _, v in run), run)

        # The shipped alert fires for this host and rule, and no other alert does.
        def alerts():
            status, _, body = http(site + "/api/v1/alerts")
            self.assertEqual(status, 200)
            return json.loads(body)["data"]["alerts"]

        firing = self.wait_for("TmpguardInsecureTempFile firing", lambda: [
            a for a in alerts() if a["labels"]["alertname"] == "TmpguardInsecureTempFile"
            and a["state"] == "firing"])
        self.assertEqual({(a["labels"]["rule"], a["labels"]["severity"], a["labels"]["instance"])
                          for a in firing}, {("nonexclusive-create", "high", target)})
        self.assertEqual({a["labels"]["alertname"] for a in alerts()},
                         {"TmpguardInsecureTempFile"})

        # A global Prometheus federates tmpguard's series from the site one, labels kept.
        with open(FEDERATION_CONFIG) as fh:
            fed = yaml.safe_load(fh)
        fed["global"]["scrape_interval"] = fed["global"]["evaluation_interval"] = "1s"
        fed["scrape_configs"][0]["static_configs"][0]["targets"] = [site.split("//")[1]]
        glob = self.start_prometheus(fed, "global")
        r = query_until(glob, high, CREATES)
        self.assertEqual({(x["job"], x["instance"]) for x, _ in r}, {("tmpguard", target)})
        self.assertEqual(self.query(glob, 'count(up{job="tmpguard"})'), [({}, 2.0)])


def main():
    rc = live.preflight('test_metrics')
    if rc is not None:
        return rc
    missing = [n for n, ok in (("prometheus", PROMETHEUS), ("promtool", PROMTOOL),
                               ("python3-yaml", yaml)) if not ok]
    if missing:
        # CI installs them (.ci/setup --tests): there a missing one is a broken setup.
        why = "%s not installed (apt-get install prometheus python3-yaml)" % ", ".join(missing)
        if live.CI:
            print("test_metrics: failed: %s" % why, file=sys.stderr)
            return 1
        return live.skip_all("test_metrics", why)
    return live.run_tests(__name__, "test_metrics")


if __name__ == "__main__":
    sys.exit(main())
