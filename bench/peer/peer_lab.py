"""The peer benchmark's topology: three network namespaces and two veth pairs, one gateway.

   gen  (g0 192.0.2.10/24) ── veth ── (ext) gw (pods) ── veth ── (s0 10.244.1.10, .11/32) pods

The same two veth pairs carry both measurements; only the gateway namespace changes role:
  kernel  ext/pods hold 192.0.2.1/24 and 10.244.0.1/16, ip_forward=1, `nfgate --once` ruleset;
  dpdk    ext/pods hold no address; `nfgate` (dataplane dpdk) owns them through net_af_packet or
          net_af_xdp and answers ARP for the same addresses itself; a netdev ingress drop on both
          keeps the namespace's own stack from handling the frames after nfgate's sockets got them.

CPU placement on this 2-core box is fixed so both paths get the same budget. Every veth receives
through threaded NAPI (GRO on makes veth use NAPI; `threaded` gives each queue a kthread): the
gateway's two receive kthreads are pinned to CPU 1, where the DPDK worker lcore runs too, and the
gen/pods receive kthreads to CPU 0 with the generator, the sink and the TCP ends. Each side's
receive work is then a thread whose CPU time can be read, not softirq time spread over whichever
CPU happened to send; and a full veth ring (256 packets) shows as a drop at the receiver.

Names carry the prefix nfp<pid>; teardown removes the namespaces (and so the veths) and every
process in them, also on failure or a signal, and a later run sweeps leftovers of dead runs.
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))

from lab import LabError, LineProcess, find_nfgate, kill_namespace_processes, pid_alive, sh  # noqa: E402

PREFIX_RE = re.compile(r"^nfp(\d+)-")
NETNS_DIR = "/run/netns"

GW_EXT = "192.0.2.1"
GW_PODS = "10.244.0.1"
VIP = "10.96.0.10"
# One client address: the client's TCP timestamps then share one offset and grow monotonically, so
# a SYN that meets a TIME_WAIT socket of an earlier trial on the server (the gateway's SNAT ports
# repeat from trial to trial) is accepted as a new connection instead of answered with a stale ACK.
# The client never holds TIME_WAIT itself (the server closes first): one address has ports enough.
CLIENT_IP = "192.0.2.10"
ENDPOINTS = ["10.244.1.10", "10.244.1.11"]
UDP_PORT, UDP_TARGET = 53, 5353
TCP_PORT, TCP_TARGET = 80, 8080
GATEWAY_CPU, ENDS_CPU = 1, 0
# Ahead of unrelated work on the box for the minute the benchmark runs. With autogroup
# scheduling (sched_autogroup_enabled=1) a nice value only orders threads inside one session:
# every measured process therefore gets a session of its own whose autogroup gets the same nice.
NICE = -20


def prioritised(role_argv):
    """argv that raises its own (new) session's autogroup, then runs role_argv niced."""
    return ["sh", "-c", f'echo {NICE} > /proc/self/autogroup 2>/dev/null; exec "$@"', "sh",
            "nice", "-n", str(NICE), *role_argv]

KERNEL_GATEWAY = """dataplane: kernel
nodeAddresses: [192.0.2.1]
clusterCIDRs: [10.244.0.0/16]
serviceCIDRs: [10.96.0.0/16]
masquerade: {egress: true, nonMasqueradeCIDRs: [10.244.0.0/16], all: false}
conntrack: {maxFlows: 1048576}
manifests: [cluster.yaml]
"""

DPDK_GATEWAY = """dataplane: dpdk
eal: [--no-huge, -m, "512", --no-pci, -l, "0-1", "--file-prefix={prefix}"]
workers: 1
nodeAddresses: [192.0.2.1]
clusterCIDRs: [10.244.0.0/16]
serviceCIDRs: [10.96.0.0/16]
masquerade: {{egress: true, nonMasqueradeCIDRs: [10.244.0.0/16], all: false}}
interfaces:
  - {{name: ext, device: "{ext}", address: 192.0.2.1/24}}
  - {{name: pods, device: "{pods}", address: 10.244.0.1/16}}
conntrack: {{maxFlows: 1048576}}
manifests: [cluster.yaml]
"""

# DPDK devargs per fast-path port driver; {n} is the port index, {iface} the veth. af_xdp's
# preferred busy polling (its default) turns every empty RX poll into a recvfrom() that drives
# the veth's NAPI from the worker; here that more than halved the rate, so it is off.
DEVICES = {
    "af_packet": "net_af_packet{n},iface={iface},framecnt=4096,qdisc_bypass=1",
    "af_xdp": "net_af_xdp{n},iface={iface},busy_budget=0",
}


class PeerError(LabError):
    """A step of the benchmark failed; lab.sh failures (LabError) are the same kind of thing."""


def sweep_stale():
    """Namespaces and EAL runtime directories of earlier runs whose process is gone."""
    for ns in sorted(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else []:
        match = PREFIX_RE.match(ns)
        if match and not pid_alive(int(match.group(1))):
            kill_namespace_processes(ns)
            sh("ip", "netns", "del", ns, check=False)
    eal_dir = "/var/run/dpdk"
    for name in sorted(os.listdir(eal_dir)) if os.path.isdir(eal_dir) else []:
        match = re.match(r"^nfp(\d+)$", name)
        if match and not pid_alive(int(match.group(1))):
            shutil.rmtree(os.path.join(eal_dir, name), ignore_errors=True)


class PeerLab:
    def __init__(self, build_dir):
        self.build_dir = os.path.abspath(build_dir)
        self.prefix = f"nfp{os.getpid()}"
        self.namespaces = []
        self.processes = []
        self.daemon = None
        self.kernel_on = False
        self.ingress_drop = False
        self.workdir = None
        self.down_done = False
        self.napi = {}  # "role/dev" -> pid of its NAPI kthread

    # ---- commands -----------------------------------------------------------------------
    def ns(self, role):
        return f"{self.prefix}-{role}"

    def ip(self, role, *args, check=True):
        return sh("ip", "-n", self.ns(role), *args, check=check)

    def exec(self, role, *cmd, check=True):
        return sh("ip", "netns", "exec", self.ns(role), *cmd, check=check)

    def sysctl(self, role, key, value):
        self.exec(role, "sysctl", "-q", "-w", f"{key}={value}")

    def tool(self, name):
        path = os.path.join(self.build_dir, "bench", "peer", "peer_" + name)
        if not os.access(path, os.X_OK):
            raise PeerError(f"{path} is missing: build it with meson compile -C {self.build_dir} peer_{name} "
                            "(bench/peer/run_peer.sh does)")
        return path

    def nfgate(self):
        return find_nfgate(self.build_dir)

    def spawn(self, role, argv, name, cpu=None):
        """A process inside namespace `role`, optionally pinned; output lines collected."""
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        proc = LineProcess(prioritised(["ip", "netns", "exec", self.ns(role), *pin, *argv]),
                           os.path.join(self.workdir, name + ".log"))
        self.processes.append(proc)
        return proc

    # ---- life cycle ---------------------------------------------------------------------
    def up(self):
        sweep_stale()
        atexit.register(self.down)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        self.workdir = tempfile.mkdtemp(prefix=self.prefix + "-")
        shutil.copy(os.path.join(HERE, "cluster.yaml"), self.workdir)
        for role in ("gen", "gw", "pods"):
            self._add_ns(role)
        self.ip("gen", "link", "add", "g0", "type", "veth", "peer", "name", "ext", "netns", self.ns("gw"))
        self.ip("pods", "link", "add", "s0", "type", "veth", "peer", "name", "pods", "netns", self.ns("gw"))
        for role, dev in (("gen", "g0"), ("gw", "ext"), ("gw", "pods"), ("pods", "s0")):
            self.ip(role, "link", "set", dev, "up")
        for role, dev, cpu in (("gw", "ext", GATEWAY_CPU), ("gw", "pods", GATEWAY_CPU),
                               ("gen", "g0", ENDS_CPU), ("pods", "s0", ENDS_CPU)):
            self._threaded_napi(role, dev, cpu)
        # The ends' kernels fill in complete checksums: a veth would otherwise hand TCP segments
        # over with only the pseudo-header sum (CHECKSUM_PARTIAL), which a NIC never delivers and a
        # packet-socket port sees as a wrong checksum.
        for role, dev in (("gen", "g0"), ("pods", "s0")):
            self.exec(role, "ethtool", "-K", dev, "tx", "off")
        self._setup_gen()
        self._setup_pods()
        self.sysctl("gw", "net.ipv4.conf.all.rp_filter", 0)
        self.sysctl("gw", "net.ipv4.conf.default.rp_filter", 0)

    def _on_signal(self, signum, frame):
        self.down()
        raise SystemExit(128 + signum)

    def down(self):
        if self.down_done:
            return
        self.down_done = True
        self.stop_gateway()
        for proc in self.processes:
            proc.stop(1)
        for ns in reversed(self.namespaces):
            kill_namespace_processes(ns)
            sh("ip", "netns", "del", ns, check=False)
        if self.workdir and not os.environ.get("NFGATE_PEER_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _add_ns(self, role):
        sh("ip", "netns", "add", self.ns(role))
        self.namespaces.append(self.ns(role))
        self.ip(role, "link", "set", "lo", "up")
        self.sysctl(role, "net.ipv6.conf.all.disable_ipv6", 1)
        self.sysctl(role, "net.ipv6.conf.default.disable_ipv6", 1)

    @staticmethod
    def _napi_threads(dev):
        found = set()
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/comm") as f:
                        if f.read().startswith(f"napi/{dev}-"):
                            found.add(int(pid))
                except OSError:
                    pass
        return found

    def _threaded_napi(self, role, dev, cpu):
        before = self._napi_threads(dev)
        # veth hands a packet to the peer's NAPI only when the sender has no TSO (else only
        # UDP-forwarding/fraglist GRO receivers qualify): TSO off on every veth, GRO on.
        self.exec(role, "ethtool", "-K", dev, "gro", "on", "tso", "off")
        self.exec(role, "sh", "-c", f"echo 1 > /sys/class/net/{dev}/threaded")
        new = self._napi_threads(dev) - before
        if len(new) != 1:
            raise PeerError(f"{role}/{dev}: expected one new NAPI kthread after `threaded`, found {sorted(new)}")
        pid = new.pop()
        sh("taskset", "-p", "-c", str(cpu), str(pid))
        # Lowest real-time priority: like the softirq it replaces, receive work preempts ordinary
        # threads at once; a NAPI kthread left waiting behind them lets the 256-slot veth ring
        # overflow, and a dropped SYN costs a whole second.
        sh("chrt", "-f", "-p", "1", str(pid))
        self.napi[f"{role}/{dev}"] = pid

    def _setup_gen(self):
        self.ip("gen", "addr", "add", CLIENT_IP + "/24", "dev", "g0")
        self.ip("gen", "route", "add", "10.96.0.0/16", "via", GW_EXT)
        self.sysctl("gen", "net.ipv4.ip_local_port_range", "1024 65535")

    def _setup_pods(self):
        for addr in ENDPOINTS:
            self.ip("pods", "addr", "add", addr + "/32", "dev", "s0")
        self.ip("pods", "route", "add", GW_PODS, "dev", "s0", "scope", "link")
        self.ip("pods", "route", "add", "default", "via", GW_PODS, "dev", "s0")
        # No TIME_WAIT on the server: a new gateway starts its SNAT ports afresh, so a later trial
        # repeats the 4-tuples of an earlier one, and a SYN meeting a TIME_WAIT socket can be
        # answered with a stale ACK (PAWS), costing the client a 1 s SYN retransmission.
        for key, value in (("net.core.somaxconn", 65535), ("net.ipv4.tcp_max_syn_backlog", 65535),
                           ("net.ipv4.tcp_max_tw_buckets", 0)):
            self.sysctl("pods", key, value)
        # The sink reads the UDP test frames from a packet socket; the pods' kernel drops them
        # before the UDP layer so no ICMP port unreachable flows back through the gateway.
        # The counter is a second, independent count of what reached the pods.
        self.nft("pods", "table ip peer_sink {\n chain pre {\n  type filter hook prerouting priority -300;\n"
                 f"  udp dport {UDP_TARGET} counter drop\n }}\n}}\n")

    def nft(self, role, ruleset):
        proc = subprocess.run(["ip", "netns", "exec", self.ns(role), "nft", "-f", "-"], input=ruleset,
                              text=True, capture_output=True)
        if proc.returncode != 0:
            raise PeerError(f"nft in {self.ns(role)} refused:\n{ruleset}{proc.stderr.strip()}")

    # ---- what the benchmark reads -------------------------------------------------------
    def mac(self, role, dev):
        info = json.loads(self.ip(role, "-j", "link", "show", dev))
        return info[0]["address"]

    def link_stats(self):
        out = {}
        for role, dev in (("gen", "g0"), ("gw", "ext"), ("gw", "pods"), ("pods", "s0")):
            s = json.loads(self.ip(role, "-j", "-s", "link", "show", dev))[0]["stats64"]
            out[f"{role}/{dev}"] = {"rx": s["rx"]["packets"], "rx_dropped": s["rx"]["dropped"],
                                    "tx": s["tx"]["packets"], "tx_dropped": s["tx"]["dropped"]}
        return out

    @staticmethod
    def process_cpu_s(proc):
        """CPU seconds of a spawned process (every wrapper execs in place: the pid is the tool's)."""
        with open(f"/proc/{proc.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def pods_nft_counter(self):
        text = self.exec("pods", "nft", "list", "table", "ip", "peer_sink")
        match = re.search(r"counter packets (\d+)", text)
        return int(match.group(1)) if match else 0

    # ---- the gateway --------------------------------------------------------------------
    def start_kernel(self):
        self.ip("gw", "addr", "add", GW_EXT + "/24", "dev", "ext")
        self.ip("gw", "addr", "add", GW_PODS + "/16", "dev", "pods")
        self.sysctl("gw", "net.ipv4.ip_forward", 1)
        for dev in ("all", "ext", "pods"):
            self.sysctl("gw", f"net.ipv4.conf.{dev}.send_redirects", 0)
        path = os.path.join(self.workdir, "gateway-kernel.yaml")
        with open(path, "w") as f:
            f.write(KERNEL_GATEWAY)
        self.kernel_on = True
        proc = subprocess.run(["ip", "netns", "exec", self.ns("gw"), self.nfgate(), "--config", path, "--once"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise PeerError(f"nfgate --once failed ({proc.returncode}): {proc.stderr.strip()}")

    def start_dpdk(self, driver):
        if driver not in DEVICES:
            raise PeerError(f"unknown fast-path port driver {driver!r}: valid are {', '.join(DEVICES)}")
        devices = {name: DEVICES[driver].format(n=i, iface=name) for i, name in enumerate(("ext", "pods"))}
        path = os.path.join(self.workdir, "gateway-dpdk.yaml")
        with open(path, "w") as f:
            f.write(DPDK_GATEWAY.format(prefix=self.prefix, **devices))
        # A packet socket sees each frame before the netdev ingress hook does: dropping there keeps
        # the gateway namespace's own IP stack from handling every frame nfgate forwards.
        chains = "".join(f" chain {dev} {{\n  type filter hook ingress device \"{dev}\" priority 0; policy drop;\n }}\n"
                         for dev in ("ext", "pods"))
        self.nft("gw", f"table netdev peer_gw {{\n{chains}}}\n")
        self.ingress_drop = True
        argv = [self.nfgate(), "--config", path]
        if driver == "af_xdp":
            # libxdp pins its dispatcher in bpffs; the mount lives only in this command's mount
            # namespace (ip netns exec makes a private one).
            argv = ["sh", "-c", "mount -t bpf bpf /sys/fs/bpf && exec \"$@\"", "sh", *argv]
        self.daemon = LineProcess(prioritised(["ip", "netns", "exec", self.ns("gw"), *argv]),
                                  os.path.join(self.workdir, f"nfgate-{driver}.log"))
        if self.daemon.wait_line(lambda l: l.strip() == "nfgate: ready", 30) is None:
            out = self.daemon.output()
            self.stop_gateway()
            raise PeerError(f"nfgate ({driver}) did not print `nfgate: ready` within 30 s; output:\n{out}")

    def daemon_threads(self):
        """(tid, name) of the running nfgate's threads."""
        if not self.daemon:
            return []
        # sh, nice, `ip netns exec` and the bpffs wrapper all exec in place: nfgate keeps the pid.
        task_dir = f"/proc/{self.daemon.proc.pid}/task"
        threads = []
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/comm") as f:
                    threads.append((int(tid), f.read().strip()))
            except OSError:
                pass
        return threads

    def stop_gateway(self):
        if self.daemon:
            self.daemon.stop(10)
            self.daemon = None
            # EAL leaves its runtime directory (named by --file-prefix) behind.
            shutil.rmtree(os.path.join("/var/run/dpdk", self.prefix), ignore_errors=True)
        if self.ingress_drop:
            self.ingress_drop = False
            self.exec("gw", "nft", "delete", "table", "netdev", "peer_gw", check=False)
        if self.kernel_on:
            self.kernel_on = False
            self.exec("gw", self.nfgate(), "--cleanup", check=False)
            self.exec("gw", "conntrack", "-F", check=False)
            self.ip("gw", "addr", "flush", "dev", "ext", check=False)
            self.ip("gw", "addr", "flush", "dev", "pods", check=False)
            self.sysctl("gw", "net.ipv4.ip_forward", 0)
        # Both paths answer for the same addresses with the same MACs; stale entries would
        # only ever point at the right place, but start every measurement from a clean cache.
        for role in ("gen", "pods"):
            self.ip(role, "neigh", "flush", "all", check=False)
