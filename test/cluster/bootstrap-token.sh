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

"$KUBECTL" --kubeconfig "$KUBECONFIG" apply -f - >/dev/null <<YAML
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
---
# kubeadm: bootstrappers may create node CSRs...
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:kubelet-bootstrap
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:node-bootstrapper"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "$group"}
---
# ...which the approver may auto-approve (nodeclient: first client certificate)...
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:node-autoapprove-bootstrap
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:certificates.k8s.io:certificatesigningrequests:nodeclient"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "$group"}
---
# ...as it may a node's renewal of its own client certificate (selfnodeclient).
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:node-autoapprove-certificate-rotation
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:nodes"}
---
# kubeadm join reads the Node it joins as.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubeadm:get-nodes
rules:
- {apiGroups: [""], resources: ["nodes"], verbs: ["get"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:get-nodes
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "kubeadm:get-nodes"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "$group"}
YAML

echo "$id.$secret" >"$dir/bootstrap.token"
chmod 600 "$dir/bootstrap.token"
cat >"$dir/bootstrap.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: certguard-test
  cluster:
    server: $KUBE_SERVER
    certificate-authority: $CLUSTER_CA
users:
- name: tls-bootstrap-token-user
  user:
    token: $id.$secret
contexts:
- name: tls-bootstrap-token-user@certguard-test
  context: {cluster: certguard-test, user: tls-bootstrap-token-user}
current-context: tls-bootstrap-token-user@certguard-test
KC
chmod 600 "$dir/bootstrap.kubeconfig"
echo "$dir/bootstrap.kubeconfig"
