#!/usr/bin/python3
"""Runs the scenario list (scenarios.py) against one data path in a fresh lab (lab.py).

  run_lab.py --build DIR --path kernel|dpdk|reference [--only NAME[,NAME...]] [--list]

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


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=None, help="meson build dir holding nfgate")
    parser.add_argument("--path", default="kernel", choices=["kernel", "dpdk", "reference"])
    parser.add_argument("--only", default="", help="comma-separated scenario names")
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

    passed = failed = 0
    skipped = []
    lab = Lab(args.path, args.build, verbose=args.verbose)
    try:
        start = time.monotonic()
        try:
            lab.up()
        except LabError as exc:
            print(f"FAIL lab-setup ({args.path}): {exc}", flush=True)
            print(f"0 passed, {len(chosen)} failed")
            return 1
        print(f"lab {lab.prefix} ({args.path} path) up in {time.monotonic() - start:.1f}s",
              flush=True)
        skipped = [s.name for s in chosen if not s.applies_to(lab)]
        for scenario in chosen:
            if not scenario.applies_to(lab):
                why = (f"{', '.join(scenario.paths)} path only" if scenario.paths and
                       args.path not in scenario.paths else "needs the nfgate daemon (SIGHUP)")
                print(f"SKIP {scenario.name}: {why}", flush=True)
            elif run_one(lab, scenario):
                passed += 1
            else:
                failed += 1
        stopped_on_purpose = any(s.name == "kernel-once-and-cleanup" for s in chosen
                                 if s.applies_to(lab))
        if lab.daemon and lab.daemon.proc.poll() is not None and not stopped_on_purpose:
            print(f"nfgate exited during the run (status {lab.daemon.proc.returncode}); its "
                  f"output:\n{lab.daemon.output()}", flush=True)
        elif failed and lab.daemon:
            tail = "\n".join(lab.daemon.output().splitlines()[-20:])
            print(f"nfgate output (last lines):\n{tail}", flush=True)
    finally:
        lab.down()
    if skipped:
        print(f"{len(skipped)} skipped on the {args.path} path: {', '.join(skipped)}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
