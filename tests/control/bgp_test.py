#!/usr/bin/env python3
"""nfgate announces VIPs to a router over BGP through its own BIRD (kernel path).

  bgp_test.py NFGATE NFGATECTL

Two network namespaces joined by a veth: the gateway (192.0.2.1, AS 64512) runs nfgate, the
router (192.0.2.254, AS 64500) runs a plain BIRD that imports what it hears. Checked on the
router's own table: the LB IP of the Service with a ready endpoint is learnt with the gateway as
next hop and the one without is not; after a reload that swaps their readiness the routes follow
without the session going down; a killed BIRD is started again by nfgate and the routes come
back; SIGTERM withdraws everything before nfgate exits. Root and bird (Debian bird2) needed
(exit 77 without them: ./nfgate.sh installs bird2).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from daemon_cli_test import SKIP, Failure, Netns, expect, run, stop_processes, verdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lab"))
from lab import bird_routes  # noqa: E402  (the netns lab's reader of BIRD's routes)

SERVICE = """- apiVersion: v1
  kind: Service
  metadata: {name: %(name)s, namespace: default}
  spec:
    type: LoadBalancer
    clusterIP: %(cluster)s
    ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080}]
  status: {loadBalancer: {ingress: [{ip: %(lb)s}]}}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: %(name)s-1
    namespace: default
    labels: {kubernetes.io/service-name: %(name)s}
  addressType: IPv4
  ports: [{name: http, protocol: TCP, port: 8080}]
  endpoints:
  - addresses: [%(pod)s]
    conditions: {ready: %(ready)s}
"""


def write_cluster(path, web_ready, idle_ready):
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: List\nitems:\n")
        f.write(SERVICE % dict(name="web", cluster="10.96.0.10", lb="203.0.113.10", pod="10.244.1.10",
                               ready="true" if web_ready else "false"))
        f.write(SERVICE % dict(name="idle", cluster="10.96.0.11", lb="203.0.113.11", pod="10.244.1.11",
                               ready="true" if idle_ready else "false"))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    nfgate, nfgatectl = sys.argv[1:]
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("bird") is None:
        print("skipped: needs root, ip and bird (Debian package bird2)")
        return SKIP
    with Netns("nfgbgp") as lab:
        gw, tmp = lab.name, lab.tmp
        rt = "nfgbgprt-%d" % os.getpid()
        router = []

        def remove_router():
            stop_processes(router)
            subprocess.run(["ip", "netns", "del", rt], stderr=subprocess.DEVNULL)

        lab.cleanups.append(remove_router)

        def body():
            subprocess.run(["ip", "netns", "add", rt], check=True)
            for cmd in (["ip", "-n", gw, "link", "add", "up0", "type", "veth", "peer", "name", "down0", "netns", rt],
                        ["ip", "-n", gw, "addr", "add", "192.0.2.1/24", "dev", "up0"],
                        ["ip", "-n", gw, "link", "set", "up0", "up"],
                        ["ip", "-n", rt, "addr", "add", "192.0.2.254/24", "dev", "down0"],
                        ["ip", "-n", rt, "link", "set", "down0", "up"],
                        ["ip", "-n", rt, "link", "set", "lo", "up"]):
                r = run(cmd)
                expect(r.returncode == 0, "%s: %s" % (" ".join(cmd), r.stderr))
            rt_conf, rt_sock = os.path.join(tmp, "router.conf"), os.path.join(tmp, "router.ctl")
            with open(rt_conf, "w") as f:
                f.write('router id 192.0.2.254;\ntimeformat protocol "%s";\nprotocol device { }\n'
                        "protocol bgp nfg1 { local as 64500; neighbor 192.0.2.1 as 64512; hold time 9;\n"
                        "  ipv4 { import all; export none; }; }\n")
            router.append(subprocess.Popen(["ip", "netns", "exec", rt, "bird", "-f", "-c", rt_conf, "-s", rt_sock,
                                            "-P", os.path.join(tmp, "router.pid")]))

            def birdc(cmd):
                r = run(["birdc", "-s", rt_sock] + cmd.split())
                return r.stdout

            def routes():
                """The router's routes: prefix -> next hop."""
                return bird_routes(birdc("show route protocol nfg1"))

            def wait_routes(want, timeout):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    got = routes()
                    if set(got) == set(want):
                        return got
                    time.sleep(0.2)
                raise Failure("router's routes from the gateway: want %s, have %s (%s)"
                              % (sorted(want), routes(), birdc("show protocols all nfg1")))

            def session_since():
                for line in birdc("show protocols nfg1").splitlines():
                    words = line.split()
                    if words and words[0] == "nfg1":
                        return words[3], words[4]
                return None

            config = os.path.join(tmp, "config")
            os.makedirs(os.path.join(config, "cluster"))
            cluster = os.path.join(config, "cluster", "services.yaml")
            write_cluster(cluster, web_ready=True, idle_ready=False)
            gw_file = os.path.join(config, "gateway.yaml")
            with open(gw_file, "w") as f:
                f.write("dataplane: kernel\nnodeAddresses: [192.0.2.1]\nclusterCIDRs: [10.244.0.0/16]\n"
                        "serviceCIDRs: [10.96.0.0/16]\nmanifests: [cluster/]\n"
                        "bgp:\n  asn: 64512\n  peers: [{address: 192.0.2.254, asn: 64500, holdTime: 9}]\n")
            daemon = lab.daemon(nfgate, gw_file)
            expect(daemon.next_line(30) == "nfgate: ready", "nfgate starts: %r" % daemon.lines)
            sock = os.path.join(config, "nfgate.sock")
            for f in ("nfgate.bird.conf", "nfgate.bird.routes.conf", "nfgate.bird.ctl"):
                expect(os.path.exists(os.path.join(config, f)), "BIRD's %s lives beside the control socket" % f)

            got = wait_routes({"203.0.113.10/32"}, 30)
            expect(got["203.0.113.10/32"] == "192.0.2.1", "next hop is the gateway: %s" % got)
            r = run([nfgatectl, "--socket", sock, "-o", "json", "bgp"])
            expect(r.returncode == 0, "nfgatectl bgp: %s %s" % (r.stdout, r.stderr))
            answer = json.loads(r.stdout)
            expect(answer["announced"] == ["203.0.113.10/32"], "announced: %s" % answer)
            s = answer["sessions"]
            expect(len(s) == 1 and s[0]["peer"] == "192.0.2.254" and s[0]["asn"] == 64500 and
                   s[0]["state"] == "Established" and s[0]["exported"] == 1, "session: %s" % s)
            r = run([nfgatectl, "--socket", sock, "bgp"])
            expect(r.returncode == 0 and "Established" in r.stdout and "203.0.113.10/32" in r.stdout,
                   "nfgatectl bgp table: " + r.stdout)
            since = session_since()

            # The readiness swaps: the routes follow, the session stays up.
            write_cluster(cluster, web_ready=False, idle_ready=True)
            r = run([nfgatectl, "--socket", sock, "reload"])
            expect(r.returncode == 0, "reload: " + r.stdout + r.stderr)
            wait_routes({"203.0.113.11/32"}, 10)
            expect(session_since() == since, "the session did not flap: %s then %s" % (since, session_since()))

            # BIRD killed: nfgate starts it again, the router learns the routes again.
            with open(os.path.join(config, "nfgate.bird.pid")) as f:
                bird_pid = int(f.read().split()[0])
            os.kill(bird_pid, signal.SIGKILL)
            wait_routes(set(), 10)
            wait_routes({"203.0.113.11/32"}, 30)
            r = run([nfgatectl, "--socket", sock, "-o", "json", "bgp"])
            answer = json.loads(r.stdout)
            expect(answer["restarts"] == 1 and answer["running"], "restart counted: %s" % answer)
            with open(os.path.join(config, "nfgate.bird.pid")) as f:
                new_pid = int(f.read().split()[0])

            # SIGTERM: withdrawn, then BIRD and nfgate exit.
            os.kill(daemon.proc.pid, 0)
            t0 = time.monotonic()
            expect(daemon.stop() == 0, "nfgate stops cleanly")
            expect(time.monotonic() - t0 < 10, "stop took %.1f s" % (time.monotonic() - t0))
            expect(routes() == {}, "routes withdrawn at exit: %s" % routes())
            try:
                os.kill(new_pid, 0)
                raise Failure("nfgate's BIRD (pid %d) outlived it" % new_pid)
            except ProcessLookupError:
                pass

        return verdict(body)


if __name__ == "__main__":
    sys.exit(main())
