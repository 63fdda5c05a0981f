#!/usr/bin/python3
"""A lab host's servers: HTTP on TCP and a UDP echo, both answering "<name> <peer ip>:<peer port>".

Run inside a host namespace (`ip netns exec NS servers.py --name pod-a`). The answer names the
host and the source address it saw, which is what every scenario asserts on: which backend was
reached, and whether the gateway rewrote the client's address. Prints "ready" once both sockets
are bound so the lab can wait for it. Standard library only.
"""
import argparse
import socket
import sys
import threading

MAX_HEADER = 8192


def answer_for(name, peer):
    # IPv6 peers are written the same way, unbracketed: "pod-a fd00:10:244::1:40000" (the
    # port is what follows the last colon).
    return f"{name} {peer[0]}:{peer[1]}\n"


def read_request(conn, pending):
    """Returns (request head, leftover bytes) or (None, b"") when the peer closed."""
    while b"\r\n\r\n" not in pending:
        if len(pending) > MAX_HEADER:
            return None, b""
        chunk = conn.recv(4096)
        if not chunk:
            return None, b""
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    return head, rest


def serve_http_connection(conn, peer, name):
    """HTTP/1.1 with keep-alive, so one connection can outlive a gateway reload."""
    pending = b""
    with conn:
        try:
            while True:
                head, pending = read_request(conn, pending)
                if head is None:
                    return
                body = answer_for(name, peer).encode()
                close = b"connection: close" in head.lower()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    + f"Content-Length: {len(body)}\r\n".encode()
                    + (b"Connection: close\r\n" if close else b"")
                    + b"\r\n" + body)
                if close:
                    return
        except OSError:
            return


def run_tcp(sock, name):
    while True:
        conn, peer = sock.accept()
        threading.Thread(target=serve_http_connection, args=(conn, peer, name),
                         daemon=True).start()


def run_udp(sock, name):
    while True:
        data, peer = sock.recvfrom(2048)
        if data:
            sock.sendto(answer_for(name, peer).encode(), peer)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--tcp", type=int, default=8080)
    parser.add_argument("--udp", type=int, default=5353)
    args = parser.parse_args()

    # One socket per family and protocol (the IPv6 ones IPv6-only), so an IPv4 peer is
    # reported as plain IPv4, never as an IPv4-mapped IPv6 address.
    for family, any_address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            tcp = socket.socket(family, socket.SOCK_STREAM)
            udp = socket.socket(family, socket.SOCK_DGRAM)
            if family == socket.AF_INET6:
                for sock in (tcp, udp):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((any_address, args.tcp))
            tcp.listen(512)
            udp.bind((any_address, args.udp))
        except OSError:
            if family == socket.AF_INET:
                raise
            continue  # a namespace without IPv6 serves IPv4 only
        threading.Thread(target=run_tcp, args=(tcp, args.name), daemon=True).start()
        threading.Thread(target=run_udp, args=(udp, args.name), daemon=True).start()
    print("ready", flush=True)
    # The lab stops us by closing stdin or by a signal; either ends the process.
    sys.stdin.read()


if __name__ == "__main__":
    main()
