#!/usr/bin/env python3
"""Soak: established flows through the lab's gateway lose nothing while the configuration is
reloaded every second with endpoint churn; the daemon's memory stays flat.

  soak.py --build DIR --path kernel|dpdk [--seconds N]

For N seconds (default 600): a UDP flow sends a numbered datagram every 5 ms to 10.96.0.10:53 and
counts the answers; two held TCP connections to 10.96.0.20:80 (pinned to pod-a and pod-b) ask
again every 100 ms; every second the lab/reload Service loses or regains pod-b and the daemon
gets SIGHUP. (pod-b stays up as a host: its established connection must keep working, as every
TCP connection does on both paths when its endpoint leaves the Service.) Every 10 s the daemon's
resident memory is sampled. Exit 0 when no datagram and no request was lost, every reload
succeeded and memory grew by less than 5 % + 4 MiB from the first sample after warm-up.

With --sanitized the daemon is an ASan+UBSan build (`nfgate.sh test` runs 60 s of it on each
path): the run also fails on any sanitizer report, leaks at exit included, and memory is judged
by the leak check instead of RSS.
"""
import argparse
import os
import subprocess
import sys
import threading
import time

from lab import Lab, LabError

# In the client namespace: numbered UDP requests, one every 5 ms; lost = sent - answered.
UDP_LOOP = """import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("10.96.0.10", 53)); s.settimeout(1.0)
end = time.monotonic() + float(sys.argv[1]); sent = answered = 0; lost = []
while time.monotonic() < end:
    sent += 1
    s.send(b"%d" % sent)
    try:
        s.recv(2048); answered += 1
    except socket.timeout:
        lost.append("%.1f" % (float(sys.argv[1]) - (end - time.monotonic())))
    time.sleep(0.005)
print("udp sent", sent, "answered", answered, "lost at s:", " ".join(lost[:5]), flush=True)
"""


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def sanitizer_findings(output, returncode):
    """The report lines an ASan/UBSan/LSan daemon printed, or its unclean exit."""
    lines = output.splitlines()
    start = next((i for i, l in enumerate(lines)
                  if "Sanitizer" in l and "ERROR" in l or "runtime error:" in l), None)
    if start is not None:
        return lines[start:]
    return [] if returncode == 0 else [f"the daemon exited with status {returncode}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True)
    parser.add_argument("--path", choices=["kernel", "dpdk"], required=True)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--sanitized", action="store_true",
                        help="the daemon is an ASan/UBSan build: after the run it is stopped and any "
                             "sanitizer report (leaks included) fails the soak")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("skipped: needs root")
        return 77
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from probes import parse_answer
    from scenarios_reload import hold_flow, swap_reload_manifest

    with Lab(args.path, args.build) as lab:
        client = lab.agent("client")
        held = {b: hold_flow(client, "tcp_open", "soak-" + b, b) for b in ("pod-a", "pod-b")}
        if not all(held.values()):
            print("FAIL soak: could not hold TCP connections to pod-a and pod-b")
            return 1
        udp = subprocess.Popen(["ip", "netns", "exec", lab.ns("client"), sys.executable, "-c", UDP_LOOP,
                                str(args.seconds)], stdout=subprocess.PIPE, text=True)
        tcp = {"ok": 0, "failed": []}
        stop = threading.Event()

        def ask_again():
            while not stop.is_set():
                for b in held:
                    r = client.call("again", id="soak-" + b, timeout=2.0)
                    if r["kind"] == "answer" and parse_answer(r["text"])[0] == b:
                        tcp["ok"] += 1
                    else:
                        tcp["failed"].append(f"{b}: {r['kind']} {r.get('text', '')!r}")
                time.sleep(0.1)

        asker = threading.Thread(target=ask_again, daemon=True)
        asker.start()
        pid = lab.daemon.proc.pid
        samples, reloads, rejected = [], 0, []
        start = time.monotonic()
        variant = ["reload/reload-without-pod-b.yaml", "cluster/reload.yaml"]
        while time.monotonic() - start < args.seconds:
            swap_reload_manifest(lab, variant[reloads % 2])
            line = lab.reload()
            reloads += 1
            if line != "nfgate: reloaded":
                rejected.append(line)
            elapsed = time.monotonic() - start
            if elapsed >= 10 * len(samples):
                samples.append((round(elapsed), rss_kib(pid)))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - start - elapsed)))
        stop.set()
        asker.join(5)
        udp_line = udp.stdout.readline().strip()
        udp.wait(timeout=30)
        swap_reload_manifest(lab, "cluster/reload.yaml")
        lab.reload()
        if args.sanitized:
            # Stopped here, with time for the leak check at exit (the lab's own stop waits 5 s).
            lab.daemon.stop(grace=120)
            sanitizer = sanitizer_findings(lab.daemon.output(), lab.daemon.proc.returncode)

    words = udp_line.split()
    udp_lost = int(words[2]) - int(words[4]) if len(words) > 4 else -1
    base = samples[1][1] if len(samples) > 2 else samples[0][1]  # after warm-up
    last = samples[-1][1]
    flat = base is not None and last is not None and last <= base * 1.05 + 4096
    ok = udp_lost == 0 and not tcp["failed"] and not rejected and flat
    if args.sanitized:
        # Memory is judged by the leak check here: ASan's quarantine and shadow make RSS grow.
        ok = udp_lost == 0 and not tcp["failed"] and not rejected and not sanitizer
    print(("PASS" if ok else "FAIL") + f" soak ({args.path}, {args.seconds} s)")
    print(f"    {udp_line}")
    print(f"    tcp: {tcp['ok']} requests answered on the two held connections, {len(tcp['failed'])} failed"
          + (": " + "; ".join(tcp["failed"][:3]) if tcp["failed"] else ""))
    print(f"    reloads: {reloads}, rejected {len(rejected)}" + (": " + rejected[0] if rejected else ""))
    print("    daemon RSS (KiB) every 10 s: " + " ".join(f"{t}s:{r}" for t, r in samples)
          + ("" if flat else f" -- grew from {base} to {last}"
             + (" (not judged: ASan's quarantine holds freed memory)" if args.sanitized else "")))
    if args.sanitized:
        print("    sanitizers: " + ("no report, clean exit" if not sanitizer else "\n".join(sanitizer[:40])))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LabError as e:
        print(f"FAIL soak: {e}")
        sys.exit(1)
