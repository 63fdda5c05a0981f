#!/usr/bin/env python3
"""nfgatectl against a real nfgate (kernel path) in a network namespace this test creates.

  nfgatectl_test.py NFGATE NFGATECTL CONFIGS_DIR

Checks: a stopped daemon is exit 2 with one line; status / services / flows / reload answers
(table and -o json) agree with what the test did (a connection it opened, a reload it asked
for, that makes the Service dual stack, and an IPv6 connection after it); the socket is 0660, a second daemon on it is refused, a stale one is replaced, and it is
gone after SIGTERM. Root only (exit 77, meson's "skipped", without it).
"""
import json
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time

from daemon_cli_test import SKIP, Netns, expect, run, verdict


def ctl(nfgatectl, sock, *args):
    return run([nfgatectl, "--socket", sock] + list(args))


def ctl_json(nfgatectl, sock, *args):
    r = ctl(nfgatectl, sock, "-o", "json", *args)
    expect(r.returncode == 0, "nfgatectl %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return json.loads(r.stdout)


def open_flow(ns, vip, port):
    """A TCP connection attempt from inside the namespace: conntrack keeps it (SYN_SENT)."""
    code = ("import socket,time\n"
            "s=socket.socket(%s); s.setblocking(False)\n"
            % ("socket.AF_INET6" if ":" in vip else "socket.AF_INET") +
            "try: s.connect((%r,%d))\n"
            "except BlockingIOError: pass\n"
            "time.sleep(0.3)\n" % (vip, port))
    r = run(["ip", "netns", "exec", ns, "python3", "-c", code])
    expect(r.returncode == 0, "connecting to %s:%d: %s" % (vip, port, r.stderr))


V6_ENDPOINTS = ["[fd00:10:244::1:10]:8080", "[fd00:10:244::1:11]:8080"]


def make_dual_stack(config, gw):
    """The demo's Service with an IPv6 ClusterIP and an IPv6 EndpointSlice naming its two pods."""
    with open(gw) as f:
        text = f.read()
    # An IPv6 node address: without one the gateway serves the IPv4 half only.
    text = text.replace("nodeAddresses: [192.0.2.1]", 'nodeAddresses: [192.0.2.1, "2001:db8:2::1"]')
    text = text.replace("clusterCIDRs: [10.244.0.0/16]", 'clusterCIDRs: [10.244.0.0/16, "fd00:10:244::/64"]')
    text = text.replace("serviceCIDRs: [10.96.0.0/16]", 'serviceCIDRs: [10.96.0.0/16, "fd00:10:96::/112"]')
    with open(gw, "w") as f:
        f.write(text)
    manifest = os.path.join(config, "cluster", "service-test.yaml")
    with open(manifest) as f:
        text = f.read()
    text = text.replace("clusterIPs: [10.96.0.10]",
                        'clusterIPs: [10.96.0.10, "fd00:10:96::10"]\n    ipFamilyPolicy: RequireDualStack\n'
                        "    ipFamilies: [IPv4, IPv6]")
    text += """- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: service-test-v6-x7k2p
    namespace: default
    labels:
      kubernetes.io/service-name: service-test
  addressType: IPv6
  ports:
  - {name: http, protocol: TCP, port: 8080}
  endpoints:
  - addresses: ["fd00:10:244::1:10"]
    conditions: {ready: true, serving: true, terminating: false}
  - addresses: ["fd00:10:244::1:11"]
    conditions: {ready: true, serving: true, terminating: false}
"""
    with open(manifest, "w") as f:
        f.write(text)


def check_ipv6(nfgatectl, sock, ns):
    svcs = ctl_json(nfgatectl, sock, "services")
    expect(len(svcs) == 2 and svcs[0]["vip"] == "10.96.0.10", "the IPv4 frontend first: %s" % svcs)
    s6 = svcs[1]
    expect(s6["name"] == "service-test" and s6["vip"] == "fd00:10:96::10" and s6["port"] == 80
           and sorted(s6["endpoints"]) == V6_ENDPOINTS and s6["flows"] == 0, "the IPv6 frontend: %s" % s6)
    open_flow(ns, "fd00:10:96::10", 80)
    flows = [f for f in ctl_json(nfgatectl, sock, "flows")["flows"] if f["frontend"].startswith("[")]
    expect(len(flows) == 1, "one tracked IPv6 connection: %s" % flows)
    f = flows[0]
    expect(f["service"] == "default/service-test" and f["frontend"] == "[fd00:10:96::10]:80"
           and f["backend"] in V6_ENDPOINTS and f["client"].startswith("[")
           and f["state"] == "SYN_SENT" and f["protocol"] == "TCP"
           and f["original"]["dst"] == "[fd00:10:96::10]:80", "the IPv6 flow: %s" % f)
    svcs = ctl_json(nfgatectl, sock, "services")
    expect(svcs[1]["flows"] == 1 and svcs[0]["flows"] == 2, "flows per frontend, per family: %s" % svcs)
    only = ctl_json(nfgatectl, sock, "flows", "--endpoint", f["backend"])["flows"]
    expect(len(only) == 1 and only[0]["backend"] == f["backend"], "--endpoint [IPV6]:PORT filters: %s" % only)
    r = ctl(nfgatectl, sock, "services")
    expect(r.returncode == 0 and "[fd00:10:96::10]:80" in r.stdout, "services table: " + r.stdout)
    r = ctl(nfgatectl, sock, "flows")
    expect(r.returncode == 0 and "[fd00:10:96::10]:80" in r.stdout, "flows table: " + r.stdout)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    nfgate, nfgatectl, configs = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="nfgatectl-")
    sock = os.path.join(tmp, "config", "nfgate.sock")
    r = ctl(nfgatectl, sock, "status")
    lines = [l for l in r.stderr.splitlines() if l]
    expect(r.returncode == 2 and len(lines) == 1 and "not reachable" in lines[0],
           "a stopped daemon: exit 2 and one line, got %d: %r" % (r.returncode, r.stderr))
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("skipped: needs root and ip")
        shutil.rmtree(tmp, ignore_errors=True)
        return SKIP
    shutil.rmtree(tmp, ignore_errors=True)
    with Netns("nfgctlapi") as lab:
        ns, tmp = lab.name, lab.tmp
        sock = os.path.join(tmp, "config", "nfgate.sock")
        lab.cleanups.append(lambda: run(["ip", "netns", "exec", ns, "conntrack", "-F"]))

        def body():
            run(["ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "lo"])
            # The pods are nowhere: a route toward them is enough for the SYN to leave and be tracked.
            run(["ip", "-n", ns, "route", "add", "10.244.0.0/16", "dev", "lo"])
            config = os.path.join(tmp, "config")
            shutil.copytree(os.path.join(configs, "demo"), config)
            gw = os.path.join(config, "gateway-kernel.yaml")

            d = lab.daemon(nfgate, gw)
            expect(d.next_line(30) == "nfgate: ready", "nfgate starts: %r" % d.lines)
            mode = stat.S_IMODE(os.stat(sock).st_mode)
            expect(stat.S_ISSOCK(os.stat(sock).st_mode) and mode == 0o660, "socket mode 0660, got %o" % mode)

            st = ctl_json(nfgatectl, sock, "status")
            expect(st["dataplane"] == "kernel" and st["services"] == 1 and st["endpoints"] == 2
                   and st["last_reload"]["result"] == "none" and st["config"] == gw, "status: %s" % st)
            r = ctl(nfgatectl, sock, "status")
            expect(r.returncode == 0 and "dataplane:      kernel" in r.stdout, "status table: " + r.stdout)

            svcs = ctl_json(nfgatectl, sock, "services")
            expect(len(svcs) == 1, "one Service port: %s" % svcs)
            s = svcs[0]
            expect(s["namespace"] == "default" and s["name"] == "service-test" and s["vip"] == "10.96.0.10"
                   and s["port"] == 80 and s["protocol"] == "TCP"
                   and sorted(s["endpoints"]) == ["10.244.1.10:8080", "10.244.1.11:8080"] and s["flows"] == 0
                   and "packets" in s, "services: %s" % s)

            # Per-flow counters, so `flows` shows packets and bytes (a per-namespace sysctl).
            run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1"])
            open_flow(ns, "10.96.0.10", 80)
            open_flow(ns, "10.96.0.10", 80)
            flows = ctl_json(nfgatectl, sock, "flows")["flows"]
            expect(len(flows) == 2, "two tracked connections to the Service: %s" % flows)
            for f in flows:
                expect(f["service"] == "default/service-test" and f["frontend"] == "10.96.0.10:80"
                       and f["backend"] in ("10.244.1.10:8080", "10.244.1.11:8080") and f["state"] == "SYN_SENT"
                       and f["protocol"] == "TCP", "flow: %s" % f)
            s = ctl_json(nfgatectl, sock, "services")[0]
            expect(s["flows"] == 2 and s["connections"] == 2 and s["packets"] >= 2 and s["bytes"] >= 120,
                   "services counts the two flows, two connections and their SYNs (ruleset counters): %s" % s)
            r = ctl(nfgatectl, sock, "services")
            expect(r.returncode == 0 and "CONNS" in r.stdout and "BYTES" in r.stdout, "services table: " + r.stdout)
            expect(all(f["packets"] >= 1 for f in flows), "flows carry their packet counts: %s" % flows)
            cut = ctl_json(nfgatectl, sock, "flows", "--limit", "1")
            expect(len(cut["flows"]) == 1 and cut["truncated"], "--limit 1: %s" % cut)
            expect(ctl_json(nfgatectl, sock, "flows", "--service", "default/other")["flows"] == [],
                   "--service filters")
            backend = flows[0]["backend"]
            only = ctl_json(nfgatectl, sock, "flows", "--endpoint", backend)["flows"]
            expect(only and all(f["backend"] == backend for f in only), "--endpoint filters: %s" % only)
            r = ctl(nfgatectl, sock, "flows", "--service", "nonamespace")
            expect(r.returncode == 1 and "NAMESPACE/NAME" in r.stderr, "a bad filter is exit 1: " + r.stderr)

            # The reload makes the Service dual stack: its IPv6 ClusterIP, IPv6 endpoints and flows
            # show beside the IPv4 ones.
            make_dual_stack(config, gw)
            run(["ip", "-n", ns, "addr", "add", "2001:db8:2::1/64", "dev", "lo", "nodad"])
            # Not through lo as for IPv4: the kernel turns an IPv6 route via lo into a reject route.
            # A veth pair whose far end nobody answers on (conntrack confirms the SYN before
            # neighbour discovery gives up on it).
            run(["ip", "-n", ns, "link", "add", "nfgpods6", "type", "veth", "peer", "name", "nfgpods6p"])
            run(["ip", "-n", ns, "link", "set", "nfgpods6", "up"])
            run(["ip", "-n", ns, "link", "set", "nfgpods6p", "up"])
            run(["ip", "-n", ns, "-6", "route", "add", "fd00:10:244::/64", "dev", "nfgpods6"])
            r = ctl(nfgatectl, sock, "reload")
            expect(r.returncode == 0 and r.stdout.strip() == "nfgate: reloaded", "reload: %r %r" % (r.stdout, r.stderr))
            expect(d.next_line(10) == "nfgate: reloaded", "the daemon prints the reload too")
            st = ctl_json(nfgatectl, sock, "status")
            expect(st["last_reload"]["result"] == "ok" and st["reloads"]["ok"] == 1, "status after reload: %s" % st)
            check_ipv6(nfgatectl, sock, ns)
            with open(gw, "a") as f:
                f.write("bogusKey: 1\n")
            r = ctl(nfgatectl, sock, "reload")
            expect(r.returncode == 1 and "reload rejected" in r.stderr and "bogusKey" in r.stderr,
                   "a rejected reload is exit 1 with the reason: %r" % r.stderr)
            st = ctl_json(nfgatectl, sock, "status")
            expect(st["last_reload"]["result"] == "rejected" and st["reloads"]["rejected"] == 1, "status: %s" % st)

            with open(gw) as f:
                text = f.read().replace("bogusKey: 1\n", "")
            with open(gw, "w") as f:
                f.write(text)
            second = lab.daemon(nfgate, gw)
            rc = second.proc.wait(timeout=30)
            err = second.proc.stderr.read()
            expect(rc == 1 and "in use" in err, "a second daemon on the socket is refused: %d %r" % (rc, err))

            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
            expect(os.path.exists(sock), "kill -9 leaves the socket file")
            third = lab.daemon(nfgate, gw)
            line = third.next_line(30)
            expect(line == "nfgate: ready", "a stale socket is taken over: %r %r"
                   % (line, third.proc.stderr.read() if third.proc.poll() is not None else ""))
            expect(ctl(nfgatectl, sock, "status").returncode == 0, "the new daemon answers")
            expect(third.stop() == 0, "SIGTERM stops it")
            expect(not os.path.exists(sock), "the socket is removed at stop")
            r = ctl(nfgatectl, sock, "status")
            expect(r.returncode == 2, "after stop: exit 2")

        return verdict(body)

if __name__ == "__main__":
    sys.exit(main())
