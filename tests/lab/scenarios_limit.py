"""The per-source new-flow limit in the lab (conntrack.newFlowsPerSource): one source that opens
connections far faster than the limit gets only its allowance, while another client's
connections are all served. Kept out of scenarios.py (which holds the list)."""
import time

from scenarios_flood import ConntrackKeys, counters, start_flood

FLOODER = "100.64.7.7"  # one source address nobody owns, sent from the client namespace
RATE = 20


def per_source_limit(lab, reach_cls):
    """A reload sets newFlowsPerSource: 20 (burst 20); 1 000 SYNs from one source open at most
    its allowance of flows, the rest refused and counted; 20 connections from the client's own
    address meanwhile all complete. Then the original configuration again."""
    details, ok = [], True
    cfg = ConntrackKeys(lab)
    if cfg.missing:
        return False, cfg.missing
    try:
        cfg.write(f"  newFlowsPerSource: {RATE}\n  newFlowsPerSourceBurst: {RATE}\n")
        line = lab.reload()
        ok &= line == "nfgate: reloaded"
        details.append(f"SIGHUP (newFlowsPerSource: {RATE}): {line!r}")
        before = counters(lab)
        start = time.monotonic()
        flood = start_flood(lab, 1000, source=FLOODER)
        step_ok, text = reach_cls("client", "tcp", "10.96.0.10", 80, count=20).run(lab)
        out, err = flood.communicate(timeout=60)
        seconds = time.monotonic() - start
        time.sleep(0.3)
        after = counters(lab)
        limited = after["drops"]["new_flow_rate_limited"] - before["drops"]["new_flow_rate_limited"]
        grown = after["flows_in_use"] - before["flows_in_use"]
        # The flooder's allowance over the run, plus the client's 20 connections. Two packets of
        # slack: the kernel's limit counts tokens in jiffies, and the clock here starts before the
        # first SYN and stops after the last (a run of 0.1 s let 22 through against 21.9).
        allowance = RATE + RATE * seconds + 2
        flood_ok = flood.returncode == 0 and limited >= 1000 - allowance and grown <= allowance + 20
        ok &= step_ok and flood_ok
        details.append(f"1 000 SYNs from {FLOODER} (sent, seconds: {out.strip() or err.strip()}): {limited} refused "
                       f"(new_flow_rate_limited), flow table grew by {grown} (allowance {allowance:.0f} + the "
                       f"client's 20); the client's own connections meanwhile: {text}"
                       + ("" if flood_ok else " -- expected the excess refused and counted"))
    finally:
        cfg.restore()
    line = lab.reload()
    ok &= line == "nfgate: reloaded"
    details.append(f"back to the original configuration: {line!r}")
    return ok, details
