"""SYN-flood defence in the lab: the fast path's SYN proxy (conntrack.synProxy), switched on by a
reload, serves real connections through cookies while a spoofed SYN flood leaves no half-open
flow behind. Kept out of scenarios.py (which holds the list) to keep each file one job."""
import json
import subprocess
import sys
import time

# Sent from the client namespace through a raw socket: SYNs from addresses nobody owns (CGNAT
# space, not a martian), each from its own address and port, to a ClusterIP; with a fourth
# argument, all from that one address.
FLOOD_SCRIPT = r"""
import random, socket, struct, sys, time
count, dst, dport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
fixed = socket.inet_aton(sys.argv[4]) if len(sys.argv) > 4 else None
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
d = socket.inet_aton(dst)
sent, start = 0, time.time()
for i in range(count):
    src = fixed or socket.inet_aton("100.64.%d.%d" % (random.randrange(256), random.randrange(1, 255)))
    sport, seq = random.randrange(1024, 65535), random.getrandbits(32)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
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


def syn_proxy_serves(lab, reach_cls):
    """conntrack.synProxy: on (a reload): connections to a ClusterIP open through SYN cookies
    and carry data; 5 000 spoofed SYNs leave no flow behind (no half-open entry, nothing
    given up) while a new stream of connections keeps being served."""
    details, ok = [], True
    with open(lab.config_path) as f:
        original = f.read()
    if "  maxFlows: 65536\n" not in original:
        return False, [f"{lab.config_path}: expected a `conntrack: maxFlows: 65536` line"]

    def set_mode(mode):
        with open(lab.config_path, "w") as f:
            f.write(original.replace("  maxFlows: 65536\n", f"  maxFlows: 65536\n  synProxy: {mode}\n"))
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
        step_ok, text = reach_cls("client", "tcp", "10.96.0.10", 80, count=20).run(lab)
        after = counters(lab)
        cookies = after["drops"]["syn_cookie_sent"] - before["drops"]["syn_cookie_sent"]
        opened = after["drops"]["syn_proxy_opened"] - before["drops"]["syn_proxy_opened"]
        proxied = cookies >= 20 and opened >= 20
        ok &= step_ok and proxied
        details.append(f"20 connections: {text}; {cookies} SYN cookies sent, {opened} backend connections "
                       f"opened by them" + ("" if proxied else " -- expected at least 20 of each"))

        flows_before = after["flows_in_use"]
        flood = subprocess.Popen(["ip", "netns", "exec", lab.ns("client"), sys.executable, "-c", FLOOD_SCRIPT,
                                  "5000", "10.96.0.10", "80"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        step_ok, text = reach_cls("client", "tcp", "10.96.0.10", 80, count=20).run(lab)
        out, err = flood.communicate(timeout=60)
        time.sleep(0.3)
        end = counters(lab)
        flood_cookies = end["drops"]["syn_cookie_sent"] - after["drops"]["syn_cookie_sent"]
        grown = end["flows_in_use"] - flows_before
        flood_ok = flood.returncode == 0 and flood_cookies >= 4000 and grown <= 40 and \
            end["drops"]["flow_table_full"] == before["drops"]["flow_table_full"]
        ok &= step_ok and flood_ok
        details.append(f"spoofed SYN flood (sent, seconds: {out.strip() or err.strip()}): {flood_cookies} answered "
                       f"with cookies, flow table grew by {grown} (the 20 real connections' flows at most), "
                       f"half-open flows {end.get('half_open_flows')}; connections meanwhile: {text}"
                       + ("" if flood_ok else " -- expected >= 4000 cookies and no flow per spoofed SYN"))
    finally:
        with open(lab.config_path, "w") as f:
            f.write(original)
    line, active = set_mode("off")
    ok &= active is False
    with open(lab.config_path, "w") as f:
        f.write(original)
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    details.append(f"back to the original configuration: {line!r}")
    return ok, details
