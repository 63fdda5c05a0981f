"""The one scenario list both data paths are judged by.

Each scenario is data: a name, what it shows, and steps. A step names a client namespace, a
protocol and a target, and asserts only what can be observed from the hosts: which backend
answered, which source address the backend saw, and how a request ended (answer, reset, ICMP
unreachable, timeout). Nothing here knows how the gateway does it, so the same list runs on the
kernel path, the fast path and the hand-written reference ruleset.

Addresses and Services come from configs/lab (see the comment in its cluster/services.yaml).
"""
import json
import os
import re
import shutil
import subprocess
import time

from lab import REPO, TCP_PORT, UDP_PORT
import scenarios_flood
import scenarios_limit

BACKENDS = ("pod-a", "pod-b")
GW_PODS = "10.244.0.1"      # the gateway's address toward the pods
GW_EXT = "192.0.2.1"        # the gateway's address toward the outside (egress masquerade)
CLIENT = "192.0.2.10"
POD_A, POD_C = "10.244.1.10", "10.244.1.12"
RELOAD_VIP = "10.96.0.20"
SLOW_ANSWER = 0.5           # an answer this late took a retransmission or a stalled gateway
REFUSE_TYPICAL = 0.2        # "immediately": a reset or an ICMP error, not a retransmit timeout
REFUSE_WITHIN = 0.9


def parse_answer(text):
    """"pod-a 10.244.0.1:40000" -> ("pod-a", "10.244.0.1")."""
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
    """The client learnt a MAC address for `ip` through ARP (it is on the client's subnet)."""

    def __init__(self, client, ip):
        self.client, self.ip = client, ip

    def run(self, lab):
        entry = lab.ip(self.client, "neigh", "show", self.ip, check=False).strip()
        ok = "lladdr" in entry
        return ok, f"{self.client} neighbour {self.ip}: {entry or 'none'}" + (
            "" if ok else " -- expected an ARP answer from the gateway")


def run_steps(lab, steps):
    ok_all, details = True, []
    for step in steps:
        ok, detail = step.run(lab)
        ok_all &= ok
        details.append(detail)
    return ok_all, details


# ---- reload scenarios (need the daemon: SIGHUP) -------------------------------------------

def cluster_file(lab, name):
    return os.path.join(lab.config_dir, "cluster", name)


def swap_reload_manifest(lab, variant):
    source = os.path.join(REPO, "configs", "lab", variant)
    shutil.copyfile(source, cluster_file(lab, "reload.yaml"))


def hold_flow(agent, op, id, backend, tries=40):
    """Opens flows until one lands on `backend`; returns that flow's first answer or None."""
    misses = 0
    for _ in range(tries):
        port = 80 if op == "tcp_open" else 53
        result = agent.call(op, id=id, ip=RELOAD_VIP, port=port)
        if result["kind"] != "answer":
            misses += 1
            if misses >= GIVE_UP_AFTER:
                return None
        elif parse_answer(result["text"])[0] == backend:
            return result
    return None


def reload_remove_endpoint(lab):
    """Reload that removes pod-b: new flows avoid it, a TCP connection to pod-a survives, a
    UDP flow (same source port) pinned to pod-b moves to pod-a at once."""
    client, details = lab.agent("client"), []
    kept = hold_flow(client, "tcp_open", "keep", "pod-a")
    moved = hold_flow(client, "udp_open", "flow", "pod-b")
    if not kept or not moved:
        return False, ["could not pin a TCP connection to pod-a and a UDP flow to pod-b before "
                       "the reload (are both endpoints of 10.96.0.20 reachable?)"]
    before = client.call("again", id="flow")
    if before["kind"] != "answer" or parse_answer(before["text"])[0] != "pod-b":
        return False, [f"UDP flow from port {moved['sport']} did not stay on pod-b before the "
                       f"reload: {before}"]
    swap_reload_manifest(lab, "reload/reload-without-pod-b.yaml")
    try:
        line = lab.reload()
        ok = line == "nfgate: reloaded"
        details.append(f"SIGHUP (pod-b removed): {line!r}" + ("" if ok else
                       " -- expected 'nfgate: reloaded'"))
        udp = client.call("again", id="flow", timeout=1.0)
        udp_ok = (udp["kind"] == "answer" and parse_answer(udp["text"])[0] == "pod-a"
                  and udp["sport"] == moved["sport"])
        ok &= udp_ok
        details.append(f"UDP flow from port {moved['sport']} after reload: {udp['kind']} "
                       f"{udp['text']!r} in {udp['elapsed'] * 1000:.0f} ms" +
                       ("" if udp_ok else " -- expected pod-a at once"))
        tcp = client.call("again", id="keep")
        tcp_ok = tcp["kind"] == "answer" and parse_answer(tcp["text"])[0] == "pod-a"
        ok &= tcp_ok
        details.append(f"long-lived TCP connection to pod-a after reload: {tcp['kind']} "
                       f"{tcp['text']!r}" + ("" if tcp_ok else " -- expected it to survive"))
        for proto, port in (("tcp", 80), ("udp", 53)):
            step_ok, text = Reach("client", proto, RELOAD_VIP, port, count=30,
                                  backends=["pod-a"]).run(lab)
            ok &= step_ok
            details.append("new flows: " + text)
    finally:
        client.call("close", id="keep")
        client.call("close", id="flow")
        swap_reload_manifest(lab, "cluster/reload.yaml")
        restored = lab.reload()
    restore_ok = restored == "nfgate: reloaded"
    step_ok, text = Reach("client", "tcp", RELOAD_VIP, 80, count=20).run(lab)
    details.append(f"SIGHUP (pod-b back): {restored!r}; " + text)
    return ok and restore_ok and step_ok, details


def nfgatectl_answers(lab):
    """nfgatectl agrees with traffic the lab made: a held TCP connection to lab/reload is listed by
    `flows` (client, backend, ESTABLISHED), counted by `services` (flows, connections, packets,
    bytes), and `counters` saw packets."""
    client, details = lab.agent("client"), []
    held = hold_flow(client, "tcp_open", "ctl", "pod-a")
    if not held:
        return False, ["could not hold a TCP connection to pod-a through 10.96.0.20:80"]
    try:
        def ask(*args):
            rc, out, err = lab.nfgatectl("-o", "json", *args)
            if rc != 0:
                raise ValueError(f"nfgatectl {' '.join(args)}: exit {rc}: {err.strip()}")
            return json.loads(out)

        ok = True
        flows = ask("flows", "--service", "lab/reload", "--client", CLIENT)["flows"]
        mine = [f for f in flows if f["client"] == f"{CLIENT}:{held['sport']}"]
        flow_ok = (len(mine) == 1 and mine[0]["backend"] == f"{POD_A}:8080" and mine[0]["state"] == "ESTABLISHED"
                   and mine[0]["frontend"] == f"{RELOAD_VIP}:80")
        ok &= flow_ok
        details.append(f"flows of lab/reload from {CLIENT}: {len(flows)}, the held one: "
                       f"{mine[0] if mine else None}" + ("" if flow_ok else " -- expected it, ESTABLISHED to pod-a"))
        rows = [r for r in ask("services") if r["vip"] == RELOAD_VIP and r["port"] == 80]
        svc_ok = (len(rows) == 1 and rows[0]["namespace"] == "lab" and rows[0]["name"] == "reload"
                  and f"{POD_A}:8080" in rows[0]["endpoints"] and (rows[0]["flows"] or 0) >= 1
                  # the held connection's handshake at least, counted by the data path itself
                  and (rows[0]["connections"] or 0) >= 1 and (rows[0]["packets"] or 0) >= 3
                  and (rows[0]["bytes"] or 0) >= 3 * 40)
        ok &= svc_ok
        details.append(f"services row for {RELOAD_VIP}:80: {rows}" + ("" if svc_ok else " -- expected "
                       "lab/reload with pod-a, at least the held flow, its connection and handshake packets"))
        counters = ask("counters")
        seen = sum(p["rx_packets"] for p in counters["ports"])
        cnt_ok = seen > 0 and counters.get("flows_in_use", 0) >= 1
        ok &= cnt_ok
        details.append(f"counters: {seen} packets received over {len(counters['ports'])} ports, "
                       f"{counters.get('flows_in_use')} flows in use" + ("" if cnt_ok else " -- expected traffic"))
    except ValueError as exc:
        ok = False
        details.append(str(exc))
    finally:
        client.call("close", id="ctl")
    return ok, details


GW_OWN_TCP, GW_OWN_UDP = 2222, 2223  # the gateway's own servers: not NodePorts


def gateway_own_services(lab):
    """The gateway's own kernel serves on its node address (on the fast path through the
    exception path): a TCP/UDP server in the gateway namespace answers the client, and an ICMP
    port unreachable about the kernel's own UDP reaches it (a connected socket sees ECONNREFUSED)."""
    import sys
    from lab import HERE, LineProcess
    server = LineProcess(["ip", "netns", "exec", lab.ns("gw"), sys.executable, os.path.join(HERE, "servers.py"),
                          "--name", "gateway", "--tcp", str(GW_OWN_TCP), "--udp", str(GW_OWN_UDP)],
                         os.path.join(lab.workdir, "servers-gateway.log"), stdin=subprocess.PIPE)
    try:
        if server.wait_line(lambda l: l == "ready", 10) is None:
            return False, ["the gateway's own server did not start: " + server.output()]
        ok, details = run_steps(lab, [
            Reach("client", "tcp", GW_EXT, GW_OWN_TCP, count=5, backends=["gateway"], source=CLIENT),
            Reach("client", "udp", GW_EXT, GW_OWN_UDP, count=5, backends=["gateway"], source=CLIENT)])
        probe = ("import socket\n"
                 "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)\n"
                 f"s.connect(('{CLIENT}', 9))\n"
                 "for _ in range(3):\n"
                 "    try:\n"
                 "        s.send(b'x'); s.recv(100); print('answered'); break\n"
                 "    except ConnectionRefusedError: print('refused'); break\n"
                 "    except socket.timeout: pass\n"
                 "else: print('timeout')\n")
        out = lab.exec("gw", sys.executable, "-c", probe, check=False).strip()
        details.append(f"the gateway's UDP to {CLIENT}:9 (nobody listens): {out}" +
                       ("" if out == "refused" else " -- expected the client's port unreachable to reach the kernel"))
        return ok and out == "refused", details
    finally:
        server.stop()


def nfgatectl_capture(lab):
    """nfgatectl capture writes the next packets of the ext port into a pcap file that tcpdump
    reads: the lab's requests to a ClusterIP as they arrived and its answers as they left."""
    path = os.path.join(lab.workdir, "capture.pcap")
    want = 8
    ctl = subprocess.Popen(lab.nfgatectl_argv("capture", "--interface", "ext", "--count", str(want), "--write", path,
                                              "--timeout", "20"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    details = []
    time.sleep(0.3)  # armed by now: the request is answered only when the packets came
    step_ok, text = Reach("client", "tcp", "10.96.0.10", 80, count=4, every_backend=False).run(lab)
    details.append("traffic: " + text)
    try:
        out, err = ctl.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        ctl.kill()
        return False, details + ["nfgatectl capture did not finish within 40 s"]
    ok = ctl.returncode == 0
    details.append(f"nfgatectl capture: exit {ctl.returncode}: {out.strip()} {err.strip()}")
    if shutil.which("tcpdump") is None:
        return False, details + ["tcpdump is not installed (./nfgate.sh installs it)"]
    r = subprocess.run(["tcpdump", "-nn", "-r", path], capture_output=True, text=True)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    to_vip = [l for l in lines if "> 10.96.0.10.80:" in l]
    from_vip = [l for l in lines if "10.96.0.10.80 >" in l]
    read_ok = r.returncode == 0 and len(lines) == want and to_vip and from_vip
    ok &= bool(read_ok)
    details.append(f"tcpdump -r: {len(lines)} packets ({len(to_vip)} to the VIP as received, {len(from_vip)} "
                   f"from it as sent)" + ("" if read_ok else f" -- expected {want} of both kinds; {r.stderr.strip()}"))
    return ok and step_ok, details


POD_IPS = {"pod-a": "10.244.1.10", "pod-b": "10.244.1.11"}


def nfgatectl_trace(lab):
    """nfgatectl trace names the Service, its endpoints and the masquerade for a client's
    connection to a ClusterIP, and the endpoint it names is the one the same connection then
    reaches (fast path: Maglev; kernel path: the kernel's jhash of the client address and port)."""
    sport = 40002 + (os.getpid() * 7 + int(time.time())) % 98  # reserved: never ephemeral (lab.py)
    rc, out, err = lab.nfgatectl("-o", "json", "trace", "tcp", f"{CLIENT}:{sport}", "10.96.0.10:80")
    if rc != 0:
        return False, [f"nfgatectl trace: exit {rc}: {err.strip()}"]
    t = json.loads(out)
    ready = sorted(f"{ip}:8080" for ip in POD_IPS.values())
    ok = (t["verdict"] == "forward" and t["service"] == "lab/web" and sorted(t["candidates"]) == ready
          and t["masquerade"])
    details = [f"trace: verdict {t['verdict']}, service {t['service']}, among {t['candidates']}, chosen "
               f"{t['chosen']}, masquerade {t['masquerade']}" + ("" if ok else f" -- expected lab/web over {ready}, "
                                                                          "masqueraded")]
    results = lab.agent("client").tcp("10.96.0.10", 80, count=1, timeout=ANSWER_TIMEOUT, sport=sport)
    got = results[0]
    answered = got["kind"] == "answer"
    backend = POD_IPS.get(parse_answer(got["text"])[0]) if answered else None
    same = answered and t["chosen"] == f"{backend}:8080"
    ok &= same
    details.append(f"the connection from port {sport} reached {backend}" +
                   ("" if same else f" -- expected the traced {t['chosen']}"))
    return ok, details


def kernel_capture_refused(lab):
    """On the kernel path nfgatectl capture says to use tcpdump (exit 1), it copies nothing itself."""
    rc, out, err = lab.nfgatectl("capture", "--interface", "ext", "--count", "1", "--write",
                                 os.path.join(lab.workdir, "none.pcap"))
    ok = rc == 1 and "tcpdump" in err
    return ok, [f"exit {rc}: {err.strip()}" + ("" if ok else " -- expected exit 1 pointing at tcpdump")]


COUNTERS = re.compile(r"counter packets \d+ bytes \d+|expires \S+")


def normalised_ruleset(lab):
    """The nfgate table without what traffic changes by itself (counters, expiry clocks)."""
    return COUNTERS.sub("", lab.ruleset())


def reload_rejected(lab):
    """A broken manifest on SIGHUP: 'reload rejected', and the old behaviour stays."""
    details = []
    before = normalised_ruleset(lab) if lab.path != "dpdk" else None
    broken = cluster_file(lab, "broken-service.yaml")
    shutil.copyfile(os.path.join(REPO, "configs", "lab", "reload", "broken-service.yaml"), broken)
    try:
        line = lab.reload()
        ok = bool(line) and line.startswith("nfgate: reload rejected:")
        details.append(f"SIGHUP with a port 70000 Service: {line!r}" + (
            "" if ok else " -- expected 'nfgate: reload rejected: <reason>'"))
        if before is not None:
            after = normalised_ruleset(lab)
            same = before == after and "table ip nfgate" in before
            ok &= same
            details.append("nft list table ip nfgate " + (
                "identical before/after" if same else "CHANGED (or missing) after the rejection"))
        for proto, port in (("tcp", 80), ("udp", 53)):
            step_ok, text = Reach("client", proto, "10.96.0.10", port, count=20).run(lab)
            ok &= step_ok
            details.append("still served: " + text)
    finally:
        os.unlink(broken)
    line = lab.reload()
    details.append(f"SIGHUP after removing it: {line!r}")
    return ok and line == "nfgate: reloaded", details


def reload_add_service(lab):
    """A Service added by a reload answers at once; removed again, its ClusterIP is dropped."""
    details, ok = [], True
    added = cluster_file(lab, "added-service.yaml")
    step_ok, text = Dropped("client", "tcp", "10.96.0.21", 80, count=1).run(lab)
    ok &= step_ok
    details.append("before: " + text)
    shutil.copyfile(os.path.join(REPO, "configs", "lab", "reload", "added-service.yaml"), added)
    try:
        line = lab.reload()
        ok &= line == "nfgate: reloaded"
        step_ok, text = Reach("client", "tcp", "10.96.0.21", 80, count=10,
                              backends=["pod-b"]).run(lab)
        ok &= step_ok
        details.append(f"SIGHUP (Service lab/added): {line!r}; {text}")
    finally:
        os.unlink(added)
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    step_ok, text = Dropped("client", "tcp", "10.96.0.21", 80, count=2).run(lab)
    ok &= step_ok
    details.append(f"SIGHUP (removed again): {line!r}; {text}")
    return ok, details


def masquerade_all(lab):
    """masquerade.all (kube-proxy --masquerade-all), switched on by a reload of the gateway
    file: even an in-cluster client is source-NATed; switched off again, it keeps its address."""
    details, ok = [], True
    with open(lab.config_path) as f:
        original = f.read()
    if "  all: false" not in original:
        return False, [f"{lab.config_path}: expected a `masquerade: all: false` line to flip"]
    with open(lab.config_path, "w") as f:
        f.write(original.replace("  all: false", "  all: true"))
    try:
        line = lab.reload()
        ok &= line == "nfgate: reloaded"
        step_ok, text = Reach("pod-c", "tcp", "10.96.0.10", 80, source=GW_PODS).run(lab)
        ok &= step_ok
        details.append(f"SIGHUP (all: true): {line!r}; {text}")
    finally:
        with open(lab.config_path, "w") as f:
            f.write(original)
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    step_ok, text = Reach("pod-c", "tcp", "10.96.0.10", 80, source=POD_C).run(lab)
    ok &= step_ok
    details.append(f"SIGHUP (all: false): {line!r}; {text}")
    return ok, details


BGP_VIPS = {"192.0.2.100/32", "203.0.113.10/32", "203.0.113.11/32", "203.0.113.12/32", "203.0.113.20/32"}


def bgp_announce(lab):
    """BGP through nfgate's BIRD, switched on by a reload: the upstream router (the outside host,
    running BIRD) learns every LB IP and externalIP of the Services with ready endpoints, next hop
    the gateway (on the fast path the session runs through the exception path); switched off by a
    reload, everything is withdrawn."""
    import sys
    if shutil.which("bird") is None:
        return False, ["bird (Debian bird2) is not installed: ./nfgate.sh installs it"]
    conf, sock = os.path.join(lab.workdir, "router-bird.conf"), os.path.join(lab.workdir, "router-bird.ctl")
    with open(conf, "w") as f:
        f.write('router id 192.0.2.20;\nprotocol device { }\n'
                "protocol bgp lab { local as 64500; neighbor 192.0.2.1 as 64512; hold time 9;\n"
                "  ipv4 { import all; export none; }; }\n")
    router = subprocess.Popen(["ip", "netns", "exec", lab.ns("outside"), "bird", "-f", "-c", conf, "-s", sock,
                               "-P", os.path.join(lab.workdir, "router-bird.pid")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def learnt():
        out = subprocess.run(["birdc", "-s", sock, "show", "route", "protocol", "lab"], capture_output=True,
                             text=True).stdout
        routes, last = {}, None
        for line in out.splitlines():
            words = line.split()
            if words and "/" in words[0] and words[0][0].isdigit():
                last = words[0]
                routes[last] = None
            if last and "via" in words:
                routes[last] = words[words.index("via") + 1]
        return routes

    def wait_for(want, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = learnt()
            if set(got) == want:
                return got
            time.sleep(0.3)
        return learnt()

    details, ok = [], True
    with open(lab.config_path) as f:
        original = f.read()
    try:
        with open(lab.config_path, "w") as f:
            f.write(original + "bgp:\n  asn: 64512\n  peers: [{address: 192.0.2.20, asn: 64500, holdTime: 9}]\n")
        line = lab.reload()
        got = wait_for(BGP_VIPS, 40)
        step_ok = line == "nfgate: reloaded" and set(got) == BGP_VIPS and set(got.values()) == {GW_EXT}
        ok &= step_ok
        details.append(f"reload with bgp: {line!r}; the router learnt {got}" +
                       ("" if step_ok else f" -- expected {sorted(BGP_VIPS)} via {GW_EXT}"))
        rc, out, err = lab.nfgatectl("-o", "json", "bgp")
        sessions = json.loads(out)["sessions"] if rc == 0 else []
        ctl_ok = len(sessions) == 1 and sessions[0]["state"] == "Established"
        ok &= ctl_ok
        details.append(f"nfgatectl bgp: {sessions or err.strip()}" + ("" if ctl_ok else " -- expected Established"))
        # web-local's endpoints all become unready: its LB IP is withdrawn; ready again: back.
        slices = cluster_file(lab, "endpointslices.yaml")
        with open(slices) as f:
            slices_text = f.read()
        docs = slices_text.split("\n---\n")
        docs = [d.replace("ready: true", "ready: false") if "service-name: web-local\n" in d else d for d in docs]
        try:
            with open(slices, "w") as f:
                f.write("\n---\n".join(docs))
            line = lab.reload()
            got = wait_for(BGP_VIPS - {"203.0.113.11/32"}, 15)
            step_ok = line == "nfgate: reloaded" and set(got) == BGP_VIPS - {"203.0.113.11/32"}
            ok &= step_ok
            details.append(f"web-local's last ready endpoint gone: the router keeps {sorted(got)}" +
                           ("" if step_ok else " -- expected 203.0.113.11/32 withdrawn, the rest kept"))
        finally:
            with open(slices, "w") as f:
                f.write(slices_text)
        line = lab.reload()
        got = wait_for(BGP_VIPS, 15)
        step_ok = set(got) == BGP_VIPS
        ok &= step_ok
        details.append(f"ready again: {len(got)} routes" + ("" if step_ok else " -- expected 203.0.113.11/32 back"))
    finally:
        with open(lab.config_path, "w") as f:
            f.write(original)
        line = lab.reload()
        got = wait_for(set(), 15)
        router.terminate()
        router.wait(timeout=10)
    step_ok = line == "nfgate: reloaded" and not got
    ok &= step_ok
    details.append(f"reload without bgp: {line!r}; the router keeps {got}" + ("" if step_ok else " -- expected none"))
    return ok, details


# New connections, one every 20 ms, for as long as stdin stays open; then the tally.
STREAM = """import socket, sys, threading, time
done, ok, failed = threading.Event(), [0], []
def loop():
    while not done.is_set():
        t0 = time.monotonic()
        try:
            s = socket.create_connection((sys.argv[1], 80), timeout=1)
            s.sendall(b"GET / HTTP/1.1\\r\\nHost: lab\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while True:
                c = s.recv(4096)
                if not c:
                    break
                data += c
            s.close()
            if data.endswith(b"\\n") and b" 200 " in data:
                ok[0] += 1
            else:
                failed.append("%.2f short answer" % t0)
        except OSError as e:
            failed.append("%.2f %s" % (t0, e))
        time.sleep(0.02)
threading.Thread(target=loop, daemon=True).start()
print("started", flush=True)
sys.stdin.read()
done.set()
time.sleep(1.2)
print("ok", ok[0], "failed", len(failed), "; ".join(failed[:3]), flush=True)
"""


def restart_keeps_serving(lab):
    """The daemon restarted (SIGTERM, then a new nfgate): the kernel keeps the ruleset while no
    daemon runs, the stopping daemon seals it and the new one adopts it unchanged (rule handles
    equal), so a held connection and a stream of new connections (one every 20 ms) lose nothing."""
    import sys
    client, details = lab.agent("client"), []
    held = hold_flow(client, "tcp_open", "restart", "pod-a")
    if not held:
        return False, ["could not hold a TCP connection to pod-a through 10.96.0.20:80"]
    stream = subprocess.Popen(["ip", "netns", "exec", lab.ns("client"), sys.executable, "-c", STREAM, "10.96.0.10"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        stream.stdout.readline()
        time.sleep(0.5)
        handles = lab.exec("gw", "nft", "-a", "list", "chain", "ip", "nfgate", "services", check=False)
        t0 = time.monotonic()
        lab.restart_daemon()
        took = time.monotonic() - t0
        adopted = "kernel path: adopted the ruleset an earlier run left" in lab.daemon.output()
        same = handles and handles == lab.exec("gw", "nft", "-a", "list", "chain", "ip", "nfgate", "services",
                                               check=False)
        details.append("the new daemon adopted the sealed ruleset (log line, same rule handles)" if adopted and same
                       else f"adopted line: {adopted}, same handles: {bool(same)} -- expected both")
        time.sleep(0.5)
        stream.stdin.close()
        tally = stream.stdout.readline().strip()
        stream.wait(timeout=10)
        words = tally.split()
        stream_ok = len(words) >= 4 and words[0] == "ok" and int(words[1]) > 0 and words[3] == "0"
        details.append(f"daemon stopped and started again in {took:.1f} s; new connections meanwhile: {tally}" +
                       ("" if stream_ok else " -- expected none to fail"))
        again = client.call("again", id="restart")
        held_ok = again["kind"] == "answer" and parse_answer(again["text"])[0] == "pod-a"
        details.append(f"the held connection after the restart: {again['kind']} {again['text']!r}" +
                       ("" if held_ok else " -- expected pod-a to answer on it"))
        return stream_ok and held_ok and adopted and bool(same), details
    finally:
        client.call("close", id="restart")
        if stream.poll() is None:
            stream.kill()


def once_and_cleanup(lab):
    """`nfgate --once` installs the rules and exits; `nfgate --cleanup` removes all of them.
    Stops the lab's daemon, so it runs last."""
    details, ok = [], True
    nfgate = lab.nfgate_path()

    def command(*args):
        out = lab.exec("gw", nfgate, *args, check=False)
        return out.strip().replace("\n", " | ")

    lab.stop_daemon()
    details.append(f"daemon stopped; `nfgate --cleanup`: {command('--cleanup') or 'no output'}")
    leftovers = [what for what, present in (
        ("table ip nfgate", "table ip nfgate" in lab.ruleset()),
        ("local route for 192.0.2.100", "192.0.2.100" in lab.ip("gw", "route", "show", "table",
                                                               "local"))) if present]
    ok &= not leftovers
    details.append("after cleanup: " + (", ".join(leftovers) + " still there" if leftovers
                                         else "no nfgate table, no VIP local route"))
    results = request(lab, "client", "tcp", "10.96.0.10", 80, 1)
    unserved = results[0]["kind"] != "answer"
    ok &= unserved
    details.append(f"VIP 10.96.0.10:80 without rules: {describe(results)[2]}" +
                   ("" if unserved else " -- expected no answer"))
    once = command("--config", lab.config_path, "--once")
    details.append(f"`nfgate --config ... --once`: {once or 'no output'}")
    for step in (Reach("client", "tcp", "10.96.0.10", 80, count=20),
                 Reach("client", "tcp", "192.0.2.100", 80, count=20)):
        step_ok, text = step.run(lab)
        ok &= step_ok
        details.append("served after --once: " + text)
    command("--cleanup")
    return ok, details


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
             needs_daemon=True, paths=("dpdk",)),
    # Last: it stops the daemon.
    Scenario("gateway-own-services", "the gateway's own kernel serves TCP/UDP on its node address and "
             "hears ICMP errors about its own traffic (fast path: the exception path)", check=gateway_own_services),
    Scenario("restart-keeps-serving", "a daemon restart (kernel path) loses neither a held connection nor "
             "any of a stream of new ones", check=restart_keeps_serving, needs_daemon=True, paths=("kernel",)),
    Scenario("bgp-announce", "a reload that adds bgp: the upstream router learns the VIPs over BGP from "
             "nfgate's BIRD; one that removes it withdraws them", check=bgp_announce, needs_daemon=True,
             paths=("kernel", "dpdk")),
    Scenario("nfgatectl-answers", "nfgatectl flows/services/counters agree with a connection the lab "
             "holds", check=nfgatectl_answers, needs_daemon=True, paths=("kernel", "dpdk")),
    Scenario("nfgatectl-trace", "nfgatectl trace names what a connection will meet (on the fast path: "
             "the very endpoint)", check=nfgatectl_trace, needs_daemon=True, paths=("kernel", "dpdk")),
    Scenario("nfgatectl-capture", "nfgatectl capture writes a port's next packets as pcap that tcpdump reads",
             check=nfgatectl_capture, needs_daemon=True, paths=("dpdk",)),
    Scenario("nfgatectl-capture-kernel", "on the kernel path nfgatectl capture points at tcpdump",
             check=kernel_capture_refused, needs_daemon=True, paths=("kernel",)),
    Scenario("kernel-once-and-cleanup", "nfgate --once applies the rules and exits, --cleanup "
             "removes them all", check=once_and_cleanup, needs_daemon=True, paths=("kernel",)),
]
