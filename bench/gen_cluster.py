#!/usr/bin/env python3
"""Writes a synthetic cluster for nfgate: DIR/gateway.yaml plus DIR/cluster.yaml (or cluster.json).

  python3 bench/gen_cluster.py --services N --endpoints M --out DIR [--json] [--dataplane kernel|dpdk]
                               [--dual-stack]

Every Service gets one ClusterIP and an EndpointSlice with M ready endpoints, in the shape
`kubectl get services,endpointslices -A -o yaml|json` prints. Every 10th Service is a NodePort,
every 20th a LoadBalancer with an ingress IP (while NodePorts last), every 5th has a second,
named port whose targetPort is resolved through the slice, every 7th a UDP port.

Address plan (deterministic, so tests and benchmarks can compute what to expect):
  ClusterIP of service i:  serviceCIDR base + i + 1        (10.96.0.0/16, /12 when N > 60000)
  endpoint j of service i: 10.244.0.0 + 2 + (i*M + j) % 65000  (pods may back several Services)
  LB ingress IP of i:      198.18.0.0 + i + 1
  node address:            192.0.2.1 (ext), gateway pod-side address 10.244.0.1
With --dual-stack every Service is PreferDualStack with an IPv6 ClusterIP too, and an IPv6
EndpointSlice for the same pods:
  IPv6 ClusterIP of i:     fd00:10:96::(i + 1)        (fd00:10:96::/108)
  endpoint j of i:         fd00:10:244::(2 + (i*M + j) % 65000)
  LB ingress IPv6 of i:    2001:db8:18::(i + 1); node address 2001:db8:2::1
"""
import argparse
import json
import os
import sys

NODE_PORT_MIN = 30000
NODE_PORT_MAX = 32767
POD_BASE = (10 << 24) | (244 << 16)
LB_BASE = (198 << 24) | (18 << 16)
SVC_BASE = (10 << 24) | (96 << 16)


def ip(n):
    return "%d.%d.%d.%d" % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def endpoint_ip(i, j, m):
    return ip(POD_BASE + 2 + (i * m + j) % 65000)


def ip6(prefix, n):
    """prefix ("fd00:10:96::") + n in the last 32 bits."""
    return "%s%x:%x" % (prefix, n >> 16, n & 0xffff) if n >> 16 else "%s%x" % (prefix, n)


def build_objects(n, m, dual=False):
    """Yields (service, [slices]) dicts for n Services with m endpoints each."""
    node_ports_left = NODE_PORT_MAX - NODE_PORT_MIN + 1
    next_node_port = NODE_PORT_MIN
    for i in range(n):
        name = "svc-%05d" % i
        ns = "ns-%d" % (i % 50)
        ports = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
        slice_ports = [{"name": "http", "port": 8080, "protocol": "TCP"}]
        if i % 5 == 0:
            ports.append({"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"})
            slice_ports.append({"name": "https", "port": 8443, "protocol": "TCP"})
        if i % 7 == 0:
            ports.append({"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353})
            slice_ports.append({"name": "dns", "port": 5353, "protocol": "UDP"})

        svc_type = "ClusterIP"
        if i % 20 == 0 and node_ports_left >= len(ports):
            svc_type = "LoadBalancer"
        elif i % 10 == 0 and node_ports_left >= len(ports):
            svc_type = "NodePort"
        if svc_type != "ClusterIP":
            for p in ports:
                p["nodePort"] = next_node_port
                next_node_port += 1
                node_ports_left -= 1

        cluster_ip = ip(SVC_BASE + i + 1)
        spec = {
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip] + ([ip6("fd00:10:96::", i + 1)] if dual else []),
            "ipFamilies": ["IPv4", "IPv6"] if dual else ["IPv4"],
            "ports": ports,
            "selector": {"app": name},
            "sessionAffinity": "None",
            "type": svc_type,
        }
        if dual:
            spec["ipFamilyPolicy"] = "PreferDualStack"
        if svc_type != "ClusterIP":
            spec["externalTrafficPolicy"] = "Cluster"
        if i % 30 == 0:
            spec["sessionAffinity"] = "ClientIP"
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 600}}
        status = {"loadBalancer": {}}
        if svc_type == "LoadBalancer":
            status["loadBalancer"] = {"ingress": [{"ip": ip(LB_BASE + i + 1)}] +
                                                  ([{"ip": ip6("2001:db8:18::", i + 1)}] if dual else [])}
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": spec,
            "status": status,
        }
        endpoints = [{
            "addresses": [endpoint_ip(i, j, m)],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "nodeName": "node-%d" % (j % 8),
        } for j in range(m)]
        eps = {
            "addressType": "IPv4",
            "apiVersion": "discovery.k8s.io/v1",
            "endpoints": endpoints,
            "kind": "EndpointSlice",
            "metadata": {
                "name": name + "-abcde",
                "namespace": ns,
                "labels": {"kubernetes.io/service-name": name,
                           "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
            },
            "ports": slice_ports,
        }
        slices = [eps]
        if dual:
            eps6 = json.loads(json.dumps(eps))
            eps6["addressType"] = "IPv6"
            eps6["metadata"]["name"] = name + "-v6xyz"
            for j, e in enumerate(eps6["endpoints"]):
                e["addresses"] = [ip6("fd00:10:244::", 2 + (i * m + j) % 65000)]
            slices.append(eps6)
        yield service, slices


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"%s"' % v if (v == "" or v[0] in "*&!{[" or ":" in v) else v


def to_yaml(obj, indent, out):
    """Block-style YAML in kubectl's layout (sequences not indented under their key)."""
    pad = " " * indent
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict):
                if not v:
                    out.append("%s%s: {}\n" % (pad, k))
                else:
                    out.append("%s%s:\n" % (pad, k))
                    to_yaml(v, indent + 2, out)
            elif isinstance(v, list):
                if not v:
                    out.append("%s%s: []\n" % (pad, k))
                else:
                    out.append("%s%s:\n" % (pad, k))
                    to_yaml(v, indent, out)
            else:
                out.append("%s%s: %s\n" % (pad, k, yaml_scalar(v)))
    else:
        for item in obj:
            if isinstance(item, dict):
                sub = []
                to_yaml(item, indent + 2, sub)
                first = sub[0]
                sub[0] = pad + "- " + first[indent + 2:]
                out.extend(sub)
            else:
                out.append("%s- %s\n" % (pad, yaml_scalar(item)))


def gateway_yaml(n, dataplane, manifest, dual=False):
    service_cidr = "10.96.0.0/12" if n > 60000 else "10.96.0.0/16"
    lines = [
        "# generated by bench/gen_cluster.py",
        "dataplane: %s" % dataplane,
    ]
    if dataplane == "dpdk":
        lines += [
            'eal: [--no-huge, -m, "512", --no-pci, -l, "0-1"]',
            "workers: 1",
        ]
    six = lambda v: (', "%s"' % v) if dual else ""
    lines += [
        "nodeAddresses: [192.0.2.1%s]" % six("2001:db8:2::1"),
        "clusterCIDRs: [10.244.0.0/16%s]" % six("fd00:10:244::/64"),
        "serviceCIDRs: [%s%s]" % (service_cidr, six("fd00:10:96::/108")),
        "masquerade:",
        "  egress: true",
        "  nonMasqueradeCIDRs: [10.244.0.0/16%s]" % six("fd00:10:244::/64"),
        "  all: false",
    ]
    if dataplane == "dpdk":
        lines += [
            "interfaces:",
            "  - name: ext",
            '    device: "net_tap0,iface=nfg-ext"',
            "    address: 192.0.2.1/24",
            "  - name: pods",
            '    device: "net_tap1,iface=nfg-pods"',
            "    address: 10.244.0.1/16",
            "routes:",
            "  - { to: 0.0.0.0/0, via: 192.0.2.254 }",
        ]
    lines += [
        "conntrack:",
        "  maxFlows: 1048576",
        "nodePortRange: \"%d-%d\"" % (NODE_PORT_MIN, NODE_PORT_MAX),
        "manifests: [%s]" % manifest,
    ]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, required=True)
    ap.add_argument("--endpoints", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", action="store_true", help="write cluster.json as a kubectl List")
    ap.add_argument("--dataplane", choices=["kernel", "dpdk"], default="kernel")
    ap.add_argument("--dual-stack", action="store_true", help="IPv6 ClusterIPs and slices beside the IPv4 ones")
    args = ap.parse_args()
    if args.services < 0 or args.services > 1000000:
        sys.exit("gen_cluster.py: --services must be 0..1000000 (ClusterIPs come from 10.96.0.0/12)")
    if args.endpoints < 0 or args.endpoints > 65000:
        sys.exit("gen_cluster.py: --endpoints must be 0..65000 (endpoints come from 10.244.0.0/16)")

    os.makedirs(args.out, exist_ok=True)
    manifest = "cluster.json" if args.json else "cluster.yaml"
    with open(os.path.join(args.out, "gateway.yaml"), "w") as f:
        f.write(gateway_yaml(args.services, args.dataplane, manifest, args.dual_stack))

    path = os.path.join(args.out, manifest)
    if args.json:
        items = []
        for svc, slices in build_objects(args.services, args.endpoints, args.dual_stack):
            items.append(svc)
            items.extend(slices)
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                       "items": items}, f, indent=4)
            f.write("\n")
    else:
        with open(path, "w") as f:
            for svc, slices in build_objects(args.services, args.endpoints, args.dual_stack):
                for obj in [svc] + slices:
                    out = ["---\n"]
                    to_yaml(obj, 0, out)
                    f.write("".join(out))


if __name__ == "__main__":
    main()
