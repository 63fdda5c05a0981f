#!/usr/bin/env python3
"""The nfgate executable as a user drives it.

  daemon_cli_test.py NFGATE DATA_DIR cli     --help, --check (also of configs/examples), usage errors
                                             (no root needed)
  daemon_cli_test.py NFGATE DATA_DIR netns   ready / SIGHUP reload / SIGTERM / --cleanup on the
                                             kernel path, inside a network namespace it creates
                                             (root; exits 77, meson's "skipped", without it)
"""
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


class Failure(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failure(what)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def test_cli(nfgate, data):
    valid = os.path.join(data, "valid", "gateway.yaml")
    r = run([nfgate, "--help"])
    expect(r.returncode == 0 and "--dataplane" in r.stdout, "--help lists the options: " + r.stdout)
    # --help names the options of the README's "Running it" table and the signals of that section
    # (its prose may quote other programs' options, such as EAL's --file-prefix).
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")) as f:
        readme = f.read()
    section = readme[readme.index("\n## Running it\n"):]
    section = section[:section.index("\n#", 1)]
    table = "\n".join(l for l in section.splitlines() if l.startswith("|"))
    options, signals = r"(?<![\w-])--[a-z][a-z-]+", r"\bSIG[A-Z0-9]+\b"
    in_readme = set(re.findall(options, table)) | set(re.findall(signals, section))
    in_help = set(re.findall(options, r.stdout)) | set(re.findall(signals, r.stdout))
    expect(in_readme == in_help, "--help and README disagree: only in --help %s, only in the README %s"
           % (sorted(in_help - in_readme), sorted(in_readme - in_help)))

    r = run([nfgate, "--config", valid, "--check"])
    expect(r.returncode == 0, "--check on a valid config exits 0: " + r.stderr)
    expect(r.stdout.startswith("nfgate: config ok: 4 Services"), "--check says what it loaded: " + r.stdout)
    expect("notice: " in r.stderr and "ConfigMap shop/settings" in r.stderr, "--check prints notices: " + r.stderr)

    with tempfile.TemporaryDirectory(prefix="nfgate-cli-") as tmp:
        gw = os.path.join(tmp, "gw.yaml")
        with open(gw, "w") as f:
            f.write("workers: 0\nnodeAddresses: [192.0.2.300]\nmanifests: [missing/]\n")
        r = run([nfgate, "--config", gw, "--check"])
        expect(r.returncode == 1, "--check on a bad config exits 1, got %d" % r.returncode)
        errors = [l for l in r.stderr.splitlines() if l.startswith(gw + ":")]
        expect(len(errors) == 3, "every error printed, one per line: " + r.stderr)
        expect(errors[0] == gw + ":1: workers: workers: 0 is out of range (want 1-127)", errors[0])
        expect(r.stdout == "", "nothing on stdout for a bad config: " + r.stdout)

    examples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "configs", "examples")
    gateways = sorted(f for f in os.listdir(examples) if f.startswith("gateway-") and f.endswith(".yaml"))
    expect(len(gateways) >= 2, "configs/examples has its gateway files: %s" % gateways)
    for name in gateways:
        r = run([nfgate, "--config", os.path.join(examples, name), "--check"])
        expect(r.returncode == 0 and r.stdout.startswith("nfgate: config ok: 3 Services, 4 ports, 8 endpoints (7 ready)"),
               "configs/examples/%s loads: %s%s" % (name, r.stdout, r.stderr))

    r = run([nfgate, "--config", valid, "--dataplane", "xdp"])
    expect(r.returncode == 2 and "--dataplane xdp is not valid" in r.stderr, "usage error: " + r.stderr)
    r = run([nfgate])
    expect(r.returncode == 2 and "--config FILE is required" in r.stderr, "missing --config: " + r.stderr)


class Daemon:
    """nfgate running in a namespace, its stdout read line by line."""

    def __init__(self, ns, nfgate, config, extra=(), wrapper=(), env=None, stderr=subprocess.PIPE):
        # The control socket goes next to the config: a test never takes /run/nfgate/nfgate.sock.
        sock = os.path.join(os.path.dirname(config), "nfgate.sock")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns] + list(wrapper) +
                                     [nfgate, "--config", config, "--control-socket", sock] + list(extra),
                                     stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        self.lines = []

    def next_line(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline - time.monotonic())
            if ready:
                line = self.proc.stdout.readline()
                if line == "":
                    return None
                self.lines.append(line.rstrip("\n"))
                return self.lines[-1]
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def stop_processes(procs):
    """Terminates helper processes a test started (a Prometheus, a BIRD), killing the slow ones."""
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Netns:
    """A network namespace (loopback up) and a temporary folder for one test, and the daemons
    started in it: all of them removed when the `with` block ends, also when the test fails."""

    def __init__(self, prefix):
        self.name = "%s-%d" % (prefix, os.getpid())
        self.tmp = None
        self.daemons = []
        self.cleanups = []  # extra callables, run first

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        self.tmp = tempfile.mkdtemp(prefix="nfgate-%s-" % self.name)
        return self

    def daemon(self, nfgate, config, extra=(), **popen):
        d = Daemon(self.name, nfgate, config, extra, **popen)
        self.daemons.append(d)
        return d

    def __exit__(self, *exc):
        for c in self.cleanups:
            c()
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def verdict(body):
    """Runs body(); prints ok or the failure, returns the exit status meson reads."""
    try:
        body()
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    print("ok")
    return 0


def nft_table(ns):
    r = run(["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "nfgate"])
    return r.stdout if r.returncode == 0 else None


def test_netns(nfgate, data):
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        print("skipped: needs root, ip and nft")
        return SKIP
    ns = "nfgctl-%d" % os.getpid()
    tmp = tempfile.mkdtemp(prefix="nfgate-daemon-")
    daemon = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        config = os.path.join(tmp, "config")
        shutil.copytree(os.path.join(data, "valid"), config)
        gw = os.path.join(config, "gateway.yaml")
        services = os.path.join(config, "cluster", "01-services.yaml")
        with open(services) as f:
            original = f.read()

        daemon = Daemon(ns, nfgate, gw)
        line = daemon.next_line(30)
        expect(line == "nfgate: ready", "first stdout line is `nfgate: ready`, got %r; stderr: %s"
               % (line, daemon.proc.stderr.read() if line is None else ""))
        table = nft_table(ns)
        expect(table is not None and "10.96.0.10" in table, "the ruleset is installed:\n%s" % table)

        with open(services, "w") as f:
            f.write(original.replace("port: 9090\n", "port: 70000\n", 1))
        daemon.proc.send_signal(signal.SIGHUP)
        line = daemon.next_line(30)
        expect(line is not None and line.startswith("nfgate: reload rejected: " + services + ":")
               and "spec.ports[1].port: 70000 is out of range (want 1-65535)" in line,
               "a bad config is rejected naming the first error: %r" % line)
        expect(nft_table(ns) == table, "the old ruleset stays in force")

        with open(services, "w") as f:
            f.write(original.replace("clusterIP: 10.96.0.10\n  clusterIPs:\n  - 10.96.0.10\n",
                                     "clusterIP: 10.96.0.11\n  clusterIPs:\n  - 10.96.0.11\n", 1))
        daemon.proc.send_signal(signal.SIGHUP)
        line = daemon.next_line(30)
        expect(line == "nfgate: reloaded", "a good config is applied: %r" % line)
        table = nft_table(ns)
        expect(table is not None and "10.96.0.11" in table and "10.96.0.10," not in table,
               "the new ClusterIP replaced the old one:\n%s" % table)

        rc = daemon.stop()
        expect(rc == 0, "SIGTERM stops nfgate with status 0, got %s" % rc)
        expect(nft_table(ns) is not None, "the ruleset stays after exit, as kube-proxy's does")

        r = run(["ip", "netns", "exec", ns, nfgate, "--cleanup"])
        expect(r.returncode == 0, "--cleanup succeeds: " + r.stderr)
        expect(nft_table(ns) is None, "--cleanup removes the table")
        r = run(["ip", "netns", "exec", ns, nfgate, "--cleanup"])
        expect(r.returncode == 0, "--cleanup with nothing installed succeeds: " + r.stderr)

        r = run(["ip", "netns", "exec", ns, nfgate, "--config", gw, "--once"])
        expect(r.returncode == 0 and nft_table(ns) is not None, "--once installs the ruleset: " + r.stderr)
        return 0
    finally:
        if daemon is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("cli", "netns"):
        print(__doc__, file=sys.stderr)
        return 2
    nfgate, data, which = sys.argv[1:]
    try:
        rc = test_cli(nfgate, data) if which == "cli" else test_netns(nfgate, data)
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    if rc != SKIP:
        print("ok")
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
