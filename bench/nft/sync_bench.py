#!/usr/bin/env python3
"""Kernel path sync benchmark: for each size (Services x 10 endpoints) in a fresh network namespace
each time (unshare -n: never the host's ruleset, gone when the command exits):
  - library full sync and one-endpoint incremental sync (build/bench/nft/nft_sync_bench), each
    beside its floor: the kernel's share (its batches from the send to the last acknowledgement)
  - `nfgate --config ... --once` end to end, when the daemon is built
  - `nft -f` of the same ruleset's text rendering (the peer)
Prints a table, writes bench/results/nft_sync.json. Timings never fail the run.
  sync_bench.py BUILD_DIR SOURCE_DIR [--sizes 1000,10000,50000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def timed(cmd, runs):
    """Median wall time in ms of `cmd`, each run in its own fresh network namespace."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        r = subprocess.run(["unshare", "-n"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append((time.monotonic() - t0) * 1000)
        if r.returncode != 0:
            return None, r.stderr.strip()[-300:]
    times.sort()
    return times[len(times) // 2], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("source")
    ap.add_argument("--sizes", default=os.environ.get("NFGATE_NFT_BENCH_SIZES", "1000,10000,50000"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dual-stack", action="store_true", help="every Service with an IPv6 ClusterIP and slice too")
    a = ap.parse_args()
    bench = os.path.join(a.build, "bench", "nft", "nft_sync_bench")
    daemon = next((p for p in (os.path.join(a.build, "nfgate"), os.path.join(a.build, "control", "daemon", "nfgate"))
                   if os.access(p, os.X_OK)), os.path.join(a.build, "nfgate"))
    gen = os.path.join(a.source, "bench", "gen_cluster.py")
    results = []
    with tempfile.TemporaryDirectory(prefix="nfgate-nftbench-") as work:
        for n in [int(s) for s in a.sizes.split(",") if s]:
            d = os.path.join(work, "c%d" % n)
            subprocess.run([sys.executable, gen, "--services", str(n), "--endpoints", "10", "--out", d,
                            "--dataplane", "kernel"] + (["--dual-stack"] if a.dual_stack else []), check=True, stdout=subprocess.DEVNULL)
            gw = os.path.join(d, "gateway.yaml")
            text = os.path.join(d, "ruleset.nft")
            r = subprocess.run([bench, "--config", gw, "--text-out", text, "--repeat", str(a.runs)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print("nft_sync_bench failed for %d services: %s" % (n, r.stderr.strip()), file=sys.stderr)
                continue
            row = json.loads(r.stdout)
            row["nft_f_ms"], row["nft_f_error"] = timed(["nft", "-f", text], a.runs)
            if os.access(daemon, os.X_OK):
                row["nfgate_once_ms"], row["nfgate_once_error"] = timed([daemon, "--config", gw, "--once"], a.runs)
            else:
                row["nfgate_once_ms"], row["nfgate_once_error"] = None, "daemon not built"
            if row["nft_f_ms"] and row["full_apply_ms"]:
                row["speedup_vs_nft_f"] = round(row["nft_f_ms"] / row["full_apply_ms"], 1)
            if row.get("full_apply_kernel_ms"):
                row["full_apply_over_floor"] = round(row["full_apply_ms"] / row["full_apply_kernel_ms"], 2)
            results.append(row)

    fmt = "%9s %8s %10s %12s %10s %7s %14s %14s %12s %8s"
    print(fmt % ("services", "rules", "render ms", "full sync ms", "kernel ms", "/floor", "1 ep change ms",
                 "nfgate --once", "nft -f ms", "speedup"))
    for r in results:
        def f(v, p=1):
            return "-" if v is None else ("%.*f" % (p, v))
        print(fmt % (r["services"], r["rules"], f(r["render_ms"]), f(r["full_apply_ms"]), f(r.get("full_apply_kernel_ms")),
                     f(r.get("full_apply_over_floor"), 2), f(r["one_endpoint_change_ms"], 2), f(r.get("nfgate_once_ms")),
                     f(r.get("nft_f_ms")), f(r.get("speedup_vs_nft_f"))))
    out_dir = os.path.join(a.source, "bench", "results")
    os.makedirs(out_dir, exist_ok=True)
    meta = {"benchmark": "nft_sync", "endpoints_per_service": 10, "kernel": os.uname().release,
            "nproc": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 1), "results": results}
    with open(os.path.join(out_dir, "nft_sync.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    print("wrote", os.path.join(out_dir, "nft_sync.json"))


if __name__ == "__main__":
    main()
