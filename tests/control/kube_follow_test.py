#!/usr/bin/env python3
"""nfgate follows a cluster through the API-server stand-in (kube_api_stub.py), on the kernel
path, or with NFGATECTL on the fast path (net_null ports; what it serves read by nfgatectl).

  kube_follow_test.py NFGATE [NFGATECTL]

In a network namespace this test creates: a CA and a server certificate made with openssl, a
kubeconfig (CA file, token file), the stand-in serving Services and EndpointSlices in pages of
two, nfgate with `kubernetes.kubeconfig` and a manifest of its own. Checked on the nftables
ruleset and /metrics: the paged list is served with the file's Service, watch events add,
change and delete VIPs, a burst of 1 000 endpoint changes makes a few applies, a re-watch resumes from the last bookmark, a compacted history (410)
makes nfgate list again and drop what was deleted meanwhile, a rotated token file is read
before the next request, a stopped API server leaves the
ruleset as it was and is counted, and a restarted one is followed again. Root, ip, nft and
openssl needed (exit 77, meson's "skipped", without them).
"""
import json
import os
import shutil
import subprocess
import sys
import time

from daemon_cli_test import SKIP, Failure, Netns, expect, nft_table, run, verdict

DEBUG = None  # set by the scenario: what to print with a failure
HERE = os.path.dirname(os.path.abspath(__file__))
PORT = 16443
METRICS = "127.0.0.1:19618"
TOKEN = "t0ken-for-nfgate"


def service(name, ip, port=80):
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                     "ports": [{"name": "http", "protocol": "TCP", "port": port, "targetPort": 8080}]}}


def endpoint_slice(name, svc, ip):
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": name, "namespace": "shop", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}]}


class Stub:
    """The stand-in running in the namespace (ns None: in this one); commands go to its stdin."""

    def __init__(self, ns, tmp, token=TOKEN, page=2, port=PORT):
        self.ns, self.tmp, self.token, self.proc, self.requests = ns, tmp, token, None, []
        self.page = page  # items per list page (nfgate asks for 500)
        self.port = port

    def start(self):
        t = self.tmp
        netns = ["ip", "netns", "exec", self.ns] if self.ns else []
        self.proc = subprocess.Popen(
            netns + [sys.executable, os.path.join(HERE, "kube_api_stub.py"),
                     "--state", t + "/state.json", "--cert", t + "/server.crt", "--key", t + "/server.key",
                     "--token", self.token, "--port", str(self.port), "--page", str(self.page)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        expect(self.read() == "listening", "the stand-in starts")

    def read(self):
        while True:
            line = self.proc.stdout.readline().rstrip("\n")
            if line.startswith("GET "):
                self.requests.append(line[4:])
                continue
            return line

    def command(self, **c):
        self.proc.stdin.write(json.dumps(c) + "\n")
        self.proc.stdin.flush()
        expect(self.read() == "done", "the stand-in took %s" % c["op"])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        # Requests printed before it stopped.
        for line in self.proc.stdout.read().splitlines():
            if line.startswith("GET "):
                self.requests.append(line[4:])

    def drain(self):
        """Requests logged so far (reads what is buffered without blocking on a command)."""
        self.command(op="noop")
        return self.requests


def make_pki(tmp):
    def ossl(*args):
        r = run(["openssl"] + list(args))
        expect(r.returncode == 0, "openssl %s: %s" % (args[0], r.stderr))
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=nfgate-test-ca",
         "-keyout", tmp + "/ca.key", "-out", tmp + "/ca.crt")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver",
         "-keyout", tmp + "/server.key", "-out", tmp + "/server.csr")
    with open(tmp + "/san.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ossl("x509", "-req", "-in", tmp + "/server.csr", "-CA", tmp + "/ca.crt", "-CAkey", tmp + "/ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", tmp + "/san.ext", "-out", tmp + "/server.crt")


def metric(ns, name):
    code = ("import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://%s/metrics', timeout=2)"
            ".read().decode())" % METRICS)
    r = run(["ip", "netns", "exec", ns, sys.executable, "-c", code])
    total = None
    for line in r.stdout.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total = (total or 0) + float(line.rsplit(" ", 1)[1])
    return total


def quantile(ns, name, q):
    """The upper bound of the histogram bucket holding quantile q, and the count."""
    code = ("import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://%s/metrics', timeout=2)"
            ".read().decode())" % METRICS)
    buckets = []
    for line in run(["ip", "netns", "exec", ns, sys.executable, "-c", code]).stdout.splitlines():
        if line.startswith(name + '_bucket{le="'):
            le = line.split('"')[1]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    count = buckets[-1][1] if buckets else 0
    for le, cumulative in buckets:
        if cumulative >= q * count:
            return le, count
    return None, count


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return time.monotonic()
        time.sleep(0.1)
    raise Failure("within %ss: %s" % (timeout, what) + (DEBUG() if DEBUG else ""))


NFGATECTL = None  # set for the fast path: what it serves is read with `nfgatectl -o json services`
SOCKET = None


def served(ns):
    """What the data path serves, as text: the kernel path's nftables table, or every value of
    the fast path's `nfgatectl -o json services`, each followed by ", " (as an address in an nft
    set is), so "10.96.0.5," cannot match 10.96.0.50."""
    if NFGATECTL is None:
        return nft_table(ns)
    r = run(["ip", "netns", "exec", ns, NFGATECTL, "--socket", SOCKET, "-o", "json", "services"])
    if r.returncode != 0:
        return None
    values = []

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        else:
            values.append(str(v))
    walk(json.loads(r.stdout))
    return "".join(v + ", " for v in values)


def has(ns, *ips):
    t = served(ns) or ""
    return all(ip in t for ip in ips)


def lacks(ns, *ips):
    t = served(ns) or ""
    return t != "" and not any(ip in t for ip in ips)


def scenario(nfgate, lab):
    ns, tmp = lab.name, lab.tmp
    make_pki(tmp)
    with open(tmp + "/token", "w") as f:
        f.write(TOKEN + "\n")
    with open(tmp + "/kubeconfig", "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
                "contexts: [{name: lab, context: {cluster: lab, user: gw}}]\n"
                "clusters: [{name: lab, cluster: {server: 'https://127.0.0.1:%d', certificate-authority: ca.crt}}]\n"
                "users: [{name: gw, user: {tokenFile: token}}]\n" % PORT)
    with open(tmp + "/files.yaml", "w") as f:
        json.dump({"kind": "List", "apiVersion": "v1",
                   "items": [service("from-file", "10.96.9.9"), endpoint_slice("from-file-1", "from-file", "10.244.9.9")]}, f)
    dataplane = "dataplane: kernel\n"
    if NFGATECTL is not None:
        dataplane = ("dataplane: dpdk\neal: [--no-huge, -m, \"256\", --no-pci, --lcores, \"0@0,1@0\", --file-prefix, "
                     "\"nfgkube%d\", --vdev=net_null0, --vdev=net_null1, --log-level=*:error]\nworkers: 1\n"
                     "conntrack: {maxFlows: 4096}\ninterfaces:\n"
                     "  - {name: ext, device: net_null0, address: 192.0.2.1/24}\n"
                     "  - {name: pods, device: net_null1, address: 10.244.0.1/16}\n" % os.getpid())
    global SOCKET
    SOCKET = tmp + "/nfgate.sock"  # daemon_cli_test's Daemon puts it beside the gateway file
    with open(tmp + "/gateway.yaml", "w") as f:
        f.write(dataplane + "nodeAddresses: [192.0.2.1]\nclusterCIDRs: [10.244.0.0/16]\n"
                "serviceCIDRs: [10.96.0.0/16]\nmanifests: [files.yaml]\n"
                "control: {metricsAddress: \"%s\"}\n"
                "kubernetes:\n  kubeconfig: kubeconfig\n  minSyncPeriod: 200ms\n" % METRICS)

    stub = Stub(ns, tmp)
    lab.cleanups.append(stub.stop)
    stub.start()
    for i in range(1, 6):
        stub.command(op="put", resource="services", object=service("web%d" % i, "10.96.0.%d" % i))
        stub.command(op="put", resource="endpointslices", object=endpoint_slice("web%d-1" % i, "web%d" % i, "10.244.1.%d" % i))

    d = lab.daemon(nfgate, tmp + "/gateway.yaml", ["-v"], stderr=open(tmp + "/nfgate.log", "w"))
    global DEBUG
    DEBUG = lambda: "\nserved:\n%s\nnfgate's log:\n%s" % (served(ns), open(tmp + "/nfgate.log").read()[-3000:])
    line = d.next_line(30)
    expect(line == "nfgate: ready", "nfgate starts: %r" % line)
    wait_for("the listed Services and the file's are in the ruleset",
             lambda: has(ns, "10.96.9.9", *["10.96.0.%d" % i for i in range(1, 6)]), 5)
    pages = [r for r in stub.drain() if r.startswith("/api/v1/services?limit=500")]
    expect(len(pages) == 3 and "continue=" in pages[1] and "continue=" in pages[2],
           "the Services were listed in three pages: %s" % pages)

    # Watch events: add, change, delete, each live within 2 s.
    t0 = time.monotonic()
    stub.command(op="put", resource="services", object=service("shop-new", "10.96.0.50"))
    stub.command(op="put", resource="endpointslices", object=endpoint_slice("shop-new-1", "shop-new", "10.244.1.50"))
    took = wait_for("an added Service is served", lambda: has(ns, "10.96.0.50"), 2) - t0
    print("added Service live after %.0f ms" % (took * 1000))
    t0 = time.monotonic()
    stub.command(op="put", resource="services", object=service("shop-new", "10.96.0.51"))
    wait_for("a changed ClusterIP is served in place of the old", lambda: has(ns, "10.96.0.51") and lacks(ns, "10.96.0.50,", "10.96.0.50 "), 2)
    stub.command(op="delete", resource="services", namespace="shop", name="shop-new")
    wait_for("a deleted Service is gone", lambda: lacks(ns, "10.96.0.51"), 2)

    # A burst of 1 000 endpoint changes within a second: coalesced into a few applies
    # (minSyncPeriod 200 ms here), the last state served.
    applies_before = metric(ns, "nfgate_kubernetes_applies_total") or 0
    t0 = time.monotonic()
    stub.command(op="burst", resource="endpointslices", seconds=1.0,
                 objects=[endpoint_slice("web1-1", "web1", "10.244.%d.%d" % (2 + i // 250, 1 + i % 250))
                          for i in range(1000)])
    burst = time.monotonic() - t0
    wait_for("the last endpoint of the burst is served", lambda: has(ns, "10.244.5.250") and lacks(ns, "10.244.5.249"), 3)
    time.sleep(0.5)
    applies = (metric(ns, "nfgate_kubernetes_applies_total") or 0) - applies_before
    allowed = burst / 0.2 + 3
    print("1000 endpoint changes in %.2f s: %d applies" % (burst, applies))
    expect(1 <= applies <= allowed, "1000 changes in %.2f s made %d applies (at most %.0f: one per minSyncPeriod)"
           % (burst, applies, allowed))

    # Every apply of a change is timed from the change taken from the API client to the data
    # path having applied it (minSyncPeriod wait included).
    p50, n = quantile(ns, "nfgate_kubernetes_change_to_live_seconds", 0.5)
    p99, _ = quantile(ns, "nfgate_kubernetes_change_to_live_seconds", 0.99)
    print("change to live: %d applies timed, p50 <= %s s, p99 <= %s s" % (n, p50, p99))
    expect(n >= 4 and p99 is not None and p99 <= 2.048,
           "the applies are timed from change to live, within 2 s: %d, p99 <= %s" % (n, p99))

    # A bookmark moves the resourceVersion on: the next watch starts from it.
    time.sleep(1.5)
    stub.command(op="end_watches")
    # EndpointSlices saw no event since the Service changes moved the resourceVersion on: only
    # a bookmark can have told nfgate the newer version.
    slices = "/apis/discovery.k8s.io/v1/endpointslices?watch=1"
    wait_for("nfgate watches again", lambda: sum(r.startswith(slices) for r in stub.drain()) >= 2, 5)
    with open(tmp + "/state.json") as f:
        rv = json.load(f)["rv"]
    last = [r for r in stub.requests if r.startswith(slices)][-1]
    expect("resourceVersion=%d&" % rv in last, "the re-watch resumes from the last bookmark (%d): %s" % (rv, last))

    # 410: the history is compacted past nfgate's resourceVersion, and web5 went meanwhile.
    lists_before = sum(r.startswith("/api/v1/services?limit=") for r in stub.requests)
    stub.command(op="quiet_delete", resource="services", namespace="shop", name="web5")
    wait_for("410 Gone makes nfgate list again and drop what the list no longer holds",
             lambda: lacks(ns, "10.96.0.5 ", "10.96.0.5,") and has(ns, "10.96.0.4"), 5)
    expect(sum(r.startswith("/api/v1/services?limit=") for r in stub.drain()) > lists_before, "a relist was made")
    expect((metric(ns, "nfgate_kubernetes_relists_total") or 0) >= 1, "the relist is counted")

    # The token rotates: nfgate reads the new file before its next request, no 401 in between.
    with open(tmp + "/token.new", "w") as f:
        f.write("rotated-" + TOKEN + "\n")
    os.replace(tmp + "/token.new", tmp + "/token")
    stub.command(op="token", token="rotated-" + TOKEN)
    stub.command(op="end_watches")
    stub.command(op="put", resource="services", object=service("rotated", "10.96.0.70"))
    wait_for("a change after the token rotated is served", lambda: has(ns, "10.96.0.70"), 3)
    expect(metric(ns, "nfgate_kubernetes_errors_total") == 0, "no request failed so far (the new token was used)")

    # The API server goes away: nothing that serves changes; the outage is counted.
    table = served(ns)
    stub.stop()
    time.sleep(4)
    expect(served(ns) == table, "what is served stays as it was while the API server is down")
    expect(metric(ns, "nfgate_kubernetes_up") == 0, "nfgate_kubernetes_up is 0 while down")
    expect((metric(ns, "nfgate_kubernetes_errors_total") or 0) >= 2, "the failed requests are counted")

    # It comes back, with a change made while it was away.
    stub = Stub(ns, tmp, token="rotated-" + TOKEN)
    lab.cleanups.append(stub.stop)
    stub.start()
    stub.command(op="put", resource="services", object=service("after", "10.96.0.60"))
    wait_for("the API server is followed again", lambda: has(ns, "10.96.0.60"), 20)
    wait_for("nfgate_kubernetes_up is 2 (both resources)", lambda: metric(ns, "nfgate_kubernetes_up") == 2, 10)
    expect(d.stop() == 0, "SIGTERM stops nfgate")


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    nfgate = sys.argv[1]
    global NFGATECTL
    NFGATECTL = sys.argv[2] if len(sys.argv) == 3 else None
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "nft", "openssl")):
        print("skipped: needs root, ip, nft and openssl")
        return SKIP
    try:
        with Netns("nfgkube") as lab:
            return verdict(lambda: scenario(nfgate, lab))
    finally:
        # The fast-path daemon removes its DPDK runtime directory when it stops cleanly; one
        # killed at a failure leaves it behind.
        shutil.rmtree("/var/run/dpdk/nfgkube%d" % os.getpid(), ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
