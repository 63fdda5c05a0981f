"""Reload scenarios: a changed manifest or gateway file applied by SIGHUP (endpoints removed,
a Service added and removed, masquerade.all, a broken manifest rejected). Held in the list of
scenarios.py."""
import os
import re
import shutil

from lab import REPO
from probes import GIVE_UP_AFTER, GW_PODS, POD_C, RELOAD_VIP, Dropped, Reach, parse_answer

def cluster_file(lab, name):
    return os.path.join(lab.config_dir, "cluster", name)


def swap_reload_manifest(lab, variant):
    source = os.path.join(REPO, "configs", "lab", variant)
    shutil.copyfile(source, cluster_file(lab, "reload.yaml"))


def hold_flow(agent, op, id, backend, tries=40, vip=RELOAD_VIP):
    """Opens flows to `vip` until one lands on `backend`; returns that flow's first answer or None."""
    misses = 0
    for _ in range(tries):
        port = 80 if op == "tcp_open" else 53
        result = agent.call(op, id=id, ip=vip, port=port)
        if result["kind"] != "answer":
            misses += 1
            if misses >= GIVE_UP_AFTER:
                return None
        elif parse_answer(result["text"])[0] == backend:
            return result
    return None


def reload_remove_endpoint(lab):
    """Reload that removes pod-b: new flows avoid it, a TCP connection to pod-a survives, a
    UDP flow (same source port) pinned to pod-b moves to pod-a at once."""
    client, details = lab.agent("client"), []
    kept = hold_flow(client, "tcp_open", "keep", "pod-a")
    moved = hold_flow(client, "udp_open", "flow", "pod-b")
    if not kept or not moved:
        return False, ["could not pin a TCP connection to pod-a and a UDP flow to pod-b before "
                       "the reload (are both endpoints of 10.96.0.20 reachable?)"]
    before = client.call("again", id="flow")
    if before["kind"] != "answer" or parse_answer(before["text"])[0] != "pod-b":
        return False, [f"UDP flow from port {moved['sport']} did not stay on pod-b before the "
                       f"reload: {before}"]
    swap_reload_manifest(lab, "reload/reload-without-pod-b.yaml")
    try:
        line = lab.reload()
        ok = line == "nfgate: reloaded"
        details.append(f"SIGHUP (pod-b removed): {line!r}" + ("" if ok else
                       " -- expected 'nfgate: reloaded'"))
        udp = client.call("again", id="flow", timeout=1.0)
        udp_ok = (udp["kind"] == "answer" and parse_answer(udp["text"])[0] == "pod-a"
                  and udp["sport"] == moved["sport"])
        ok &= udp_ok
        details.append(f"UDP flow from port {moved['sport']} after reload: {udp['kind']} "
                       f"{udp['text']!r} in {udp['elapsed'] * 1000:.0f} ms" +
                       ("" if udp_ok else " -- expected pod-a at once"))
        tcp = client.call("again", id="keep")
        tcp_ok = tcp["kind"] == "answer" and parse_answer(tcp["text"])[0] == "pod-a"
        ok &= tcp_ok
        details.append(f"long-lived TCP connection to pod-a after reload: {tcp['kind']} "
                       f"{tcp['text']!r}" + ("" if tcp_ok else " -- expected it to survive"))
        for proto, port in (("tcp", 80), ("udp", 53)):
            step_ok, text = Reach("client", proto, RELOAD_VIP, port, count=30,
                                  backends=["pod-a"]).run(lab)
            ok &= step_ok
            details.append("new flows: " + text)
    finally:
        client.call("close", id="keep")
        client.call("close", id="flow")
        swap_reload_manifest(lab, "cluster/reload.yaml")
        restored = lab.reload()
    restore_ok = restored == "nfgate: reloaded"
    step_ok, text = Reach("client", "tcp", RELOAD_VIP, 80, count=20).run(lab)
    details.append(f"SIGHUP (pod-b back): {restored!r}; " + text)
    return ok and restore_ok and step_ok, details


COUNTERS = re.compile(r"counter packets \d+ bytes \d+|expires \S+")


def normalised_ruleset(lab):
    """The nfgate table without what traffic changes by itself (counters, expiry clocks)."""
    return COUNTERS.sub("", lab.ruleset())


def reload_rejected(lab):
    """A broken manifest on SIGHUP: 'reload rejected', and the old behaviour stays."""
    details = []
    before = normalised_ruleset(lab) if lab.path != "dpdk" else None
    broken = cluster_file(lab, "broken-service.yaml")
    shutil.copyfile(os.path.join(REPO, "configs", "lab", "reload", "broken-service.yaml"), broken)
    try:
        line = lab.reload()
        ok = bool(line) and line.startswith("nfgate: reload rejected:")
        details.append(f"SIGHUP with a port 70000 Service: {line!r}" + (
            "" if ok else " -- expected 'nfgate: reload rejected: <reason>'"))
        if before is not None:
            after = normalised_ruleset(lab)
            same = before == after and "table ip nfgate" in before
            ok &= same
            details.append("nft list table ip nfgate " + (
                "identical before/after" if same else "CHANGED (or missing) after the rejection"))
        for proto, port in (("tcp", 80), ("udp", 53)):
            step_ok, text = Reach("client", proto, "10.96.0.10", port, count=20).run(lab)
            ok &= step_ok
            details.append("still served: " + text)
    finally:
        os.unlink(broken)
    line = lab.reload()
    details.append(f"SIGHUP after removing it: {line!r}")
    return ok and line == "nfgate: reloaded", details


def reload_add_service(lab):
    """A Service added by a reload answers at once; removed again, its ClusterIP is dropped."""
    details, ok = [], True
    added = cluster_file(lab, "added-service.yaml")
    step_ok, text = Dropped("client", "tcp", "10.96.0.21", 80, count=1).run(lab)
    ok &= step_ok
    details.append("before: " + text)
    shutil.copyfile(os.path.join(REPO, "configs", "lab", "reload", "added-service.yaml"), added)
    try:
        line = lab.reload()
        ok &= line == "nfgate: reloaded"
        step_ok, text = Reach("client", "tcp", "10.96.0.21", 80, count=10,
                              backends=["pod-b"]).run(lab)
        ok &= step_ok
        details.append(f"SIGHUP (Service lab/added): {line!r}; {text}")
    finally:
        os.unlink(added)
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    step_ok, text = Dropped("client", "tcp", "10.96.0.21", 80, count=2).run(lab)
    ok &= step_ok
    details.append(f"SIGHUP (removed again): {line!r}; {text}")
    return ok, details


def masquerade_all(lab):
    """masquerade.all (kube-proxy --masquerade-all), switched on by a reload of the gateway
    file: even an in-cluster client is source-NATed; switched off again, it keeps its address."""
    details, ok = [], True
    with open(lab.config_path) as f:
        original = f.read()
    if "  all: false" not in original:
        return False, [f"{lab.config_path}: expected a `masquerade: all: false` line to flip"]
    with open(lab.config_path, "w") as f:
        f.write(original.replace("  all: false", "  all: true"))
    try:
        line = lab.reload()
        ok &= line == "nfgate: reloaded"
        step_ok, text = Reach("pod-c", "tcp", "10.96.0.10", 80, source=GW_PODS).run(lab)
        ok &= step_ok
        details.append(f"SIGHUP (all: true): {line!r}; {text}")
    finally:
        with open(lab.config_path, "w") as f:
            f.write(original)
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    step_ok, text = Reach("pod-c", "tcp", "10.96.0.10", 80, source=POD_C).run(lab)
    ok &= step_ok
    details.append(f"SIGHUP (all: false): {line!r}; {text}")
    return ok, details
