#!/usr/bin/env bash
# Creates a bootstrap token on the cluster of up.sh DIR as `kubeadm token
# create` does, with the RBAC kubeadm gives the bootstrappers, and writes
# DIR/bootstrap.kubeconfig (the kubeconfig a joining kubelet starts with) and
# DIR/bootstrap.token (ID.SECRET). A kubelet using it authenticates as
# system:bootstrap:ID in groups system:bootstrappers and
# system:bootstrappers:kubeadm:default-node-token.
#
# Usage: test/cluster/bootstrap-token.sh DIR [--ttl DURATION]   (default 1h; GNU date syntax "2 hours")
# Prints the path of the kubeconfig.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 || ( $# -eq 3 && "$2" == --ttl ) ]] || die "usage: $0 DIR [--ttl DURATION]"
dir="$(cd "$1" && pwd)"
ttl="${3:-1 hour}"
load_env "$dir"

# [a-z0-9]{6} and [a-z0-9]{16}, as the token format requires (hex is a subset).
id="$(openssl rand -hex 3)"
secret="$(openssl rand -hex 8)"
expiration="$(date -u -d "now + $ttl" +%Y-%m-%dT%H:%M:%SZ)" || die "bad --ttl: $ttl"
group=system:bootstrappers:kubeadm:default-node-token

# The token, and kubeadm's RBAC for its group (whose name the YAML files spell out).
here="$(dirname "$0")"
"$KUBECTL" --kubeconfig "$KUBECONFIG" apply -f - -f "$here/kubeadm-bootstrap-rbac.yaml" \
  -f "$here/kubeadm-node-autoapprove.yaml" >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-token-$id
  namespace: kube-system
type: bootstrap.kubernetes.io/token
stringData:
  description: "certguard test bootstrap token"
  token-id: "$id"
  token-secret: "$secret"
  expiration: "$expiration"
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
  auth-extra-groups: "$group"
YAML

echo "$id.$secret" >"$dir/bootstrap.token"
chmod 600 "$dir/bootstrap.token"
write_kubeconfig "$dir/bootstrap.kubeconfig" tls-bootstrap-token-user \
  tls-bootstrap-token-user@certguard-test "token: $id.$secret"
chmod 600 "$dir/bootstrap.kubeconfig"
echo "$dir/bootstrap.kubeconfig"
