#!/usr/bin/python3
"""Runs the scenario list (scenarios.py) against one data path in a fresh lab (lab.py).

  run_lab.py --build DIR --path kernel|dpdk|reference|both [--only NAME[,NAME...]] [--list]

Prints one line per scenario (PASS/FAIL, name, details) and ends with "N passed, M failed";
the exit status is non-zero when anything failed, including the lab itself. Needs root.
"""
import argparse
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab import Lab, LabError  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402


def select(names):
    if not names:
        return SCENARIOS
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"run_lab.py: unknown scenario(s) {', '.join(unknown)}; valid: "
                         + ", ".join(known))
    return [known[n] for n in wanted]


def run_one(lab, scenario):
    start = time.monotonic()
    try:
        ok, details = scenario.run(lab)
    except LabError as exc:
        ok, details = False, [str(exc)]
    except Exception:
        ok, details = False, [traceback.format_exc().strip().replace("\n", "\n      ")]
    took = time.monotonic() - start
    print(f"{'PASS' if ok else 'FAIL'} {scenario.name} ({took:.1f}s): {scenario.shows}", flush=True)
    for detail in details:
        print(f"    {detail}", flush=True)
    return ok


def run_path(path, args, chosen):
    """Runs the chosen scenarios in a fresh lab on one path: {name: True/False, or None if
    skipped}; a lab that cannot be built fails every scenario."""
    verdicts = {}
    lab = Lab(path, args.build, verbose=args.verbose, workers=args.workers)
    try:
        start = time.monotonic()
        try:
            lab.up()
        except LabError as exc:
            print(f"FAIL lab-setup ({path}): {exc}", flush=True)
            return {s.name: False for s in chosen}
        print(f"lab {lab.prefix} ({path} path) up in {time.monotonic() - start:.1f}s", flush=True)
        for scenario in chosen:
            if not scenario.applies_to(lab):
                why = (f"{', '.join(scenario.paths)} path only" if scenario.paths and
                       path not in scenario.paths else "needs the nfgate daemon (SIGHUP)")
                print(f"SKIP {scenario.name}: {why}", flush=True)
                verdicts[scenario.name] = None
            else:
                verdicts[scenario.name] = run_one(lab, scenario)
        if lab.daemon and lab.daemon.proc.poll() is not None and not lab.daemon_stopped:
            print(f"nfgate exited during the run (status {lab.daemon.proc.returncode}); its "
                  f"output:\n{lab.daemon.output()}", flush=True)
        elif False in verdicts.values() and lab.daemon:
            tail = "\n".join(lab.daemon.output().splitlines()[-20:])
            print(f"nfgate output (last lines):\n{tail}", flush=True)
    finally:
        lab.down()
    skipped = [name for name, ok in verdicts.items() if ok is None]
    if skipped:
        print(f"{len(skipped)} skipped on the {path} path: {', '.join(skipped)}")
    return verdicts


def print_comparison(results):
    """One row per scenario, one column per path, and whether the paths agree."""
    paths = list(results)
    names = list(next(iter(results.values())))
    mark = {True: "PASS", False: "FAIL", None: "-"}
    width = max(len(n) for n in names)
    print(f"{'scenario':<{width}}  " + "  ".join(f"{p:<6}" for p in paths))
    for name in names:
        row = [results[p][name] for p in paths]
        ran = [v for v in row if v is not None]
        note = "" if len(set(ran)) <= 1 else "  <- the paths disagree"
        print(f"{name:<{width}}  " + "  ".join(f"{mark[v]:<6}" for v in row) + note)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=None, help="meson build dir holding nfgate")
    parser.add_argument("--path", default="kernel",
                        choices=["kernel", "dpdk", "reference", "both"],
                        help="both: kernel then dpdk, with a side-by-side table")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--workers", type=int, default=None,
                        help="dpdk: worker lcores (default: the gateway file's)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()

    chosen = select(args.only)
    if args.list:
        for s in chosen:
            print(f"{s.name}: {s.shows}")
        return 0
    if os.geteuid() != 0:
        # 77 is what meson test reports as SKIP: the lab cannot run, it did not fail.
        print("run_lab.py: needs root (network namespaces, nftables); skipped", file=sys.stderr)
        return 77
    if args.path != "reference" and not args.build:
        parser.error("--build DIR is required for the kernel and dpdk paths")

    paths = ["kernel", "dpdk"] if args.path == "both" else [args.path]
    results = {}
    for path in paths:
        if len(paths) > 1:
            print(f"== {path} path", flush=True)
        results[path] = run_path(path, args, chosen)
    if len(paths) > 1:
        print_comparison(results)
    verdicts = [ok for per_path in results.values() for ok in per_path.values()]
    passed, failed = verdicts.count(True), verdicts.count(False)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
