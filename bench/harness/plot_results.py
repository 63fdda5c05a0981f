#!/usr/bin/env python3
"""Draws bench/results/*.png with gnuplot from whatever result files exist:

  throughput_mpps_vs_flows.png   established-flow Mpps (median, min-max bars) vs flows, per family and worker count
  throughput_cycles_per_packet.png  cycles per packet of every throughput series
  nft_sync_vs_services.png       kernel-path sync time vs number of Services
  micro_benchmarks.png           time per iteration of the Google Benchmark micro benchmarks

  plot_results.py RESULTS_DIR
A missing input only skips its plot.
"""
import json
import os
import subprocess
import sys
import tempfile


def load(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def gnuplot(script, data_files):
    with tempfile.TemporaryDirectory(prefix="nfgate-plot-") as tmp:
        paths = {}
        for name, rows in data_files.items():
            paths[name] = os.path.join(tmp, name + ".dat")
            with open(paths[name], "w") as fh:
                for row in rows:
                    fh.write(" ".join(str(x) for x in row) + "\n")
        subprocess.run(["gnuplot"], input=script.format(**paths), text=True, check=True)


def throughput_plots(results, out):
    data = load(os.path.join(results, "throughput.json"))
    if not data:
        return []
    made = []
    est = {}
    families = {"established": ("v4", "IPv4"), "established-v6": ("v6", "IPv6")}
    for s in data["series"]:
        if s["profile"] in families and s["mpps"]:
            m = s["mpps"]
            key = (families[s["profile"]][0], s["workers"])
            est.setdefault(key, []).append((s["flows"], m["median"], m["min"], m["max"]))
    if est:
        files = {"%s_w%d" % k: sorted(rows) for k, rows in est.items()}
        names = dict(families.values())
        plots = ", ".join('"{%s_w%d}" using 1:2:3:4 with yerrorlines title "%s, %d worker%s"'
                          % (f, w, names[f], w, "s" if w > 1 else "") for f, w in sorted(est))
        png = os.path.join(out, "throughput_mpps_vs_flows.png")
        gnuplot('set terminal png size 900,560\nset output "%s"\nset logscale x 2\nset format x "%%.0s%%c"\n'
                'set xlabel "established flows"\nset ylabel "Mpps (worker cycles only)"\n'
                'set title "nfgate fast path: established-flow NAT, 64-byte (IPv4) and 82-byte (IPv6) frames"\nset grid\n'
                'set yrange [0:*]\nplot %s\n' % (png, plots), files)
        made.append(png)
    rows = []
    for i, s in enumerate(data["series"]):
        c = s.get("cycles_per_packet")
        if c:
            label = "%s/%dw%s" % (s["profile"], s["workers"], "/%dk" % (s["flows"] // 1024) if s["flows"] else "")
            rows.append((i, c["median"], c["min"], c["max"], '"%s"' % label))
    if rows:
        png = os.path.join(out, "throughput_cycles_per_packet.png")
        gnuplot('set terminal png size 1100,560\nset output "%s"\nset style fill solid 0.5\n'
                'set boxwidth 0.6\nset xtics rotate by -40\nset ylabel "cycles per packet"\n'
                'set title "nfgate fast path: worker cycles per packet (median, min-max)"\nset grid ytics\n'
                'set yrange [0:*]\nplot "{c}" using 1:2:xtic(5) with boxes notitle, '
                '"{c}" using 1:2:3:4 with yerrorbars notitle lc rgb "black"\n' % png, {"c": rows})
        made.append(png)
    return made


def nft_plot(results, out):
    data = load(os.path.join(results, "nft_sync.json"))
    if not data or not data.get("results"):
        return []
    cols = [("full_apply_ms", "full sync (library)"), ("one_endpoint_change_ms", "one endpoint change"),
            ("nfgate_once_ms", "nfgate --once"), ("nft_f_ms", "nft -f (peer)")]
    files, plots = {}, []
    for key, title in cols:
        rows = [(r["services"], r[key]) for r in data["results"] if r.get(key)]
        if rows:
            files[key] = sorted(rows)
            plots.append('"{%s}" using 1:2 with linespoints title "%s"' % (key, title))
    if not plots:
        return []
    png = os.path.join(out, "nft_sync_vs_services.png")
    gnuplot('set terminal png size 900,560\nset output "%s"\nset logscale xy\nset xlabel "Services (x10 endpoints)"\n'
            'set ylabel "ms"\nset title "kernel path: sync time vs Services"\nset grid\nset key left top\nplot %s\n'
            % (png, ", ".join(plots)), files)
    return [png]


def micro_plot(results, out):
    rows = []
    for name in ("bench_conntrack", "bench_engine"):
        data = load(os.path.join(results, name + ".json"))
        for b in (data or {}).get("benchmarks", []):
            if b.get("run_type", "iteration") != "iteration":
                continue
            unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}.get(b.get("time_unit", "ns"), 1)
            rows.append((len(rows), b["real_time"] * unit, '"%s"' % b["name"].replace('"', "")[:48]))
    if not rows:
        return []
    png = os.path.join(out, "micro_benchmarks.png")
    gnuplot('set terminal png size 1400,700\nset output "%s"\nset style fill solid 0.5\nset boxwidth 0.6\n'
            'set logscale y\nset xtics rotate by -60 font ",7"\nset ylabel "ns per iteration"\n'
            'set title "micro benchmarks (bench_conntrack, bench_engine)"\nset grid ytics\n'
            'plot "{m}" using 1:2:xtic(3) with boxes notitle\n' % png, {"m": rows})
    return [png]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = sys.argv[1]
    made = []
    for fn in (throughput_plots, nft_plot, micro_plot):
        try:
            made += fn(results, results)
        except (subprocess.CalledProcessError, KeyError, TypeError) as exc:
            print("plot_results.py: %s skipped: %s" % (fn.__name__, exc), file=sys.stderr)
    for m in made:
        print("wrote", m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
