#!/usr/bin/python3
"""The two-pod "service-test" demo: 100 requests through one Service VIP, who answered, and
what the gateway installed. Builds a lab (lab.py) with configs/demo and removes it afterwards.

  demo.py --build DIR [--path kernel|dpdk|both]     (default both: the same Service on each path)
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab import REPO, Lab, LabError  # noqa: E402
from probes import describe  # noqa: E402

VIP, PORT, REQUESTS = "10.96.0.10", 80, 100


def ruleset_summary(lab):
    if lab.path == "dpdk":
        return ["(fast path: the Services live in the DPDK ServiceTable, not in nftables)"]
    text = lab.ruleset()
    if "table ip nfgate" not in text:
        return ["no `table ip nfgate` found in the gateway namespace"]
    chains = len(re.findall(r"^\s*chain ", text, re.M))
    sets = len(re.findall(r"^\s*(set|map) ", text, re.M))
    rules, in_chain = 0, False
    for line in text.splitlines():
        if re.match(r"^\tchain ", line):
            in_chain = True
        elif line == "\t}":
            in_chain = False
        elif in_chain and line.startswith("\t\t") and not re.match(r"\s*(type|policy) ", line):
            rules += 1
    head = text.splitlines()[:12]
    return [f"table ip nfgate: {chains} chains, {sets} sets/maps, {rules} rules; first lines:"
            ] + ["    " + line.replace("\t", "  ") for line in head]


def run_demo(path, build):
    """One demo lab on one data path; True when both pods answered and nothing was lost."""
    lab = Lab(path, build, config_dir=os.path.join(REPO, "configs", "demo"))
    ok = False
    try:
        print(f"== nfgate demo, {path} path: building the lab {lab.prefix}-* "
              "(client, two pods, gateway running nfgate)", flush=True)
        lab.up()
        print(f"Service default/service-test {VIP}:{PORT} -> pod-a 10.244.1.10:8080, "
              "pod-b 10.244.1.11:8080", flush=True)
        results = lab.agent("client").tcp(VIP, PORT, count=REQUESTS, give_up_after=5)
        backends, sources, text = describe(results)
        print(f"{REQUESTS} HTTP requests from the client 192.0.2.10, each on a new connection:")
        for name in ("pod-a", "pod-b"):
            print(f"  {name}: {backends.get(name, 0):3d} answers")
        others = REQUESTS - backends.get("pod-a", 0) - backends.get("pod-b", 0)
        if others:
            print(f"  not answered by a pod: {others} ({text})")
        print(f"the pods saw the client as: {', '.join(sorted(sources)) or '-'}"
              " (10.244.0.1 = the gateway: externalTrafficPolicy Cluster masquerades)")
        for line in ruleset_summary(lab):
            print(line)
        ok = others == 0 and all(backends.get(n, 0) > 0 for n in ("pod-a", "pod-b"))
    except LabError as exc:
        print(f"demo failed on the {path} path: {exc}", file=sys.stderr)
    finally:
        lab.down()
        print("lab removed", flush=True)
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True)
    parser.add_argument("--path", default="both", choices=["kernel", "dpdk", "both"],
                        help="data path to demonstrate (default: both, one after the other)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("demo: needs root (network namespaces, nftables): run it with sudo", file=sys.stderr)
        return 2
    paths = ["kernel", "dpdk"] if args.path == "both" else [args.path]
    verdicts = {path: run_demo(path, args.build) for path in paths}
    print("demo: " + ", ".join(f"{path} path {'OK' if ok else 'FAILED'}"
                               for path, ok in verdicts.items()))
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
