#!/usr/bin/env python3
"""A stand-in for the Kubernetes API server, for nfgate's tests (Debian 12 has no kube-apiserver).

  kube_api_stub.py --state FILE --cert CRT --key KEY --token TOKEN [--port 6443] [--page N]

HTTPS only; every request needs `Authorization: Bearer TOKEN` (401 otherwise). Serves what
nfgate reads, as the API documents it:
  GET /api/v1/services, /apis/discovery.k8s.io/v1/endpointslices
      list: `limit` + `continue` paging (pages of at most --page items, as a server may return
      fewer than asked), items without kind/apiVersion, metadata.resourceVersion of the list;
      an unknown or expired continue token: 410 Gone.
      watch=1: a chunked stream of {"type","object"} lines from `resourceVersion` on; BOOKMARK
      events each second with allowWatchBookmarks; the stream ends after timeoutSeconds; a
      resourceVersion older than the oldest kept event: an ERROR event with a 410 Status.
The state (objects, resourceVersion, event history) lives in FILE, so a stub killed and started
again is the same "cluster". Commands on stdin, one JSON object a line:
  {"op": "put", "resource": "services", "object": {...}}      ADDED or MODIFIED event
  {"op": "delete", "resource": "services", "namespace": N, "name": M}
  {"op": "quiet_delete", ...}  removed with no event, history compacted (a watcher must relist)
  {"op": "burst", "resource": R, "objects": [...], "seconds": S}   each put in turn over S seconds
  {"op": "end_watches"}        closes every open watch stream cleanly
  {"op": "token", "token": T}  accepts T from now on (a rotated service account token)
Each request is printed on stdout ("GET target"), flushed, for the test to read.
"""
import argparse
import base64
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATHS = {"/api/v1/services": "services", "/apis/discovery.k8s.io/v1/endpointslices": "endpointslices"}
LIST_KIND = {"services": ("ServiceList", "v1"), "endpointslices": ("EndpointSliceList", "discovery.k8s.io/v1")}


class State:
    def __init__(self, path):
        self.path = path
        self.cond = threading.Condition()
        self.generation = 0  # bumped by end_watches
        self.token = None  # the bearer token accepted (set by main, changed by {"op": "token"})
        try:
            with open(path) as f:
                d = json.load(f)
        except FileNotFoundError:
            d = {"rv": 1, "oldest": 1, "objects": {"services": {}, "endpointslices": {}}, "events": []}
        self.rv, self.oldest, self.objects, self.events = d["rv"], d["oldest"], d["objects"], d["events"]

    def save(self):
        with open(self.path + ".tmp", "w") as f:
            json.dump({"rv": self.rv, "oldest": self.oldest, "objects": self.objects, "events": self.events}, f)
        os.replace(self.path + ".tmp", self.path)

    def command(self, c):
        if c["op"] == "burst":
            # {"op": "burst", "resource": R, "objects": [...], "seconds": S}: each object put in
            # turn, spread evenly over S seconds, as a busy cluster would change them; saved once.
            gap = float(c.get("seconds", 1.0)) / max(len(c["objects"]), 1)
            start = time.monotonic()
            for i, obj in enumerate(c["objects"]):
                self.command({"op": "put", "resource": c["resource"], "object": obj, "save": False})
                time.sleep(max(0.0, start + (i + 1) * gap - time.monotonic()))
            with self.cond:
                self.save()
            return
        with self.cond:
            res = c.get("resource")
            if c["op"] == "put":
                obj = c["object"]
                key = "%s/%s" % (obj["metadata"].get("namespace", "default"), obj["metadata"]["name"])
                kind = "MODIFIED" if key in self.objects[res] else "ADDED"
                self.rv += 1
                obj["metadata"]["resourceVersion"] = str(self.rv)
                self.objects[res][key] = obj
                self.events.append([self.rv, res, kind, obj])
            elif c["op"] in ("delete", "quiet_delete"):
                key = "%s/%s" % (c["namespace"], c["name"])
                obj = self.objects[res].pop(key)
                self.rv += 1
                obj["metadata"]["resourceVersion"] = str(self.rv)
                if c["op"] == "delete":
                    self.events.append([self.rv, res, "DELETED", obj])
                else:
                    self.events = []
                    self.oldest = self.rv + 1
                    self.generation += 1  # watchers come back with an older resourceVersion
            elif c["op"] == "end_watches":
                self.generation += 1
            elif c["op"] == "token":
                self.token = c["token"]
            if c.get("save", True):
                self.save()
            self.cond.notify_all()


def make_handler(state, page):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_json(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def status(self, code, reason, message):
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": message, "reason": reason, "code": code}

        def do_GET(self):
            print("GET " + self.path, flush=True)
            if self.headers.get("Authorization") != "Bearer " + state.token:
                return self.send_json(401, self.status(401, "Unauthorized", "Unauthorized"))
            url = urllib.parse.urlsplit(self.path)
            res = PATHS.get(url.path)
            if res is None:
                return self.send_json(404, self.status(404, "NotFound", "the server could not find the requested resource"))
            q = dict(urllib.parse.parse_qsl(url.query))
            if q.get("watch") in ("1", "true"):
                return self.watch(res, q)
            return self.list(res, q)

        def list(self, res, q):
            limit = min(int(q.get("limit", "0")) or 1 << 30, page)
            with state.cond:
                if "continue" in q:
                    try:
                        start, rv = json.loads(base64.b64decode(q["continue"]))
                    except Exception:
                        return self.send_json(400, self.status(400, "BadRequest", "invalid continue token"))
                    if rv < state.oldest - 1:
                        return self.send_json(410, self.status(410, "Expired", "The provided continue parameter is too old"))
                else:
                    start, rv = 0, state.rv
                keys = sorted(state.objects[res])
                items = [dict((k, v) for k, v in state.objects[res][key].items() if k not in ("kind", "apiVersion"))
                         for key in keys[start:start + limit]]
                more = start + limit < len(keys)
            kind, api = LIST_KIND[res]
            meta = {"resourceVersion": str(rv)}
            if more:
                meta["continue"] = base64.b64encode(json.dumps([start + limit, rv]).encode()).decode()
            self.send_json(200, {"kind": kind, "apiVersion": api, "metadata": meta, "items": items})

        def chunk(self, body):
            data = (json.dumps(body) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def watch(self, res, q):
            rv = int(q.get("resourceVersion") or 0)
            deadline = time.monotonic() + int(q.get("timeoutSeconds", "1800"))
            bookmarks = q.get("allowWatchBookmarks") == "true"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                with state.cond:
                    generation = state.generation
                    if rv and rv < state.oldest - 1:
                        self.chunk({"type": "ERROR", "object": self.status(
                            410, "Expired", "too old resource version: %d (%d)" % (rv, state.oldest - 1))})
                        return self.end_stream()
                    next_bookmark = time.monotonic() + 1
                    while time.monotonic() < deadline and generation == state.generation:
                        for erv, eres, etype, obj in state.events:
                            if erv > rv and eres == res:
                                self.chunk({"type": etype, "object": obj})
                        rv = max(rv, state.rv)
                        if bookmarks and time.monotonic() >= next_bookmark:
                            kind = "Service" if res == "services" else "EndpointSlice"
                            self.chunk({"type": "BOOKMARK", "object": {"kind": kind, "metadata": {"resourceVersion": str(state.rv)}}})
                            next_bookmark = time.monotonic() + 1
                        state.cond.wait(0.2)
                self.end_stream()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass

        def end_stream(self):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--state", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--port", type=int, default=6443)
    p.add_argument("--page", type=int, default=500)
    a = p.parse_args()
    state = State(a.state)
    state.token = a.token
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(state, a.page))
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("listening", flush=True)
    for line in sys.stdin:
        if line.strip():
            state.command(json.loads(line))
            print("done", flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
