#!/usr/bin/env bash
# Runs every benchmark of the project and writes bench/results/: Google Benchmark JSON of the
# micro benchmarks, the kernel-path sync benchmark, the fast-path throughput harness, and
# gnuplot PNGs of whatever data came out. Timings never fail the run; lost or mistranslated
# packets in the throughput harness, or a benchmark that crashes, do (exit status 1).
#
#   bench/run_all.sh [BUILD_DIR]          (nfgate.sh bench passes its build dir)
#
# Budget: under 10 minutes in all; each step has its own time limit and a step that hits it
# keeps what it wrote (NFGATE_BENCH_QUICK=1 shrinks every step for a smoke run).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
build=$(cd "${1:-$src/build}" && pwd) || { echo "run_all.sh: no build dir ${1:-$src/build}" >&2; exit 2; }
results="$src/bench/results"
mkdir -p "$results"
quick=${NFGATE_BENCH_QUICK:-0}
status=0
started=$(date +%s)

step() {  # step NAME LIMIT_SECONDS CMD...: runs CMD under a time limit, logs to results/NAME.log
  local name=$1 limit=$2
  shift 2
  if [ ! -x "$1" ] && ! command -v "$1" >/dev/null 2>&1; then
    echo "== $name: skipped ($1 not built)"
    return 0
  fi
  echo "== $name (limit ${limit}s)"
  local t0=$(date +%s)
  timeout --signal=INT --kill-after=10 "$limit" "$@" 2>&1 | tee "$results/$name.log" | tail -n 40
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $(( $(date +%s) - t0 ))s"
  case $rc in
    0) ;;
    124) echo "== $name: hit its ${limit}s limit; results so far are kept" ;;
    77) echo "== $name: skipped by the benchmark itself" ;;
    *) status=1 ;;
  esac
}

gbench() {  # gbench NAME LIMIT BINARY: a Google Benchmark binary with JSON out
  local name=$1 limit=$2 bin=$3
  local min_time=0.1
  [ "$quick" = 1 ] && min_time=0.02
  step "$name" "$limit" "$bin" --benchmark_min_time="$min_time" \
    --benchmark_out="$results/$name.json" --benchmark_out_format=json --benchmark_color=false
}

gbench bench_conntrack 90 "$build/bench/conntrack/bench_conntrack"
gbench bench_engine 60 "$build/bench/engine/bench_engine"
gbench bench_loader 40 "$build/bench/loader/bench_loader"

nft_sizes=${NFGATE_NFT_BENCH_SIZES:-1000,10000}
[ "$quick" = 1 ] && nft_sizes=1000
if [ -x "$build/bench/nft/nft_sync_bench" ]; then
  step nft_sync 90 python3 "$src/bench/nft/sync_bench.py" "$build" "$src" --sizes "$nft_sizes"
else
  echo "== nft_sync: skipped (nft_sync_bench not built)"
fi

throughput_args=(--out "$results")
[ "$quick" = 1 ] && throughput_args+=(--quick)
step throughput 200 "$build/bench/harness/nfgate_throughput" "${throughput_args[@]}"

# The peer comparison (kernel path vs fast path over veth, real sockets); exit 77 = skipped.
if [ -x "$src/bench/peer/run_peer.sh" ] && [ -x "$build/bench/peer/peer_pktgen" ]; then
  peer_trials=2
  [ "$quick" = 1 ] && peer_trials=1
  step peer 110 "$src/bench/peer/run_peer.sh" "$build" --no-build --trials "$peer_trials"
else
  echo "== peer: skipped (bench/peer tools not built)"
fi

# The fast path end to end over net_memif (memif_gen, a DPDK process of its own); 77 = skipped.
if [ -x "$build/bench/memif/memif_gen" ]; then
  memif_args=(--build "$build")
  [ "$quick" = 1 ] && memif_args+=(--quick)
  step memif 180 python3 "$src/bench/memif/run_memif.py" "${memif_args[@]}"
else
  echo "== memif: skipped (memif_gen not built)"
fi

echo "== plots"
python3 "$here/harness/plot_results.py" "$results" || echo "== plots: failed (data kept)"

echo "== done in $(( $(date +%s) - started ))s; results in $results"
ls -1 "$results"
exit $status
