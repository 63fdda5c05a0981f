#!/usr/bin/env bash
# The peer benchmark end to end: builds its tools and nfgate in BUILD (unless --no-build), then
# runs both gateways on one veth topology (run_peer.py), all within 3 minutes. Needs root.
#   sudo bench/peer/run_peer.sh BUILD [--no-build] [run_peer.py options...]
# Prints the table; writes bench/results/peer.json. Exit 77 (skipped) without root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:?usage: run_peer.sh BUILD [--no-build] [run_peer.py options...]}
shift
build_tools=1
if [ "${1:-}" = "--no-build" ]; then
  build_tools=0
  shift
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "run_peer.sh: needs root (network namespaces, nftables, DPDK): skipped" >&2
  exit 77
fi

if [ "$build_tools" -eq 1 ]; then
  if ! meson compile -C "$build" peer_pktgen peer_pktsink peer_connbench nfgate >/dev/null; then
    # bench/peer not (yet) part of this build tree: the tools need nothing but a C++20 compiler.
    echo "run_peer.sh: meson has no peer targets in $build; compiling them directly" >&2
    meson compile -C "$build" nfgate >/dev/null
    mkdir -p "$build/bench/peer"
    for tool in pktgen pktsink connbench; do
      c++ -std=c++20 -O2 -Wall -Wextra -Werror -I"$repo" "$here/$tool.cpp" -o "$build/bench/peer/peer_$tool"
    done
  fi
fi

exec timeout 180 python3 "$here/run_peer.py" --build "$build" "$@"
