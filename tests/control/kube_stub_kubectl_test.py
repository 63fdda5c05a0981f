#!/usr/bin/env python3
"""The API-server stand-in (kube_api_stub.py) against a real client: kubectl.

  kube_stub_kubectl_test.py

The stand-in runs on 127.0.0.1 (a free port) with a CA and a server certificate made with
openssl; kubectl reads a kubeconfig naming the CA file and a token, and never runs with
--insecure-skip-tls-verify. HOME and KUBECACHEDIR point into the test's temporary folder (kubectl
keeps its discovery and HTTP caches there), removed at the end. Checked: discovery is served as
kubectl asks for it (every path it requested is one the stand-in serves); `get services -A -o
json` equals the stand-in's objects; `get endpointslices -A -o name`; one object by namespace and
name (-o jsonpath), a missing one NotFound, a namespaced list; `--chunk-size=2` returns every
object over limit=2 + continue pages; the default table (kubectl asks for a meta.k8s.io Table,
the stand-in answers with the plain list, kubectl prints it); `--watch-only` receives an ADDED
and a MODIFIED put through the stand-in's stdin; a wrong token is Unauthorized; a kubeconfig
naming another CA is refused before any request; a path the stand-in does not serve is a 404
Status, an Accept without application/json a 406. Works with any kubectl (Debian's
kubernetes-client 1.20, or the google-cloud-sdk dispatcher, which asks /version first to pick
its kubectl.1.NN). Exit 77 (meson's "skipped") without kubectl.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import kube_api_stub
import kube_follow_test as kf
from daemon_cli_test import SKIP, expect, verdict

def served(path):
    """Whether the stand-in has an answer other than "the server could not find the requested
    resource" for path (a discovery document, or a collection or object of its resources)."""
    m = kube_api_stub.ROUTE.match(path)
    return path in kube_api_stub.discovery("") or (m is not None and m.group(2) in kube_api_stub.RESOURCES)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_kubeconfig(path, port, ca, token):
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
                "contexts: [{name: lab, context: {cluster: lab, user: u}}]\n"
                "clusters: [{name: lab, cluster: {server: 'https://127.0.0.1:%d', certificate-authority: %s}}]\n"
                "users: [{name: u, user: {token: %s}}]\n" % (port, ca, token))


class Kubectl:
    def __init__(self, tmp, kubeconfig):
        self.kubeconfig = kubeconfig
        self.env = dict(os.environ, HOME=tmp, KUBECACHEDIR=tmp + "/.kube/cache")
        self.env.pop("KUBECONFIG", None)

    def argv(self, args, kubeconfig=None):
        return ["kubectl", "--kubeconfig", kubeconfig or self.kubeconfig] + list(args)

    def __call__(self, *args, kubeconfig=None):
        return subprocess.run(self.argv(args, kubeconfig), capture_output=True, text=True, timeout=30, env=self.env)

    def ok(self, *args):
        r = self(*args)
        expect(r.returncode == 0, "kubectl %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
        return r.stdout

    def fails(self, args, message, what, kubeconfig=None):
        """kubectl ARGS exits non-zero, saying message."""
        r = self(*args, kubeconfig=kubeconfig)
        expect(r.returncode != 0 and message in r.stderr, "%s: exit %d: %s" % (what, r.returncode, r.stderr.strip()))

    def popen(self, *args):
        return subprocess.Popen(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env)


def paths(requests):
    return [r.split("?")[0] for r in requests]


def objects(tmp, res):
    with open(tmp + "/state.json") as f:
        return json.load(f)["objects"][res]


def json_stream(text):
    """The JSON documents printed one after another (kubectl --watch -o json)."""
    out, i, dec = [], 0, json.JSONDecoder()
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return out
        try:
            doc, i = dec.raw_decode(text, i)
        except ValueError:
            return out  # the rest is not complete yet
        out.append(doc)


def check_reads(kubectl, stub, tmp):
    """Lists, single GETs and paging."""
    got = json.loads(kubectl.ok("get", "services", "-A", "-o", "json"))
    want = objects(tmp, "services")
    items = {"%s/%s" % (i["metadata"]["namespace"], i["metadata"]["name"]): i for i in got.get("items", [])}
    expect(items == want, "get services -A -o json returns the stand-in's objects:\n%s\nwant:\n%s" % (items, want))
    lists = [r for r in stub.drain() if r.startswith("/api/v1/services?")]
    expect(lists and "limit=500" in lists[-1], "the list was asked in chunks of 500 (kubectl's default): %s" % lists)
    expect("/api/v1" in paths(stub.requests) and "/apis" in paths(stub.requests), "kubectl read discovery first")

    names = kubectl.ok("get", "endpointslices", "-A", "-o", "name").split()
    want = sorted("endpointslice.discovery.k8s.io/" + k.split("/")[1] for k in objects(tmp, "endpointslices"))
    expect(sorted(names) == want, "get endpointslices -A -o name: %s, want %s" % (names, want))

    ip = kubectl.ok("get", "svc", "-n", "shop", "web2", "-o", "jsonpath={.spec.clusterIP}")
    expect(ip == "10.96.0.2", "get svc -n shop web2 -o jsonpath: %r" % ip)
    expect("/api/v1/namespaces/shop/services/web2" in paths(stub.drain()), "one Service read by its own path")
    kubectl.fails(["get", "svc", "-n", "shop", "nope"], 'services "nope" not found', "a missing Service is NotFound")
    # After a NotFound kubectl reads the namespace, to say which of the two is missing.
    kubectl.fails(["get", "svc", "-n", "nowhere", "nope"], 'namespaces "nowhere" not found',
                  "a Service in a missing namespace: the namespace is NotFound")
    names = kubectl.ok("get", "namespaces", "-o", "name").split()
    expect(names == ["namespace/backend", "namespace/default", "namespace/shop"], "get namespaces: %s" % names)
    names = kubectl.ok("get", "svc", "-n", "shop", "-o", "name").split()
    expect(sorted(names) == ["service/web1", "service/web2", "service/web3"],
           "get svc -n shop lists that namespace only: %s" % names)

    before = len(stub.drain())
    names = kubectl.ok("get", "services", "-A", "--chunk-size=2", "-o", "name").split()
    expect(len(names) == 5, "--chunk-size=2 returns all 5 Services: %s" % names)
    pages = [r for r in stub.drain()[before:] if r.startswith("/api/v1/services?")]
    expect(len(pages) == 3 and all("limit=2" in p for p in pages) and all("continue=" in p for p in pages[1:]),
           "3 pages of limit=2, the 2nd and 3rd with continue: %s" % pages)

    # Human-readable output asks for a meta.k8s.io Table with application/json as the fallback;
    # the stand-in serves only application/json, and kubectl prints the list itself.
    table = kubectl.ok("get", "svc", "-A").splitlines()
    expect(table and table[0].split()[:2] == ["NAMESPACE", "NAME"] and
           sorted(line.split()[1] for line in table[1:]) == ["api", "db", "web1", "web2", "web3"],
           "get svc -A prints a table of the 5 Services:\n%s" % "\n".join(table))


def check_watch(kubectl, stub):
    """kubectl --watch-only receives what is put through the stand-in's stdin."""
    proc = kubectl.popen("get", "services", "-A", "--watch-only", "-o", "json", "--output-watch-events")
    out = []  # what kubectl printed so far, read as it comes

    def read():
        for data in iter(lambda: os.read(proc.stdout.fileno(), 65536), b""):
            out.append(data)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 15
        while not any("watch=" in r for r in stub.drain()):
            expect(time.monotonic() < deadline and proc.poll() is None,
                   "kubectl --watch-only starts watching: %s" % stub.requests[-5:])
            time.sleep(0.1)
        stub.command(op="put", resource="services", object=kf.service("watched", "10.96.0.60"))
        stub.command(op="put", resource="services", object=kf.service("web1", "10.96.0.61"))
        deadline = time.monotonic() + 10
        while len(json_stream(b"".join(out).decode())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # an event too many would be printed by now
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        reader.join(timeout=10)
    events = json_stream(b"".join(out).decode())
    seen = [(e.get("type"), e.get("object", {}).get("metadata", {}).get("name"),
             e.get("object", {}).get("spec", {}).get("clusterIP")) for e in events]
    expect(seen == [("ADDED", "watched", "10.96.0.60"), ("MODIFIED", "web1", "10.96.0.61")],
           "kubectl --watch-only printed the ADDED and the MODIFIED event: %s" % seen)
    watch = [r for r in stub.requests if "watch=" in r][-1]
    expect("resourceVersion=" in watch, "the watch starts from the list's resourceVersion: %s" % watch)


def check_refusals(kubectl, stub, tmp, port):
    """Wrong token, another CA, unserved paths, unacceptable media types."""
    kubectl.fails(["get", "services", "-A", "--token", "not-" + kf.TOKEN], "Unauthorized",
                  "a wrong token is refused as Unauthorized")

    os.mkdir(tmp + "/other")
    kf.make_pki(tmp + "/other")
    write_kubeconfig(tmp + "/other/kubeconfig", port, tmp + "/other/ca.crt", kf.TOKEN)
    before = len(stub.drain())
    kubectl.fails(["get", "services", "-A"], "certificate signed by unknown authority",
                  "a server certificate from another CA is refused", kubeconfig=tmp + "/other/kubeconfig")
    expect(len(stub.drain()) == before, "no request reached the stand-in over an unverified connection")

    kubectl.fails(["get", "--raw", "/apis/apps/v1"], "NotFound", "a path the stand-in does not serve is NotFound")

    ctx = ssl.create_default_context(cafile=tmp + "/ca.crt")
    req = urllib.request.Request("https://127.0.0.1:%d/api/v1/services" % port, headers={
        "Authorization": "Bearer " + kf.TOKEN, "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    try:
        code = urllib.request.urlopen(req, context=ctx, timeout=10).status
    except urllib.error.HTTPError as e:
        code = e.code
    expect(code == 406, "a Table without the application/json fallback is 406 Not Acceptable: %d" % code)


def scenario(tmp):
    kf.make_pki(tmp)
    port = free_port()
    write_kubeconfig(tmp + "/kubeconfig", port, tmp + "/ca.crt", kf.TOKEN)
    kubectl = Kubectl(tmp, tmp + "/kubeconfig")
    stub = kf.Stub(None, tmp, page=500, port=port)
    try:
        stub.start()
        for i in range(1, 4):
            stub.command(op="put", resource="services", object=kf.service("web%d" % i, "10.96.0.%d" % i))
            stub.command(op="put", resource="endpointslices",
                         object=kf.endpoint_slice("web%d-1" % i, "web%d" % i, "10.244.1.%d" % i))
        for name, ip in (("api", "10.96.1.1"), ("db", "10.96.1.2")):
            svc = kf.service(name, ip)
            svc["metadata"]["namespace"] = "backend"
            stub.command(op="put", resource="services", object=svc)

        check_reads(kubectl, stub, tmp)
        unserved = sorted(p for p in set(paths(stub.drain())) if not served(p))
        expect(not unserved, "kubectl asked only for what the stand-in serves, not %s" % unserved)
        check_watch(kubectl, stub)
        check_refusals(kubectl, stub, tmp, port)
        print("kubectl requested: %s" % " ".join(sorted(set(paths(stub.drain())))))
    finally:
        stub.stop()


def main():
    if not shutil.which("kubectl"):
        print("skipped: no kubectl (Debian's kubernetes-client)")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="nfgate-kubectl-")
    try:
        t0 = time.monotonic()
        status = verdict(lambda: scenario(tmp))
        print("took %.1f s" % (time.monotonic() - t0))
        return status
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
