#!/usr/bin/env python3
"""nfgate under a stand-in for systemd: what it tells NOTIFY_SOCKET, and its log lines when
stderr is the journal.

  notify_test.py NFGATE DATA_DIR

The daemon runs on the kernel path in a network namespace this test creates (root; exits 77,
meson's "skipped", without it), with NOTIFY_SOCKET pointing at an AF_UNIX datagram socket the
test reads, and JOURNAL_STREAM naming its stderr pipe, as systemd sets both for a Type=notify
unit logging to the journal. Checked: READY=1 once `nfgate: ready` is out, RELOADING=1 with
MONOTONIC_USEC then READY=1 around a SIGHUP (a rejected one and a good one), STOPPING=1 at
SIGTERM, STATUS= saying what it does, and "<N>" priorities on stderr only.
"""
import os
import select
import shutil
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_cli_test import SKIP, Netns, expect, verdict  # noqa: E402


class NotifySocket:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.path = path

    def next(self, timeout):
        """The next datagram as {field: value}, or None after `timeout` seconds."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        text = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in text.split("\n") if "=" in line)

    def expect(self, field, timeout, what):
        msg = self.next(timeout)
        expect(msg is not None and msg.get(field) == "1", "%s: want %s=1, got %r" % (what, field, msg))
        return msg


def has_line_ready(stream):
    ready, _, _ = select.select([stream], [], [], 0)
    return bool(ready)


def test(lab, nfgate, data):
    err_r, err_w = os.pipe()
    journal = os.fdopen(err_r)  # the daemon's stderr, read once it has stopped
    lab.cleanups.append(journal.close)
    config = os.path.join(lab.tmp, "config")
    shutil.copytree(os.path.join(data, "valid"), config)
    gw = os.path.join(config, "gateway.yaml")
    services = os.path.join(config, "cluster", "01-services.yaml")
    with open(services) as f:
        original = f.read()
    notify = NotifySocket(os.path.join(lab.tmp, "notify.sock"))
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = notify.path
    st = os.fstat(err_w)
    env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)

    try:
        daemon = lab.daemon(nfgate, gw, env=env, stderr=err_w)
    finally:
        os.close(err_w)  # the daemon holds the write end: EOF once it exits
    msg = notify.expect("READY", 30, "start")
    # READY=1 follows the status line: the line must already be waiting on stdout.
    expect(has_line_ready(daemon.proc.stdout), "READY=1 came before `nfgate: ready` was printed")
    line = daemon.next_line(5)
    expect(line == "nfgate: ready", "stdout (not the journal) keeps the plain status line: %r" % line)
    expect(msg.get("STATUS", "").startswith("serving on the kernel path: 4 Services"),
           "STATUS says what it serves: %r" % msg)

    # A rejected reload: RELOADING=1 first, then READY=1 (the old configuration serves on).
    with open(services, "w") as f:
        f.write(original.replace("port: 9090\n", "port: 70000\n", 1))
    before = time.monotonic()
    daemon.proc.send_signal(signal.SIGHUP)
    msg = notify.expect("RELOADING", 30, "a SIGHUP")
    usec = int(msg.get("MONOTONIC_USEC", "0"))
    expect(before * 1e6 <= usec <= time.monotonic() * 1e6,
           "MONOTONIC_USEC is CLOCK_MONOTONIC at the reload: %r (sent at %.6f)" % (msg, before))
    expect("reloading " + gw in msg.get("STATUS", ""), "STATUS names the file it reloads: %r" % msg)
    msg = notify.expect("READY", 30, "after a rejected reload")
    expect("reload rejected" in msg.get("STATUS", ""), "STATUS says the reload was rejected: %r" % msg)
    line = daemon.next_line(5)
    expect(line is not None and line.startswith("nfgate: reload rejected: "), "stdout: %r" % line)

    with open(services, "w") as f:
        f.write(original)
    daemon.proc.send_signal(signal.SIGHUP)
    notify.expect("RELOADING", 30, "a second SIGHUP")
    msg = notify.expect("READY", 30, "after a good reload")
    expect(msg.get("STATUS", "").endswith("; nfgate: reloaded"), "STATUS after a good reload: %r" % msg)

    daemon.proc.send_signal(signal.SIGTERM)
    msg = notify.expect("STOPPING", 20, "SIGTERM")
    rc = daemon.stop()
    expect(rc == 0, "SIGTERM stops nfgate with status 0, got %s" % rc)
    expect(notify.next(0.2) is None, "nothing after STOPPING=1")

    stderr = journal.read().splitlines()
    expect(stderr, "nfgate wrote to its journal stream")
    for l in stderr:
        expect(len(l) > 3 and l[0] == "<" and l[2] == ">" and l[1] in "01234567" and
               l[3:].startswith("nfgate: "), "each journal line is <N>nfgate: ...: %r" % l)
    expect(any(l.startswith("<4>nfgate: ") and "70000 is out of range" in l for l in stderr),
           "the rejected reload's error is a warning (<4>): %s" % stderr)
    expect("<5>nfgate: stopped" in stderr, "the stop is a notice (<5>): %s" % stderr)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    nfgate, data = sys.argv[1:]
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        print("skipped: needs root, ip and nft")
        return SKIP
    with Netns("nfgnotify") as lab:
        return verdict(lambda: test(lab, nfgate, data))


if __name__ == "__main__":
    sys.exit(main())
