#!/usr/bin/python3
"""nfgate end to end: the kernel path and the fast path on the same veth topology, same traffic.

  run_peer.py --build BUILD [--drivers af_packet,af_xdp] [--trials 3] [--udp-seconds 3]
              [--tcp-seconds 2] [--flows 1024] [--json bench/results/peer.json]

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


def measure_once(lab, name, args):
    """Starts one gateway, measures UDP then TCP once, stops it again."""
    try:
        if name == "kernel":
            lab.start_kernel()
        else:
            lab.start_dpdk(name.split(":", 1)[1])
        workers = [tid for tid, comm in lab.daemon_threads() if comm.startswith(("rte-worker", "lcore-worker"))]
        if name != "kernel" and not workers:
            raise LabError(f"{name}: nfgate runs no DPDK worker thread (rte-worker-*/lcore-worker-*)")
        udp = measure_udp(lab, name, args.udp_seconds, args.flows, workers, args.probes)
        # A fresh gateway each time: the fast path's SNAT pool starts empty again.
        tcp = measure_tcp(lab, name, args.tcp_seconds, args.max_conns, args.concurrency, workers)
        return udp, tcp
    finally:
        lab.stop_gateway()


def run_rounds(lab, gateways, args):
    """Round robin, one trial of every gateway per round: unrelated load on the box then falls on
    all gateways alike, and each round gives a paired fast/kernel ratio."""
    trials = {gw: [] for gw in gateways}
    errors = {}
    for _ in range(args.trials):
        for gw in gateways:
            if gw in errors:
                continue
            try:
                trials[gw].append(measure_once(lab, gw, args))
            except (LabError, OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
                errors[gw] = str(exc) if isinstance(exc, LabError) else traceback.format_exc()
    results = []
    for gw in gateways:
        if gw in errors:
            results.append({"gateway": gw, "error": errors[gw], "completed_trials": len(trials[gw])})
            continue
        results.append({"gateway": gw,
                        "udp": median_trial([u for u, _ in trials[gw]], "delivered_pps",
                                            ("offered_pps", "delivered_pps", "loss", "lossless_pps",
                                             "pps_per_gateway_core")),
                        "tcp": median_trial([t for _, t in trials[gw]], "cps", ("cps", "latency_p99_ms"))})
    return results


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else None


def median_trial(trials, key, summary_keys):
    """The trial with the median `key`, carrying a short line for every trial (in round order)."""
    chosen = dict(sorted(trials, key=lambda t: t[key])[len(trials) // 2])
    chosen["trials"] = [{**{k: t[k] for k in summary_keys}, "gateway_cores": t["cpu"]["gateway_cores"],
                         "ends_cores": t["cpu"]["ends_cores"]} for t in trials]
    if "lossless_pps" in summary_keys:
        chosen["lossless_pps_median"] = median([t["lossless_pps"] or 0 for t in trials])
    return chosen


def fmt(value, unit=""):
    if value is None:
        return "-"
    if isinstance(value, float) and value < 10:
        return f"{value:.2f}{unit}"
    return f"{value:,.0f}{unit}"


def print_table(results):
    rows = [("gateway", "UDP pps", "<=1% loss", "pps/gw core", "gw cores", "loss", "TCP conn/s", "cps/gw core",
             "gw cores")]
    for r in results:
        if "error" in r:
            rows.append((r["gateway"], "error", "", "", "", "", "", "", ""))
            continue
        u, t = r["udp"], r["tcp"]
        udp_per_core = median([trial["pps_per_gateway_core"] or 0 for trial in u["trials"]])
        rows.append((r["gateway"], fmt(u["delivered_pps"]), fmt(u["lossless_pps_median"]), fmt(udp_per_core),
                     fmt(u["cpu"]["gateway_cores"]), f"{100 * u['loss']:.1f}%", fmt(t["cps"]),
                     fmt(t["cps_per_gateway_core"]), fmt(t["cpu"]["gateway_cores"])))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))
    for r in results:
        if "error" in r:
            print(f"{r['gateway']}: ERROR {r['error']}")
            continue
        udp_trials = ", ".join(fmt(t["delivered_pps"]) for t in r["udp"]["trials"])
        tcp_trials = ", ".join(fmt(t["cps"]) for t in r["tcp"]["trials"])
        print(f"{r['gateway']}: UDP trials {udp_trials} pps; median offered {fmt(r['udp']['offered_pps'])} pps; "
              f"bottleneck: {r['udp']['bottleneck']}")
        print(f"{r['gateway']}: TCP trials {tcp_trials} conn/s; bottleneck: {r['tcp']['bottleneck']}")


def paired_ratio(fast, kernel):
    """Median over rounds of fast/kernel, each round's two trials taken under the same load."""
    per_round = [(f or 0) / k for f, k in zip(fast, kernel) if k]
    return round(median(per_round), 2) if per_round else None


def ratios(results):
    kernel = next((r for r in results if r["gateway"] == "kernel" and "error" not in r), None)
    out = {}
    if not kernel:
        return out

    def series(r, kind, key):
        return [t[key] for t in r[kind]["trials"]]


    for r in results:
        if r is kernel or "error" in r:
            continue
        out[r["gateway"]] = {
            "udp_pps_fast_over_kernel": paired_ratio(series(r, "udp", "delivered_pps"),
                                                     series(kernel, "udp", "delivered_pps")),
            "udp_lossless_pps_fast_over_kernel": paired_ratio(series(r, "udp", "lossless_pps"),
                                                              series(kernel, "udp", "lossless_pps")),
            "tcp_cps_fast_over_kernel": paired_ratio(series(r, "tcp", "cps"), series(kernel, "tcp", "cps")),
            "udp_pps_per_gateway_core_fast_over_kernel": paired_ratio(series(r, "udp", "pps_per_gateway_core"),
                                                                      series(kernel, "udp", "pps_per_gateway_core")),
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True)
    parser.add_argument("--drivers", default="af_packet,af_xdp",
                        help="fast-path port drivers to measure, comma-separated (af_packet, af_xdp)")
    parser.add_argument("--paths", default="kernel,dpdk", help="kernel, dpdk or both")
    parser.add_argument("--trials", type=int, default=3,
                        help="rounds; each measures every gateway once; the median trial is reported")
    parser.add_argument("--udp-seconds", type=float, default=3)
    parser.add_argument("--tcp-seconds", type=float, default=2)
    parser.add_argument("--flows", type=int, default=1024)
    parser.add_argument("--probes", type=int, default=3,
                        help="1-second paced runs bisecting for the <=1%%-loss rate when the open-loop run lost more")
    # Each completed connection holds a fast-path SNAT port for the TIME_WAIT timeout (120 s)
    # and the pool has 64512 per address and protocol: a trial stays below it, on every path alike.
    parser.add_argument("--max-conns", type=int, default=60000)
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
        results = run_rounds(lab, gateways, args)
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
        print(f"ratio {name} / kernel (median of per-round ratios): UDP pps x{r['udp_pps_fast_over_kernel']}, "
              f"UDP <=1%-loss pps x{r['udp_lossless_pps_fast_over_kernel']}, "
              f"TCP conn/s x{r['tcp_cps_fast_over_kernel']}, "
              f"UDP pps per gateway core x{r['udp_pps_per_gateway_core_fast_over_kernel']}")
    print(f"wrote {args.json}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
