#!/usr/bin/env bash
# The approval benchmark (make bench-approval): a fresh control plane in a
# scratch directory, the peers built into the tool cache, then
# certguard_bench_approval runs certguard and each peer in turn against it and
# writes bench/results/approval.json. A peer that cannot be built is passed on
# as unavailable, with why, so it shows in the table.
#
# Usage: bench/approval.sh [BUILD_DIR]
# Env:   BENCH_NODES (100), BENCH_CSRS (1000), BENCH_ROUNDS (3: each approver's figures are
#        its median round), BENCH_LOAD_NODES (5000), BENCH_LOAD_CSRS (10000),
#        BENCH_KEEP=1 keeps the plane's directory (logs of every approver in bench-logs/),
#        BENCH_PEERS (the peers to run; 0 or empty: certguard only), BENCH_FORMER_DEFAULTS=1 (below), PEER_SRC_DIR (see hack/tools/build-peers.sh),
#        BENCH_BASELINE=1 also runs baseline-no-checks, an approver that checks nothing
#        on certguard's client (bench/baseline_approver.cpp; docs/benchmarks.md says why),
#        BENCH_OUT (bench/results/approval.json), CERTGUARD_TOOLS (a directory with etcd,
#        kube-apiserver, kube-controller-manager and kubectl: hack/tools/build.sh is not run)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_start "${1:-}"
bench_plane certguard-bench

# Every approver gets the admin's kubeconfig and runs without leader election,
# metrics or health servers where it allows that, and without pending caps:
# the benchmark floods on purpose.
args=(--approver "certguard=env KUBECONFIG=$kc $build/operator/certguard run --kubeconfig $kc \
--leader-elect=false --controllers csr --metrics-bind-address 0 --health-bind-address 0 \
--csr-max-pending 0 --csr-max-pending-per-node 0 --csr-superseded=off")
# BENCH_FORMER_DEFAULTS=1: also certguard as it was before the client limit went
# (20 QPS, burst 30, and 2 workers), for a before/after in one run.
if [[ "${BENCH_FORMER_DEFAULTS:-0}" == 1 ]]; then
  args+=(--approver "${args[1]/certguard=/certguard-qps20=} --kube-api-qps 20 --kube-api-burst 30 --workers 2")
fi
if [[ "${BENCH_BASELINE:-0}" == 1 ]]; then
  args+=(--approver "baseline-no-checks=env KUBECONFIG=$kc $build/bench/certguard_bench_baseline_approver")
fi
bench_peers
bench_meta operator bench
"$build/bench/certguard_bench_approval" --cluster "$dir" "${meta[@]}" \
  --nodes "${BENCH_NODES:-100}" --csrs "${BENCH_CSRS:-1000}" --rounds "${BENCH_ROUNDS:-3}" \
  --load-nodes "${BENCH_LOAD_NODES:-5000}" --load-csrs "${BENCH_LOAD_CSRS:-10000}" \
  --out "${BENCH_OUT:-$root/bench/results/approval.json}" "${args[@]}"
