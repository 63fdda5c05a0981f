#!/usr/bin/env python3
"""A stand-in for the Kubernetes API server, for nfgate's tests (Debian 12 has no kube-apiserver).

  kube_api_stub.py --state FILE --cert CRT --key KEY --token TOKEN [--port 6443] [--page N]

HTTPS only; every request needs `Authorization: Bearer TOKEN` (401 otherwise). Serves what
nfgate reads and what kubectl asks for, as the API documents it, in application/json only (an
Accept header without it: 406; kubectl's request for a meta.k8s.io Table lists it as the
fallback and gets the plain list, which kubectl prints itself):
  GET /version, /api (APIVersions), /apis (APIGroupList), /api/v1 and /apis/discovery.k8s.io/v1
      (APIResourceList): legacy discovery, which clients asking for aggregated discovery
      (apidiscovery.k8s.io/v2) fall back to when it comes back as application/json.
  GET /api/v1/services, /apis/discovery.k8s.io/v1/endpointslices, also under /namespaces/NS/
      list: `limit` + `continue` paging (pages of at most --page items, as a server may return
      fewer than asked), items without kind/apiVersion, metadata.resourceVersion of the list;
      an expired continue token: 410 Gone (an unreadable one: 400).
      watch=1: a chunked stream of {"type","object"} lines from `resourceVersion` on; BOOKMARK
      events each second with allowWatchBookmarks; the stream ends after timeoutSeconds; a
      resourceVersion older than the oldest kept event: an ERROR event with a 410 Status.
  GET /api/v1/namespaces/NS/services/NAME, .../endpointslices/NAME: the object (with kind and
      apiVersion, as in watch events); 404 NotFound Status naming it when missing.
  GET /api/v1/namespaces[/NAME]: the namespaces of the objects held, and "default" (get, list).
  Anything else: 404 Status (405 for a watch of namespaces).
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
import collections
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The resources served, as the real API's discovery names them: group version (the path prefix is
# /api/v1 for the core group "v1", /apis/GROUP/VERSION otherwise), kind, short names, whether
# namespaced, and the verbs the stand-in serves (a real server has more). Namespaces are those of
# the objects held, and "default"; kubectl reads one after a NotFound in it, to say which is missing.
Resource = collections.namedtuple("Resource", "gv kind short namespaced verbs")
RESOURCES = {"services": Resource("v1", "Service", ["svc"], True, ["get", "list", "watch"]),
             "endpointslices": Resource("discovery.k8s.io/v1", "EndpointSlice", [], True, ["get", "list", "watch"]),
             "namespaces": Resource("v1", "Namespace", ["ns"], False, ["get", "list"])}
# GET of a collection, or of one object: /api/v1[/namespaces/NS]/RESOURCE[/NAME], or /apis/G/V/...
ROUTE = re.compile(r"^/(?:api|apis/[^/]+)/[^/]+(?:/namespaces/([^/]+))?/([^/]+)(?:/([^/]+))?$")
VERSION = "v1.32.0"  # /version: the release whose documented API the stand-in follows


def prefix(group_version):
    return "/api/" + group_version if "/" not in group_version else "/apis/" + group_version


def discovery(server_address):
    """The legacy discovery documents, by path (what a server without aggregated discovery, the
    application/json;g=apidiscovery.k8s.io;v=v2 answer, serves; clients fall back to these)."""
    major, minor = VERSION[1:].split(".")[:2]
    docs = {"/version": {"major": major, "minor": minor, "gitVersion": VERSION, "gitTreeState": "clean",
                         "compiler": "gc", "platform": "linux/amd64"},
            "/api": {"kind": "APIVersions", "versions": ["v1"],
                     "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]},
            "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}}
    for res, (gv, kind, short, namespaced, verbs) in RESOURCES.items():
        if prefix(gv) not in docs and "/" in gv:
            group, version = gv.split("/")
            docs["/apis"]["groups"].append({"name": group, "versions": [{"groupVersion": gv, "version": version}],
                                            "preferredVersion": {"groupVersion": gv, "version": version}})
            docs[prefix(gv)] = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": []}
        doc = docs.setdefault(prefix(gv), {"kind": "APIResourceList", "groupVersion": gv, "resources": []})
        r = {"name": res, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind, "verbs": verbs}
        if short:
            r["shortNames"] = short
        doc["resources"].append(r)
    return docs


def typed(res, obj):
    """obj with its kind and apiVersion, as a single GET and a watch event carry them (list items
    do not)."""
    gv, kind = RESOURCES[res][:2]
    return dict({"kind": kind, "apiVersion": gv}, **{k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})


def acceptable(accept):
    """Whether the Accept header allows plain application/json, the only media type served: a
    client asking for a Table (as=Table;g=meta.k8s.io) lists application/json after it as the
    fallback for servers without one; with none acceptable the answer is 406."""
    for media in (accept or "*/*").split(","):
        kind, *params = [p.strip() for p in media.split(";")]
        if kind in ("*/*", "application/*", "application/json") and not any(p.startswith("as=") for p in params):
            return True
    return False


def namespace_of(obj):
    return obj["metadata"].get("namespace", "default")


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

    def stored(self, res):
        """The objects of res held, by NAMESPACE/NAME (by NAME for a cluster-scoped resource)."""
        if res != "namespaces":
            return self.objects[res]
        names = {"default"} | {key.split("/")[0] for objects in self.objects.values() for key in objects}
        return {n: {"metadata": {"name": n}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                for n in names}

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
                key = "%s/%s" % (namespace_of(obj), obj["metadata"]["name"])
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
            say("GET " + self.path)
            if self.headers.get("Authorization") != "Bearer " + state.token:
                return self.send_json(401, self.status(401, "Unauthorized", "Unauthorized"))
            if not acceptable(self.headers.get("Accept")):
                return self.send_json(406, self.status(406, "NotAcceptable", "only application/json is served"))
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            doc = discovery("%s:%d" % self.server.server_address[:2]).get(url.path)
            if doc is not None:
                return self.send_json(200, doc)
            m = ROUTE.match(url.path)
            ns, res, name = m.groups() if m else (None, None, None)
            r = RESOURCES.get(res)
            if r is None or not url.path.startswith(prefix(r.gv) + "/") or \
                    (ns is not None and not r.namespaced) or (name is not None and ns is None and r.namespaced):
                return self.send_json(404, self.status(404, "NotFound", "the server could not find the requested resource"))
            if name:
                return self.get(res, ns, name)
            if q.get("watch") in ("1", "true"):
                if "watch" not in r.verbs:
                    message = "the server does not allow this method on the requested resource"
                    return self.send_json(405, self.status(405, "MethodNotAllowed", message))
                return self.watch(res, ns, q)
            return self.list(res, ns, q)

        def get(self, res, ns, name):
            with state.cond:
                obj = state.stored(res).get(name if ns is None else "%s/%s" % (ns, name))
                body = obj and typed(res, obj)
            if body is None:
                st = self.status(404, "NotFound", '%s "%s" not found' % (res, name))
                st["details"] = {"name": name, "kind": res}
                return self.send_json(404, st)
            self.send_json(200, body)

        def list(self, res, ns, q):
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
                stored = state.stored(res)
                keys = sorted(k for k in stored if ns is None or k.startswith(ns + "/"))
                items = [dict((k, v) for k, v in stored[key].items() if k not in ("kind", "apiVersion"))
                         for key in keys[start:start + limit]]
                more = start + limit < len(keys)
            gv, kind = RESOURCES[res][:2]
            meta = {"resourceVersion": str(rv)}
            if more:
                meta["continue"] = base64.b64encode(json.dumps([start + limit, rv]).encode()).decode()
            self.send_json(200, {"kind": kind + "List", "apiVersion": gv, "metadata": meta, "items": items})

        def chunk(self, body):
            data = (json.dumps(body) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def watch(self, res, ns, q):
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
                            if erv > rv and eres == res and ns in (None, namespace_of(obj)):
                                self.chunk({"type": etype, "object": typed(res, obj)})
                        rv = max(rv, state.rv)
                        if bookmarks and time.monotonic() >= next_bookmark:
                            gv, kind = RESOURCES[res][:2]
                            self.chunk({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": gv,
                                                                       "metadata": {"resourceVersion": str(state.rv)}}})
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


_OUT = threading.Lock()


def say(line):
    """One line on stdout, whole: request lines (server threads) and command answers (main
    thread) must never interleave, or the test reading them loses a "done"."""
    with _OUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


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
    say("listening")
    for line in sys.stdin:
        if line.strip():
            state.command(json.loads(line))
            say("done")
    server.shutdown()


if __name__ == "__main__":
    main()
