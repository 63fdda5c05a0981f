#!/usr/bin/python3
"""The nfgate lab: network namespaces, bridges and veth pairs around one gateway.

Topology (every name carries a per-run prefix, nfl<pid>-...):

  client 192.0.2.10   client2 192.0.2.50   outside 192.0.2.20      switch "ext"   192.0.2.0/24
  pod-a 10.244.1.10   pod-b 10.244.1.11    pod-c 10.244.1.12       switch "pods"  10.244.0.0/16
  peer 198.51.100.20                                               switch "peer"  198.51.100.0/24

Every host and the gateway are dual-stack: each IPv4 address has an IPv6 twin (the table
TWIN_NETWORKS and v6() below; e.g. 192.0.2.10 -> 2001:db8:2::10, 10.244.1.10 -> fd00:10:244::1:10).

Each switch is a bridge in its own namespace. The gateway (192.0.2.1, 10.244.0.1, 198.51.100.1)
is the only thing that differs per data path:
  kernel  namespace "gw" holds the addresses on veths and runs `nfgate` (dataplane kernel);
  dpdk    namespace "gw" runs `nfgate` (dataplane dpdk) whose TAP ports are bridged to the veths
          (named w-<segment> there); the kernel of "gw" holds the gateway's addresses only on
          nfgate's exception-path interfaces (named after the ports), as a fast-path box does;
  reference  like kernel, but a hand-written ruleset (reference.nft) instead of the daemon: it
          shows what the scenarios expect of any implementation.

Pods hold /32 addresses with the gateway as their only route, so pod-to-pod traffic and
in-cluster clients of a Service go through the gateway as well. The outside host has no route
to the pods: it can only answer traffic that was masqueraded. It is also the gateway's upstream
router (default route), with forwarding on and no route to the service ranges. The peer host
routes the pods via the gateway: it is in a nonMasqueradeCIDR and sees pod addresses.

Every lab is torn down on exit, on a signal and on failure; a sweeper removes leftovers of
earlier runs whose process is gone.
"""
import atexit
import ipaddress
import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PREFIX_RE = re.compile(r"^nfl(\d+)-")
NETNS_DIR = "/run/netns"
DPDK_RUNTIME_DIR = "/var/run/dpdk"  # EAL's runtime files, one folder per --file-prefix

# The IPv6 plan: each IPv4 network of the lab and its IPv6 twin. An address's twin keeps the
# IPv4 host part written as it is, octet by octet, as the last groups: 192.0.2.10 ->
# 2001:db8:2::10, 10.244.1.10 -> fd00:10:244::1:10, 10.96.0.14 -> fd00:10:96::14 (hex groups that
# read like the IPv4 octets). configs/lab and reference.nft use the same plan.
TWIN_NETWORKS = [
    ("192.0.2.0/24", "2001:db8:2::/64"),        # ext segment (documentation prefix)
    ("10.244.0.0/16", "fd00:10:244::/64"),      # pods segment = clusterCIDRs (ULA)
    ("198.51.100.0/24", "2001:db8:100::/64"),   # peer segment (a nonMasqueradeCIDR)
    ("10.96.0.0/16", "fd00:10:96::/112"),       # serviceCIDRs: ClusterIPs (ULA)
    ("203.0.113.0/24", "2001:db8:113::/64"),    # VIPs routed to the gateway (LB ingress, externalIPs)
]


def v6(address):
    """The IPv6 twin of a lab IPv4 address, CIDR or address/prefix length (see TWIN_NETWORKS);
    an address that already is IPv6 is returned as it is."""
    text, _, length = address.partition("/")
    if ":" in text:
        return address
    ip4 = ipaddress.IPv4Address(text)
    for net4_text, net6_text in TWIN_NETWORKS:
        net4, net6 = ipaddress.IPv4Network(net4_text), ipaddress.IPv6Network(net6_text)
        if ip4 not in net4:
            continue
        if length and int(length) == net4.prefixlen and ip4 == net4.network_address:
            return str(net6)  # the network itself
        host_octets = text.split(".")[net4.prefixlen // 8:]
        twin = ipaddress.IPv6Address(f"{net6.network_address}".rstrip(":") + "::"
                                     + ":".join(host_octets))
        if not length:
            return str(twin)
        twin_length = 128 if int(length) == 32 else net6.prefixlen
        return f"{twin}/{twin_length}"
    raise ValueError(f"{address}: no IPv6 twin (not in a network of TWIN_NETWORKS)")


# name -> (subnet, gateway address with prefix)
SEGMENTS = {
    "ext": "192.0.2.1/24",
    "pods": "10.244.0.1/16",
    "peer": "198.51.100.1/24",
}

CLIENT_ROUTES = ["10.96.0.0/16", "203.0.113.0/24"]

# The IPv6 MTU of the peer segment (the gateway's side and the peer's): forwarding a larger
# IPv6 packet toward the peer takes an ICMPv6 Packet Too Big (scenario pmtu-v6). Only the IPv6
# MTU (net.ipv6.conf.IF.mtu) is lowered, so IPv4 is untouched.
PEER_MTU6 = 1280


class Host:
    def __init__(self, name, segment, address, routes=(), default_via=None, servers=False,
                 agent=False, router=False):
        self.name = name
        self.segment = segment
        self.address = address  # with prefix length
        self.routes = list(routes)  # (cidr, via)
        self.default_via = default_via
        self.servers = servers
        self.agent = agent
        self.router = router

    @property
    def ip(self):
        return self.address.split("/")[0]

    @property
    def address6(self):
        return v6(self.address)


HOSTS = [
    Host("client", "ext", "192.0.2.10/24", [(r, "192.0.2.1") for r in CLIENT_ROUTES], agent=True),
    Host("client2", "ext", "192.0.2.50/24", [(r, "192.0.2.1") for r in CLIENT_ROUTES], agent=True),
    Host("outside", "ext", "192.0.2.20/24", servers=True, router=True),
    Host("pod-a", "pods", "10.244.1.10/32", default_via="10.244.0.1", servers=True, agent=True),
    Host("pod-b", "pods", "10.244.1.11/32", default_via="10.244.0.1", servers=True),
    Host("pod-c", "pods", "10.244.1.12/32", default_via="10.244.0.1", servers=True, agent=True),
    Host("peer", "peer", "198.51.100.20/24", [("10.244.0.0/16", "198.51.100.1")], servers=True),
]

# The gateway's default route: "outside" forwards like an upstream router but knows no route to
# the service or pod ranges, so anything the gateway should have dropped or rejected itself comes
# back as an ICMP network unreachable instead of passing for a silent drop.
UPSTREAM = "192.0.2.20"
UPSTREAM6 = v6(UPSTREAM)

TCP_PORT = 8080
UDP_PORT = 5353


FIXED_SOURCE_PORTS = "40000-40099"  # scenarios that reuse one 4-tuple bind from these


class LabError(Exception):
    pass


def bird_routes(text):
    """`birdc show route ...` output -> {prefix: next hop (None when it names none)}."""
    routes, last = {}, None
    for line in text.splitlines():
        words = line.split()
        if words and "/" in words[0] and (words[0][0].isdigit() or ":" in words[0]):
            last = words[0]
            routes[last] = None
        if last and "via" in words:
            routes[last] = words[words.index("via") + 1]
    return routes


def sh(*cmd, check=True, input=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_namespace_processes(ns):
    """Ends what runs inside one of our own namespaces, so the namespace can really go."""
    pids = sh("ip", "netns", "pids", ns, check=False).split()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(int(pid), sig)
            except (ProcessLookupError, ValueError):
                pass
        if sig == signal.SIGTERM and pids:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and any(pid_alive(int(p)) for p in pids):
                time.sleep(0.05)
        pids = [p for p in pids if pid_alive(int(p))]
        if not pids:
            return


def sweep_stale_labs():
    """Removes namespaces (and EAL runtime folders) of earlier lab runs whose owning process
    no longer exists."""
    if os.path.isdir(NETNS_DIR):
        for ns in sorted(os.listdir(NETNS_DIR)):
            match = PREFIX_RE.match(ns)
            if match and not pid_alive(int(match.group(1))):
                kill_namespace_processes(ns)
                sh("ip", "netns", "del", ns, check=False)
    for name in os.listdir(tempfile.gettempdir()):
        match = PREFIX_RE.match(name)
        if match and not pid_alive(int(match.group(1))) and not os.environ.get("NFGATE_LAB_KEEP"):
            shutil.rmtree(os.path.join(tempfile.gettempdir(), name), ignore_errors=True)
    if os.path.isdir(DPDK_RUNTIME_DIR):
        for name in os.listdir(DPDK_RUNTIME_DIR):
            match = re.match(r"^nfl(\d+)$", name)
            if match and not pid_alive(int(match.group(1))):
                shutil.rmtree(os.path.join(DPDK_RUNTIME_DIR, name), ignore_errors=True)


def find_nfgate(build_dir):
    for rel in ("control/daemon/nfgate", "nfgate"):
        path = os.path.join(build_dir, rel)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise LabError(f"no nfgate executable in {build_dir} (looked for control/daemon/nfgate and "
                   "nfgate): build it first with meson compile")


class LineProcess:
    """A child process whose output lines are collected by a thread, for waiting on them."""

    def __init__(self, argv, log_path, stdin=subprocess.DEVNULL):
        self.log = open(log_path, "a", buffering=1)
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     start_new_session=True)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.write(line)
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.lines)

    def wait_line(self, predicate, timeout, since=0):
        """First line from index `since` on that satisfies predicate, or None on timeout/exit."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[since:]:
                    if predicate(line):
                        return line
                since = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    return None
                self.cond.wait(min(left, 0.2))

    def output(self):
        with self.cond:
            return "\n".join(self.lines)

    def stop(self, grace=5.0):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.reader.join(2)
        self.log.close()


class Agent:
    """A client agent (client.py) in one namespace: one JSON command, one JSON reply."""

    def __init__(self, lab, host):
        self.lab, self.host = lab, host
        self._spawn()

    def _spawn(self):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.ns(self.host.name), sys.executable,
             os.path.join(HERE, "client.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1,
            start_new_session=True)
        self._read_reply(10)

    def _read_reply(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise LabError(f"client agent in {self.host.name} did not answer in {timeout:.1f} s")
        line = self.proc.stdout.readline()
        if not line:
            raise LabError(f"client agent in {self.host.name} exited")
        return json.loads(line)

    def call(self, op, budget=10.0, **args):
        try:
            self.proc.stdin.write(json.dumps(dict(op=op, **args)) + "\n")
            self.proc.stdin.flush()
            reply = self._read_reply(budget)
        except (LabError, OSError) as exc:
            # A late reply would be taken for the next command's: start a fresh agent (the
            # sockets it held are gone with it) and report this command as failed.
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self._spawn()
            raise LabError(f"{exc}; agent restarted") from exc
        if not reply.get("ok"):
            raise LabError(f"client agent in {self.host.name}: {op} failed: {reply.get('error')}")
        return reply["result"]

    def tcp(self, ip, port, count=1, timeout=1.0, give_up_after=0, sport=0):
        return self.call("tcp", budget=count * (timeout + 1) + 10, ip=ip, port=port, count=count,
                         timeout=timeout, give_up_after=give_up_after, sport=sport)

    def udp(self, ip, port, count=1, timeout=1.0, give_up_after=0):
        return self.call("udp", budget=count * (timeout + 1) + 10, ip=ip, port=port, count=count,
                         timeout=timeout, give_up_after=give_up_after)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Lab:
    def __init__(self, path, build_dir=None, config_dir=None, gateway_file=None, verbose=False,
                 workers=None):
        if path not in ("kernel", "dpdk", "reference"):
            raise LabError(f"unknown path {path!r}: valid are kernel, dpdk, reference")
        self.path = path
        self.build_dir = build_dir
        self.config_src = config_dir or os.path.join(REPO, "configs", "lab")
        self.gateway_file = gateway_file or (
            "gateway-dpdk.yaml" if path == "dpdk" else "gateway-kernel.yaml")
        self.verbose = verbose
        self.workers = workers  # dpdk: overrides the file's worker count (None: keep it)
        self.prefix = f"nfl{os.getpid()}"
        self.namespaces = []
        self.processes = []
        self.agents = {}
        self.daemon = None
        self.daemon_stopped = False  # stopped on purpose by a scenario
        self.workdir = None
        self.torn_down = False
        self.hosts = {h.name: h for h in HOSTS}

    # ---- naming and commands ------------------------------------------------------------
    def ns(self, role):
        return f"{self.prefix}-{role}"

    def ip(self, role, *args, check=True):
        return sh("ip", "-n", self.ns(role), *args, check=check)

    def exec(self, role, *cmd, check=True, input=None):
        return sh("ip", "netns", "exec", self.ns(role), *cmd, check=check, input=input)

    def sysctl(self, role, key, value):
        self.exec(role, "sysctl", "-q", "-w", f"{key}={value}")

    def log(self, text):
        if self.verbose:
            print(f"lab: {text}", file=sys.stderr, flush=True)

    # ---- life cycle ---------------------------------------------------------------------
    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def up(self):
        sweep_stale_labs()
        atexit.register(self.down)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        self.workdir = tempfile.mkdtemp(prefix=self.prefix + "-")
        self.config_dir = os.path.join(self.workdir, "config")
        shutil.copytree(self.config_src, self.config_dir)
        self.config_path = os.path.join(self.config_dir, self.gateway_file)
        if self.path == "dpdk":
            self._make_dpdk_config_private()
        self._build_topology()
        self._start_servers()
        self._start_gateway()
        for host in HOSTS:
            if host.agent:
                self.agents[host.name] = Agent(self, host)
        self._warm_up()

    def _on_signal(self, signum, frame):
        self.down()
        raise SystemExit(128 + signum)

    def down(self):
        if self.torn_down:
            return
        self.torn_down = True
        for agent in self.agents.values():
            agent.stop()
        if self.daemon:
            self.daemon.stop()
        for proc in self.processes:
            proc.stop(1)
        for ns in reversed(self.namespaces):
            kill_namespace_processes(ns)
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(os.path.join(DPDK_RUNTIME_DIR, self.prefix), ignore_errors=True)
        if self.workdir and not os.environ.get("NFGATE_LAB_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- topology -------------------------------------------------------------------------
    def _add_ns(self, role, ipv6=True):
        name = self.ns(role)
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        if ipv6:
            # Addresses (link-local ones too) are usable at once: no duplicate address
            # detection, which would hold them tentative for a second or more. Scenarios count
            # ICMPv6 errors from hosts; the default rate limit (1 s) would eat some.
            for scope in ("all", "default"):
                self.sysctl(role, f"net.ipv6.conf.{scope}.disable_ipv6", 0)
                self.sysctl(role, f"net.ipv6.conf.{scope}.accept_dad", 0)
                self.sysctl(role, f"net.ipv6.conf.{scope}.dad_transmits", 0)
            self.sysctl(role, "net.ipv6.icmp.ratelimit", 0)
        else:
            self.sysctl(role, "net.ipv6.conf.all.disable_ipv6", 1)
            self.sysctl(role, "net.ipv6.conf.default.disable_ipv6", 1)
        self.ip(role, "link", "set", "lo", "up")
        # Source ports the scenarios bind on purpose are never handed out as ephemeral ports,
        # so an unrelated connection cannot hold one when a scenario needs it.
        self.sysctl(role, "net.ipv4.ip_local_reserved_ports", FIXED_SOURCE_PORTS)

    def _no_bridge_netfilter(self, role):
        """With br_netfilter loaded (container runtimes load it) a bridge hands frames to the IP
        stack's netfilter hooks, which drop malformed IPv4 before it reaches a TAP port: the fast
        path's tests must see such frames. The switches are plain switches."""
        if not os.path.isdir("/proc/sys/net/bridge"):
            return
        for key in ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables"):
            self.sysctl(role, f"net.bridge.{key}", 0)

    def _build_topology(self):
        for segment in SEGMENTS:
            role = "sw-" + segment
            # A switch only bridges frames: it needs no IPv6 of its own, and no multicast
            # snooping (neighbour solicitations go to solicited-node multicast groups, which a
            # snooping bridge without a querier may not deliver).
            self._add_ns(role, ipv6=False)
            self._no_bridge_netfilter(role)
            self.ip(role, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
            self.ip(role, "link", "set", "br0", "up")
        for host in HOSTS:
            self._add_host(host)
        self._add_ns("gw")
        self._no_bridge_netfilter("gw")
        self.sysctl("gw", "net.ipv4.conf.all.rp_filter", 0)
        self.sysctl("gw", "net.ipv4.conf.default.rp_filter", 0)
        for segment, address in SEGMENTS.items():
            if self.path == "dpdk":
                # The kernel of "gw" holds no address of its own on the wires, only a bridge
                # that nfgate's TAP port joins once it exists. The segment's name is left free for
                # nfgate's exception-path interface, which carries the port's name and address.
                self._plug("sw-" + segment, "gw", "p-gw", "w-" + segment)
                self.ip("gw", "link", "add", "br-" + segment, "type", "bridge", "mcast_snooping", "0")
                self.ip("gw", "link", "set", "w-" + segment, "master", "br-" + segment)
                self.ip("gw", "link", "set", "br-" + segment, "up")
                continue
            self._plug("sw-" + segment, "gw", "p-gw", segment)
            self.ip("gw", "addr", "add", address, "dev", segment)
            self.ip("gw", "-6", "addr", "add", v6(address), "dev", segment, "nodad")
        if self.path != "dpdk":
            self.ip("gw", "route", "add", "default", "via", UPSTREAM)
            self.ip("gw", "-6", "route", "add", "default", "via", UPSTREAM6)
            self.sysctl("gw", "net.ipv4.ip_forward", 1)
            self.sysctl("gw", "net.ipv6.conf.all.forwarding", 1)
            self.sysctl("gw", "net.ipv6.conf.peer.mtu", PEER_MTU6)
            # Pod-to-pod traffic leaves the interface it came in on: a redirect would teach
            # the pods to bypass the gateway, which is not what is being tested.
            self.sysctl("gw", "net.ipv4.conf.all.send_redirects", 0)
            for segment in SEGMENTS:
                self.sysctl("gw", f"net.ipv4.conf.{segment}.send_redirects", 0)

    def _plug(self, switch_role, host_role, port_name, host_ifname):
        self.ip(switch_role, "link", "add", port_name, "type", "veth", "peer", "name",
                host_ifname, "netns", self.ns(host_role))
        self.ip(switch_role, "link", "set", port_name, "master", "br0", "up")
        self.ip(host_role, "link", "set", host_ifname, "up")

    def _add_host(self, host):
        self._add_ns(host.name)
        self._plug("sw-" + host.segment, host.name, "p-" + host.name, "eth0")
        self.ip(host.name, "addr", "add", host.address, "dev", "eth0")
        self.ip(host.name, "-6", "addr", "add", host.address6, "dev", "eth0", "nodad")
        # IPv6 has no send_redirects switch on the gateway: the hosts ignore redirects instead.
        for family in ("ipv4", "ipv6"):
            self.sysctl(host.name, f"net.{family}.conf.all.accept_redirects", 0)
            self.sysctl(host.name, f"net.{family}.conf.eth0.accept_redirects", 0)
        if host.segment == "peer":
            self.sysctl(host.name, "net.ipv6.conf.eth0.mtu", PEER_MTU6)
        # Scenarios count ICMP errors from hosts; the default rate limit would eat some.
        self.sysctl(host.name, "net.ipv4.icmp_ratelimit", 0)
        if host.default_via:
            self.ip(host.name, "route", "add", host.default_via, "dev", "eth0", "scope", "link")
            self.ip(host.name, "route", "add", "default", "via", host.default_via, "dev", "eth0")
            self.ip(host.name, "-6", "route", "add", v6(host.default_via), "dev", "eth0")
            self.ip(host.name, "-6", "route", "add", "default", "via", v6(host.default_via),
                    "dev", "eth0")
        for cidr, via in host.routes:
            self.ip(host.name, "route", "add", cidr, "via", via)
            self.ip(host.name, "-6", "route", "add", v6(cidr), "via", v6(via))
        if host.router:
            self.sysctl(host.name, "net.ipv4.ip_forward", 1)
            self.sysctl(host.name, "net.ipv6.conf.all.forwarding", 1)

    def _start_servers(self):
        for host in HOSTS:
            if not host.servers:
                continue
            proc = LineProcess(
                ["ip", "netns", "exec", self.ns(host.name), sys.executable,
                 os.path.join(HERE, "servers.py"), "--name", host.name,
                 "--tcp", str(TCP_PORT), "--udp", str(UDP_PORT)],
                os.path.join(self.workdir, f"servers-{host.name}.log"), stdin=subprocess.PIPE)
            self.processes.append(proc)
        for proc in self.processes:
            if proc.wait_line(lambda l: l == "ready", 10) is None:
                raise LabError(f"servers did not start: {proc.output()}")

    # ---- the gateway ----------------------------------------------------------------------
    def _make_dpdk_config_private(self):
        """Gives EAL a per-run file prefix so parallel DPDK processes never share runtime files,
        and applies a worker count asked for on the command line."""
        with open(self.config_path) as f:
            text = f.read()
        eal = re.search(r"^eal:\s*\[(.*)\]\s*$", text, re.M)
        if not eal:
            raise LabError(f"{self.config_path}: expected a one-line `eal: [...]` list")
        args = eal.group(1) + f', "--file-prefix={self.prefix}"'
        if self.workers:
            # One main lcore plus one per worker, mapped onto the CPUs there are (several
            # workers may share one): the TAP ports then get one queue per worker and replies
            # can land on another worker's queue than their flow's first packet.
            cpus = os.cpu_count() or 1
            lcores = ",".join(["0@0"] + [f"{i}@{1 + (i - 1) % max(cpus - 1, 1) if cpus > 1 else 0}"
                                         for i in range(1, self.workers + 1)])
            args = re.sub(r'-l,\s*"[^"]*"', f'--lcores, "{lcores}"', args)
            text = re.sub(r"^workers:.*$", f"workers: {self.workers}", text, flags=re.M)
        text = text[:eal.start(1)] + args + text[eal.end(1):]
        with open(self.config_path, "w") as f:
            f.write(text)

    def _start_gateway(self):
        if self.path == "reference":
            self._apply_reference_ruleset()
            return
        nfgate = find_nfgate(self.build_dir)
        self.daemon = LineProcess(
            ["ip", "netns", "exec", self.ns("gw"), nfgate, "--config", self.config_path,
             "--control-socket", os.path.join(self.workdir, "nfgate.sock")],
            os.path.join(self.workdir, "nfgate.log"))
        if self.daemon.wait_line(lambda l: l.strip() == "nfgate: ready", 60) is None:
            raise LabError("nfgate did not print `nfgate: ready` within 60 s; its output:\n"
                           + self.daemon.output())
        if self.path == "dpdk":
            self._bridge_tap_ports()

    def _bridge_tap_ports(self):
        """Joins each TAP port's kernel side to its segment's bridge as nfgate left it: nfgate
        gives that side a MAC of its own (not the port's), which is what lets a bridge forward
        frames for the port into the TAP."""
        deadline = time.monotonic() + 60
        pending = set(SEGMENTS)
        while pending:
            for segment in sorted(pending):
                tap = "nfg-" + segment
                if self.ip("gw", "link", "show", tap, check=False):
                    self.ip("gw", "link", "set", tap, "master", "br-" + segment, "up")
                    pending.discard(segment)
            if not pending:
                break
            if self.daemon.proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"TAP ports {sorted(pending)} never appeared in the gateway "
                               "namespace; nfgate output:\n" + self.daemon.output())
            time.sleep(0.1)

    def _apply_reference_ruleset(self):
        # The in-subnet externalIP as a local address, so the kernel answers ARP for it (this
        # kernel has no dummy devices; lo does the same job).
        self.ip("gw", "addr", "add", "192.0.2.100/32", "dev", "lo")
        # Its IPv6 twin: the kernel answers neighbour solicitations only for addresses of the
        # interface they arrive on, so it sits on ext itself; deprecated (preferred_lft 0), so
        # the gateway never picks it as a source address (masquerade, ICMPv6 errors).
        self.ip("gw", "-6", "addr", "add", v6("192.0.2.100") + "/128", "dev", "ext", "nodad",
                "preferred_lft", "0")
        self.exec("gw", "nft", "-f", os.path.join(HERE, "reference.nft"))

    def _warm_up(self):
        """Every host sends one datagram to its gateway address, so hosts and gateway know each
        other's MAC before anything is timed (the fast path learns neighbours as well)."""
        for host in HOSTS:
            gw = SEGMENTS[host.segment].split("/")[0]
            self.exec(host.name, sys.executable, "-c",
                      "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                      f".sendto(b'hello', ('{gw}', 9)); "
                      "socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)"
                      f".sendto(b'hello', ('{v6(gw)}', 9))", check=False)
        time.sleep(0.2)

    def sighup(self):
        if not self.daemon:
            raise LabError(f"the {self.path} gateway has no daemon to reload")
        mark = self.daemon.mark()
        os.killpg(self.daemon.proc.pid, signal.SIGHUP)
        return mark

    def reload(self, timeout=20):
        """Sends SIGHUP; returns the daemon's answer line (reloaded / reload rejected) or None."""
        mark = self.sighup()
        return self.daemon.wait_line(
            lambda l: l.startswith("nfgate: reloaded") or l.startswith("nfgate: reload rejected"),
            timeout, since=mark)

    def nfgate_path(self):
        return find_nfgate(self.build_dir)

    def nfgatectl_argv(self, *args):
        ctl = os.path.join(self.build_dir, "control", "ctl", "nfgatectl")
        return [ctl, "--socket", os.path.join(self.workdir, "nfgate.sock")] + list(args)

    def nfgatectl(self, *args):
        """Runs build/nfgatectl against this lab's daemon; returns (exit status, stdout, stderr)."""
        r = subprocess.run(self.nfgatectl_argv(*args), capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def stop_daemon(self):
        if self.daemon:
            self.daemon_stopped = True
            self.daemon.stop()

    def restart_daemon(self):
        """SIGTERM to the daemon, then a new one on the same configuration (waits for ready)."""
        self.daemon.stop()
        self._start_gateway()

    def ruleset(self):
        return self.exec("gw", "nft", "list", "table", "ip", "nfgate", check=False)

    def agent(self, name):
        return self.agents[name]


def main():
    import argparse
    parser = argparse.ArgumentParser(description="build a lab and keep it until Enter")
    parser.add_argument("--build", default=os.path.join(REPO, "build"))
    parser.add_argument("--path", default="kernel", choices=["kernel", "dpdk", "reference"])
    args = parser.parse_args()
    with Lab(args.path, args.build, verbose=True) as lab:
        print(f"lab {lab.prefix} up: namespaces {', '.join(lab.namespaces)}; Enter tears it down")
        sys.stdin.readline()


if __name__ == "__main__":
    main()
