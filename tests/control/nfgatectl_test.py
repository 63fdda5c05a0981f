#!/usr/bin/env python3
"""nfgatectl against a real nfgate (kernel path) in a network namespace this test creates.

  nfgatectl_test.py NFGATE NFGATECTL CONFIGS_DIR

Checks: a stopped daemon is exit 2 with one line; status / services / flows / reload answers
(table and -o json) agree with what the test did (a connection it opened, a reload it asked
for); the socket is 0660, a second daemon on it is refused, a stale one is replaced, and it is
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
            "s=socket.socket(); s.setblocking(False)\n"
            "try: s.connect((%r,%d))\n"
            "except BlockingIOError: pass\n"
            "time.sleep(0.3)\n" % (vip, port))
    r = run(["ip", "netns", "exec", ns, "python3", "-c", code])
    expect(r.returncode == 0, "connecting to %s:%d: %s" % (vip, port, r.stderr))


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

            r = ctl(nfgatectl, sock, "reload")
            expect(r.returncode == 0 and r.stdout.strip() == "nfgate: reloaded", "reload: %r %r" % (r.stdout, r.stderr))
            expect(d.next_line(10) == "nfgate: reloaded", "the daemon prints the reload too")
            st = ctl_json(nfgatectl, sock, "status")
            expect(st["last_reload"]["result"] == "ok" and st["reloads"]["ok"] == 1, "status after reload: %s" % st)
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
