# What the benchmark scripts share; sourced by them (bench_start first where
# they use it, else with `root` set and the repository as the working directory).

# bench_start [BUILD_DIR]: sets root (the repository) and build (BUILD_DIR,
# else build/ of the repository), makes the repository the working directory,
# and builds the control-plane tools unless CERTGUARD_TOOLS names them.
bench_start() {
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  build="$(cd "${1:-$root/build}" && pwd)"
  cd "$root"
  [[ -n "${CERTGUARD_TOOLS:-}" ]] || bash hack/tools/build.sh -q >/dev/null
}

# bench_plane PREFIX [EXTRA_CONTROLLERS]: a fresh control plane in a new scratch
# directory /tmp/PREFIX.XXXXXX (removed on exit unless BENCH_KEEP=1), with
# certguard's CRDs as an install has them (its policy informer waits for them).
# EXTRA_CONTROLLERS go to kube-controller-manager (UP_EXTRA_CONTROLLERS of
# test/cluster/up.sh). Sets dir, kc (the admin's kubeconfig) and kubectl.
bench_plane() {
  dir="$(mktemp -d "/tmp/$1.XXXXXX")"
  trap bench_cleanup EXIT
  UP_EXTRA_CONTROLLERS="${2:-}" test/cluster/up.sh "$dir" >"$dir/up.log" 2>&1 ||
    { cat "$dir/up.log"; exit 1; }
  kc="$dir/admin.kubeconfig"
  kubectl="$(set -a && . "$dir/env" && echo "$KUBECTL")"
  "$kubectl" --kubeconfig "$kc" apply -f crds/ >/dev/null
  "$kubectl" --kubeconfig "$kc" wait --for condition=established --timeout=60s -f crds/ >/dev/null
}

bench_cleanup() {
  test/cluster/down.sh "$dir" >/dev/null 2>&1 || true
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}

# bench_peers [--kcm-clients]: appends to `args` an --approver for each peer of
# BENCH_PEERS that hack/tools/build-peers.sh built (an --unavailable with why
# for the others). With --kcm-clients, each peer is also named a kcm client:
# kube-controller-manager approves its client CSRs.
bench_peers() {
  local kcm=() name state what
  while IFS=$'\t' read -r name state what; do
    if [[ "$state" != ok ]]; then
      args+=(--unavailable "$name=$what")
      continue
    fi
    [[ "${1:-}" != --kcm-clients ]] || kcm=(--kcm-clients "$name")
    case "$name" in
      kubelet-csr-approver)   # DNS checks bypassed; names and IPs limited to the bench's nodes
        args+=("${kcm[@]}" --approver "$name=env KUBECONFIG=$kc PROVIDER_REGEX='^bench-node-[0-9]+\$' \
PROVIDER_IP_PREFIXES=10.64.0.0/10 BYPASS_DNS_RESOLUTION=true $what \
--metrics-bind-address 0 --health-probe-bind-address 0") ;;
      kubelet-serving-cert-approver)   # its metrics (:9090) and probes (:8080) are fixed
        args+=("${kcm[@]}" --approver "$name=env KUBECONFIG=$kc $what serve") ;;
      *) args+=(--unavailable "$name=no command line known to the benchmark") ;;
    esac
  done < <(peers="${BENCH_PEERS-kubelet-csr-approver kubelet-serving-cert-approver}"
           [[ -z "$peers" || "$peers" == 0 ]] || bash hack/tools/build-peers.sh $peers)
}

# bench_meta PATH...: sets `meta`, the --meta of the results: date, machine,
# commit (+changes when PATH... differ from it) and where the peers came from.
bench_meta() {
  meta=(--meta "date=$(date -u +%FT%TZ)"
        --meta "machine=$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
        --meta "commit=$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- "$@" 2>/dev/null || echo '+changes')"
        --meta "peer_source=$([[ -n "${PEER_SRC_DIR:-}" ]] && echo "git tags (PEER_SRC_DIR)" || echo "Go module proxy")")
}
