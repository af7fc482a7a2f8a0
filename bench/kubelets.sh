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
dir="$(mktemp -d /tmp/certguard-bench-kubelets.XXXXXX)"
cleanup() {
  test/cluster/down.sh "$dir" >/dev/null 2>&1 || true
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
UP_EXTRA_CONTROLLERS=certificatesigningrequest-approving-controller \
  test/cluster/up.sh "$dir" >"$dir/up.log" 2>&1 || { cat "$dir/up.log"; exit 1; }
kc="$dir/admin.kubeconfig"
kubectl="$(set -a && . "$dir/env" && echo "$KUBECTL")"
# certguard's CRDs, as an install has them (its policy informer waits for them).
"$kubectl" --kubeconfig "$kc" apply -f crds/ >/dev/null
"$kubectl" --kubeconfig "$kc" wait --for condition=established --timeout=60s -f crds/ >/dev/null
bootstrap="$(test/cluster/bootstrap-token.sh "$dir")"

# certguard at its defaults (flood guard included); the peers as bench/approval.sh runs them.
args=(--approver "certguard=env KUBECONFIG=$kc $build/operator/certguard run --kubeconfig $kc \
--leader-elect=false --controllers csr --metrics-bind-address 0 --health-bind-address 0")
while IFS=$'\t' read -r name state what; do
  if [[ "$state" != ok ]]; then
    args+=(--unavailable "$name=$what")
    continue
  fi
  case "$name" in
    kubelet-csr-approver)   # DNS checks bypassed; names and IPs limited to the bench's nodes
      args+=(--kcm-clients "$name" --approver "$name=env KUBECONFIG=$kc PROVIDER_REGEX='^bench-node-[0-9]+\$' \
PROVIDER_IP_PREFIXES=10.64.0.0/10 BYPASS_DNS_RESOLUTION=true $what \
--metrics-bind-address 0 --health-probe-bind-address 0") ;;
    kubelet-serving-cert-approver)   # its metrics (:9090) and probes (:8080) are fixed
      args+=(--kcm-clients "$name" --approver "$name=env KUBECONFIG=$kc $what serve") ;;
    *) args+=(--unavailable "$name=no command line known to the benchmark") ;;
  esac
done < <(peers="${BENCH_PEERS-kubelet-csr-approver kubelet-serving-cert-approver}"
         [[ -z "$peers" || "$peers" == 0 ]] || bash hack/tools/build-peers.sh $peers)

meta=(--meta "date=$(date -u +%FT%TZ)"
      --meta "machine=$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
      --meta "commit=$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- operator bench hack/tools 2>/dev/null || echo '+changes')"
      --meta "peer_source=$([[ -n "${PEER_SRC_DIR:-}" ]] && echo "git tags (PEER_SRC_DIR)" || echo "Go module proxy")"
      --meta "load=$(cut -d' ' -f1-3 /proc/loadavg)")
"$build/bench/certguard_bench_kubelets" --cluster "$dir" --bootstrap-kubeconfig "$bootstrap" \
  --kubelets "$kubelets" --timeout "${BENCH_TIMEOUT:-300}" "${meta[@]}" \
  --out "${BENCH_OUT:-$root/bench/results/kubelets.json}" "${args[@]}"
