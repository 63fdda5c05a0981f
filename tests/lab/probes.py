"""What the lab's scenarios observe and assert, from the hosts only: which backend answered,
which source address it saw, how a request ended (answer, reset, ICMP unreachable, timeout).
The steps (Reach, Pinned, Refused, Dropped, Pinged, NeighbourResolved) and the lab's addresses;
the scenario list itself is scenarios.py.

Every step works on either family: an IPv6 target makes an IPv6 request. twin() turns an IPv4
step into its IPv6 twin through the lab's one address table (lab.v6)."""
import copy

from lab import v6

BACKENDS = ("pod-a", "pod-b")
GW_PODS = "10.244.0.1"      # the gateway's address toward the pods
GW_EXT = "192.0.2.1"        # the gateway's address toward the outside (egress masquerade)
CLIENT = "192.0.2.10"
POD_A, POD_C = "10.244.1.10", "10.244.1.12"
RELOAD_VIP = "10.96.0.20"
GW_PODS6, GW_EXT6, CLIENT6 = v6(GW_PODS), v6(GW_EXT), v6(CLIENT)
POD_A6, POD_C6 = v6(POD_A), v6(POD_C)
PEER6, GW_PEER6 = v6("198.51.100.20"), v6("198.51.100.1")
FAR_VIP6 = "fd00:10:96::19"  # the IPv6-only Service "far", its endpoint the peer host
SLOW_ANSWER = 0.5           # an answer this late took a retransmission or a stalled gateway
REFUSE_TYPICAL = 0.2        # "immediately": a reset or an ICMP error, not a retransmit timeout
REFUSE_WITHIN = 0.9


def parse_answer(text):
    """"pod-a 10.244.0.1:40000" -> ("pod-a", "10.244.0.1"); an IPv6 peer is written
    unbracketed: "pod-a fd00:10:244::1:40000" -> ("pod-a", "fd00:10:244::1")."""
    name, _, peer = text.partition(" ")
    return name, peer.rpartition(":")[0]


def describe(results):
    kinds = {}
    for r in results:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    backends, sources = {}, set()
    for r in results:
        if r["kind"] == "answer":
            name, source = parse_answer(r["text"])
            backends[name] = backends.get(name, 0) + 1
            sources.add(source)
    parts = [", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))]
    if backends:
        parts.append("backends " + ", ".join(f"{k} {v}" for k, v in sorted(backends.items())))
        parts.append("sources " + ", ".join(sorted(sources)))
    slow = [r["elapsed"] for r in results if r["kind"] == "answer" and r["elapsed"] > SLOW_ANSWER]
    if slow:
        parts.append(f"{len(slow)} answers slower than {SLOW_ANSWER * 1000:.0f} ms "
                     f"(slowest {max(slow) * 1000:.0f} ms)")
    errors = sorted({r["text"] for r in results
                     if r["kind"] in ("error", "no-route") and r["text"]})
    if errors:
        parts.append("errors: " + "; ".join(errors[:3]))
    return backends, sources, "; ".join(parts)


def request(lab, client, proto, ip, port, count, timeout=1.0, give_up_after=0):
    agent = lab.agent(client)
    return (agent.tcp if proto == "tcp" else agent.udp)(ip, port, count=count, timeout=timeout,
                                                         give_up_after=give_up_after)


GIVE_UP_AFTER = 5  # unanswered requests in a row after which a step that expects answers stops
ANSWER_TIMEOUT = 4.0  # per request that should be answered: generous, a busy box delays the servers


class Reach:
    """Every request is answered, only by `backends`, each of them at least once (unless
    every_backend is False; with `spread`, each between spread[0] and spread[1] of the answers),
    and every backend saw `source` when it is given."""

    def __init__(self, client, proto, ip, port, count=20, backends=BACKENDS, source=None,
                 spread=None, sport=0, every_backend=True):
        self.__dict__.update(client=client, proto=proto, ip=ip, port=port, count=count,
                             backends=set(backends), source=source, spread=spread, sport=sport,
                             every_backend=every_backend)

    def label(self):
        source = f" from port {self.sport}" if self.sport else ""
        return f"{self.client}{source} -> {self.proto} {self.ip}:{self.port}"

    def run(self, lab):
        if self.sport:
            results = lab.agent(self.client).tcp(self.ip, self.port, count=self.count,
                                                 timeout=ANSWER_TIMEOUT,
                                                 give_up_after=GIVE_UP_AFTER, sport=self.sport)
        else:
            results = request(lab, self.client, self.proto, self.ip, self.port, self.count,
                              timeout=ANSWER_TIMEOUT, give_up_after=GIVE_UP_AFTER)
        backends, sources, text = describe(results)
        answered = sum(backends.values())
        if len(results) < self.count:
            text += f" (gave up after {GIVE_UP_AFTER} unanswered in a row)"
        problems = []
        if answered != self.count:
            problems.append(f"{self.count - answered} of {self.count} not answered")
        if set(backends) - self.backends:
            problems.append(f"answered by {sorted(set(backends) - self.backends)}, expected only "
                            f"{sorted(self.backends)}")
        missing = self.backends - set(backends)
        if missing and answered and self.every_backend:
            problems.append(f"{sorted(missing)} never answered")
        if self.spread and answered:
            lo, hi = self.spread
            for name in self.backends:
                share = backends.get(name, 0) / answered
                if not lo <= share <= hi:
                    problems.append(f"{name} got {share:.0%}, expected {lo:.0%}..{hi:.0%}")
        if self.source and sources and sources != {self.source}:
            problems.append(f"backends saw source {sorted(sources)}, expected {self.source}")
        return not problems, f"{self.label()}: {text}" + (
            " -- " + "; ".join(problems) if problems else "")


class Pinned:
    """ClientIP affinity: every request of one client lands on the same backend."""

    def __init__(self, client, proto, ip, port, count=30):
        self.__dict__.update(client=client, proto=proto, ip=ip, port=port, count=count)

    def run(self, lab):
        results = request(lab, self.client, self.proto, self.ip, self.port, self.count,
                          timeout=ANSWER_TIMEOUT, give_up_after=GIVE_UP_AFTER)
        backends, _, text = describe(results)
        ok = sum(backends.values()) == self.count and len(backends) == 1
        label = f"{self.client} -> {self.proto} {self.ip}:{self.port}"
        return ok, f"{label}: {text}" + ("" if ok else " -- expected one backend for every request")


class Refused:
    """Every request is refused (TCP reset / ICMP port unreachable) at once: the typical (median)
    refusal within REFUSE_TYPICAL, none later than REFUSE_WITHIN. A refusal that only comes
    after a retransmission (TCP SYNs are resent after 1 s) is not "at once"; a single slow one on
    a busy machine is tolerated by the median."""

    def __init__(self, client, proto, ip, port, count=5):
        self.__dict__.update(client=client, proto=proto, ip=ip, port=port, count=count)
        self.expect = "reset" if proto == "tcp" else "unreachable"

    def run(self, lab):
        results = request(lab, self.client, self.proto, self.ip, self.port, self.count,
                          timeout=2.0)
        _, _, text = describe(results)
        times = sorted(r["elapsed"] for r in results)
        median, slowest = times[len(times) // 2], times[-1]
        ok = (all(r["kind"] == self.expect for r in results) and median < REFUSE_TYPICAL
              and slowest < REFUSE_WITHIN)
        label = f"{self.client} -> {self.proto} {self.ip}:{self.port}"
        return ok, (f"{label}: {text}; median {median * 1000:.0f} ms, slowest "
                    f"{slowest * 1000:.0f} ms" + ("" if ok else
                    f" -- expected {self.expect} every time, median under "
                    f"{REFUSE_TYPICAL * 1000:.0f} ms, none over {REFUSE_WITHIN * 1000:.0f} ms"))


class Dropped:
    """Nothing comes back at all: no answer, no reset, no ICMP error."""

    def __init__(self, client, proto, ip, port, count=3, timeout=1.0):
        self.__dict__.update(client=client, proto=proto, ip=ip, port=port, count=count,
                             timeout=timeout)

    def run(self, lab):
        results = request(lab, self.client, self.proto, self.ip, self.port, self.count,
                          timeout=self.timeout)
        _, _, text = describe(results)
        ok = all(r["kind"] == "timeout" for r in results)
        label = f"{self.client} -> {self.proto} {self.ip}:{self.port}"
        return ok, f"{label}: {text}" + ("" if ok else " -- expected a silent drop (timeout)")


class Pinged:
    """ICMP echo requests to `ip` are answered by `ip` itself. `ident` fixes the echo id, so two
    clients can use the same one through the same masquerade address."""

    def __init__(self, client, ip, count=3, ident=None):
        self.client, self.ip, self.count, self.ident = client, ip, count, ident

    def run(self, lab):
        results = lab.agent(self.client).call("ping", budget=self.count * 2 + 10, ip=self.ip,
                                              count=self.count, ident=self.ident)
        ok = all(r["kind"] == "answer" and r["text"] == f"echo reply from {self.ip}"
                 for r in results)
        seen = sorted({r["text"] or r["kind"] for r in results})
        return ok, f"{self.client} -> ping {self.ip}: {', '.join(seen)}" + (
            "" if ok else f" -- expected {self.count} echo replies from {self.ip}")


class NeighbourResolved:
    """The client learnt a MAC address for `ip` through ARP, or for IPv6 through neighbour
    discovery (it is on the client's subnet)."""

    def __init__(self, client, ip):
        self.client, self.ip = client, ip

    def run(self, lab):
        entry = lab.ip(self.client, "neigh", "show", self.ip, check=False).strip()
        ok = "lladdr" in entry
        return ok, f"{self.client} neighbour {self.ip}: {entry or 'none'}" + (
            "" if ok else " -- expected the gateway to answer "
            + ("a neighbour solicitation" if ":" in self.ip else "ARP"))


class PathMtu:
    """IPv6: a UDP datagram of `size` bytes to ip:port, too big for a link on the way, is
    answered by an ICMPv6 Packet Too Big naming `mtu` (from `router`, unless None: behind a
    translated destination the sender is the gateway's business); sent again (the client
    fragments it at the learnt path MTU) it reaches `backend`, which sees `source`. The client's
    kernel hands a Packet Too Big to the socket only when the packet it quotes is the socket's
    own, so behind a NAT this also shows the quoted packet translated back."""

    def __init__(self, client, ip, port, size, mtu, router, backend, source):
        self.__dict__.update(client=client, ip=ip, port=port, size=size, mtu=mtu, router=router,
                             backend=backend, source=source)

    def run(self, lab):
        r = lab.agent(self.client).call("pmtu", budget=20, ip=self.ip, port=self.port,
                                        size=self.size)
        again = r["again"]
        name, source = parse_answer(again["text"]) if again["kind"] == "answer" else (None, None)
        problems = []
        if not r["too_big"]:
            problems.append("no Packet Too Big came back")
        elif r["mtu"] != self.mtu or self.router not in (None, r["from"]):
            problems.append(f"expected a Packet Too Big naming MTU {self.mtu}"
                            + (f" from {self.router}" if self.router else ""))
        if r["path_mtu"] != self.mtu:
            problems.append(f"path MTU {r['path_mtu']}, expected {self.mtu}")
        if (name, source) != (self.backend, self.source):
            problems.append(f"expected the resent datagram answered by {self.backend} "
                            f"seeing {self.source}")
        seen = (f"Packet Too Big mtu {r['mtu']} from {r['from']}" if r["too_big"]
                else "no Packet Too Big")
        text = (f"{self.client} -> udp [{self.ip}]:{self.port} {self.size} bytes: {seen}, path MTU "
                f"{r['path_mtu']}; resent: {again['kind']} {again['text']}".rstrip())
        return not problems, text + (" -- " + "; ".join(problems) if problems else "")


def twin(step):
    """The IPv6 twin of an IPv4 step: the same step with its target (and the source address a
    backend should see) replaced by their IPv6 twins."""
    other = copy.copy(step)
    other.ip = v6(step.ip)
    if getattr(step, "source", None):
        other.source = v6(step.source)
    return other


def run_steps(lab, steps):
    ok_all, details = True, []
    for step in steps:
        ok, detail = step.run(lab)
        ok_all &= ok
        details.append(detail)
    return ok_all, details


# ---- reload scenarios (need the daemon: SIGHUP) -------------------------------------------
