#!/usr/bin/env bash
# The local demo: a real control plane (etcd, kube-apiserver, kube-controller-manager
# signing approved CSRs) on 127.0.0.1, certguard approving kubelet CSRs, three
# simulated kubelets, one attacker, a TrustBundle reaching labelled namespaces, the
# decision metrics, days to expiry from /metrics and the expiry table. Stops
# everything it started, whatever happens.
#
# Usage: hack/demo.sh [BUILD_DIR]        (make demo builds first, then runs this)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
build="${1:-build}"
certguard="$repo/$build/operator/certguard"
[[ -x "$certguard" ]] || { echo "demo: no certguard binary at $certguard (run make build)" >&2; exit 1; }

dir="$(mktemp -d /tmp/certguard-demo.XXXXXX)"
cg_pid=""
cleanup() {
  local rc=$?
  [[ -n "$cg_pid" ]] && kill "$cg_pid" 2>/dev/null && wait "$cg_pid" 2>/dev/null
  [[ -f "$dir/env" ]] && test/cluster/down.sh "$dir" >/dev/null 2>&1
  if [[ $rc -ne 0 ]]; then
    echo "demo: FAILED (exit $rc). Logs kept in $dir/logs (certguard: $dir/logs/certguard.log)" >&2
  else
    rm -rf "$dir"
  fi
  exit $rc
}
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
start=$SECONDS

step "Control plane: etcd, kube-apiserver, kube-controller-manager (CSR signer, no approver)"
test/cluster/up.sh "$dir"
# shellcheck disable=SC1091
source "$dir/env"
export KUBECONFIG
k() { "$KUBECTL" "$@"; }

step "CRDs and certguard"
k apply -f crds/ >/dev/null
k wait --for=condition=Established crd --all --timeout=60s >/dev/null
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
health_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$dir/logs"
"$certguard" run --kubeconfig "$KUBECONFIG" --leader-elect=false \
  --metrics-bind-address "127.0.0.1:$metrics_port" --health-bind-address "127.0.0.1:$health_port" \
  >"$dir/logs/certguard.log" 2>&1 &
cg_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$health_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$cg_pid" 2>/dev/null || { cat "$dir/logs/certguard.log" >&2; exit 1; }
  sleep 0.2
done
curl -fs "http://127.0.0.1:$health_port/readyz" >/dev/null || { echo "certguard never became ready" >&2; exit 1; }
echo "certguard ready (metrics on 127.0.0.1:$metrics_port); no CSRApprovalPolicy exists, so the built-in default applies"

step "Three kubelets ask for client and serving certificates"
declare -A ip=([worker-1]=10.0.0.11 [worker-2]=10.0.0.12 [worker-3]=10.0.0.13)
for n in worker-1 worker-2 worker-3; do
  kc=$(test/cluster/node-identity.sh "$dir" "$n" --address "InternalIP=${ip[$n]}" --address "Hostname=$n")
  test/cluster/kubelet-csr.sh create --kubeconfig "$kc" --node "$n" --type client \
    --out "$dir/nodes/$n-client" >/dev/null
  test/cluster/kubelet-csr.sh create --kubeconfig "$kc" --node "$n" --type serving \
    --dns "$n" --ip "${ip[$n]}" --out "$dir/nodes/$n-serving" >/dev/null
done

step "An attacker on worker-1 asks for a serving certificate with worker-2's IP"
test/cluster/kubelet-csr.sh create --kubeconfig "$dir/nodes/worker-1.kubeconfig" --node worker-1 \
  --type serving --dns worker-1 --ip 10.0.0.12 --out "$dir/nodes/attacker" >/dev/null

for f in "$dir"/nodes/*-client.name "$dir"/nodes/*-serving.name "$dir/nodes/attacker.name"; do
  prefix="${f%.name}"
  result=$(test/cluster/kubelet-csr.sh wait --kubeconfig "$KUBECONFIG" --name "$(cat "$f")" \
    --out "$prefix" --timeout 60 || true)
  printf '%-22s %s\n' "$(basename "$prefix")" "$result"
done
k get csr -o custom-columns='NAME:.metadata.name,SIGNER:.spec.signerName,REQUESTOR:.spec.username,CONDITION:.status.conditions[*].type,CERT:.status.certificate' \
  | sed -E 's/(\S{12})\S{20,}$/\1.../'
echo
echo "Why the attacker was denied (its Event and condition):"
attacker="$(cat "$dir/nodes/attacker.name")"
k get csr "$attacker" -o jsonpath='{range .status.conditions[*]}{.type}: {.reason}: {.message}{"\n"}{end}'
k get events -A --field-selector "involvedObject.name=$attacker" -o custom-columns='TYPE:.type,REASON:.reason,MESSAGE:.message' --no-headers || true

step "A TrustBundle: the cluster CA into every namespace labelled certguard.io/cluster-ca=inject"
for ns in team-a team-b team-c; do
  k create namespace "$ns" >/dev/null
  k label namespace "$ns" certguard.io/cluster-ca=inject >/dev/null
done
k apply -f deploy/examples/trustbundle-kubeadm.yaml >/dev/null
for _ in $(seq 1 50); do
  n=$(k get configmap -A --field-selector metadata.name=cluster-ca --no-headers 2>/dev/null | wc -l)
  [[ "$n" -ge 3 ]] && break
  sleep 0.2
done
k get configmap -A --field-selector metadata.name=cluster-ca
k get trustbundles

step "certguard's decisions, from /metrics"
metrics() { curl -fs "http://127.0.0.1:$metrics_port/metrics"; }
metrics | grep -E '^certguard_(csr_decisions_total|trustbundle_certificates|build_info)' || true

step "Days to expiry of every certificate certguard watches, from /metrics"
# The issued kubelet certificates and the bundle reach the inventory through watches.
for _ in $(seq 1 50); do
  metrics | grep -q '^certguard_certificate_expiry_days{.*source_kind="csr"' && break
  sleep 0.2
done
metrics | grep -E '^certguard_certificate_expiry_days' | sed -E 's/serial="[0-9A-F]+",?//' \
  || { echo "no certguard_certificate_expiry_days series" >&2; exit 1; }

step "Expiry of the certificates the kubelets now hold (certguard certs check-expiration)"
"$certguard" certs check-expiration --path "$dir/nodes" --path "$CLUSTER_CA"

step "Done in $((SECONDS - start))s; stopping everything"
