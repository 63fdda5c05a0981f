#!/usr/bin/env python3
"""One owner per data path (issue 14, "two daemons"): a second nfgate in the same network
namespace is refused with a message naming the first, on the kernel path (also `--once`) and on
the fast path (same EAL file prefix), instead of starting and diverging or failing obscurely.

  two_daemons_test.py NFGATE   (root; exit 77, meson's "skipped", without it)
"""
import os
import shutil
import sys

from daemon_cli_test import SKIP, Netns, expect, run, verdict

KERNEL = """dataplane: kernel
nodeAddresses: [192.0.2.1]
clusterCIDRs: [10.244.0.0/16]
serviceCIDRs: [10.96.0.0/16]
"""

DPDK = """dataplane: dpdk
eal: [--no-huge, -m, "256", --no-pci, --lcores, "0@0,1@0", --file-prefix, "%s", --vdev=net_null0, --log-level=*:error]
workers: 1
nodeAddresses: [192.0.2.1]
clusterCIDRs: [10.244.0.0/16]
serviceCIDRs: [10.96.0.0/16]
conntrack: {maxFlows: 4096}
interfaces:
  - {name: ext, device: net_null0, address: 192.0.2.1/24}
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def second_is_refused(lab, nfgate, config, words):
    first = lab.daemon(nfgate, config)
    expect(first.next_line(60) == "nfgate: ready", "the first daemon starts: %r" % first.lines)
    other = os.path.join(lab.tmp, "other")
    os.makedirs(other, exist_ok=True)
    r = run(["ip", "netns", "exec", lab.name, nfgate, "--config", config, "--control-socket",
             os.path.join(other, "nfgate.sock")])
    # `ip netns exec` execs nfgate: the daemon's pid is the Popen's.
    expect(r.returncode == 1 and all(w in r.stderr for w in words) and "pid %d" % first.proc.pid in r.stderr,
           "a second daemon is refused naming the first: exit %d, %r" % (r.returncode, r.stderr))
    return first


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    nfgate = sys.argv[1]
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("skipped: needs root and ip")
        return SKIP
    with Netns("nfgtwo") as lab:
        lab.cleanups.append(lambda: run(["ip", "netns", "exec", lab.name, nfgate, "--cleanup"]))

        def body():
            kernel = write(os.path.join(lab.tmp, "kernel.yaml"), KERNEL)
            d = second_is_refused(lab, nfgate, kernel, ["another nfgate", "already manages table ip nfgate"])
            r = run(["ip", "netns", "exec", lab.name, nfgate, "--config", kernel, "--once"])
            expect(r.returncode == 1 and "already manages table ip nfgate" in r.stderr,
                   "--once while a daemon owns the table is refused: %r" % r.stderr)
            expect(d.stop() == 0, "the first daemon stops cleanly")
            r = run(["ip", "netns", "exec", lab.name, nfgate, "--config", kernel, "--once"])
            expect(r.returncode == 0, "--once succeeds once the owner is gone: %r" % r.stderr)

            dpdk = write(os.path.join(lab.tmp, "dpdk.yaml"), DPDK % ("nfgtwo%d" % os.getpid()))
            d = second_is_refused(lab, nfgate, dpdk, ["another DPDK primary process", "file prefix"])
            expect(d.stop() == 0, "the first fast-path daemon stops cleanly")

        return verdict(body)


if __name__ == "__main__":
    sys.exit(main())
