"""Operating scenarios: nfgatectl (answers, trace, capture), the gateway's own services, BGP
announcements, a restart that keeps serving, --once and --cleanup. Held in the list of
scenarios.py."""
import json
import os
import shutil
import subprocess
import time

from lab import bird_routes, v6
from probes import (ANSWER_TIMEOUT, CLIENT, CLIENT6, GW_EXT, GW_EXT6, POD_A, RELOAD_VIP, Reach, describe, parse_answer,
                    request, run_steps)
from scenarios_reload import cluster_file, hold_flow

def nfgatectl_answers(lab, family=4):
    """nfgatectl agrees with traffic the lab made: a held TCP connection to lab/reload is listed by
    `flows` (client, backend, ESTABLISHED), counted by `services` (flows, connections, packets,
    bytes), and `counters` saw packets. `family` 6: the same over the Service's IPv6 ClusterIP,
    listed and counted on its IPv6 row."""
    twin = (lambda a: a) if family == 4 else v6
    at = (lambda a, p: f"{a}:{p}") if family == 4 else (lambda a, p: f"[{a}]:{p}")
    vip, client_ip, pod_a = twin(RELOAD_VIP), twin(CLIENT), twin(POD_A)
    client, details = lab.agent("client"), []
    held = hold_flow(client, "tcp_open", "ctl", "pod-a", vip=vip)
    if not held:
        return False, [f"could not hold a TCP connection to pod-a through {at(vip, 80)}"]
    try:
        def ask(*args):
            rc, out, err = lab.nfgatectl("-o", "json", *args)
            if rc != 0:
                raise ValueError(f"nfgatectl {' '.join(args)}: exit {rc}: {err.strip()}")
            return json.loads(out)

        ok = True
        flows = ask("flows", "--service", "lab/reload", "--client", client_ip)["flows"]
        mine = [f for f in flows if f["client"] == at(client_ip, held["sport"])]
        flow_ok = (len(mine) == 1 and mine[0]["backend"] == at(pod_a, 8080) and mine[0]["state"] == "ESTABLISHED"
                   and mine[0]["frontend"] == at(vip, 80))
        ok &= flow_ok
        details.append(f"flows of lab/reload from {client_ip}: {len(flows)}, the held one: "
                       f"{mine[0] if mine else None}" + ("" if flow_ok else " -- expected it, ESTABLISHED to pod-a"))
        rows = [r for r in ask("services") if r["vip"] == vip and r["port"] == 80]
        header = 40 if family == 4 else 60  # IP and TCP headers, the least a packet of the handshake has
        svc_ok = (len(rows) == 1 and rows[0]["namespace"] == "lab" and rows[0]["name"] == "reload"
                  and at(pod_a, 8080) in rows[0]["endpoints"] and (rows[0]["flows"] or 0) >= 1
                  # the held connection's handshake at least, counted by the data path itself
                  and (rows[0]["connections"] or 0) >= 1 and (rows[0]["packets"] or 0) >= 3
                  and (rows[0]["bytes"] or 0) >= 3 * header)
        ok &= svc_ok
        details.append(f"services row for {at(vip, 80)}: {rows}" + ("" if svc_ok else " -- expected "
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


def gateway_own_services(lab, family=4):
    """The gateway's own kernel serves on its node address (on the fast path through the
    exception path): a TCP/UDP server in the gateway namespace answers the client, and an ICMP
    port unreachable about the kernel's own UDP reaches it (a connected socket sees ECONNREFUSED).
    `family` 6: the same over IPv6 (the kernel resolves the client by neighbour discovery)."""
    import sys
    from lab import HERE, LineProcess
    gw, client = (GW_EXT, CLIENT) if family == 4 else (GW_EXT6, CLIENT6)
    server = LineProcess(["ip", "netns", "exec", lab.ns("gw"), sys.executable, os.path.join(HERE, "servers.py"),
                          "--name", "gateway", "--tcp", str(GW_OWN_TCP), "--udp", str(GW_OWN_UDP)],
                         os.path.join(lab.workdir, f"servers-gateway{family}.log"), stdin=subprocess.PIPE)
    try:
        if server.wait_line(lambda l: l == "ready", 10) is None:
            return False, ["the gateway's own server did not start: " + server.output()]
        ok, details = run_steps(lab, [
            Reach("client", "tcp", gw, GW_OWN_TCP, count=5, backends=["gateway"], source=client),
            Reach("client", "udp", gw, GW_OWN_UDP, count=5, backends=["gateway"], source=client)])
        af = "AF_INET" if family == 4 else "AF_INET6"
        probe = ("import socket\n"
                 f"s = socket.socket(socket.{af}, socket.SOCK_DGRAM); s.settimeout(3)\n"
                 f"s.connect(('{client}', 9))\n"
                 "for _ in range(3):\n"
                 "    try:\n"
                 "        s.send(b'x'); s.recv(100); print('answered'); break\n"
                 "    except ConnectionRefusedError: print('refused'); break\n"
                 "    except socket.timeout: pass\n"
                 "else: print('timeout')\n")
        out = lab.exec("gw", sys.executable, "-c", probe, check=False).strip()
        details.append(f"the gateway's UDP to {client}:9 (nobody listens): {out}" +
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
    # The request is armed once the daemon has read it, which a loaded machine may take a while
    # to do: one connection at a time (its frames alternate between the two directions) until
    # the capture has its packets, so frames of the same connection are on both sides of it.
    step_ok, sent = True, 0
    time.sleep(0.3)
    while ctl.poll() is None and sent < 20:
        ok_one, text = Reach("client", "tcp", "10.96.0.10", 80, count=1, every_backend=False).run(lab)
        step_ok &= ok_one
        sent += 1
        time.sleep(0.1)
    details.append(f"traffic: {sent} connection(s) one after another, all answered: {step_ok}; last: {text}")
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
    if not read_ok:
        details += ["  " + l for l in lines[:want]]
    return ok and step_ok, details


POD_IPS = {"pod-a": "10.244.1.10", "pod-b": "10.244.1.11"}


def nfgatectl_trace(lab, family=4):
    """nfgatectl trace names the Service, its endpoints and the masquerade for a client's
    connection to a ClusterIP, and the endpoint it names is the one the same connection then
    reaches (fast path: Maglev; kernel path: the kernel's jhash of the client address and port).
    family=6: the same over the IPv6 twins, written [addr]:port."""
    sport = 40002 + (os.getpid() * 7 + int(time.time())) % 98  # reserved: never ephemeral (lab.py)
    twin = (lambda a: a) if family == 4 else v6
    at = (lambda a, p: f"{a}:{p}") if family == 4 else (lambda a, p: f"[{a}]:{p}")
    vip = twin("10.96.0.10")
    pods = {name: twin(ip) for name, ip in POD_IPS.items()}
    rc, out, err = lab.nfgatectl("-o", "json", "trace", "tcp", at(twin(CLIENT), sport), at(vip, 80))
    if rc != 0:
        return False, [f"nfgatectl trace: exit {rc}: {err.strip()}"]
    t = json.loads(out)
    ready = sorted(at(ip, 8080) for ip in pods.values())
    ok = (t["verdict"] == "forward" and t["service"] == "lab/web" and sorted(t["candidates"]) == ready
          and t["masquerade"])
    details = [f"trace: verdict {t['verdict']}, service {t['service']}, among {t['candidates']}, chosen "
               f"{t['chosen']}, masquerade {t['masquerade']}" + ("" if ok else f" -- expected lab/web over {ready}, "
                                                                          "masqueraded")]
    results = lab.agent("client").tcp(vip, 80, count=1, timeout=ANSWER_TIMEOUT, sport=sport)
    got = results[0]
    answered = got["kind"] == "answer"
    name = parse_answer(got["text"])[0] if answered else None
    backend = pods.get(name) if answered else None
    same = answered and t["chosen"] == at(backend, 8080)
    ok &= same
    details.append(f"the connection from port {sport} reached {backend}" +
                   ("" if same else f" -- expected the traced {t['chosen']}"))
    if family == 6:
        rc, out, err = lab.nfgatectl("trace", "tcp", at(twin(CLIENT), sport), "10.96.0.10:80")
        mixed = rc == 1 and "different families" in err
        ok &= mixed
        details.append(f"a mixed-family pair: exit {rc}: {err.strip()}" + ("" if mixed else " -- expected exit 1 "
                                                                                          "naming the families"))
    return ok, details


def kernel_capture_refused(lab):
    """On the kernel path nfgatectl capture says to use tcpdump (exit 1), it copies nothing itself."""
    rc, out, err = lab.nfgatectl("capture", "--interface", "ext", "--count", "1", "--write",
                                 os.path.join(lab.workdir, "none.pcap"))
    ok = rc == 1 and "tcpdump" in err
    return ok, [f"exit {rc}: {err.strip()}" + ("" if ok else " -- expected exit 1 pointing at tcpdump")]


BGP_VIPS = {"192.0.2.100/32", "203.0.113.10/32", "203.0.113.11/32", "203.0.113.12/32", "203.0.113.20/32"}


def bgp_announce(lab, family=4):
    """BGP through nfgate's BIRD, switched on by a reload: the upstream router (the outside host,
    running BIRD) learns every LB IP and externalIP of the Services with ready endpoints, next hop
    the gateway (on the fast path the session runs through the exception path); switched off by a
    reload, everything is withdrawn. `family` 6: the same over an IPv6 session, the IPv6 twins of
    the VIPs as /128s."""
    from lab import v6
    if shutil.which("bird") is None:
        return False, ["bird (Debian bird2) is not installed: ./nfgate.sh installs it"]
    twin = (lambda a: a) if family == 4 else v6
    vips = BGP_VIPS if family == 4 else {v6(p.split("/")[0]) + "/128" for p in BGP_VIPS}
    withdrawn = "203.0.113.11/32" if family == 4 else v6("203.0.113.11") + "/128"
    gw, router_addr = twin(GW_EXT), twin("192.0.2.20")
    conf, sock = os.path.join(lab.workdir, "router-bird.conf"), os.path.join(lab.workdir, "router-bird.ctl")
    with open(conf, "w") as f:
        f.write('router id 192.0.2.20;\nprotocol device { }\n'
                f"protocol bgp lab {{ local as 64500; neighbor {gw} as 64512; hold time 9;\n"
                f"  ipv{family} {{ import all; export none; }}; }}\n")
    router = subprocess.Popen(["ip", "netns", "exec", lab.ns("outside"), "bird", "-f", "-c", conf, "-s", sock,
                               "-P", os.path.join(lab.workdir, "router-bird.pid")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def learnt():
        return bird_routes(subprocess.run(["birdc", "-s", sock, "show", "route", "protocol", "lab"],
                                          capture_output=True, text=True).stdout)

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
            f.write(original + f"bgp:\n  asn: 64512\n  peers: [{{address: \"{router_addr}\", asn: 64500, holdTime: 9}}]\n")
        line = lab.reload()
        got = wait_for(vips, 40)
        step_ok = line == "nfgate: reloaded" and set(got) == vips and set(got.values()) == {gw}
        ok &= step_ok
        details.append(f"reload with bgp: {line!r}; the router learnt {got}" +
                       ("" if step_ok else f" -- expected {sorted(vips)} via {gw}"))
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
            got = wait_for(vips - {withdrawn}, 15)
            step_ok = line == "nfgate: reloaded" and set(got) == vips - {withdrawn}
            ok &= step_ok
            details.append(f"web-local's last ready endpoint gone: the router keeps {sorted(got)}" +
                           ("" if step_ok else f" -- expected {withdrawn} withdrawn, the rest kept"))
        finally:
            with open(slices, "w") as f:
                f.write(slices_text)
        line = lab.reload()
        got = wait_for(vips, 15)
        step_ok = set(got) == vips
        ok &= step_ok
        details.append(f"ready again: {len(got)} routes" + ("" if step_ok else f" -- expected {withdrawn} back"))
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
    equal, in the ip and the ip6 table), so a held connection and a stream of new connections (one every 20 ms) lose nothing."""
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
        handles6 = lab.exec("gw", "nft", "-a", "list", "chain", "ip6", "nfgate", "services", check=False)
        t0 = time.monotonic()
        lab.restart_daemon()
        took = time.monotonic() - t0
        adopted = "kernel path: adopted the ruleset an earlier run left" in lab.daemon.output()
        same = handles and handles == lab.exec("gw", "nft", "-a", "list", "chain", "ip", "nfgate", "services",
                                               check=False)
        same6 = handles6 and handles6 == lab.exec("gw", "nft", "-a", "list", "chain", "ip6", "nfgate", "services",
                                                  check=False)
        same = same and same6
        details.append("the new daemon adopted the sealed ip and ip6 tables (log line, same rule handles)"
                       if adopted and same else
                       f"adopted line: {adopted}, same handles: {bool(same)} (ip6: {bool(same6)}) -- expected both")
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
