#!/usr/bin/env python3
"""A real Prometheus scrapes nfgate (kernel path) in a network namespace this test creates.

  prometheus_test.py NFGATE NFGATECTL CONFIGS_DIR

nfgate serves /metrics on the namespace's loopback; Debian's prometheus scrapes it every second;
the test asks Prometheus's query API for nfgate's series and checks they say what the daemon
did (one Service, two ready endpoints, one successful reload). Root and prometheus needed (exit
77, meson's "skipped", without them: ./nfgate.sh installs prometheus).
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

from daemon_cli_test import SKIP, Failure, Netns, expect, run, stop_processes, verdict

METRICS = "127.0.0.1:19617"
PROM = "127.0.0.1:19090"


def query(ns, expr):
    """Runs an instant query inside the namespace; returns the result list or None."""
    url = "http://%s/api/v1/query?query=%s" % (PROM, urllib.parse.quote(expr))
    code = "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(%r, timeout=2).read().decode())" % url
    r = run(["ip", "netns", "exec", ns, "python3", "-c", code])
    if r.returncode != 0:
        return None
    answer = json.loads(r.stdout)
    return answer["data"]["result"] if answer.get("status") == "success" else None


def wait_value(ns, expr, want, timeout=30):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = query(ns, expr)
        if last and float(last[0]["value"][1]) == want:
            return
        time.sleep(0.5)
    raise Failure("Prometheus query %s: want %s, last answer %s" % (expr, want, last))


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    nfgate, nfgatectl, configs = sys.argv[1:]
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("prometheus") is None:
        print("skipped: needs root, ip and prometheus (Debian package prometheus)")
        return SKIP
    with Netns("nfgprom") as lab:
        ns, tmp = lab.name, lab.tmp
        prom = []

        lab.cleanups.append(lambda: stop_processes(prom))

        def body():
            config = os.path.join(tmp, "config")
            shutil.copytree(os.path.join(configs, "demo"), config)
            gw = os.path.join(config, "gateway-kernel.yaml")
            daemon = lab.daemon(nfgate, gw, ["--metrics-address", METRICS])
            expect(daemon.next_line(30) == "nfgate: ready", "nfgate starts: %r" % daemon.lines)
            sock = os.path.join(config, "nfgate.sock")
            with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
                f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                        "scrape_configs:\n"
                        "- job_name: nfgate\n"
                        "  static_configs: [{targets: ['%s']}]\n" % METRICS)
            prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
            prom.append(subprocess.Popen(["ip", "netns", "exec", ns, "prometheus",
                                          "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                                          "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                                          "--web.listen-address=" + PROM], stdout=prom_log, stderr=subprocess.STDOUT))
            wait_value(ns, 'up{job="nfgate"}', 1)
            wait_value(ns, "nfgate_services", 1)
            wait_value(ns, 'nfgate_endpoints{ready="true"}', 2)
            wait_value(ns, 'nfgate_build_info{dataplane="kernel"}', 1)
            wait_value(ns, "nfgate_sync_duration_seconds_count", 1)
            r = run([nfgatectl, "--socket", sock, "reload"])
            expect(r.returncode == 0, "reload: " + r.stderr)
            wait_value(ns, 'nfgate_config_reloads_total{result="success"}', 1)
            wait_value(ns, "nfgate_sync_duration_seconds_count", 2)
            r = run([nfgatectl, "--socket", sock, "-o", "json", "counters"])
            expect(r.returncode == 0 and "flow_capacity" in json.loads(r.stdout), "counters: %r %r" % (r.stdout, r.stderr))
            expect(daemon.stop() == 0, "nfgate stops cleanly")

        return verdict(body)

if __name__ == "__main__":
    sys.exit(main())
