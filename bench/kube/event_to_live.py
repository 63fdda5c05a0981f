#!/usr/bin/env python3
"""Event to live at cluster scale: nfgate following the API-server stand-in with SERVICES Services
x ENDPOINTS endpoints (kernel path by default), then EVENTS endpoint changes, one at a time, each
given time to be applied before the next. Reported: median, p90, p99 and max of each apply's time
from the change taken from the API client to the data path having applied it (nfgate -v logs it
per apply; its histogram `nfgate_kubernetes_change_to_live_seconds` holds the same figures), and
of the apply itself (model assembled, data path written), and how many applies were incremental.

  sudo bench/kube/event_to_live.py NFGATE [--services 10000] [--endpoints 10] [--events 1000]
        [--gap-ms 100] [--min-sync 0s] [--nfgatectl NFGATECTL (fast path over net_null)] [--log FILE]

Never fails on a number; exit 77 without root/openssl. The events are not written to the stand-in's
state file (it would rewrite the whole cluster per event).
"""
import argparse
import json
import os
import re
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "control"))
import kube_follow_test as kf  # noqa: E402  (the stand-in driver, PKI and metrics readers)
from daemon_cli_test import Failure, Netns  # noqa: E402


def histogram(ns, name):
    code = ("import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://%s/metrics', timeout=5)"
            ".read().decode())" % kf.METRICS)
    buckets, total = [], 0.0
    for line in kf.run(["ip", "netns", "exec", ns, sys.executable, "-c", code]).stdout.splitlines():
        if line.startswith(name + '_bucket{le="'):
            le = line.split('"')[1]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
        elif line.startswith(name + "_sum "):
            total = float(line.rsplit(" ", 1)[1])
    return buckets, total


def quantiles(before, after, qs=(0.5, 0.9, 0.99)):
    """Bucket bounds holding each quantile of the observations made between two scrapes."""
    delta = [(le, a - b) for (le, a), (_, b) in zip(after[0], before[0])]
    count = delta[-1][1] if delta else 0
    out = {}
    for q in qs:
        out[q] = next((le for le, c in delta if c >= q * count), None)
    return count, (after[1] - before[1]) / count if count else None, out


APPLIED = re.compile(r"kubernetes: applied \((incremental|whole cluster)\) in ([0-9.]+) ms(?:, ([0-9.]+) ms after the change)?")


def spread(values):
    """Median, p90, p99 and max of a list of milliseconds."""
    if not values:
        return "none"
    v = sorted(values)
    at = lambda q: v[min(len(v) - 1, int(q * len(v)))]
    return "median %.1f, p90 %.1f, p99 %.1f, max %.1f" % (at(0.5), at(0.9), at(0.99), v[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("nfgate")
    p.add_argument("--services", type=int, default=10000)
    p.add_argument("--endpoints", type=int, default=10)
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--gap-ms", type=int, default=100)
    p.add_argument("--min-sync", default="0s")
    p.add_argument("--nfgatectl", help="fast path (net_null ports) instead of the kernel path")
    p.add_argument("--log", help="keep nfgate's log (-v) in this file")
    a = p.parse_args()
    if os.geteuid() != 0 or not shutil.which("openssl"):
        print("skipped: needs root and openssl")
        return 77
    kf.NFGATECTL = a.nfgatectl
    # A SIGTERM (timeout, Ctrl-C from a runner) still leaves through the `with`: namespace removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with Netns("nfgk2l") as lab:
        ns, tmp = lab.name, lab.tmp
        kf.make_pki(tmp)
        with open(tmp + "/token", "w") as f:
            f.write(kf.TOKEN + "\n")
        with open(tmp + "/kubeconfig", "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
                    "contexts: [{name: lab, context: {cluster: lab, user: gw}}]\n"
                    "clusters: [{name: lab, cluster: {server: 'https://127.0.0.1:%d', certificate-authority: ca.crt}}]\n"
                    "users: [{name: gw, user: {tokenFile: token}}]\n" % kf.PORT)
        # The cluster written straight into the stand-in's state file.
        services, slices = {}, {}
        for i in range(a.services):
            name = "svc%d" % i
            ip = "10.96.%d.%d" % (i // 250, 1 + i % 250)
            services["shop/" + name] = kf.service(name, ip)
            sl = kf.endpoint_slice(name + "-1", name, "10.244.0.1")
            sl["endpoints"] = [{"addresses": ["10.244.%d.%d" % (1 + (i * a.endpoints + e) // 250 % 250,
                                                               1 + (i * a.endpoints + e) % 250)],
                                "conditions": {"ready": True}} for e in range(a.endpoints)]
            slices["shop/" + name + "-1"] = sl
        with open(tmp + "/state.json", "w") as f:
            json.dump({"rv": 2, "oldest": 1, "objects": {"services": services, "endpointslices": slices},
                       "events": []}, f)
        dataplane = "dataplane: kernel\n"
        if a.nfgatectl:
            dataplane = ("dataplane: dpdk\neal: [--no-huge, -m, \"512\", --no-pci, -l, \"0-1\", --file-prefix, "
                         "\"nfgk2l%d\", --vdev=net_null0, --vdev=net_null1, --log-level=*:error]\nworkers: 1\n"
                         "interfaces:\n  - {name: ext, device: net_null0, address: 192.0.2.1/24}\n"
                         "  - {name: pods, device: net_null1, address: 10.244.0.1/16}\n" % os.getpid())
        with open(tmp + "/gateway.yaml", "w") as f:
            f.write(dataplane + "nodeAddresses: [192.0.2.1]\nclusterCIDRs: [10.244.0.0/16]\n"
                    "serviceCIDRs: [10.96.0.0/12]\nconntrack: {maxFlows: 65536}\n"
                    "control: {metricsAddress: \"%s\"}\n"
                    "kubernetes:\n  kubeconfig: kubeconfig\n  minSyncPeriod: %s\n" % (kf.METRICS, a.min_sync))
        kf.SOCKET = tmp + "/nfgate.sock"
        stub = kf.Stub(ns, tmp, page=500)  # each request is a line on its stdout: few pages
        lab.cleanups.append(stub.stop)
        stub.start()
        t0 = time.monotonic()
        d = lab.daemon(a.nfgate, tmp + "/gateway.yaml", ["-v"], stderr=open(tmp + "/nfgate.log", "w"))
        if d.next_line(120) != "nfgate: ready":
            print("nfgate did not start:\n" + open(tmp + "/nfgate.log").read()[-2000:])
            return 1
        kf.DEBUG = lambda: "\nnfgate's log:\n" + open(tmp + "/nfgate.log").read()[-3000:]
        last = "10.96.%d.%d" % ((a.services - 1) // 250, 1 + (a.services - 1) % 250)
        kf.wait_for("the whole cluster is served", lambda: kf.has(ns, last), 120)
        print("%d Services x %d endpoints listed and served in %.1f s" % (a.services, a.endpoints, time.monotonic() - t0))
        live0 = histogram(ns, "nfgate_kubernetes_change_to_live_seconds")
        log_at = os.path.getsize(tmp + "/nfgate.log")
        start = time.monotonic()
        for k in range(a.events):
            i = (k * 7919) % a.services
            sl = kf.endpoint_slice("svc%d-1" % i, "svc%d" % i, "10.244.0.1")
            sl["endpoints"] = [{"addresses": ["10.244.250.%d" % (1 + (k + e) % 250)], "conditions": {"ready": True}}
                               for e in range(a.endpoints)]
            stub.command(op="put", resource="endpointslices", object=sl, save=False)
            time.sleep(max(0.0, start + (k + 1) * a.gap_ms / 1000 - time.monotonic()))
        time.sleep(1.0)
        n, _, q = quantiles(live0, histogram(ns, "nfgate_kubernetes_change_to_live_seconds"))
        with open(tmp + "/nfgate.log") as f:
            f.seek(log_at)
            applies = [APPLIED.search(line) for line in f]
        applies = [m for m in applies if m and m.group(3)]
        path = "fast path" if a.nfgatectl else "kernel path"
        print("%s, %d Services x %d endpoints, %d events %d ms apart, minSyncPeriod %s: %d applies, %d incremental"
              % (path, a.services, a.endpoints, a.events, a.gap_ms, a.min_sync, len(applies),
                 sum(m.group(1) == "incremental" for m in applies)))
        print("  change to live (ms): %s" % spread([float(m.group(3)) for m in applies]))
        print("  of it the apply itself (model assembled, data path written): %s" % spread([float(m.group(2)) for m in applies]))
        fmt = lambda v: "<= %g ms" % (v * 1000) if v is not None else "-"
        print("  nfgate's histogram for the same %d applies: p50 %s, p99 %s" % (n, fmt(q[0.5]), fmt(q[0.99])))
        d.stop()
        if a.log:
            shutil.copy(tmp + "/nfgate.log", a.log)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
