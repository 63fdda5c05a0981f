"""The one scenario list both data paths are judged by.

Each scenario is data: a name, what it shows, and steps. A step names a client namespace, a
protocol and a target, and asserts only what can be observed from the hosts: which backend
answered, which source address the backend saw, and how a request ended (answer, reset, ICMP
unreachable, timeout). Nothing here knows how the gateway does it, so the same list runs on the
kernel path, the fast path and the hand-written reference ruleset.

Addresses and Services come from configs/lab (see the comment in its cluster/services.yaml).
Every scenario made of steps has an IPv6 twin, named NAME-v6, made from the same steps by
probes.twin() (the lab's one IPv4 -> IPv6 address table); "dualstack-service" and "pmtu-v6" are
IPv6-only additions.
The steps are in probes.py; scenarios that are functions in scenarios_reload.py,
scenarios_operate.py, scenarios_flood.py and scenarios_limit.py.
"""
import os

from lab import PEER_MTU6, TCP_PORT, UDP_PORT, v6
from probes import (CLIENT, FAR_VIP6, GW_EXT, GW_PEER6, GW_PODS, GW_PODS6, PEER6, POD_A, POD_A6, POD_C, POD_C6, Dropped,
                    NeighbourResolved, PathMtu, Pinged, Pinned, Reach, Refused, run_steps, twin)
from scenarios_operate import (bgp_announce, gateway_own_services, kernel_capture_refused, nfgatectl_answers,
                               nfgatectl_capture, nfgatectl_trace, once_and_cleanup, restart_keeps_serving)
from scenarios_reload import masquerade_all, reload_add_service, reload_rejected, reload_remove_endpoint
import scenarios_flood
import scenarios_limit


class Scenario:
    def __init__(self, name, shows, steps=None, check=None, needs_daemon=False, paths=None):
        self.name, self.shows, self.steps, self.check = name, shows, steps, check
        self.needs_daemon = needs_daemon
        self.paths = paths  # None: every path

    def applies_to(self, lab):
        if self.paths and lab.path not in self.paths:
            return False
        return lab.daemon is not None or not self.needs_daemon

    def run(self, lab):
        if self.check:
            return self.check(lab)
        return run_steps(lab, self.steps)


SPREAD = (0.35, 0.65)

# Where the IPv6 scenarios run: every path (NFGATE_LAB_IPV6_PATHS narrows it).
IPV6_PATHS = os.environ.get("NFGATE_LAB_IPV6_PATHS", "reference,kernel,dpdk").split(",")

SCENARIOS = [
    Scenario("clusterip-tcp-spread", "ClusterIP TCP spreads evenly over ready endpoints only",
             [Reach("client", "tcp", "10.96.0.10", 80, count=200, spread=SPREAD)]),
    Scenario("clusterip-udp-spread", "ClusterIP UDP spreads evenly over ready endpoints only",
             [Reach("client", "udp", "10.96.0.10", 53, count=200, spread=SPREAD)]),
    Scenario("nodeport", "nodeAddress:nodePort reaches the endpoints (TCP and UDP)",
             [Reach("client", "tcp", GW_EXT, 30080), Reach("client", "udp", GW_EXT, 30053)]),
    Scenario("loadbalancer-ingress", "status.loadBalancer.ingress IP reaches the endpoints",
             [Reach("client", "tcp", "203.0.113.10", 80)]),
    Scenario("externalip-routed", "an externalIP routed to the gateway reaches the endpoints",
             [Reach("client", "tcp", "203.0.113.20", 80)]),
    Scenario("externalip-arp", "an externalIP inside the ext subnet is answered by ARP and served",
             [Reach("client", "tcp", "192.0.2.100", 80),
              NeighbourResolved("client", "192.0.2.100")]),
    Scenario("etp-cluster-snat", "externalTrafficPolicy Cluster: backends see the gateway",
             [Reach("client", "tcp", "203.0.113.10", 80, source=GW_PODS),
              Reach("client", "tcp", GW_EXT, 30080, source=GW_PODS)]),
    Scenario("etp-local-client-ip", "externalTrafficPolicy Local: backends see the client",
             [Reach("client", "tcp", "203.0.113.11", 80, source=CLIENT),
              Reach("client", "tcp", GW_EXT, 30082, source=CLIENT)]),
    Scenario("in-cluster-client-keeps-source", "a pod calling a ClusterIP keeps its address",
             [Reach("pod-c", "tcp", "10.96.0.10", 80, source=POD_C),
              Reach("pod-c", "udp", "10.96.0.10", 53, source=POD_C)]),
    Scenario("hairpin-pod-to-own-service", "a backend calling its own Service reaches itself too",
             [Reach("pod-a", "tcp", "10.96.0.10", 80), Reach("pod-a", "udp", "10.96.0.10", 53)]),
    Scenario("egress-masquerade", "pod -> outside leaves with the gateway's address",
             [Reach("pod-a", "tcp", "192.0.2.20", TCP_PORT, count=5, backends=["outside"],
                    source=GW_EXT),
              Reach("pod-a", "udp", "192.0.2.20", UDP_PORT, count=5, backends=["outside"],
                    source=GW_EXT)]),
    Scenario("egress-ping-masquerade", "pods' pings to the outside are masqueraded, the echo id "
             "acting as the port (two pods use the same id)",
             [Pinged("pod-a", "192.0.2.20", ident=4242), Pinged("pod-c", "192.0.2.20", ident=4242),
              Pinged("pod-a", "192.0.2.20", ident=4242)]),
    Scenario("egress-non-masquerade", "pod -> a nonMasqueradeCIDR keeps the pod address",
             [Reach("pod-a", "tcp", "198.51.100.20", TCP_PORT, count=5, backends=["peer"],
                    source=POD_A)]),
    Scenario("tcp-same-tuple-reconnect", "one client port reconnecting to a VIP again and again "
             "(flow in TIME_WAIT reopened by a new SYN)",
             [Reach("client", "tcp", "10.96.0.10", 80, count=8, sport=40000, every_backend=False),
              Reach("client", "tcp", GW_EXT, 30080, count=8, sport=40001, every_backend=False)]),
    Scenario("session-affinity", "sessionAffinity ClientIP pins each client to one pod",
             [Pinned("client", "tcp", "10.96.0.14", 80), Pinned("client2", "tcp", "10.96.0.14", 80),
              Pinned("client", "udp", "10.96.0.14", 53)]),
    Scenario("no-endpoints-tcp-reset", "no (ready) endpoint: TCP is reset at once",
             [Refused("client", "tcp", "10.96.0.16", 80),
              Refused("client", "tcp", "10.96.0.18", 80)]),
    Scenario("no-endpoints-udp-unreachable", "no ready endpoint: UDP gets port unreachable at once",
             [Refused("client", "udp", "10.96.0.16", 53)]),
    Scenario("unallocated-clusterip-dropped", "an unallocated ClusterIP is dropped silently",
             [Dropped("client", "tcp", "10.96.0.99", 80),
              Dropped("client", "udp", "10.96.0.99", 53)]),
    Scenario("lb-source-ranges", "loadBalancerSourceRanges admits 192.0.2.0/28 and drops others",
             [Reach("client", "tcp", "203.0.113.12", 80),
              Dropped("client2", "tcp", "203.0.113.12", 80),
              Reach("client2", "tcp", "203.0.113.10", 80)]),
    Scenario("pod-to-pod-untouched", "pod -> pod through the gateway is not translated",
             [Reach("pod-c", "tcp", POD_A, TCP_PORT, count=5, backends=["pod-a"], source=POD_C),
              Reach("pod-c", "udp", POD_A, UDP_PORT, count=5, backends=["pod-a"], source=POD_C)]),
    Scenario("icmp-error-from-backend", "a backend's RST / port unreachable reaches the client",
             [Refused("client", "tcp", "10.96.0.17", 80),
              Refused("client", "udp", "10.96.0.17", 53)]),
    Scenario("icmp-error-to-masqueraded-pod", "an outside host's RST / port unreachable reaches "
             "the masqueraded pod", [Refused("pod-a", "tcp", "192.0.2.20", 8999),
                                     Refused("pod-a", "udp", "192.0.2.20", 5999)]),
    Scenario("gateway-answers-ping", "the gateway answers ping on its addresses",
             [Pinged("client", GW_EXT), Pinged("pod-a", GW_PODS)]),
    # The IPv6 twins and the IPv6-only scenarios (see ipv6_scenarios() below) come here.
    Scenario("reload-remove-endpoint", "a reload removing pod-b: new flows avoid it, a TCP "
             "connection to pod-a survives, a UDP flow on pod-b moves at once",
             check=reload_remove_endpoint, needs_daemon=True),
    Scenario("reload-add-service", "a Service added by a reload answers; removed, it is dropped",
             check=reload_add_service, needs_daemon=True),
    Scenario("reload-masquerade-all", "masquerade.all set by a reload SNATs in-cluster clients too",
             check=masquerade_all, needs_daemon=True),
    Scenario("reload-bad-config-rejected", "a broken manifest on reload is rejected, rules kept",
             check=reload_rejected, needs_daemon=True),
    Scenario("syn-proxy-flood", "conntrack.synProxy on: connections open through SYN cookies while a "
             "spoofed SYN flood leaves no flow behind", check=lambda lab: scenarios_flood.syn_proxy_serves(lab, Reach),
             needs_daemon=True, paths=("dpdk",)),
    Scenario("per-source-limit", "conntrack.newFlowsPerSource: one source opening connections far faster "
             "gets its allowance, another client is served", check=lambda lab: scenarios_limit.per_source_limit(lab, Reach),
             needs_daemon=True, paths=("dpdk", "kernel")),
    *[Scenario(name, shows, check=check, needs_daemon=True, paths=paths)
      for name, shows, check, paths in scenarios_flood.kernel_scenarios(Reach)],
    # Last: it stops the daemon.
    Scenario("gateway-own-services", "the gateway's own kernel serves TCP/UDP on its node address and "
             "hears ICMP errors about its own traffic (fast path: the exception path)", check=gateway_own_services),
    Scenario("gateway-own-services-v6", "the same over IPv6: the gateway's kernel serves on its IPv6 node "
             "address and hears ICMPv6 errors about its own traffic", check=lambda lab: gateway_own_services(lab, 6),
             paths=IPV6_PATHS),
    Scenario("restart-keeps-serving", "a daemon restart (kernel path) loses neither a held connection nor "
             "any of a stream of new ones", check=restart_keeps_serving, needs_daemon=True, paths=("kernel",)),
    Scenario("bgp-announce", "a reload that adds bgp: the upstream router learns the VIPs over BGP from "
             "nfgate's BIRD; one that removes it withdraws them", check=bgp_announce, needs_daemon=True,
             paths=("kernel", "dpdk")),
    Scenario("bgp-announce-v6", "the same over an IPv6 session: the router learns the IPv6 VIPs as /128s "
             "next hop the gateway's IPv6 address, and loses them again", check=lambda lab: bgp_announce(lab, 6),
             needs_daemon=True, paths=("kernel", "dpdk")),
    Scenario("nfgatectl-answers", "nfgatectl flows/services/counters agree with a connection the lab "
             "holds", check=nfgatectl_answers, needs_daemon=True, paths=("kernel", "dpdk")),
    Scenario("nfgatectl-answers-v6", "the same for a connection to the Service's IPv6 ClusterIP: its IPv6 "
             "row counts it", check=lambda lab: nfgatectl_answers(lab, 6), needs_daemon=True,
             paths=("kernel", "dpdk")),
    Scenario("nfgatectl-trace", "nfgatectl trace names what a connection will meet (on the fast path: "
             "the very endpoint)", check=nfgatectl_trace, needs_daemon=True, paths=("kernel", "dpdk")),
    Scenario("nfgatectl-trace6", "nfgatectl trace of an IPv6 connection ([addr]:port) names what it will "
             "meet, the very endpoint on both paths; a mixed-family pair is refused",
             check=lambda lab: nfgatectl_trace(lab, family=6), needs_daemon=True, paths=("kernel", "dpdk")),
    Scenario("nfgatectl-capture", "nfgatectl capture writes a port's next packets as pcap that tcpdump reads",
             check=nfgatectl_capture, needs_daemon=True, paths=("dpdk",)),
    Scenario("nfgatectl-capture-kernel", "on the kernel path nfgatectl capture points at tcpdump",
             check=kernel_capture_refused, needs_daemon=True, paths=("kernel",)),
    Scenario("kernel-once-and-cleanup", "nfgate --once applies the rules and exits, --cleanup "
             "removes them all", check=once_and_cleanup, needs_daemon=True, paths=("kernel",)),
]




def ipv6_words(text):
    return text.replace("ARP", "neighbour discovery").replace("192.0.2.0/28", "2001:db8:2::10/124")


def ipv6_scenarios(ipv4_scenarios):
    """Every IPv4 scenario made of steps, twinned onto IPv6, plus the IPv6-only ones."""
    twins = [Scenario(s.name + "-v6", ipv6_words(s.shows) + " (IPv6)", [twin(step) for step in s.steps],
                      paths=IPV6_PATHS)
             for s in ipv4_scenarios if s.steps]
    return twins + [
        Scenario("dualstack-service", "one dual-stack Service (web-np) answers on its IPv4 and IPv6 "
                 "ClusterIPs and NodePorts, each family reaching the pods' address of that family",
                 [Reach("client", "tcp", "10.96.0.11", 80, source=GW_PODS),
                  Reach("client", "tcp", v6("10.96.0.11"), 80, source=GW_PODS6),
                  Reach("client", "udp", "10.96.0.11", 53, source=GW_PODS),
                  Reach("client", "udp", v6("10.96.0.11"), 53, source=GW_PODS6),
                  Reach("client", "tcp", GW_EXT, 30080, source=GW_PODS),
                  Reach("client", "tcp", v6(GW_EXT), 30080, source=GW_PODS6),
                  Reach("pod-c", "tcp", "10.96.0.11", 80, source=POD_C),
                  Reach("pod-c", "tcp", v6("10.96.0.11"), 80, source=POD_C6)],
                 paths=IPV6_PATHS),
        Scenario("pmtu-v6", f"an IPv6 packet larger than the peer link's MTU ({PEER_MTU6}) gets "
                 "an ICMPv6 Packet Too Big from the gateway (routed as it is, and translated back "
                 "for a ClusterIP whose endpoint is behind that link); resent in fragments it arrives",
                 [PathMtu("pod-a", PEER6, UDP_PORT, size=1400, mtu=PEER_MTU6, router=GW_PODS6,
                          backend="peer", source=POD_A6),
                  PathMtu("client", FAR_VIP6, 53, size=1400, mtu=PEER_MTU6, router=None,
                          backend="peer", source=GW_PEER6)],
                 paths=IPV6_PATHS),
        Scenario("syn-proxy-flood-v6", "conntrack.synProxy on: connections to an IPv6 ClusterIP open "
                 "through SYN cookies while a spoofed IPv6 SYN flood leaves no flow behind",
                 check=lambda lab: scenarios_flood.syn_proxy_serves(lab, Reach, vip=v6("10.96.0.10"), flood=3000),
                 needs_daemon=True, paths=("dpdk",)),
    ]


_first_check = next(i for i, s in enumerate(SCENARIOS) if s.check)
SCENARIOS[_first_check:_first_check] = ipv6_scenarios(SCENARIOS[:_first_check])
