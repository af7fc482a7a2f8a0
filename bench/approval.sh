#!/usr/bin/env bash
# The approval benchmark (make bench-approval): a fresh control plane in a
# scratch directory, the peers built into the tool cache, then
# certguard_bench_approval runs certguard and each peer in turn against it and
# writes bench/results/approval.json. A peer that cannot be built is passed on
# as unavailable, with why, so it shows in the table.
#
# Usage: bench/approval.sh [BUILD_DIR]
# Env:   BENCH_NODES (100), BENCH_CSRS (1000), BENCH_LOAD_NODES (5000), BENCH_LOAD_CSRS (10000),
#        BENCH_KEEP=1 keeps the plane's directory (logs of every approver in bench-logs/),
#        BENCH_PEERS (the peers to run; 0 or empty: certguard only), BENCH_FORMER_DEFAULTS=1 (below), PEER_SRC_DIR (see hack/tools/build-peers.sh),
#        BENCH_OUT (bench/results/approval.json), CERTGUARD_TOOLS (a directory with etcd,
#        kube-apiserver, kube-controller-manager and kubectl: hack/tools/build.sh is not run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
cd "$root"

[[ -n "${CERTGUARD_TOOLS:-}" ]] || bash hack/tools/build.sh -q >/dev/null
dir="$(mktemp -d /tmp/certguard-bench.XXXXXX)"
cleanup() {
  test/cluster/down.sh "$dir" >/dev/null 2>&1 || true
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
test/cluster/up.sh "$dir" >"$dir/up.log" 2>&1 || { cat "$dir/up.log"; exit 1; }
kc="$dir/admin.kubeconfig"
kubectl="$(set -a && . "$dir/env" && echo "$KUBECTL")"
# certguard's CRDs, as an install has them (its policy informer waits for them).
"$kubectl" --kubeconfig "$kc" apply -f crds/ >/dev/null
"$kubectl" --kubeconfig "$kc" wait --for condition=established --timeout=60s -f crds/ >/dev/null

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
while IFS=$'\t' read -r name state what; do
  if [[ "$state" != ok ]]; then
    args+=(--unavailable "$name=$what")
    continue
  fi
  case "$name" in
    kubelet-csr-approver)   # DNS checks bypassed; names and IPs limited to the bench's nodes
      args+=(--approver "$name=env KUBECONFIG=$kc PROVIDER_REGEX='^bench-node-[0-9]+\$' \
PROVIDER_IP_PREFIXES=10.64.0.0/10 BYPASS_DNS_RESOLUTION=true $what \
--metrics-bind-address 0 --health-probe-bind-address 0") ;;
    kubelet-serving-cert-approver)   # its metrics (:9090) and probes (:8080) are fixed
      args+=(--approver "$name=env KUBECONFIG=$kc $what serve") ;;
    *) args+=(--unavailable "$name=no command line known to the benchmark") ;;
  esac
done < <(peers="${BENCH_PEERS-kubelet-csr-approver kubelet-serving-cert-approver}"
         [[ -z "$peers" || "$peers" == 0 ]] || bash hack/tools/build-peers.sh $peers)

meta=(--meta "date=$(date -u +%FT%TZ)"
      --meta "machine=$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
      --meta "commit=$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- operator bench 2>/dev/null || echo '+changes')"
      --meta "peer_source=$([[ -n "${PEER_SRC_DIR:-}" ]] && echo "git tags (PEER_SRC_DIR)" || echo "Go module proxy")")
"$build/bench/certguard_bench_approval" --cluster "$dir" "${meta[@]}" \
  --nodes "${BENCH_NODES:-100}" --csrs "${BENCH_CSRS:-1000}" \
  --load-nodes "${BENCH_LOAD_NODES:-5000}" --load-csrs "${BENCH_LOAD_CSRS:-10000}" \
  --out "${BENCH_OUT:-$root/bench/results/approval.json}" "${args[@]}"
