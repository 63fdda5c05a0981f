#!/usr/bin/env bash
# The two-pod service-test demo (`sudo ./nfgate.sh demo` runs it with the build dir).
#   tests/lab/demo.sh BUILDDIR [--path kernel|dpdk|both]
set -euo pipefail
build=${1:?usage: demo.sh BUILDDIR [--path kernel|dpdk|both]}
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
exec "$python" "$here/demo.py" --build "$build" "$@"
