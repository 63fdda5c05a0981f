#!/usr/bin/env python3
"""One owner per data path (issue 14, "two daemons"): a second nfgate in the same network
namespace is refused with a message naming the first, on the kernel path (also `--once`) and on
the fast path (same EAL file prefix), instead of starting and diverging or failing obscurely.

  two_daemons_test.py NFGATE   (root; exit 77, meson's "skipped", without it)
"""
import os
import shutil
import subprocess
import sys
import tempfile

from daemon_cli_test import Daemon, Failure, SKIP, expect, run

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


def second_is_refused(ns, nfgate, tmp, config, words):
    first = Daemon(ns, nfgate, config)
    try:
        expect(first.next_line(60) == "nfgate: ready", "the first daemon starts: %r" % first.lines)
        other = os.path.join(tmp, "other")
        os.makedirs(other, exist_ok=True)
        r = run(["ip", "netns", "exec", ns, nfgate, "--config", config, "--control-socket",
                 os.path.join(other, "nfgate.sock")])
        expect(r.returncode == 1 and all(w in r.stderr for w in words) and "pid %d" % first_pid(first) in r.stderr,
               "a second daemon is refused naming the first: exit %d, %r" % (r.returncode, r.stderr))
        return first
    except Exception:
        first.stop()
        raise


def first_pid(daemon):
    """The nfgate process under `ip netns exec` (exec keeps the pid)."""
    return daemon.proc.pid


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    nfgate = sys.argv[1]
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("skipped: needs root and ip")
        return SKIP
    ns = "nfgtwo-%d" % os.getpid()
    tmp = tempfile.mkdtemp(prefix="nfgate-two-")
    daemons = []
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        kernel = write(os.path.join(tmp, "kernel.yaml"), KERNEL)
        d = second_is_refused(ns, nfgate, tmp, kernel, ["another nfgate", "already manages table ip nfgate"])
        daemons.append(d)
        r = run(["ip", "netns", "exec", ns, nfgate, "--config", kernel, "--once"])
        expect(r.returncode == 1 and "already manages table ip nfgate" in r.stderr,
               "--once while a daemon owns the table is refused: %r" % r.stderr)
        expect(d.stop() == 0, "the first daemon stops cleanly")
        r = run(["ip", "netns", "exec", ns, nfgate, "--config", kernel, "--once"])
        expect(r.returncode == 0, "--once succeeds once the owner is gone: %r" % r.stderr)

        dpdk = write(os.path.join(tmp, "dpdk.yaml"), DPDK % ("nfgtwo%d" % os.getpid()))
        d = second_is_refused(ns, nfgate, tmp, dpdk, ["another DPDK primary process", "file prefix"])
        daemons.append(d)
        expect(d.stop() == 0, "the first fast-path daemon stops cleanly")
        print("ok")
        return 0
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    finally:
        for d in daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        run(["ip", "netns", "exec", ns, nfgate, "--cleanup"])
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
