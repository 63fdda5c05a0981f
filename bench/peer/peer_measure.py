"""One UDP packet-rate and one TCP connection-rate measurement through whatever gateway the
PeerLab runs right now, with the CPU each side used and where the packets were lost."""
import json
import os
import signal
import subprocess
import time

from peer_lab import (CLIENT_IP, ENDPOINTS, ENDS_CPU, GW_PODS, TCP_PORT, TCP_TARGET, UDP_PORT, UDP_TARGET,
                      VIP, PeerError, prioritised)

TICK = os.sysconf("SC_CLK_TCK")
FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def cpu_ticks():
    """Per-CPU tick counters from /proc/stat: {0: {user: ..}, 1: {...}}."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0].startswith("cpu") and parts[0] != "cpu":
                out[int(parts[0][3:])] = dict(zip(FIELDS, map(int, parts[1:9])))
    return out


def thread_ticks(tid):
    try:
        with open(f"/proc/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return 0


def softnet_drops():
    """Per-CPU backlog drops (second column of softnet_stat, hex)."""
    with open("/proc/net/softnet_stat") as f:
        return [int(line.split()[1], 16) for line in f]


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def gateway_threads(lab, worker_tids):
    """The threads doing the gateway's work: its two veth receive kthreads, DPDK workers."""
    return {"napi gw/ext": lab.napi["gw/ext"], "napi gw/pods": lab.napi["gw/pods"],
            **{f"dpdk worker {tid}": tid for tid in worker_tids}}


def ends_threads(lab):
    return {"napi gen/g0": lab.napi["gen/g0"], "napi pods/s0": lab.napi["pods/s0"]}


class Snapshot:
    def __init__(self, lab, threads):
        self.time = time.monotonic()
        self.cpu = cpu_ticks()
        self.softnet = softnet_drops()
        self.links = lab.link_stats()
        self.nft = lab.pods_nft_counter()
        self.threads = {name: thread_ticks(tid) for name, tid in threads.items()}


def cpu_report(before, after, gateway_names, ends_process_s):
    """Cores used over the interval: per CPU (all work on the box, ours and others'), per thread
    of ours, the gateway's threads together, and the ends (their kthreads and processes)."""
    secs = after.time - before.time
    per_cpu = {}
    for cpu in sorted(after.cpu):
        delta = {k: after.cpu[cpu][k] - before.cpu[cpu][k] for k in FIELDS}
        total = sum(delta.values()) or 1
        per_cpu[f"cpu{cpu}"] = {k: round(v / total, 3) for k, v in delta.items() if k in
                                ("user", "system", "softirq", "idle")}
        per_cpu[f"cpu{cpu}"]["busy"] = round(1 - (delta["idle"] + delta["iowait"]) / total, 3)
    threads = {n: round((after.threads[n] - before.threads[n]) / TICK / secs, 3) for n in after.threads}
    gateway = sum(v for n, v in threads.items() if n in gateway_names)
    ends = sum(v for n, v in threads.items() if n not in gateway_names) + ends_process_s / secs
    return {"per_cpu": per_cpu, "threads_cores": threads, "gateway_cores": round(gateway, 3),
            "ends_cores": round(ends, 3), "ends_cpu_busy": per_cpu[f"cpu{ENDS_CPU}"]["busy"]}


def process_cpu(result):
    return result.get("cpu_user_s", 0) + result.get("cpu_sys_s", 0)


def delta_links(before, after):
    return {dev: {k: after.links[dev][k] - before.links[dev][k] for k in after.links[dev]} for dev in after.links}


def run_json(argv, timeout):
    """Runs a measured tool in a session of its own (see prioritised) and parses its JSON line."""
    proc = subprocess.run(prioritised(argv), capture_output=True, text=True, timeout=timeout,
                          start_new_session=True)
    if proc.returncode != 0:
        raise PeerError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stop_for_json(proc, what):
    os.killpg(proc.proc.pid, signal.SIGTERM)
    proc.proc.wait(10)
    proc.reader.join(2)
    for line in reversed(proc.lines):
        if line.startswith("{"):
            return json.loads(line)
    raise PeerError(f"{what} printed no result; output:\n{proc.output()}")


def udp_bottleneck(sent, links, nft, sink, cpu):
    """Which stage lost the most of what was offered, or the generator when nothing was lost."""
    reached_gw = links["gw/ext"]["rx"]
    # A frame the full g0 -> ext ring refused goes back to the generator's TX ring and is sent
    # again: back-pressure from the gateway's input, not a loss.
    pushed_back = links["gen/g0"]["tx_dropped"]
    # A veth counts a packet its receiver's ring had no room for as a TX drop of the sender.
    sent_by_gw = links["gw/pods"]["tx"] + links["gw/pods"]["tx_dropped"]
    losses = {
        "on the way to the gateway": sent - reached_gw,
        "gateway": reached_gw - sent_by_gw,
        "pods receive (veth ring / kernel on the ends' CPU)": sent_by_gw - nft,
        "sink (packet ring)": nft - sink["valid"],
    }
    lost = max(sent - sink["valid"], 0)
    if sent == 0 or lost / sent < 0.02:
        numbers = (f"forwarded {100 * sink['valid'] / max(sent, 1):.1f}% of what was offered; gateway "
                   f"{cpu['gateway_cores']:.2f} cores, generator+sink {cpu['ends_cores']:.2f} cores, their CPU "
                   f"{cpu['ends_cpu_busy']:.0%} busy; the gateway's input ring pushed back {pushed_back} times")
        # The generator's ring holds a bounded number of frames in flight and a full input ring
        # refuses more: a busy gateway holds the generator back without losing anything.
        if cpu["gateway_cores"] >= 0.85 or pushed_back > sent / 1000:
            return f"gateway (its input; the generator was held back): {numbers}", losses
        return f"generator: {numbers}", losses
    stage = max(losses, key=losses.get)
    return f"{stage}: lost {losses[stage]} of {sent} offered ({100 * losses[stage] / sent:.1f}%)", losses


def in_ns(lab, role):
    return ["ip", "netns", "exec", lab.ns(role), "taskset", "-c", str(ENDS_CPU)]


def start_sink(lab, path, seconds):
    sink = lab.spawn("pods", [lab.tool("pktsink"), "--iface", "s0", "--endpoints", ",".join(ENDPOINTS),
                              "--dst-port", str(UDP_TARGET), "--snat-src", GW_PODS, "--seconds", str(seconds + 30)],
                     f"pktsink-{path}", cpu=ENDS_CPU)
    if sink.wait_line(lambda l: l == "pktsink: ready", 10) is None:
        raise PeerError(f"pktsink did not start: {sink.output()}")
    return sink


def udp_run(lab, path, gen_argv, seconds, threads, rate=0):
    """One generator run into a fresh sink: (generator JSON, sink JSON, snapshot before, after)."""
    sink = start_sink(lab, path, seconds)
    # Paced runs send small batches: a 256-frame burst alone can fill a 256-slot veth ring.
    pacing = ["--rate", str(int(rate)), "--batch", "32"] if rate else []
    before = Snapshot(lab, threads)
    gen_result = run_json(gen_argv + ["--seconds", str(seconds)] + pacing, seconds + 30)
    after = Snapshot(lab, threads)
    time.sleep(0.3)
    return gen_result, stop_for_json(sink, "pktsink"), before, after


def lossless_rate(lab, path, gen_argv, threads, ceiling, probes, seconds):
    """Highest paced rate (bisection below `ceiling`) that lost at most 1 %; None when every
    probe lost more. Each probe: (rate asked, sent pps, delivered pps, loss)."""
    lo, hi, best, tried = 0.0, float(ceiling), None, []
    for _ in range(probes):
        rate = (lo + hi) / 2
        gen, sink, _, _ = udp_run(lab, path, gen_argv, seconds, threads, rate)
        loss = 1 - sink["valid"] / max(gen["sent"], 1)
        tried.append({"rate": round(rate), "sent_pps": round(gen["pps"]), "delivered_pps": round(sink["pps"]),
                      "loss": round(loss, 4)})
        if loss <= 0.01:
            lo, best = rate, max(best or 0, round(sink["pps"]))
        else:
            hi = rate
    return best, tried


def per_core(pps, gateway_cores, path):
    """Packets per second per core the gateway held. A DPDK worker holds its whole core whether it
    has work or not, so the fast path is charged at least one core."""
    cores = gateway_cores if path == "kernel" else max(gateway_cores, 1.0)
    return round(pps / cores) if cores > 0 else None


def measure_udp(lab, path, seconds, flows, worker_tids, probes):
    gw_threads = gateway_threads(lab, worker_tids)
    threads = {**gw_threads, **ends_threads(lab)}
    gen_argv = in_ns(lab, "gen") + [lab.tool("pktgen"), "--iface", "g0",
                "--dst-mac", lab.mac("gw", "ext"), "--src-ip", CLIENT_IP, "--dst-ip", VIP,
                "--dst-port", str(UDP_PORT), "--flows", str(flows)]
    # Warm-up: neighbours resolved, every flow created; the measurement sees established flows.
    run_json(gen_argv + ["--packets", str(2 * flows), "--rate", "20000", "--seconds", "5"], 30)
    time.sleep(0.5)
    load = loadavg()
    gen_result, sink_result, before, after = udp_run(lab, path, gen_argv, seconds, threads)
    links = delta_links(before, after)
    nft = after.nft - before.nft
    cpu = cpu_report(before, after, gw_threads, process_cpu(gen_result) + process_cpu(sink_result))
    verdict, losses = udp_bottleneck(gen_result["sent"], links, nft, sink_result, cpu)
    delivered = sink_result["pps"]
    loss = 1 - sink_result["valid"] / max(gen_result["sent"], 1)
    # Overloaded, a path can deliver less than it would at a lower offered rate (receive work
    # starving the forwarding work on one core): also find the rate it carries without loss.
    if loss <= 0.01:
        lossless, probes_tried = round(delivered), []
    else:
        lossless, probes_tried = lossless_rate(lab, path, gen_argv, threads, gen_result["pps"], probes, 1.0)
    return {
        "offered_pps": round(gen_result["pps"]), "delivered_pps": round(delivered), "loss": round(loss, 4),
        "lossless_pps": lossless, "lossless_probes": probes_tried,
        "pps_per_gateway_core": per_core(max(delivered, lossless or 0), cpu["gateway_cores"], path),
        "bottleneck": verdict, "losses_by_stage": losses, "flows": flows, "seconds": seconds,
        "generator": gen_result, "sink": sink_result, "pods_nft_counter": nft, "links": links,
        "softnet_drops": [a - b for a, b in zip(after.softnet, before.softnet)], "cpu": cpu,
        "loadavg_1min_before": load,
    }


def saturation(cpu):
    """(ends saturated, gateway saturated): the ends count as saturated when their CPU had no idle
    time left, whoever used it (other work on the box competes with them like their own)."""
    ends = cpu["ends_cores"] >= 0.85 or cpu["ends_cpu_busy"] >= 0.95
    return ends, cpu["gateway_cores"] >= 0.85


def tcp_bottleneck(client, cpu, path):
    ends_sat, gw_sat = saturation(cpu)
    numbers = (f"ends {cpu['ends_cores']:.2f} cores (their CPU {cpu['ends_cpu_busy']:.0%} busy), "
               f"gateway {cpu['gateway_cores']:.2f} cores")
    if client["failed"] or client["unfinished"]:
        numbers += f"; {client['failed']} failed, {client['unfinished']} unfinished connections"
    if path != "kernel":
        # A DPDK worker polls whether or not there is work: its CPU says nothing about load.
        return f"{'client+server' if ends_sat else 'gateway'} ({numbers}; the DPDK worker busy-polls)"
    if ends_sat and not gw_sat:
        return f"client+server ({numbers})"
    if gw_sat and not ends_sat:
        return f"gateway ({numbers})"
    if gw_sat:
        return f"both sides saturated ({numbers})"
    return f"neither side saturated: latency-bound at this concurrency ({numbers})"


def measure_tcp(lab, path, seconds, max_conns, concurrency, worker_tids):
    tool = lab.tool("connbench")
    gw_threads = gateway_threads(lab, worker_tids)
    threads = {**gw_threads, **ends_threads(lab)}
    server = lab.spawn("pods", [tool, "server", "--port", str(TCP_TARGET)], f"connbench-server-{path}", cpu=ENDS_CPU)
    if server.wait_line(lambda l: l == "connbench: ready", 10) is None:
        raise PeerError(f"connbench server did not start: {server.output()}")
    client_argv = in_ns(lab, "gen") + [tool, "client",
                   "--vip", VIP, "--port", str(TCP_PORT), "--sources", CLIENT_IP,
                   "--concurrency", str(concurrency)]
    warm = run_json(client_argv + ["--seconds", "1", "--max-conns", "200"], 30)
    if warm["completed"] == 0:
        stop_for_json(server, "connbench server")
        raise PeerError(f"no TCP connection through the {path} gateway completed in the warm-up: {warm}")
    load = loadavg()
    before = Snapshot(lab, threads)
    server_cpu0 = lab.process_cpu_s(server)
    client = run_json(client_argv + ["--seconds", str(seconds), "--max-conns", str(max_conns)], seconds + 30)
    server_cpu = lab.process_cpu_s(server) - server_cpu0
    after = Snapshot(lab, threads)
    server_result = stop_for_json(server, "connbench server")
    cpu = cpu_report(before, after, gw_threads, process_cpu(client) + server_cpu)
    return {
        "cps": round(client["cps"]), "latency_p99_ms": client["latency_p99_ms"],
        "cps_per_gateway_core": per_core(client["cps"], cpu["gateway_cores"], path),
        "bottleneck": tcp_bottleneck(client, cpu, path), "client": client, "server": server_result,
        "links": delta_links(before, after), "cpu": cpu, "concurrency": concurrency, "max_conns": max_conns,
        "loadavg_1min_before": load,
    }
