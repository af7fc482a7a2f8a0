#!/usr/bin/env bash
# The mass-restart benchmark (make bench-kubelets): a fresh control plane in a
# scratch directory whose kube-controller-manager also runs its own CSR
# approver (as kubeadm and Talos clusters do), a bootstrap token, the peers
# built into the tool cache, then certguard_bench_kubelets starts KUBELETS
# real kubelets (kubelet-certs) at once for certguard and each peer in turn and
# writes bench/results/kubelets.json. A peer that cannot be built is passed on
# as unavailable, with why, so it shows in the table.
#
# certguard decides both kinds of kubelet CSR itself (kubeadm's auto-approve
# bindings are removed during its round, so kube-controller-manager approves
# none). The peers approve serving CSRs only: their client CSRs are approved by
# kube-controller-manager, with kubeadm's bindings, as in their users' clusters.
#
# Usage: bench/kubelets.sh [BUILD_DIR] [--kubelets N]
# Env:   BENCH_KUBELETS (200; --kubelets wins), BENCH_TIMEOUT (300 s per round),
#        BENCH_KEEP=1 keeps the plane's directory (logs in bench-logs/),
#        BENCH_PEERS (the peers to run; 0 or empty: certguard only), PEER_SRC_DIR (see
#        hack/tools/build-peers.sh), BENCH_OUT (bench/results/kubelets.json)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
kubelets="${BENCH_KUBELETS:-200}"
while (($#)); do
  case "$1" in
    --kubelets) kubelets="${2:?--kubelets needs a number}"; shift 2 ;;
    -*) echo "unknown flag $1" >&2; exit 2 ;;
    *) build="$1"; shift ;;
  esac
done
build="$(cd "$build" && pwd)"
cd "$root"

bash hack/tools/build.sh -q >/dev/null
. bench/lib.sh
bench_plane certguard-bench-kubelets certificatesigningrequest-approving-controller
bootstrap="$(test/cluster/bootstrap-token.sh "$dir")"

# certguard at its defaults (flood guard included); the peers as bench/approval.sh runs them.
args=(--approver "certguard=env KUBECONFIG=$kc $build/operator/certguard run --kubeconfig $kc \
--leader-elect=false --controllers csr --metrics-bind-address 0 --health-bind-address 0")
bench_peers --kcm-clients
bench_meta operator bench hack/tools
meta+=(--meta "load=$(cut -d' ' -f1-3 /proc/loadavg)")
"$build/bench/certguard_bench_kubelets" --cluster "$dir" --bootstrap-kubeconfig "$bootstrap" \
  --kubelets "$kubelets" --timeout "${BENCH_TIMEOUT:-300}" "${meta[@]}" \
  --out "${BENCH_OUT:-$root/bench/results/kubelets.json}" "${args[@]}"
