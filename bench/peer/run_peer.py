#!/usr/bin/python3
"""nfgate end to end: the kernel path and the fast path on the same veth topology, same traffic.

  run_peer.py --build BUILD [--drivers af_packet,af_xdp] [--udp-seconds 5] [--tcp-seconds 3]
              [--flows 1024] [--json bench/results/peer.json]

For each gateway (kernel; then dpdk over each listed port driver) it measures UDP packets per
second of 64-byte frames over --flows established flows to a Service VIP, and completed TCP
connections per second; prints a table and writes JSON. Needs root. Exit status 1 when a gateway
could not be measured (its error is in the table and the JSON), never because of a number.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer_lab import REPO, LabError, PeerLab  # noqa: E402
from peer_measure import measure_tcp, measure_udp  # noqa: E402


def measure_gateway(lab, name, args):
    """Starts one gateway, measures it, stops it; the result or the error."""
    result = {"gateway": name}
    started = time.monotonic()
    try:
        if name == "kernel":
            lab.start_kernel()
        else:
            lab.start_dpdk(name.split(":", 1)[1])
        workers = [tid for tid, comm in lab.daemon_threads() if comm.startswith(("rte-worker", "lcore-worker"))]
        result["dpdk_worker_threads"] = len(workers) if name != "kernel" else None
        result["udp"] = measure_udp(lab, name, args.udp_seconds, args.flows, workers)
        result["tcp"] = measure_tcp(lab, name, args.tcp_seconds, args.max_conns, args.concurrency, workers)
    except (LabError, OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        result["error"] = str(exc) if isinstance(exc, LabError) else traceback.format_exc()
    finally:
        lab.stop_gateway()
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def fmt(value, unit=""):
    if value is None:
        return "-"
    if isinstance(value, float) and value < 10:
        return f"{value:.2f}{unit}"
    return f"{value:,.0f}{unit}"


def print_table(results):
    rows = [("gateway", "UDP pps", "pps/gw core", "gw cores", "loss", "TCP conn/s", "cps/gw core", "gw cores")]
    for r in results:
        if "error" in r:
            rows.append((r["gateway"], "error", "", "", "", "", "", ""))
            continue
        u, t = r["udp"], r["tcp"]
        rows.append((r["gateway"], fmt(u["delivered_pps"]), fmt(u["pps_per_gateway_core"]),
                     fmt(u["cpu"]["gateway_cores"]), f"{100 * u['loss']:.1f}%", fmt(t["cps"]),
                     fmt(t["cps_per_gateway_core"]), fmt(t["cpu"]["gateway_cores"])))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))
    for r in results:
        if "error" in r:
            print(f"{r['gateway']}: ERROR {r['error']}")
            continue
        print(f"{r['gateway']}: UDP offered {fmt(r['udp']['offered_pps'])} pps; bottleneck: {r['udp']['bottleneck']}")
        print(f"{r['gateway']}: TCP bottleneck: {r['tcp']['bottleneck']}")


def ratios(results):
    kernel = next((r for r in results if r["gateway"] == "kernel" and "error" not in r), None)
    out = {}
    if not kernel:
        return out
    for r in results:
        if r is kernel or "error" in r:
            continue
        out[r["gateway"]] = {
            "udp_pps_fast_over_kernel": round(r["udp"]["delivered_pps"] / max(kernel["udp"]["delivered_pps"], 1), 2),
            "tcp_cps_fast_over_kernel": round(r["tcp"]["cps"] / max(kernel["tcp"]["cps"], 1), 2),
            "udp_pps_per_core_fast_over_kernel": round(
                (r["udp"]["pps_per_gateway_core"] or 0) / max(kernel["udp"]["pps_per_gateway_core"] or 1, 1), 2),
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True)
    parser.add_argument("--drivers", default="af_packet,af_xdp",
                        help="fast-path port drivers to measure, comma-separated (af_packet, af_xdp)")
    parser.add_argument("--paths", default="kernel,dpdk", help="kernel, dpdk or both")
    parser.add_argument("--udp-seconds", type=float, default=5)
    parser.add_argument("--tcp-seconds", type=float, default=3)
    parser.add_argument("--flows", type=int, default=1024)
    # Each completed connection holds a fast-path SNAT port for the TIME_WAIT timeout (120 s)
    # and the pool has 64512 per address and protocol: stay below it on every path alike.
    parser.add_argument("--max-conns", type=int, default=50000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--json", default=os.path.join(REPO, "bench", "results", "peer.json"))
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run_peer.py: needs root (network namespaces, nftables, DPDK)")

    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    gateways = (["kernel"] if "kernel" in paths else []) + (
        [f"dpdk:{d.strip()}" for d in args.drivers.split(",") if d.strip()] if "dpdk" in paths else [])
    lab = PeerLab(args.build)
    results = []
    try:
        lab.up()
        for gw in gateways:
            results.append(measure_gateway(lab, gw, args))
    finally:
        lab.down()
    report = {
        "benchmark": "peer: kernel path vs fast path, same veth topology, same traffic",
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
        "placement": "generator, sink, TCP client and server and the gen/pods veth receive kthreads (threaded "
                     "NAPI) on CPU 0; the gateway's veth receive kthreads and the DPDK worker lcore on CPU 1; "
                     "all of them at nice -20 against unrelated load on the box",
        "packet": "64-byte Ethernet frames (60 + FCS), UDP to 10.96.0.10:53 -> 10.244.1.10/11:5353",
        "results": results, "ratios": ratios(results),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print_table(results)
    for name, r in report["ratios"].items():
        print(f"ratio {name} / kernel: UDP pps x{r['udp_pps_fast_over_kernel']}, TCP conn/s "
              f"x{r['tcp_cps_fast_over_kernel']}, UDP pps per gateway core x{r['udp_pps_per_core_fast_over_kernel']}")
    print(f"wrote {args.json}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
