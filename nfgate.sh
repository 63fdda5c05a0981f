#!/usr/bin/env bash
# nfgate.sh — install what is missing, build, and run the demo, the tests or the benchmarks.
#   sudo ./nfgate.sh demo | test | bench | build | soak [SECONDS] | fuzz [SECONDS]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
build=${NFGATE_BUILD:-build}

# Every Debian 12 package the project needs, to build, to test and to benchmark.
packages=(
  meson ninja-build pkg-config g++ git
  libdpdk-dev dpdk libnftnl-dev libmnl-dev libyaml-dev libnetfilter-conntrack-dev
  libboost-program-options-dev libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libsimdjson-dev libcurl4-openssl-dev openssl libmicrohttpd-dev libpcap-dev prometheus tcpdump
  libsystemd-dev systemd
  nftables iproute2 conntrack python3 gnuplot-nox procps libxdp-dev libbpf-dev ethtool
  bird2
  clang libclang-rt-14-dev
)
# kubectl, a real client for the API-server stand-in's test: Debian's, unless one is on PATH
# already (google-cloud-sdk's `kubectl` package also ships /usr/bin/kubectl; the two conflict).
command -v kubectl >/dev/null || packages+=(kubernetes-client)

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "nfgate.sh: $1 needs root (network namespaces, nftables, DPDK): run it with sudo" >&2
    exit 1
  fi
}

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "nfgate.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build_all() {
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=release
  fi
  meson compile -C "$build"
}

# The libFuzzer targets of tests/fuzz (clang, ASan+UBSan, coverage on every object): first the
# regression inputs (each a crash once found), then SECONDS of fuzzing per target from the
# checked-in seeds. New corpus entries go to a scratch directory; a crash fails the run and its
# input is kept under $build-sanitize/crashes/ (add it to tests/fuzz/regressions/TARGET/).
# One clang build with ASan+UBSan serves the unit suites, the libFuzzer targets (every object
# carries libFuzzer's coverage instrumentation) and the sanitized soak.
san=${build}-sanitize
setup_sanitized() {
  if [ ! -f "$san/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$san" --buildtype=debugoptimized -Db_sanitize=address,undefined \
      -Db_lundef=false -Dbenchmarks=false -Dlab_tests=false -Dfuzz=true
  fi
}

run_fuzzers() {
  local seconds=$1 fz=$san rc=0
  setup_sanitized
  meson compile -C "$fz" tests/fuzz/fuzz_burst tests/fuzz/fuzz_loader tests/fuzz/fuzz_render tests/fuzz/fuzz_watch
  mkdir -p "$fz/crashes"
  for t in burst loader render watch; do
    local scratch regressions=("$here/tests/fuzz/regressions/$t"/*)
    scratch=$(mktemp -d)
    if [ -e "${regressions[0]}" ]; then
      "$fz/tests/fuzz/fuzz_$t" "${regressions[@]}" >"$scratch.log" 2>&1 ||
        { tail -40 "$scratch.log"; echo "nfgate.sh: fuzz_$t: a regression input fails again" >&2; rc=1; }
    fi
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
        "$fz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$fz/crashes/$t-" "$scratch" "$here/tests/fuzz/corpus/$t" >"$scratch.log" 2>&1; then
      grep -E "^(#[0-9]+[[:space:]]+DONE|fuzz_$t:)" "$scratch.log" | sed "s/^#/fuzz_$t: #/"
    else
      tail -60 "$scratch.log"; echo "nfgate.sh: fuzz_$t found a crash: input in $fz/crashes/" >&2; rc=1
    fi
    rm -rf "$scratch" "$scratch.log"
  done
  rm -rf /var/run/dpdk/nfgate_fuzz_burst  # fuzz_burst's EAL runtime directory
  rm -rf /tmp/nfgate-fuzz-*  # the loader/renderer fuzzers' scratch files (libFuzzer may exit past atexit)
  return $rc
}

cmd=${1:-help}
case "$cmd" in
  build)
    need_root build; install_missing; build_all ;;
  demo)
    need_root demo; install_missing; build_all
    exec "$here/tests/lab/demo.sh" "$build" ;;
  test)
    need_root test; install_missing; build_all
    meson test -C "$build" --print-errorlogs --num-processes 1
    # The conntrack table is lock-free: its unit and concurrency tests run again under
    # ThreadSanitizer, which sees races the plain build cannot.
    tsan=${build}-tsan
    if [ ! -f "$tsan/build.ninja" ]; then
      meson setup "$tsan" --buildtype=debugoptimized -Db_sanitize=thread -Dbenchmarks=false -Dlab_tests=false
    fi
    meson compile -C "$tsan" tests/conntrack/test_conntrack
    meson test -C "$tsan" --no-rebuild --print-errorlogs --suite conntrack
    # Every unit suite again under AddressSanitizer + UndefinedBehaviorSanitizer: any finding,
    # leaks included, fails the run.
    setup_sanitized
    unit_suites=(control_loader control_kube control_daemon control_api control_log_notify control_bgp control_metrics
                 nft_golden nft_kernel nft_traffic nft_flood conntrack engine worker_loop restart_fields fastpath_nat
                 fastpath_two_workers fastpath_start fastpath_start_errors fastpath_tap)
    meson compile -C "$san" tests/control/test_control_loader tests/control/test_control_kube tests/control/test_control_daemon \
      tests/control/test_control_api tests/control/test_control_log_notify tests/control/test_control_bgp \
      tests/control/test_control_metrics tests/nft/test_nft_golden tests/nft/test_nft_kernel tests/nft/test_nft_traffic \
      tests/nft/test_nft_flood tests/conntrack/test_conntrack tests/engine/test_engine tests/fastpath/test_worker_loop \
      tests/fastpath/test_restart_fields tests/fastpath/test_fastpath_nat tests/fastpath/test_fastpath_two_workers \
      tests/fastpath/test_fastpath_start tests/fastpath/test_fastpath_start_errors tests/fastpath/test_fastpath_tap \
      control/daemon/nfgate control/ctl/nfgatectl
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
      meson test -C "$san" --no-rebuild --print-errorlogs --num-processes 1 "${unit_suites[@]}"
    # The soak's short variant with the sanitized daemon, on each path: nothing lost across a
    # reload every second, no sanitizer report, no leak at exit.
    for path in kernel dpdk; do
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=64 \
        flock /tmp/nfgate-lab.lock python3 "$here/tests/lab/soak.py" --build "$san" --path "$path" \
        --seconds "${NFGATE_SOAK_SECONDS:-60}" --sanitized
    done
    # A short fuzzing run per target (`nfgate.sh fuzz` runs longer).
    run_fuzzers "${NFGATE_FUZZ_SECONDS:-10}"
    ;;
  fuzz)
    need_root fuzz; install_missing
    run_fuzzers "${2:-600}" ;;
  bench)
    need_root bench; install_missing; build_all
    exec "$here/bench/run_all.sh" "$build" ;;
  soak)
    # Established flows through the lab under a reload every second with endpoint churn, on
    # each path: 0 lost, memory flat (tests/lab/soak.py). Not part of `test`: 10 minutes each.
    need_root soak; install_missing; build_all
    seconds=${2:-600}
    rc=0
    for path in kernel dpdk; do
      python3 "$here/tests/lab/soak.py" --build "$build" --path "$path" --seconds "$seconds" || rc=1
    done
    exit $rc ;;
  *)
    echo "usage: sudo $0 demo | test | bench | build | soak [SECONDS] | fuzz [SECONDS]" >&2
    exit 2 ;;
esac
