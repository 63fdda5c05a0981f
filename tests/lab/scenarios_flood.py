"""SYN-flood defence in the lab: the fast path's SYN proxy (conntrack.synProxy), switched on by a
reload, serves real connections through cookies while a spoofed SYN flood leaves no half-open
flow behind. Kept out of scenarios.py (which holds the list) to keep each file one job."""
import json
import subprocess
import sys
import time

# Sent from the client namespace through a raw socket: SYNs from addresses nobody owns (IPv4:
# CGNAT space, not a martian; IPv6: documentation space outside the lab's prefixes), each from
# its own address and port, to a ClusterIP; with a fourth argument, all from that one address.
FLOOD_SCRIPT = r"""
import random, socket, struct, sys, time
count, dst, dport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
six = ":" in dst
family = socket.AF_INET6 if six else socket.AF_INET
fixed = socket.inet_pton(family, sys.argv[4]) if len(sys.argv) > 4 else None
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def spoofed():
    if six:
        return socket.inet_pton(family, "2001:db8:6464:%x::%x" % (random.randrange(65536), random.randrange(1, 65535)))
    return socket.inet_aton("100.64.%d.%d" % (random.randrange(256), random.randrange(1, 255)))
s = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IPv6 too: the header is ours
d = socket.inet_pton(family, dst)
sent, start = 0, time.time()
for i in range(count):
    src = fixed or spoofed()
    sport, seq = random.randrange(1024, 65535), random.getrandbits(32)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = src + d + (struct.pack("!IxxxB", len(tcp), 6) if six else struct.pack("!BBH", 0, 6, len(tcp)))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    if six:
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(tcp), 6, 64, src, d)
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0, src, d)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.sendto(ip + tcp, (dst, 0))
    sent += 1
    if i % 200 == 199: time.sleep(0.01)  # ~15-20 kpps: what the TAP lab carries
print(sent, round(time.time() - start, 2))
"""


def counters(lab):
    rc, out, err = lab.nfgatectl("-o", "json", "counters")
    if rc != 0:
        raise RuntimeError(f"nfgatectl counters: exit {rc}: {err.strip()}")
    return json.loads(out)


class ConntrackKeys:
    """The lab's gateway file with keys added under `conntrack:` (below its `maxFlows: 65536`
    line); `restore()` puts the file back as it was (the caller reloads)."""
    ANCHOR = "  maxFlows: 65536\n"

    def __init__(self, lab):
        self.lab = lab
        with open(lab.config_path) as f:
            self.original = f.read()
        self.missing = None if self.ANCHOR in self.original else \
            [f"{lab.config_path}: expected a `conntrack: maxFlows: 65536` line"]

    def write(self, extra):
        """`extra`: the added lines, e.g. "  synProxy: on\\n"."""
        with open(self.lab.config_path, "w") as f:
            f.write(self.original.replace(self.ANCHOR, self.ANCHOR + extra))

    def restore(self):
        with open(self.lab.config_path, "w") as f:
            f.write(self.original)


def start_flood(lab, count, dst="10.96.0.10", dport=80, source=None):
    """FLOOD_SCRIPT in the client namespace: `count` SYNs to dst:dport, spoofed from random
    addresses or all from `source`."""
    argv = [str(count), dst, str(dport)] + ([source] if source else [])
    return subprocess.Popen(["ip", "netns", "exec", lab.ns("client"), sys.executable, "-c", FLOOD_SCRIPT] + argv,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def syn_proxy_serves(lab, reach_cls, vip="10.96.0.10", flood=5000):
    """conntrack.synProxy: on (a reload): connections to a ClusterIP (`vip`, either family)
    open through SYN cookies and carry data; `flood` spoofed SYNs leave no flow behind (no
    half-open entry, nothing given up) while a new stream of connections keeps being served."""
    details, ok = [], True
    cfg = ConntrackKeys(lab)
    if cfg.missing:
        return False, cfg.missing

    def set_mode(mode):
        cfg.write(f"  synProxy: {mode}\n")
        line = lab.reload()
        deadline = time.time() + 3
        while time.time() < deadline and counters(lab).get("syn_proxy") != (mode == "on"):
            time.sleep(0.1)  # the control thread switches it within a second
        return line, counters(lab).get("syn_proxy")

    try:
        line, active = set_mode("on")
        ok &= line == "nfgate: reloaded" and active is True
        details.append(f"SIGHUP (synProxy: on): {line!r}, proxy active: {active}")
        before = counters(lab)
        step_ok, text = reach_cls("client", "tcp", vip, 80, count=20).run(lab)
        after = counters(lab)
        cookies = after["drops"]["syn_cookie_sent"] - before["drops"]["syn_cookie_sent"]
        opened = after["drops"]["syn_proxy_opened"] - before["drops"]["syn_proxy_opened"]
        proxied = cookies >= 20 and opened >= 20
        ok &= step_ok and proxied
        details.append(f"20 connections: {text}; {cookies} SYN cookies sent, {opened} backend connections "
                       f"opened by them" + ("" if proxied else " -- expected at least 20 of each"))

        flows_before = after["flows_in_use"]
        flooding = start_flood(lab, flood, dst=vip)
        step_ok, text = reach_cls("client", "tcp", vip, 80, count=20).run(lab)
        out, err = flooding.communicate(timeout=60)
        time.sleep(0.3)
        end = counters(lab)
        flood_cookies = end["drops"]["syn_cookie_sent"] - after["drops"]["syn_cookie_sent"]
        grown = end["flows_in_use"] - flows_before
        flood_ok = flooding.returncode == 0 and flood_cookies >= flood * 4 // 5 and grown <= 40 and \
            end["drops"]["flow_table_full"] == before["drops"]["flow_table_full"]
        ok &= step_ok and flood_ok
        details.append(f"spoofed SYN flood (sent, seconds: {out.strip() or err.strip()}): {flood_cookies} answered "
                       f"with cookies, flow table grew by {grown} (the 20 real connections' flows at most), "
                       f"half-open flows {end.get('half_open_flows')}; connections meanwhile: {text}"
                       + ("" if flood_ok else f" -- expected >= {flood * 4 // 5} cookies and no flow per spoofed SYN"))
    finally:
        cfg.restore()
    line, active = set_mode("off")
    ok &= active is False
    cfg.restore()
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    details.append(f"back to the original configuration: {line!r}")
    return ok, details


def _gw_number(lab, path):
    return int(lab.exec("gw", "cat", path).strip())


def _synproxy_answered(lab):
    """SYNs the gateway kernel's synproxy answered with a cookie (all CPUs)."""
    lines = lab.exec("gw", "cat", "/proc/net/stat/synproxy").split("\n")
    column = lines[0].split().index("syn_received")
    return sum(int(line.split()[column], 16) for line in lines[1:] if line.strip())


def kernel_syn_proxy_serves(lab, reach_cls):
    """Kernel path, conntrack.synProxy: on (a reload): the nftables synproxy answers a spoofed SYN
    flood with cookies and conntrack keeps no entry for it, while real connections keep opening;
    off again, nf_conntrack_tcp_loose has its value back and the same flood fills conntrack."""
    details, ok = [], True
    cfg = ConntrackKeys(lab)
    if cfg.missing:
        return False, cfg.missing
    loose_before = lab.exec("gw", "sysctl", "-n", "net.netfilter.nf_conntrack_tcp_loose").strip()

    def set_mode(mode):
        cfg.write(f"  synProxy: {mode}\n")
        line = lab.reload()
        deadline = time.time() + 5  # a loaded machine may miss a tick or two
        proxied = False
        while time.time() < deadline:  # the control thread switches it within a second
            listed = lab.exec("gw", "nft", "list", "set", "ip", "nfgate", "synproxy-frontends")
            proxied = "10.96.0.10 . 80" in listed
            if proxied == (mode == "on"):
                break
            time.sleep(0.1)
        return line, proxied

    try:
        line, proxied = set_mode("on")
        loose = lab.exec("gw", "sysctl", "-n", "net.netfilter.nf_conntrack_tcp_loose").strip()
        ok &= line == "nfgate: reloaded" and proxied and loose == "0"
        details.append(f"SIGHUP (synProxy: on): {line!r}, frontends in the proxy's set: {proxied}, "
                       f"nf_conntrack_tcp_loose {loose_before} -> {loose}")
        entries, answered = _gw_number(lab, "/proc/sys/net/netfilter/nf_conntrack_count"), _synproxy_answered(lab)
        proc = start_flood(lab, 5000)
        step_ok, text = reach_cls("client", "tcp", "10.96.0.10", 80, count=20).run(lab)
        out, err = proc.communicate(timeout=60)
        time.sleep(0.3)
        grown = _gw_number(lab, "/proc/sys/net/netfilter/nf_conntrack_count") - entries
        cookies = _synproxy_answered(lab) - answered
        flood_ok = proc.returncode == 0 and cookies >= 4000 and grown <= 40
        ok &= step_ok and flood_ok
        shown = counters(lab)  # nfgatectl counters on the kernel path
        shown_ok = shown.get("syn_proxy") is True and shown.get("syn_cookie_sent", 0) >= cookies
        ok &= shown_ok
        details.append(f"nfgatectl counters: syn_proxy {shown.get('syn_proxy')}, syn_cookie_sent "
                       f"{shown.get('syn_cookie_sent')}, syn_proxy_opened {shown.get('syn_proxy_opened')}, "
                       f"half_open_flows {shown.get('half_open_flows')}")
        # A NodePort on the node address is proxied too (the configuration's nodeAddresses).
        node_ok, node_text = reach_cls("client", "tcp", "192.0.2.1", 30080, count=20).run(lab)
        node_proxied = "192.0.2.1 . 30080" in lab.exec("gw", "nft", "list", "set", "ip", "nfgate", "synproxy-frontends")
        ok &= node_ok and node_proxied
        details.append(f"NodePort while on (in the proxy's set: {node_proxied}): {node_text}")
        details.append(f"proxy on, spoofed SYN flood (sent, seconds: {out.strip() or err.strip()}): {cookies} "
                       f"answered with cookies, conntrack grew by {grown} (the 20 real connections' entries at "
                       f"most); connections meanwhile: {text}"
                       + ("" if flood_ok else " -- expected >= 4000 cookies and no entry per spoofed SYN"))
    finally:
        cfg.restore()
    line, proxied = set_mode("off")
    loose = lab.exec("gw", "sysctl", "-n", "net.netfilter.nf_conntrack_tcp_loose").strip()
    ok &= not proxied and loose == loose_before
    entries = _gw_number(lab, "/proc/sys/net/netfilter/nf_conntrack_count")
    proc = start_flood(lab, 2000)
    out, err = proc.communicate(timeout=60)
    time.sleep(0.3)
    grown = _gw_number(lab, "/proc/sys/net/netfilter/nf_conntrack_count") - entries
    details.append(f"proxy off ({line!r}, nf_conntrack_tcp_loose back to {loose}): 2000 spoofed SYNs grew "
                   f"conntrack by {grown}")
    ok &= grown >= 1500
    cfg.restore()
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    details.append(f"back to the original configuration: {line!r}")
    lab.exec("gw", "conntrack", "-F", check=False)  # the spoofed entries would slow later scenarios
    return ok, details


def kernel_syn_proxy_auto(lab, reach_cls):
    """Kernel path, conntrack.synProxy: auto with synProxyHalfOpen 1000: a spoofed SYN flood fills
    conntrack with half-open entries until the once-a-second sample sees 1000 of them; from then
    on the synproxy answers and conntrack stops growing, while real connections keep opening."""
    details, ok = [], True
    cfg = ConntrackKeys(lab)
    if cfg.missing:
        return False, cfg.missing

    def configure(extra):
        cfg.write(extra)
        return lab.reload()

    try:
        lab.exec("gw", "conntrack", "-F", check=False)
        line = configure("  synProxy: auto\n  synProxyHalfOpen: 1000\n")
        ok &= line == "nfgate: reloaded"
        entries, answered = _gw_number(lab, "/proc/sys/net/netfilter/nf_conntrack_count"), _synproxy_answered(lab)
        proc = start_flood(lab, 30000)
        step_ok, text = reach_cls("client", "tcp", "10.96.0.10", 80, count=20).run(lab)
        out, err = proc.communicate(timeout=120)
        time.sleep(0.3)
        grown = _gw_number(lab, "/proc/sys/net/netfilter/nf_conntrack_count") - entries
        cookies = _synproxy_answered(lab) - answered
        on = "10.96.0.10 . 80" in lab.exec("gw", "nft", "list", "set", "ip", "nfgate", "synproxy-frontends")
        flood_ok = proc.returncode == 0 and on and cookies >= 10000 and grown < 20000
        ok &= step_ok and flood_ok
        details.append(f"auto, threshold 1000, spoofed SYN flood (sent, seconds: {out.strip() or err.strip()}): "
                       f"proxy on: {on}; conntrack grew by {grown} before it switched, {cookies} SYNs answered "
                       f"with cookies after; connections meanwhile: {text}"
                       + ("" if flood_ok else " -- expected the proxy on, >= 10000 cookies, < 20000 entries"))
        line = configure("  synProxy: off\n")  # off at once (auto waits a quiet minute)
        ok &= line == "nfgate: reloaded"
    finally:
        cfg.restore()
    time.sleep(1.5)
    lab.exec("gw", "conntrack", "-F", check=False)  # or auto would see the flood's entries again
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    details.append(f"back to the original configuration: {line!r}")
    return ok, details


def kernel_scenarios(reach_cls):
    """(name, what it shows, check, paths) of the kernel path's scenarios here, for the list in
    scenarios.py (which owns the Scenario class)."""
    return [
        ("syn-proxy-flood-kernel", "conntrack.synProxy on (kernel path): the nftables synproxy answers a "
         "spoofed SYN flood with cookies, conntrack keeps nothing of it, real connections open",
         lambda lab: kernel_syn_proxy_serves(lab, reach_cls), ("kernel",)),
        ("syn-proxy-auto-kernel", "conntrack.synProxy auto (kernel path): a SYN flood switches the "
         "nftables synproxy on within a second of passing synProxyHalfOpen",
         lambda lab: kernel_syn_proxy_auto(lab, reach_cls), ("kernel",)),
    ]
