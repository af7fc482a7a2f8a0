#!/usr/bin/env bash
# The trust benchmark (make bench-trust): certguard_bench_trust on a plane of its
# own, trust-manager built into the tool cache, the results written to
# bench/results/trust.json with the date, machine and commit.
#
# Usage: bench/trust.sh [BUILD_DIR] [certguard_bench_trust flags, e.g. --namespaces 500]
# Env:   PEER_SRC_DIR (see hack/tools/build-peers.sh), BENCH_OUT (bench/results/trust.json)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
shift || true
cd "$root"

bash hack/tools/build.sh -q >/dev/null
. bench/lib.sh
bench_meta operator bench
"$build/bench/certguard_bench_trust" "${meta[@]}" --out "${BENCH_OUT:-$root/bench/results/trust.json}" "$@"
