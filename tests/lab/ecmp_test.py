#!/usr/bin/env python3
"""Two gateways behind an ECMP router: BGP, spread, failover of a held connection.

  ecmp_test.py --build DIR

Namespaces (nfl<pid>-*, swept like the lab's): a client behind a router; the router runs BIRD,
learns the VIPs from both gateways over BGP and installs them as one ECMP route (`merge paths`,
L4 hash); gateway A runs nfgate on the kernel path, gateway B on the fast path (TAP PMD ports,
BGP through the exception path) - two fast paths do not fit on a 2-CPU box; two pods serve HTTP.

Checked: the router holds each VIP with both gateways as next hops; connections to an
externalTrafficPolicy Cluster Service are spread over both (the pods see both gateways' SNAT
addresses); a connection to an externalTrafficPolicy Local Service held through A survives A's
loss (its links go down: the router withdraws A's routes after the BGP hold time; the pods'
return route moves to B, as VRRP would move it): B takes it over mid-stream; new connections
succeed through B alone. The Local Service has one endpoint, because A (kernel path) picks
endpoints at random: that every fast-path gateway picks the same endpoint among several is
shown in tests/engine/test_ecmp.cpp.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from lab import LineProcess, find_nfgate, kill_namespace_processes, sh, sweep_stale_labs, HERE

PREFIX = "nfl%d" % os.getpid()
ROLES = ("cl", "rt", "ga", "gb", "pa", "pb", "sw")
HOLD = 3  # BGP hold time, both sides (BIRD's minimum)

SERVICES = """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: spread, namespace: lab}
  spec:
    type: LoadBalancer
    clusterIP: 10.96.0.10
    ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080}]
  status: {loadBalancer: {ingress: [{ip: 203.0.113.10}]}}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: spread-1, namespace: lab, labels: {kubernetes.io/service-name: spread}}
  addressType: IPv4
  ports: [{name: http, protocol: TCP, port: 8080}]
  endpoints:
  - {addresses: [10.244.1.10], conditions: {ready: true}}
  - {addresses: [10.244.1.11], conditions: {ready: true}}
- apiVersion: v1
  kind: Service
  metadata: {name: held, namespace: lab}
  spec:
    type: LoadBalancer
    clusterIP: 10.96.0.11
    externalTrafficPolicy: Local
    ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080}]
  status: {loadBalancer: {ingress: [{ip: 203.0.113.11}]}}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: held-1, namespace: lab, labels: {kubernetes.io/service-name: held}}
  addressType: IPv4
  ports: [{name: http, protocol: TCP, port: 8080}]
  endpoints:
  - {addresses: [10.244.1.10], conditions: {ready: true}}
"""

COMMON = """nodeAddresses: [%(node)s]
clusterCIDRs: [10.244.0.0/16]
serviceCIDRs: [10.96.0.0/16]
masquerade: {egress: true, nonMasqueradeCIDRs: [10.244.0.0/16]}
manifests: [cluster/]
bgp:
  asn: 64512
  peers: [{address: 192.0.2.254, asn: 64500, holdTime: %(hold)d}]
"""

GATEWAY_B = """dataplane: dpdk
eal: [--no-huge, -m, "512", --no-pci, -l, "0-1", "--file-prefix=%(prefix)s"]
workers: 1
interfaces:
  - {name: ext, device: "net_tap0,iface=%(prefix)s-e", address: 192.0.2.2/24}
  - {name: pods, device: "net_tap1,iface=%(prefix)s-p", address: 10.244.0.2/16}
routes:
  - {to: 0.0.0.0/0, via: 192.0.2.254}
conntrack: {maxFlows: 65536}
"""

ROUTER_BIRD = """router id 192.0.2.254;
protocol device { }
protocol kernel { ipv4 { export all; }; merge paths on; }
protocol bgp ga { local as 64500; neighbor 192.0.2.1 as 64512; hold time %(hold)d; ipv4 { import all; export none; }; }
protocol bgp gb { local as 64500; neighbor 192.0.2.2 as 64512; hold time %(hold)d; ipv4 { import all; export none; }; }
"""

# A connection the client holds: one request, then one more per line on stdin.
HOLDER = """import socket, sys
s = socket.create_connection(("203.0.113.11", 80), timeout=2)
s.settimeout(5)
def ask():
    s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
        head, sep, body = data.partition(b"\\r\\n\\r\\n")
        if sep and body.endswith(b"\\n"):
            return body.decode().strip()
print("port", s.getsockname()[1], flush=True)
print("answer", ask(), flush=True)
for _ in sys.stdin:
    try:
        print("answer", ask(), flush=True)
    except OSError as e:
        print("error", e, flush=True)
"""


class Failure(Exception):
    pass


def ns(role):
    return "%s-%s" % (PREFIX, role)


def ip(role, *args, check=True):
    return sh("ip", "-n", ns(role), *args, check=check)


def run_in(role, *cmd, check=True):
    return sh("ip", "netns", "exec", ns(role), *cmd, check=check)


def link(a, a_if, b, b_if):
    sh("ip", "-n", ns(a), "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", ns(b))
    ip(a, "link", "set", a_if, "up")
    ip(b, "link", "set", b_if, "up")


def http_get(role, target, sport=0, timeout=3):
    code = ("import socket\n"
            "s = socket.socket(); s.settimeout(%r)\n"
            "s.bind(('0.0.0.0', %d))\n"
            "s.connect((%r, 80)); s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')\n"
            "d = b''\n"
            "while True:\n"
            "    c = s.recv(4096)\n"
            "    if not c: break\n"
            "    d += c\n"
            "print(d.decode().splitlines()[-1])\n") % (timeout, sport, target)
    r = subprocess.run(["ip", "netns", "exec", ns(role), sys.executable, "-c", code], capture_output=True,
                       text=True, timeout=timeout + 5)
    return r.stdout.strip() if r.returncode == 0 else None


def router_paths(prefix):
    out = ip("rt", "route", "show", prefix, check=False)
    hops = []
    for line in out.splitlines():
        words = line.split()
        if "via" in words:
            hops.append(words[words.index("via") + 1])
    return sorted(hops)


def wait(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise Failure("%s: not within %d s" % (what, timeout))


def build(workdir):
    for role in ROLES:
        sh("ip", "netns", "add", ns(role))
        ip(role, "link", "set", "lo", "up")
    for role in ("sw", "gb"):  # bridges must not hand frames to netfilter
        for key in ("bridge-nf-call-iptables", "bridge-nf-call-arptables"):
            run_in(role, "sh", "-c", "echo 0 > /proc/sys/net/bridge/%s 2>/dev/null || true" % key, check=False)
    # Client -- router.
    link("cl", "eth0", "rt", "cl0")
    ip("cl", "addr", "add", "172.31.1.2/24", "dev", "eth0")
    ip("cl", "route", "add", "default", "via", "172.31.1.1")
    ip("rt", "addr", "add", "172.31.1.1/24", "dev", "cl0")
    run_in("rt", "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1")
    # Two segments as bridges in "sw": ext (router, A, B) and pods (A, B, pods).
    for seg in ("ext", "pods"):
        ip("sw", "link", "add", "br-" + seg, "type", "bridge")
        ip("sw", "link", "set", "br-" + seg, "up")

    def plug(seg, role, ifname, port):
        link("sw", port, role, ifname)
        ip("sw", "link", "set", port, "master", "br-" + seg)

    plug("ext", "rt", "ext0", "x-rt")
    ip("rt", "addr", "add", "192.0.2.254/24", "dev", "ext0")
    plug("ext", "ga", "ext", "x-ga")
    plug("pods", "ga", "pods", "p-ga")
    ip("ga", "addr", "add", "192.0.2.1/24", "dev", "ext")
    ip("ga", "addr", "add", "10.244.0.1/16", "dev", "pods")
    ip("ga", "route", "add", "default", "via", "192.0.2.254")
    run_in("ga", "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0")
    # B: DPDK's TAP ports join bridges in B that hold the veths (nfgate makes them at start).
    plug("ext", "gb", "w-ext", "x-gb")
    plug("pods", "gb", "w-pods", "p-gb")
    for seg in ("ext", "pods"):
        ip("gb", "link", "add", "br-" + seg, "type", "bridge")
        ip("gb", "link", "set", "w-" + seg, "master", "br-" + seg)
        ip("gb", "link", "set", "br-" + seg, "up")
    run_in("gb", "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
    servers = []
    for role, addr in (("pa", "10.244.1.10"), ("pb", "10.244.1.11")):
        plug("pods", role, "eth0", "p-" + role)
        ip(role, "addr", "add", addr + "/16", "dev", "eth0")
        ip(role, "route", "add", "default", "via", "10.244.0.1")  # A's pod address (VRRP's job)
        servers.append(LineProcess(["ip", "netns", "exec", ns(role), sys.executable, os.path.join(HERE, "servers.py"),
                                    "--name", "pod-" + role[1], "--tcp", "8080", "--udp", "5353"],
                                   os.path.join(workdir, "servers-%s.log" % role), stdin=subprocess.PIPE))
    for s in servers:
        if s.wait_line(lambda l: l == "ready", 10) is None:
            raise Failure("pod servers did not start: " + s.output())
    return servers


def start_gateways(nfgate, workdir):
    procs = {}
    for role, node, extra in (("ga", "192.0.2.1", "dataplane: kernel\n"), ("gb", "192.0.2.2", GATEWAY_B % dict(prefix=PREFIX))):
        d = os.path.join(workdir, role)
        os.makedirs(os.path.join(d, "cluster"))
        with open(os.path.join(d, "cluster", "services.yaml"), "w") as f:
            f.write(SERVICES)
        with open(os.path.join(d, "gateway.yaml"), "w") as f:
            f.write(extra + COMMON % dict(node=node, hold=HOLD))
        procs[role] = LineProcess(["ip", "netns", "exec", ns(role), nfgate, "--config", os.path.join(d, "gateway.yaml"),
                                   "--control-socket", os.path.join(d, "nfgate.sock")],
                                  os.path.join(workdir, "nfgate-%s.log" % role))
    # B's TAP ports appear during its start: bridge their kernel sides as they come.
    for seg, tap in (("ext", PREFIX + "-e"), ("pods", PREFIX + "-p")):
        wait("gateway B's TAP port " + tap, lambda: ip("gb", "link", "show", tap, check=False), 60)
        ip("gb", "link", "set", tap, "master", "br-" + seg, "up")
    for role, p in procs.items():
        if p.wait_line(lambda l: l.strip() == "nfgate: ready", 60) is None:
            raise Failure("gateway %s did not start:\n%s" % (role, p.output()))
    return procs


def scenario(workdir, nfgate):
    details = []
    nfgatectl = os.path.join(os.path.dirname(nfgate), "..", "ctl", "nfgatectl")
    procs = start_gateways(nfgate, workdir)
    conf = os.path.join(workdir, "router.conf")
    with open(conf, "w") as f:
        f.write(ROUTER_BIRD % dict(hold=HOLD))
    router = LineProcess(["ip", "netns", "exec", ns("rt"), "bird", "-f", "-c", conf, "-s",
                          os.path.join(workdir, "router.ctl"), "-P", os.path.join(workdir, "router.pid")],
                         os.path.join(workdir, "router-bird.log"))
    procs["router"] = router
    both = ["192.0.2.1", "192.0.2.2"]
    for vip in ("203.0.113.10", "203.0.113.11"):
        wait("the router's ECMP route to %s via both gateways" % vip, lambda: router_paths(vip) == both, 40)
    details.append("router: 203.0.113.10 and .11 via %s (ECMP)" % " and ".join(both))

    # Spread: ETP Cluster connections from many source ports; the pods see each gateway's address.
    seen = {}
    for sport in range(41000, 41040):
        answer = http_get("cl", "203.0.113.10", sport)
        if answer is None:
            raise Failure("client -> 203.0.113.10 from port %d: no answer" % sport)
        via = answer.split()[1].rpartition(":")[0]
        seen[via] = seen.get(via, 0) + 1
    if set(seen) != {"10.244.0.1", "10.244.0.2"}:
        raise Failure("40 connections reached the pods only through %s" % seen)
    details.append("spread: 40 connections, the pods saw gateway A %d and B %d times"
                   % (seen["10.244.0.1"], seen["10.244.0.2"]))

    # A held ETP Local connection through A (the pods answer through A: a connection ECMP sends
    # through B never completes before the failover, so retry until one through A holds).
    holder = None
    for attempt in range(30):
        h = subprocess.Popen(["ip", "netns", "exec", ns("cl"), sys.executable, "-c", HOLDER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        port = h.stdout.readline().split()
        first = h.stdout.readline().strip()
        # Through A from its first SYN: B must not have seen it (a SYN retransmitted while the
        # router's paths changed could have gone through both).
        flows_b = subprocess.run([nfgatectl, "--socket", os.path.join(workdir, "gb", "nfgate.sock"), "flows"],
                                 capture_output=True, text=True).stdout
        if first.startswith("answer pod-a 172.31.1.2:") and ("172.31.1.2:%s " % port[-1]) not in flows_b:
            holder = h
            break
        h.kill()
        h.wait()
    if holder is None:
        raise Failure("no held connection to 203.0.113.11 through gateway A in 30 tries")
    details.append("held: client port %s through A, %r" % (port[-1] if port else "?", first))

    # A goes away: its links down; the router drops A's routes after the hold time; the pods'
    # return route moves to B.
    t0 = time.monotonic()
    for dev in ("ext", "pods"):
        ip("ga", "link", "set", dev, "down")
    wait("the router's routes via B only", lambda: router_paths("203.0.113.11") == ["192.0.2.2"], HOLD + 10)
    withdrawn = time.monotonic() - t0
    for role in ("pa", "pb"):
        ip(role, "route", "replace", "default", "via", "10.244.0.2")
    holder.stdin.write("again\n")
    holder.stdin.flush()
    again = holder.stdout.readline().strip()
    holder.stdin.close()
    holder.wait(timeout=10)
    if not again.startswith("answer pod-a 172.31.1.2:"):
        ctl = subprocess.run([nfgatectl, "--socket",
                              os.path.join(workdir, "gb", "nfgate.sock"), "flows"], capture_output=True, text=True)
        ct_a = run_in("ga", "conntrack", "-L", "-p", "tcp", "--orig-dst", "203.0.113.11", check=False)
        raise Failure("held port %s; A's conntrack:\n%s\nthe held connection after A's loss: %r (expected pod-a answering through B)\n"
                      "router: %s\npod-a routes: %s\npod-a neighbours: %s\nB's flows:\n%s"
                      % (port, ct_a, again, ip("rt", "route", check=False), ip("pa", "route", check=False),
                         ip("pa", "neigh", check=False), ctl.stdout))
    details.append("A lost: routes via B only after %.1f s; the held connection answered again: %r" % (withdrawn, again))
    rc = subprocess.run([nfgatectl,
                         "--socket", os.path.join(workdir, "gb", "nfgate.sock"), "counters"], capture_output=True, text=True)
    picked = [l for l in rc.stdout.splitlines() if l.startswith("tcp_picked_up")]
    details.append("gateway B counters: %s" % (picked[0] if picked else "no tcp_picked_up line: " + rc.stdout[-300:]))
    if not picked or picked[0].split()[-1] == "0":
        raise Failure("gateway B did not count a mid-stream takeover")
    for sport in range(42000, 42010):
        if http_get("cl", "203.0.113.10", sport) is None:
            raise Failure("new connection from port %d after A's loss: no answer" % sport)
    details.append("10 new connections after A's loss: all answered (through B)")
    return details, procs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("bird") is None:
        print("skipped: needs root and bird (Debian package bird2)")
        return 77
    nfgate = find_nfgate(args.build)
    sweep_stale_labs()
    workdir = tempfile.mkdtemp(prefix=PREFIX + "-")
    procs, servers = {}, []
    try:
        servers = build(workdir)
        details, procs = scenario(workdir, nfgate)
        print("PASS ecmp-failover\n    " + "\n    ".join(details))
        return 0
    except Failure as e:
        print("FAIL ecmp-failover: %s" % e)
        for name in os.listdir(workdir):
            if name.endswith(".log"):
                with open(os.path.join(workdir, name)) as f:
                    print("---- %s (last lines)\n%s" % (name, "".join(f.readlines()[-15:])))
        return 1
    finally:
        for p in list(procs.values()) + servers:
            p.stop()
        for role in ROLES:
            kill_namespace_processes(ns(role))
            sh("ip", "netns", "del", ns(role), check=False)
        shutil.rmtree("/var/run/dpdk/" + PREFIX, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
