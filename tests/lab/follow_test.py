#!/usr/bin/env python3
"""nfgate following the API server in the netns lab, judged by real traffic.

  follow_test.py --build DIR [--path kernel|dpdk|both] [-v]

The lab of lab.py (clients, pods, the gateway on the kernel path or the fast path over TAP PMD),
with the gateway file's `kubernetes.kubeconfig` pointing at the API-server stand-in
(tests/control/kube_api_stub.py) on 127.0.0.1 of the gateway namespace, where nfgate's control
plane runs on both paths (TLS with a CA made by openssl, a bearer token; the default
minSyncPeriod of 1 s). The files' Services are served as usual; the ones below come through the
API only, on ClusterIPs in 10.96.5.0/24. A client's TCP connections through the gateway are
what is judged:

  add-change-delete   a Service put through the API is answered by its pod within 2 s; its
                      slice moved to another pod, and its port changed, each within 2 s; its
                      slice deleted: reset (no endpoint) within 2 s; the Service deleted: its
                      ClusterIP dropped (unallocated) within 2 s
  terminating         the only endpoint ready:false serving:true terminating:true still takes
                      new connections (and not once it stops serving); with two, a connection
                      held to the one turning terminating keeps working while new connections
                      go to the ready one
  api-outage          the stand-in killed for 10 s: new connections and a held one keep
                      working, nfgate_kubernetes_up goes 0; started again on the same state, a
                      change made through it is served
  burst               1 000 endpoint changes within 1 s make at most a few applies
                      (nfgate_kubernetes_applies_total), and traffic sees the last state

Timings (change made through the API -> what clients see) are printed per path. Needs root, ip,
nft and openssl (exit 77 without them). Cleans up like the lab (also on failure and signals).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "control"))

from lab import Lab, LabError  # noqa: E402
from probes import parse_answer  # noqa: E402
import kube_follow_test as kube  # noqa: E402
from daemon_cli_test import Failure  # noqa: E402

PROBE_TIMEOUT = 0.25  # a SYN to a VIP that is dropped: this long counts as "timeout"
WITHIN = 2.0          # the bound: a change through the API seen by clients
POLL_LIMIT = 8.0      # polled this long, so a late change is still measured and printed
MIN_SYNC = 1.0        # the default kubernetes.minSyncPeriod
OUTAGE = 10.0
POD_IP = {"pod-a": "10.244.1.10", "pod-b": "10.244.1.11", "pod-c": "10.244.1.12"}


def ready(ip):
    return {"addresses": [ip], "conditions": {"ready": True}}


def terminating(ip, serving=True):
    return {"addresses": [ip], "conditions": {"ready": False, "serving": serving, "terminating": True}}


def slice_of(name, svc, endpoints):
    """An EndpointSlice of Service shop/<svc> (port http 8080) with these endpoints."""
    s = kube.endpoint_slice(name, svc, "0.0.0.0")
    s["endpoints"] = endpoints
    return s


class FollowLab(Lab):
    """The lab whose gateway also follows the API-server stand-in, started in the gateway
    namespace before nfgate so the first list is there at start."""

    def __init__(self, path, build_dir, verbose=False):
        super().__init__(path, build_dir, verbose=verbose)
        self.stub = None
        self.api_dir = None

    def _start_gateway(self):
        self.api_dir = os.path.join(self.workdir, "api")
        os.makedirs(self.api_dir)
        kube.make_pki(self.api_dir)
        with open(os.path.join(self.api_dir, "token"), "w") as f:
            f.write(kube.TOKEN + "\n")
        kubeconfig = os.path.join(self.api_dir, "kubeconfig")
        with open(kubeconfig, "w") as f:  # JSON is YAML: the kubeconfig as kubectl would read it
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "lab",
                       "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "gw"}}],
                       "clusters": [{"name": "lab", "cluster": {"server": "https://127.0.0.1:%d" % kube.PORT,
                                                                "certificate-authority": "ca.crt"}}],
                       "users": [{"name": "gw", "user": {"tokenFile": "token"}}]}, f)
        with open(self.config_path, "a") as f:
            f.write('\ncontrol: {metricsAddress: "%s"}\nkubernetes:\n  kubeconfig: %s\n'
                    % (kube.METRICS, kubeconfig))
        self.start_stub()
        super()._start_gateway()

    def start_stub(self):
        """The stand-in on its state file: a new one after a kill is the same cluster."""
        self.stub = kube.Stub(self.ns("gw"), self.api_dir, page=50)
        self.stub.start()

    def kill_stub(self):
        self.stub.proc.kill()
        self.stub.stop()

    def put(self, resource, obj):
        self.stub.command(op="put", resource=resource, object=obj)

    def delete(self, resource, name):
        self.stub.command(op="delete", resource=resource, namespace="shop", name=name)

    def metric(self, name):
        return kube.metric(self.ns("gw"), name) or 0

    def down(self):
        if self.stub and not self.torn_down:
            try:
                self.stub.stop()
            except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired):
                pass  # a signal came mid-command: the sweep of the gateway namespace ends it
        super().down()


# ---- what a client sees ---------------------------------------------------------------------

def probe(lab, vip, port, timeout=PROBE_TIMEOUT, client="client"):
    """One new TCP connection: the pod that answered, or how it ended (reset, timeout, ...)."""
    r = lab.agent(client).tcp(vip, port, timeout=timeout)[0]
    return parse_answer(r["text"])[0] if r["kind"] == "answer" else r["kind"]


def wait_seen(lab, t0, what, vip, port, want, trail=None):
    """Polls new connections until one ends in `want`; returns the ms since t0 (the change made
    through the API). Fails if that is later than WITHIN. `trail` gets (ms, outcome) for each
    change of outcome on the way."""
    seen = []
    while True:
        outcome = probe(lab, vip, port)
        took = time.monotonic() - t0
        if outcome == want == "timeout" and probe(lab, vip, port, timeout=1.0) != "timeout":
            outcome = "slow answer"  # a busy box, not yet a drop
        if trail is not None and (not trail or trail[-1][1] != outcome):
            trail.append((took * 1000, outcome))
        if outcome == want:
            if took > WITHIN:
                raise Failure("%s: %s only after %.0f ms (want within %.0f ms); before: %s"
                              % (what, want, took * 1000, WITHIN * 1000, summary(seen)))
            return took * 1000
        seen.append(outcome)
        if took > POLL_LIMIT:
            raise Failure("%s: no %s within %.0f s; seen: %s" % (what, want, POLL_LIMIT, summary(seen)))
        time.sleep(0.05)


def summary(outcomes):
    counts = {}
    for o in outcomes:
        counts[o] = counts.get(o, 0) + 1
    return ", ".join("%s %d" % kv for kv in sorted(counts.items())) or "nothing"


def all_end_in(lab, what, vip, port, want, count=10, timeout=2.0):
    """`count` new connections, each must end in `want` (a pod's name, reset or timeout)."""
    outcomes = [probe(lab, vip, port, timeout=timeout) for _ in range(count)]
    if any(o != want for o in outcomes):
        raise Failure("%s: %d connections, want every one %s; got %s" % (what, count, want, summary(outcomes)))
    return "%d/%d %s" % (count, count, want)


def wait_applied(lab, before, what, t0, limit=5.0):
    """Waits for nfgate_kubernetes_applies_total to pass `before`; ms since t0."""
    while lab.metric("nfgate_kubernetes_applies_total") <= before:
        if time.monotonic() - t0 > limit:
            raise Failure("%s: no apply within %.0f s" % (what, limit))
        time.sleep(0.05)
    return (time.monotonic() - t0) * 1000


def hold(lab, id, vip, port, backend, tries=40):
    """A kept-alive connection answered by `backend` (new ones until one lands there)."""
    agent = lab.agent("client")
    for _ in range(tries):
        r = agent.call("tcp_open", id=id, ip=vip, port=port, timeout=2.0)
        if r["kind"] == "answer" and parse_answer(r["text"])[0] == backend:
            return r["sport"]
    raise Failure("could not hold a connection to %s:%d on %s in %d tries" % (vip, port, backend, tries))


def again(lab, id):
    r = lab.agent("client").call("again", id=id, timeout=2.0)
    return parse_answer(r["text"])[0] if r["kind"] == "answer" else r["kind"]


# ---- scenarios ----------------------------------------------------------------------------

def add_change_delete(lab, out, timings):
    # The Service comes after a quiet spell (applied at once); each change after it comes
    # within minSyncPeriod of the apply before, so it waits that out: ~1 s, the worst case.
    vip = "10.96.5.1"
    time.sleep(MIN_SYNC)  # after the lab's start: a quiet spell
    t0 = time.monotonic()
    lab.put("services", kube.service("follow", vip))
    lab.put("endpointslices", slice_of("follow-1", "follow", [ready(POD_IP["pod-a"])]))
    trail = []
    took = wait_seen(lab, t0, "added Service", vip, 80, "pod-a", trail)
    timings["added"] = took
    # The Service and its slice are two events: when the first is applied alone (at once), the
    # VIP rejects until the slice's apply, a minSyncPeriod later.
    out.append("added: pod-a answers %s:80 after %.0f ms (on the way: %s); then %s"
               % (vip, took, ", ".join("%s from %.0f ms" % (o, ms) for ms, o in trail),
                  all_end_in(lab, "added", vip, 80, "pod-a")))

    t0 = time.monotonic()
    lab.put("endpointslices", slice_of("follow-1", "follow", [ready(POD_IP["pod-b"])]))
    took = wait_seen(lab, t0, "slice moved to pod-b", vip, 80, "pod-b")
    timings["moved"] = took
    out.append("slice moved to pod-b: answers after %.0f ms; then %s" % (took, all_end_in(lab, "moved", vip, 80, "pod-b")))

    t0 = time.monotonic()
    lab.put("services", kube.service("follow", vip, port=81))
    took = wait_seen(lab, t0, "port changed to 81", vip, 81, "pod-b")
    timings["port"] = took
    old = [probe(lab, vip, 80, timeout=1.0) for _ in range(3)]
    if "pod-b" in old or "pod-a" in old:
        raise Failure("the old port 80 is still answered after the change: %s" % summary(old))
    out.append("port 80 -> 81: 81 answers after %.0f ms; 80 then: %s" % (took, summary(old)))

    t0 = time.monotonic()
    lab.delete("endpointslices", "follow-1")
    took = wait_seen(lab, t0, "slice deleted (no endpoint: reset)", vip, 81, "reset")
    timings["no-endpoint"] = took
    out.append("slice deleted: reset after %.0f ms; then %s" % (took, all_end_in(lab, "no endpoint", vip, 81, "reset")))

    t0 = time.monotonic()
    lab.delete("services", "follow")
    took = wait_seen(lab, t0, "Service deleted (unallocated ClusterIP: dropped)", vip, 81, "timeout")
    timings["deleted"] = took
    out.append("Service deleted: dropped after %.0f ms (probe timeout %.0f ms); then %s"
               % (took, PROBE_TIMEOUT * 1000, all_end_in(lab, "deleted", vip, 81, "timeout", count=2, timeout=1.0)))


def terminating_fallback(lab, out, timings):
    vip = "10.96.5.2"
    lab.put("services", kube.service("term", vip))
    lab.put("endpointslices", slice_of("term-1", "term", [ready(POD_IP["pod-a"])]))
    wait_seen(lab, time.monotonic(), "Service term", vip, 80, "pod-a")

    # The only endpoint terminating but serving: kube-proxy's fallback keeps it for new connections.
    time.sleep(MIN_SYNC)  # a quiet spell: the change below is applied at once
    before, t0 = lab.metric("nfgate_kubernetes_applies_total"), time.monotonic()
    lab.put("endpointslices", slice_of("term-1", "term", [terminating(POD_IP["pod-a"])]))
    took = wait_applied(lab, before, "pod-a terminating", t0)
    out.append("only endpoint terminating (serving): applied after %.0f ms, new connections %s"
               % (took, all_end_in(lab, "terminating fallback", vip, 80, "pod-a")))
    # Not serving any more: nothing to fall back to, so the same check fails (reset).
    t0 = time.monotonic()
    lab.put("endpointslices", slice_of("term-1", "term", [terminating(POD_IP["pod-a"], serving=False)]))
    took = wait_seen(lab, t0, "the terminating endpoint stops serving", vip, 80, "reset")
    out.append("and not serving: reset after %.0f ms" % took)

    # Two ready; a connection held to pod-b, then pod-b terminating.
    t0 = time.monotonic()
    lab.put("endpointslices", slice_of("term-1", "term", [ready(POD_IP["pod-a"]), ready(POD_IP["pod-b"])]))
    wait_seen(lab, t0, "two endpoints", vip, 80, "pod-b")
    sport = hold(lab, "term", vip, 80, "pod-b")
    time.sleep(MIN_SYNC)
    before, t0 = lab.metric("nfgate_kubernetes_applies_total"), time.monotonic()
    lab.put("endpointslices", slice_of("term-1", "term", [ready(POD_IP["pod-a"]), terminating(POD_IP["pod-b"])]))
    took = wait_applied(lab, before, "pod-b terminating", t0)
    timings["terminating"] = took
    fresh = all_end_in(lab, "new connections with pod-b terminating", vip, 80, "pod-a", count=20)
    held = [again(lab, "term") for _ in range(3)]
    lab.agent("client").call("close", id="term")
    if held != ["pod-b"] * 3:
        raise Failure("the connection held to pod-b (client port %d) after pod-b turned terminating: %s, want pod-b"
                      % (sport, held))
    out.append("pod-b terminating, pod-a ready: applied after %.0f ms; new connections %s; the connection held "
               "to pod-b (port %d) answered by pod-b 3/3" % (took, fresh, sport))
    lab.delete("endpointslices", "term-1")
    lab.delete("services", "term")


def api_outage(lab, out, timings):
    vip = "10.96.5.3"
    lab.put("services", kube.service("outage", vip))
    lab.put("endpointslices", slice_of("outage-1", "outage", [ready(POD_IP["pod-a"]), ready(POD_IP["pod-b"])]))
    wait_seen(lab, time.monotonic(), "Service outage", vip, 80, "pod-a")
    held_on = parse_answer(lab.agent("client").call("tcp_open", id="outage", ip=vip, port=80, timeout=2.0)["text"])[0]
    up_before = lab.metric("nfgate_kubernetes_up")
    if up_before != 2:
        raise Failure("nfgate_kubernetes_up before the outage: %s, want 2 (both resources)" % up_before)

    lab.kill_stub()
    t0 = time.monotonic()
    new, held, down_after = [], [], None
    while time.monotonic() - t0 < OUTAGE:
        new.append(probe(lab, vip, 80, timeout=2.0))
        if len(new) % 5 == 0:
            held.append(again(lab, "outage"))
        if down_after is None and lab.metric("nfgate_kubernetes_up") == 0:
            down_after = (time.monotonic() - t0) * 1000
        time.sleep(0.1)
    held.append(again(lab, "outage"))
    lab.agent("client").call("close", id="outage")
    served = sum(o in ("pod-a", "pod-b") for o in new)
    out.append("stand-in killed for %.0f s: %d/%d new connections answered (%s); the held connection (%s) "
               "answered %d/%d; nfgate_kubernetes_up 0 after %s ms"
               % (OUTAGE, served, len(new), summary(new), held_on, held.count(held_on), len(held),
                  "%.0f" % down_after if down_after is not None else "never"))
    if served != len(new) or held.count(held_on) != len(held) or down_after is None:
        raise Failure("during the outage: want every new connection and the held one answered and "
                      "nfgate_kubernetes_up 0")

    lab.start_stub()
    t0 = time.monotonic()
    lab.put("endpointslices", slice_of("outage-1", "outage", [ready(POD_IP["pod-c"])]))
    # nfgate retries with a backoff (0.5 s doubling, jittered): after 10 s down the next try may
    # be ~16 s after the restart.
    deadline = t0 + 30
    while probe(lab, vip, 80) != "pod-c":
        if time.monotonic() > deadline:
            raise Failure("after the stand-in came back, a change made through it was not served in 30 s")
        time.sleep(0.1)
    took = (time.monotonic() - t0) * 1000
    timings["after-outage"] = took
    # Each resource has its own backoff: Services may come back up to a retry later.
    up = kube.wait_for("nfgate_kubernetes_up is 2 again (both resources)",
                       lambda: lab.metric("nfgate_kubernetes_up") == 2, max(deadline - time.monotonic(), 1))
    out.append("stand-in started again (same state): a change through it served after %.0f ms (reconnect "
               "backoff included); then %s; nfgate_kubernetes_up 2 after %.0f ms"
               % (took, all_end_in(lab, "after", vip, 80, "pod-c"), (up - t0) * 1000))
    lab.delete("endpointslices", "outage-1")
    lab.delete("services", "outage")


def burst(lab, out, timings):
    vip = "10.96.5.4"
    lab.put("services", kube.service("burst", vip))
    lab.put("endpointslices", slice_of("burst-1", "burst", [ready(POD_IP["pod-a"])]))
    wait_seen(lab, time.monotonic(), "Service burst", vip, 80, "pod-a")
    time.sleep(MIN_SYNC + 0.2)  # applies of the set-up done
    before = lab.metric("nfgate_kubernetes_applies_total")
    # 999 versions on addresses no pod has, then the last on pod-c: only it may be seen.
    versions = [slice_of("burst-1", "burst", [ready("10.244.%d.%d" % (2 + i // 250, 1 + i % 250))]) for i in range(999)]
    versions.append(slice_of("burst-1", "burst", [ready(POD_IP["pod-c"])]))
    t0 = time.monotonic()
    lab.stub.command(op="burst", resource="endpointslices", objects=versions, seconds=1.0)
    t1 = time.monotonic()
    took = wait_seen(lab, t1, "the burst's last version", vip, 80, "pod-c")
    seen = all_end_in(lab, "after the burst", vip, 80, "pod-c")
    time.sleep(MIN_SYNC + 0.5)  # a late apply would be counted too
    applies = int(lab.metric("nfgate_kubernetes_applies_total") - before)
    # One apply at the first change, then at most one per minSyncPeriod while changes come,
    # and one for the last: floor(seconds) + 2; one more for slack on a busy box.
    allowed = int((t1 - t0) / MIN_SYNC) + 3
    timings["burst-applies"] = applies
    timings["burst-last"] = took
    out.append("1000 endpoint changes in %.2f s: %d applies (at most %d allowed); the last version (pod-c) "
               "answered %.0f ms after the burst ended; then %s" % (t1 - t0, applies, allowed, took, seen))
    if not 1 <= applies <= allowed:
        raise Failure("%d applies for 1000 changes in %.2f s, want 1..%d" % (applies, t1 - t0, allowed))
    lab.delete("endpointslices", "burst-1")
    lab.delete("services", "burst")


SCENARIOS = [
    ("add-change-delete", add_change_delete),
    ("terminating", terminating_fallback),
    ("burst", burst),
    ("api-outage", api_outage),
]


def run_path(path, build, verbose):
    """The scenarios on one path in a fresh lab: ({name: ok}, {timing: value})."""
    verdicts, timings = {}, {}
    lab = FollowLab(path, build, verbose=verbose)
    try:
        start = time.monotonic()
        try:
            lab.up()
        except (LabError, Failure) as exc:
            print("FAIL lab-setup (%s): %s" % (path, exc), flush=True)
            if lab.daemon:
                print("nfgate output (last lines):\n" + "\n".join(lab.daemon.output().splitlines()[-20:]))
            return {name: False for name, _ in SCENARIOS}, timings
        print("lab %s (%s path, following the API) up in %.1fs" % (lab.prefix, path, time.monotonic() - start),
              flush=True)
        for name, check in SCENARIOS:
            out, t = [], time.monotonic()
            try:
                check(lab, out, timings)
                ok = True
            except (Failure, LabError) as exc:
                ok = False
                out.append("-- " + str(exc))
            except Exception:
                ok = False
                out.append(traceback.format_exc().strip().replace("\n", "\n      "))
            verdicts[name] = ok
            print("%s %s/%s (%.1fs)" % ("PASS" if ok else "FAIL", name, path, time.monotonic() - t), flush=True)
            for line in out:
                print("    " + line, flush=True)
        if False in verdicts.values() and lab.daemon:
            print("nfgate output (last lines):\n" + "\n".join(lab.daemon.output().splitlines()[-25:]), flush=True)
    finally:
        lab.down()
    return verdicts, timings


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="meson build dir holding nfgate")
    parser.add_argument("--path", default="both", choices=["kernel", "dpdk", "both"])
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "nft", "openssl")):
        print("skipped: needs root, ip, nft and openssl")
        return 77
    start = time.monotonic()
    results = {}
    for path in (["kernel", "dpdk"] if args.path == "both" else [args.path]):
        verdicts, timings = run_path(path, args.build, args.verbose)
        results[path] = verdicts
        print("timings (%s): %s" % (path, ", ".join(
            "%s %s" % (k, ("%.0f ms" % v) if isinstance(v, float) else v) for k, v in timings.items())), flush=True)
    verdicts = [ok for per_path in results.values() for ok in per_path.values()]
    print("%d passed, %d failed (%.0f s)" % (verdicts.count(True), verdicts.count(False), time.monotonic() - start))
    return 0 if verdicts and all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
