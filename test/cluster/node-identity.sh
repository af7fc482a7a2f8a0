#!/usr/bin/env bash
# Mints the kubelet client identity of node NAME on the cluster of up.sh DIR,
# as a kubeadm cluster's kubelet has after bootstrap: an ECDSA P-256 key and a
# certificate CN=system:node:NAME, O=system:nodes signed by the cluster CA.
# Writes DIR/nodes/NAME.{key,crt,kubeconfig} and creates (or updates) the Node
# object NAME with the given addresses in its status.
#
# Usage: test/cluster/node-identity.sh DIR NAME [--address TYPE=VALUE]...
#   TYPE: InternalIP, ExternalIP, Hostname, InternalDNS or ExternalDNS.
# Prints the path of the kubeconfig.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage="usage: $0 DIR NAME [--address TYPE=VALUE]..."
[[ $# -ge 2 ]] || die "$usage"
dir="$(cd "$1" && pwd)"
name="$2"
shift 2
[[ "$name" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || die "invalid node name: $name"
addresses=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --address)
      [[ $# -ge 2 && "$2" == *=* ]] || die "$usage"
      type="${2%%=*}"
      case "$type" in
        InternalIP | ExternalIP | Hostname | InternalDNS | ExternalDNS) ;;
        *) die "unknown address type: $type" ;;
      esac
      addresses+=("$(jq -cn --arg t "$type" --arg a "${2#*=}" '{type: $t, address: $a}')")
      shift 2
      ;;
    *) die "$usage" ;;
  esac
done
load_env "$dir"

nodes="$dir/nodes"
mkdir -p "$nodes"
key="$nodes/$name.key" crt="$nodes/$name.crt" kc="$nodes/$name.kubeconfig"
openssl ecparam -name prime256v1 -genkey -noout -out "$key" 2>/dev/null
chmod 600 "$key"
ext="$(mktemp)"
trap 'rm -f "$ext" "$nodes/$name.csr"' EXIT
printf '%s\n' "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" >"$ext"
openssl req -new -key "$key" -subj "/O=system:nodes/CN=system:node:$name" -out "$nodes/$name.csr"
# The serial file is shared by every identity: one signing at a time.
flock "$dir/pki/ca.srl.lock" openssl x509 -req -in "$nodes/$name.csr" -CA "$CLUSTER_CA" -CAkey "$CLUSTER_CA_KEY" \
  -CAcreateserial -CAserial "$dir/pki/ca.srl" -days 365 -sha256 -extfile "$ext" \
  -out "$crt" 2>/dev/null

write_kubeconfig "$kc" "system:node:$name" "$name@certguard-test" \
  "client-certificate: $crt" "client-key: $key"

# The Node object, created as admin; its status carries the addresses the
# approver checks a serving CSR's SANs against.
kubectl=("$KUBECTL" --kubeconfig "$KUBECONFIG")
if ! "${kubectl[@]}" get node "$name" >/dev/null 2>&1; then
  jq -n --arg n "$name" '{apiVersion: "v1", kind: "Node",
      metadata: {name: $n, labels: {"kubernetes.io/hostname": $n}}}' |
    "${kubectl[@]}" create -f - >/dev/null
fi
status="$(printf '%s\n' "${addresses[@]}" | jq -cs '{status: {addresses: .}}')"
"${kubectl[@]}" patch node "$name" --subresource=status --type=merge -p "$status" >/dev/null
echo "$kc"
