#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""packaging/kubernetes/daemonset.yaml, checked without a cluster.

    TMPGUARD=build/tmpguard PYTHONPATH=tests/lib /usr/bin/python3 tests/container/test_manifest.py

No cluster here, and no kubeconform in Debian 12: the manifest is checked against the
Kubernetes API's types as the official Python client (Debian's python3-kubernetes, API 1.22)
describes them: every field name known, every value of its type, the required ones present (the
client's models refuse a missing one). Then what tmpguard relies on: the ConfigMap is the image's
own configuration (packaging/container/tmpguard.yaml) and `tmpguard daemon --check` accepts it;
the DaemonSet runs the image's command with the host's PID namespace and network, privileged, on
every node (a toleration for every taint), with the host's /var/lib/tmpguard, /etc/machine-id
and /sys/kernel/tracing, and probes on the address the configuration serves metrics on.

Exit 77 (skipped) without python3-kubernetes or PyYAML; under CI=true that fails
(.ci/setup --tests installs them).
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest

from tmpguard_test import CI, TMPGUARD, finish

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MANIFEST = os.path.join(SRC, "packaging", "kubernetes", "daemonset.yaml")
CONFIG = os.path.join(SRC, "packaging", "container", "tmpguard.yaml")
CONTAINERFILE = os.path.join(SRC, "packaging", "container", "Containerfile")

try:
    import yaml
    import kubernetes.client as k8s
except ImportError as e:
    yaml = k8s = None
    IMPORT_ERROR = str(e)


def schema_errors(value, typename, where):
    """Where VALUE does not fit the client's type TYPENAME: unknown fields, wrong types."""
    if value is None:
        return []
    m = re.fullmatch(r"list\[(.+)\]", typename)
    if m:
        if not isinstance(value, list):
            return ["%s: a list expected" % where]
        return [e for i, v in enumerate(value) for e in schema_errors(v, m.group(1),
                                                                    "%s[%d]" % (where, i))]
    m = re.fullmatch(r"dict\(str, (.+)\)", typename)
    if m:
        if not isinstance(value, dict):
            return ["%s: a mapping expected" % where]
        return [e for k, v in value.items() for e in schema_errors(v, m.group(1),
                                                                 "%s.%s" % (where, k))]
    simple = {"str": str, "bool": bool, "float": (int, float), "datetime": str}
    if typename == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else ["%s: an integer expected, not %r" % (where, value)]
    if typename in simple:
        ok = isinstance(value, simple[typename])
        return [] if ok else ["%s: %s expected, not %r" % (where, typename, value)]
    if typename == "object":  # IntOrString, Quantity, ...
        return []
    model = getattr(k8s, typename)
    if not isinstance(value, dict):
        return ["%s: a %s mapping expected" % (where, typename)]
    by_json = {j: attr for attr, j in model.attribute_map.items()}
    errors = []
    for key, v in value.items():
        if key not in by_json:
            errors.append("%s: %s has no field %r" % (where, typename, key))
            continue
        errors += schema_errors(v, model.openapi_types[by_json[key]], "%s.%s" % (where, key))
    return errors


class Manifest(unittest.TestCase):
    def setUp(self):
        if k8s is None:
            why = "python3-kubernetes or PyYAML missing (%s)" % IMPORT_ERROR
            if CI:
                self.fail(why + "; CI=true: .ci/setup --tests installs it")
            self.skipTest(why)
        with open(MANIFEST) as fh:
            self.docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        self.by_kind = {d["kind"]: d for d in self.docs}
        self.ds = self.by_kind["DaemonSet"]
        self.pod = self.ds["spec"]["template"]["spec"]
        self.ctr = self.pod["containers"][0]

    def test_api_types(self):
        types = {("v1", "Namespace"): "V1Namespace", ("v1", "ConfigMap"): "V1ConfigMap",
                 ("apps/v1", "DaemonSet"): "V1DaemonSet"}
        self.assertEqual(sorted(self.by_kind), ["ConfigMap", "DaemonSet", "Namespace"])
        client = k8s.ApiClient()
        for d in self.docs:
            t = types.get((d.get("apiVersion"), d.get("kind")))
            self.assertIsNotNone(t, "unexpected %s %s" % (d.get("apiVersion"), d.get("kind")))
            self.assertEqual(schema_errors(d, t, d["kind"]), [])
            # The models refuse a required field that is missing (ValueError).
            client._ApiClient__deserialize(d, t)

    def test_names_and_labels(self):
        ns = self.by_kind["Namespace"]["metadata"]["name"]
        for d in self.docs[1:]:
            self.assertEqual(d["metadata"]["namespace"], ns, d["kind"])
        sel = self.ds["spec"]["selector"]["matchLabels"]
        labels = self.ds["spec"]["template"]["metadata"]["labels"]
        self.assertLessEqual(sel.items(), labels.items())
        self.assertEqual(self.by_kind["Namespace"]["metadata"]["labels"]
                         ["pod-security.kubernetes.io/enforce"], "privileged")

    def test_config_is_the_images(self):
        with open(CONFIG) as fh:
            self.assertEqual(self.by_kind["ConfigMap"]["data"]["tmpguard.yaml"], fh.read())
        if not TMPGUARD or not os.access(TMPGUARD, os.X_OK):
            self.skipTest("TMPGUARD is not set: `tmpguard daemon --check` not run")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(self.by_kind["ConfigMap"]["data"]["tmpguard.yaml"])
            f.flush()
            p = subprocess.run([TMPGUARD, "daemon", "--config", f.name, "--check"],
                               capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_runs_the_images_command(self):
        with open(CONTAINERFILE) as fh:
            cmd = re.search(r"^CMD (\[.*\])$", fh.read(), re.M).group(1)
        self.assertEqual(self.ctr["args"], yaml.safe_load(cmd))
        self.assertNotIn("command", self.ctr)  # the image's ENTRYPOINT, /usr/sbin/tmpguard

    def test_host_access(self):
        self.assertIs(self.pod["hostPID"], True)
        self.assertIs(self.pod["hostNetwork"], True)
        self.assertIs(self.ctr["securityContext"]["privileged"], True)
        self.assertIn({"operator": "Exists"}, self.pod["tolerations"])
        volumes = {v["name"]: v for v in self.pod["volumes"]}
        mounts = {m["mountPath"]: m for m in self.ctr["volumeMounts"]}
        for m in mounts.values():
            self.assertIn(m["name"], volumes)
        for path in ("/var/lib/tmpguard", "/etc/machine-id", "/sys/kernel/tracing"):
            self.assertIn(path, mounts)
            self.assertEqual(volumes[mounts[path]["name"]]["hostPath"]["path"], path)
        self.assertIs(mounts["/etc/machine-id"].get("readOnly"), True)
        self.assertEqual(volumes[mounts["/etc/tmpguard"]["name"]]["configMap"]["name"],
                         self.by_kind["ConfigMap"]["metadata"]["name"])
        self.assertIn("memory", self.ctr["resources"]["limits"])

    def test_probes_reach_the_metrics(self):
        config = yaml.safe_load(self.by_kind["ConfigMap"]["data"]["tmpguard.yaml"])
        host, port = config["metrics-addr"].rsplit(":", 1)
        for probe in ("readinessProbe", "livenessProbe"):
            get = self.ctr[probe]["httpGet"]
            self.assertEqual((get["host"], get["port"], get["path"]),
                             (host, int(port), "/metrics"), probe)


if __name__ == "__main__":
    prog = unittest.main(argv=sys.argv, exit=False, verbosity=2)
    sys.exit(finish(prog.result, "test_manifest"))
