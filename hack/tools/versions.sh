# Pinned tool versions. Sourced by build.sh and gen-wrappers.sh; changing a
# version here (then running gen-wrappers.sh) makes build.sh rebuild that tool.
KUBERNETES_VERSION=v1.34.4    # k8s.io/kubernetes; staging modules are v0.34.4
ETCD_VERSION=v3.6.16          # go.etcd.io/etcd/server/v3
HELM_VERSION=v3.22.0          # helm.sh/helm/v3
PROMETHEUS_VERSION=v0.316.0   # github.com/prometheus/prometheus (promtool, release v3.x)
PROMETHEUS_OPERATOR_VERSION=v0.85.0  # github.com/prometheus-operator/prometheus-operator (its CRDs, for the chart checks)
