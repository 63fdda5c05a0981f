#!/usr/bin/python3
"""A lab client agent: runs inside a host namespace and makes requests on command.

The lab starts one agent per client namespace (`ip netns exec NS client.py`) and talks to it with
one JSON object per line on stdin, one JSON answer per line on stdout. Keeping the agent alive
lets a scenario hold a TCP connection or a UDP socket (same source port) open across a gateway
reload.

Every request ends in one outcome:
  answer       the server's line ("pod-a 10.244.0.1:40000", "pod-a fd00:10:244::1:40000")
  reset        TCP connection refused/reset (a RST came back)
  unreachable  ICMP / ICMPv6 port unreachable (a connected UDP socket reports ECONNREFUSED)
  no-route     ICMP / ICMPv6 host/net unreachable

Every target may be IPv4 or IPv6; the family follows the address.
  timeout      nothing came back in time
  error        anything else (the text says what)
"""
import errno
import json
import os
import socket
import struct
import sys
import time

IP_RECVERR = 11  # <linux/in.h>; the socket module does not name it
IPV6_RECVERR = 25  # <linux/in6.h>
IPV6_MTU_DISCOVER, IPV6_MTU = 23, 24
IPV6_PMTUDISC_WANT = 1
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_ICMP6 = 3
ICMPV6_PKT_TOOBIG = 2
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n"
HTTP_REQUEST_CLOSE = b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"


def family_of(ip):
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def any_address(ip):
    return "::" if ":" in ip else "0.0.0.0"


def outcome_of_error(exc):
    if isinstance(exc, socket.timeout):
        return "timeout", ""
    if isinstance(exc, (ConnectionRefusedError, ConnectionResetError)):
        return "reset", ""
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no-route", exc.strerror
    return "error", f"{type(exc).__name__}: {exc}"


def read_http_body(sock):
    """Reads one response; returns its body. Raises on a malformed or cut response."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("response without Content-Length")
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("closed inside the response body")
        body += chunk
    return body[:length].decode().strip()


def timed(fn, udp=False):
    start = time.monotonic()
    try:
        text = fn()
        kind = "answer"
    except Exception as exc:  # every failure is a classified outcome, never a crash
        kind, text = outcome_of_error(exc)
        if udp and isinstance(exc, ConnectionRefusedError):
            # A connected UDP socket reports an ICMP port unreachable as ECONNREFUSED.
            kind = "unreachable"
    return {"kind": kind, "text": text, "elapsed": round(time.monotonic() - start, 4)}


def connect_tcp(ip, port, timeout, sport=0):
    """A connected TCP socket; a fixed source port (sport) reuses one 4-tuple every time."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(family_of(ip), socket.SOCK_STREAM)
        try:
            if sport:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((any_address(ip), sport))
            sock.settimeout(timeout)
            sock.connect((ip, port))
            return sock
        except OSError as exc:
            sock.close()
            # The previous connection on this 4-tuple may wait a moment for its last ACK (our
            # LAST_ACK holds the port: EADDRINUSE at bind; the peer's: EADDRNOTAVAIL at connect).
            if exc.errno not in (errno.EADDRNOTAVAIL, errno.EADDRINUSE) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
        except BaseException:
            sock.close()
            raise


def tcp_once(ip, port, timeout, sport=0):
    def run():
        with connect_tcp(ip, port, timeout, sport) as sock:
            sock.sendall(HTTP_REQUEST_CLOSE)
            body = read_http_body(sock)
            if sport:
                # Let the server close first, so the TIME_WAIT is the server's and this
                # 4-tuple is free for the next request at once.
                while sock.recv(4096):
                    pass
            return body
    return timed(run)


def udp_once(sock, ip, port, timeout):
    def run():
        sock.settimeout(timeout)
        sock.send(b"hello\n")
        return sock.recv(2048).decode().strip()
    return timed(run, udp=True)


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ping_once(ip, ident, seq, timeout):
    """One ICMP (ICMPv6) echo over a raw socket (ping itself is not part of a minimal install)."""
    v6 = ":" in ip
    request_type, reply_type = (128, 129) if v6 else (8, 0)

    def run():
        proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
        with socket.socket(family_of(ip), socket.SOCK_RAW, proto) as sock:
            payload = b"nfgate-lab"
            header = struct.pack("!BBHHH", request_type, 0, 0, ident, seq)
            # The kernel fills in the ICMPv6 checksum (it covers a pseudo-header) itself.
            checksum = 0 if v6 else inet_checksum(header + payload)
            packet = struct.pack("!BBHHH", request_type, 0, checksum, ident, seq)
            sock.sendto(packet + payload, (ip, 0))
            deadline = time.monotonic() + timeout
            while True:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                data, peer = sock.recvfrom(2048)
                start = 0 if v6 else (data[0] & 0x0F) * 4  # raw ICMPv6 comes without the IP header
                if len(data) < start + 8:
                    continue
                kind, _, _, rid, rseq = struct.unpack("!BBHHH", data[start:start + 8])
                if kind == reply_type and rid == ident and rseq == seq:
                    return f"echo reply from {peer[0]}"
    return timed(run)


def new_udp(ip, port):
    sock = socket.socket(family_of(ip), socket.SOCK_DGRAM)
    # Without IP_RECVERR a UDP socket ignores "soft" ICMP errors (net/host unreachable), and a
    # stray packet answered by a router would pass for a silent drop.
    if ":" in ip:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    sock.connect((ip, port))
    return sock


def packet_too_big(sock, timeout):
    """Waits for an ICMPv6 Packet Too Big on a connected IPv6 UDP socket's error queue:
    (mtu it names, address of the router that sent it), or None when none came in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, ancillary, _, _ = sock.recvmsg(2048, 512, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        for level, kind, data in ancillary:
            if level != socket.IPPROTO_IPV6 or kind != IPV6_RECVERR or len(data) < 16 + 24:
                continue
            # struct sock_extended_err, then the offender's struct sockaddr_in6
            errno_, origin, icmp_type, _, _, info, _ = struct.unpack("=IBBBBII", data[:16])
            if origin == SO_EE_ORIGIN_ICMP6 and icmp_type == ICMPV6_PKT_TOOBIG:
                offender = socket.inet_ntop(socket.AF_INET6, data[16 + 8:16 + 24])
                return info, offender
    return None


def repeat(once, count, give_up_after):
    """Runs `once` count times; stops early after `give_up_after` unanswered requests in a row
    (0: never), so a gateway that forwards nothing fails in seconds, not count * timeout."""
    results, misses = [], 0
    for _ in range(count):
        results.append(once())
        misses = misses + 1 if results[-1]["kind"] != "answer" else 0
        if give_up_after and misses >= give_up_after:
            break
    return results


class Agent:
    def __init__(self):
        self.held = {}  # id -> open socket kept across commands

    def op_tcp(self, ip, port, count=1, timeout=1.0, give_up_after=0, sport=0):
        return repeat(lambda: tcp_once(ip, port, timeout, sport), count, give_up_after)

    def op_udp(self, ip, port, count=1, timeout=1.0, give_up_after=0):
        def once():
            with new_udp(ip, port) as sock:
                return udp_once(sock, ip, port, timeout)
        return repeat(once, count, give_up_after)

    def op_pmtu(self, ip, port, size, timeout=2.0):
        """IPv6 UDP: one datagram of `size` bytes, which a link on the way cannot carry. Expects
        an ICMPv6 Packet Too Big (its MTU and sender) and then, sent again (fragmented by this
        host at the learnt path MTU), an answer."""
        with new_udp(ip, port) as sock:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_WANT)
            payload = b"x" * (size - 1) + b"\n"
            sock.send(payload)
            seen = packet_too_big(sock, timeout)
            result = {"too_big": seen is not None, "mtu": seen[0] if seen else None,
                      "from": seen[1] if seen else None,
                      "path_mtu": sock.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU)}
            # The error is also pending on the socket (EMSGSIZE once): take it before resending.
            try:
                sock.recv(2048, socket.MSG_DONTWAIT)
            except OSError:
                pass

            def again():
                sock.settimeout(timeout)
                sock.send(payload)
                return sock.recv(2048).decode().strip()
            result["again"] = timed(again, udp=True)
            return result

    def op_ping(self, ip, count=1, timeout=1.0, ident=None):
        ident = (os.getpid() if ident is None else ident) & 0xFFFF
        return [ping_once(ip, ident, seq, timeout) for seq in range(1, count + 1)]

    def op_tcp_open(self, id, ip, port, timeout=1.0):
        self.op_close(id)
        holder = {}

        def run():
            sock = socket.create_connection((ip, port), timeout=timeout)
            holder["sock"] = sock
            sock.sendall(HTTP_REQUEST)
            return read_http_body(sock)
        result = timed(run)
        if result["kind"] == "answer":
            self.held[id] = ("tcp", holder["sock"], ip, port)
            result["sport"] = holder["sock"].getsockname()[1]
        elif "sock" in holder:
            holder["sock"].close()
        return result

    def op_udp_open(self, id, ip, port, timeout=1.0):
        self.op_close(id)
        sock = new_udp(ip, port)
        self.held[id] = ("udp", sock, ip, port)
        result = udp_once(sock, ip, port, timeout)
        result["sport"] = sock.getsockname()[1]
        return result

    def op_again(self, id, timeout=1.0):
        kind, sock, ip, port = self.held[id]
        if kind == "udp":
            result = udp_once(sock, ip, port, timeout)
            result["sport"] = sock.getsockname()[1]
            return result

        def run():
            sock.settimeout(timeout)
            sock.sendall(HTTP_REQUEST)
            return read_http_body(sock)
        return timed(run)

    def op_close(self, id):
        entry = self.held.pop(id, None)
        if entry:
            entry[1].close()
        return {"closed": entry is not None}


def main():
    agent = Agent()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        op = getattr(agent, "op_" + command.pop("op"))
        try:
            reply = {"ok": True, "result": op(**command)}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
