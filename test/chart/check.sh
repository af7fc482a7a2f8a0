#!/usr/bin/env bash
# Checks the Helm chart against the real control plane of $CERTGUARD_TEST_CLUSTER:
#  - the chart's copies (CRDs, alert rules) and deploy/certguard.yaml are up to date;
#  - helm lint --strict, with the default values and every example values file;
#  - every rendering, applied with a server-side dry run, is accepted by kube-apiserver
#    (the CRDs are installed first, so the example policies and bundles are validated too);
#  - the PrometheusRule rendered with default thresholds equals deploy/prometheus's;
#  - the ClusterRole lets certguard approve for the two kubelet signers and nothing else.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
cluster="${CERTGUARD_TEST_CLUSTER:?CERTGUARD_TEST_CLUSTER is not set: no control plane}"
[[ -f "$cluster/env" ]] || { echo "no control plane in $cluster" >&2; exit 1; }
# shellcheck disable=SC1091
source "$cluster/env"
export KUBECONFIG
helm="$TOOLS_DIR/helm"
k() { "$KUBECTL" "$@"; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass=0
# The documents of rendered YAML files but SecurityContextConstraints.
no_scc() { awk 'BEGIN { RS = "\n---\n"; ORS = "\n---\n" } !/\nkind: SecurityContextConstraints\n/' "$@"; }
ok() { echo "ok: $*"; pass=$((pass + 1)); }

HELM="$helm" bash hack/sync-chart.sh --check || fail "chart copies or deploy/certguard.yaml out of date"
ok "chart copies and deploy/certguard.yaml up to date"

k apply -f crds/ >/dev/null
k wait --for=condition=Established crd/csrapprovalpolicies.certguard.io crd/trustbundles.certguard.io --timeout=60s >/dev/null
ns=certguard-chart-check
k create namespace "$ns" --dry-run=client -o yaml | k apply -f - >/dev/null

for values in "" charts/certguard/examples/*.yaml; do
  label="${values:-default values}"
  args=(); [[ -n "$values" ]] && args=(-f "$values")
  "$helm" lint --strict charts/certguard "${args[@]}" >"$tmp/lint" 2>&1 || { cat "$tmp/lint" >&2; fail "helm lint ($label)"; }
  # CRDs are applied above; the monitoring kinds need the Prometheus operator, checked apart.
  "$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 "${args[@]}" \
    --set crds.install=false --set prometheusRule.enabled=false --set serviceMonitor.enabled=false \
    >"$tmp/render.yaml" || fail "helm template ($label)"
  # The plane has no OpenShift API: an SCC (okd.yaml) is checked apart, below.
  no_scc "$tmp/render.yaml" >"$tmp/render-k8s.yaml"
  k apply --dry-run=server -f "$tmp/render-k8s.yaml" >"$tmp/apply" 2>&1 || { cat "$tmp/apply" >&2; fail "server dry run ($label)"; }
  ok "$label: lint, render and server-side dry run ($(grep -c '^kind:' "$tmp/render.yaml") objects)"
done

# The CRDs as the chart installs them (with crds.install=true) are accepted too.
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 --show-only templates/crds.yaml >"$tmp/crds.yaml"
[[ "$(grep -c '^kind: CustomResourceDefinition' "$tmp/crds.yaml")" -eq "$(ls crds/*.yaml | wc -l)" ]] || fail "chart renders a CRD per file of crds/"
k apply --dry-run=server -f "$tmp/crds.yaml" >/dev/null || fail "chart CRDs rejected"
grep -q 'helm.sh/resource-policy: keep' "$tmp/crds.yaml" || fail "crds.keep=true must mark the CRDs keep"
ok "chart CRDs accepted and kept on uninstall"

k apply --dry-run=server -f deploy/examples/ >"$tmp/examples" 2>&1 || { cat "$tmp/examples" >&2; fail "deploy/examples rejected"; }
ok "deploy/examples accepted ($(wc -l <"$tmp/examples") objects)"

"$helm" template certguard charts/certguard --kube-version 1.34.0 --set prometheusRule.enabled=true \
  --show-only templates/prometheusrule.yaml | sed -n '/^spec:/,$p' >"$tmp/chart-rules"
sed -n '/^spec:/,$p' deploy/prometheus/certguard-prometheusrule.yaml >"$tmp/plain-rules"
diff -u "$tmp/plain-rules" "$tmp/chart-rules" || fail "chart PrometheusRule differs from deploy/prometheus"
ok "chart PrometheusRule equals deploy/prometheus with default thresholds"
"$helm" template certguard charts/certguard --kube-version 1.34.0 --set prometheusRule.enabled=true \
  --set prometheusRule.thresholds.expiryWarningDays=45 --show-only templates/prometheusrule.yaml \
  | grep -q 'certguard:certificate_expiry_days:min < 45' || fail "thresholds are not set through values"
ok "alert thresholds set through values"

# The Grafana dashboard: a ConfigMap the API server accepts, valid JSON, and every
# metric its queries read is one certguard exports (a renamed metric breaks this).
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 --set grafanaDashboard.enabled=true \
  --show-only templates/grafana-dashboard.yaml >"$tmp/dashboard.yaml"
k apply --dry-run=server -f "$tmp/dashboard.yaml" -o jsonpath='{.data.certguard\.json}' >"$tmp/dashboard.json" \
  || fail "dashboard ConfigMap rejected"
jq -e '.panels | length > 0' "$tmp/dashboard.json" >/dev/null || fail "dashboard is not JSON with panels"
grep -q 'grafana_dashboard: "1"' "$tmp/dashboard.yaml" || fail "dashboard lacks the sidecar label"
queried="$(jq -r '.. | objects | .expr? // empty' "$tmp/dashboard.json" | grep -oE 'certguard_[a-z_]+' \
  | sed -E 's/_(bucket|sum|count)$//' | sort -u)"
[[ -n "$queried" ]] || fail "dashboard queries no certguard metric"
for m in $queried; do
  grep -rqF "\"$m\"" operator/ || fail "dashboard queries $m, which certguard does not export"
done
ok "Grafana dashboard accepted; its $(echo "$queried" | wc -l) metrics are all exported"

# The monitoring objects on the plane: prometheus-operator's CRDs as its Go module holds them
# (hack/tools/prometheus-operator-crds.sh), then the chart's ServiceMonitor, PrometheusRule and
# the node agent's PodMonitor: a server-side dry run, a real apply (strict field validation
# against the CRDs' schemas), read back, deleted.
mon_crds="$(bash hack/tools/prometheus-operator-crds.sh)" || fail "prometheus-operator CRDs not fetched"
# Server-side: these CRDs are over client-side apply's annotation limit.
k apply --server-side --force-conflicts -f "$mon_crds" >/dev/null || fail "prometheus-operator CRDs rejected"
# (kubectl wait fails at once on a CRD that has no status yet: poll.)
for _ in $(seq 60); do
  k wait --for=condition=Established crd/servicemonitors.monitoring.coreos.com \
    crd/podmonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com --timeout=1s \
    >/dev/null 2>&1 && break
  sleep 1
done
k wait --for=condition=Established crd/servicemonitors.monitoring.coreos.com \
  crd/podmonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com --timeout=1s \
  >/dev/null || fail "prometheus-operator CRDs not established"
mon_values=(--set serviceMonitor.enabled=true --set prometheusRule.enabled=true
            --set nodeAgent.enabled=true --set nodeAgent.podMonitor.enabled=true)
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 "${mon_values[@]}" \
  --show-only templates/servicemonitor.yaml --show-only templates/prometheusrule.yaml \
  --show-only templates/podmonitor.yaml >"$tmp/monitoring.yaml" || fail "helm template (monitoring)"
[[ "$(grep -cE '^kind: (ServiceMonitor|PrometheusRule|PodMonitor)$' "$tmp/monitoring.yaml")" -eq 3 ]] \
  || fail "the chart renders a ServiceMonitor, a PrometheusRule and a PodMonitor"
k apply --dry-run=server --validate=strict -f "$tmp/monitoring.yaml" >"$tmp/mon-apply" 2>&1 \
  || { cat "$tmp/mon-apply" >&2; fail "monitoring objects: server-side dry run"; }
k apply --validate=strict -f "$tmp/monitoring.yaml" >"$tmp/mon-apply" 2>&1 \
  || { cat "$tmp/mon-apply" >&2; fail "monitoring objects: apply"; }
[[ "$(k get -f "$tmp/monitoring.yaml" -o name | wc -l)" -eq 3 ]] || fail "monitoring objects not stored"
# What the API server stored is what the chart rendered (nothing pruned by the CRDs' schemas).
[[ "$(k get -f "$tmp/monitoring.yaml" -o json | jq '[.items[] | select(.kind == "PrometheusRule") | .spec.groups[].rules[]] | length')" \
   -eq "$(grep -cE '^ +- (alert|record):' "$tmp/monitoring.yaml")" ]] || fail "PrometheusRule rules lost on the way"
# The PodMonitor selects the node agent's pods, and only them: its labels are the DaemonSet's
# pod template's, and the Deployment's pods lack them.
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 "${mon_values[@]}" \
  --show-only templates/node-agent.yaml --show-only templates/deployment.yaml >"$tmp/workloads.yaml"
k apply --dry-run=server -f "$tmp/workloads.yaml" -o json >"$tmp/workloads.json" || fail "workloads rejected"
k get -f "$tmp/monitoring.yaml" -o json >"$tmp/monitoring.json"
jq -e --slurpfile mon "$tmp/monitoring.json" '
  ($mon[0].items[] | select(.kind == "PodMonitor") | .spec.selector.matchLabels) as $sel
  | [.items[] | {kind, labels: .spec.template.metadata.labels}]
  | (map(select(.kind == "DaemonSet")) | length == 1 and all(.labels | contains($sel)))
    and (map(select(.kind == "Deployment")) | length == 1 and all(.labels | contains($sel) | not))
' "$tmp/workloads.json" >/dev/null || fail "the PodMonitor does not select exactly the node agent's pods"
[[ "$(jq -r '.items[] | select(.kind == "PodMonitor") | .spec.podMetricsEndpoints[0].port' "$tmp/monitoring.json")" \
   == "$(jq -r '.items[] | select(.kind == "DaemonSet") | .spec.template.spec.containers[0].ports[] | select(.name == "metrics") | .name' "$tmp/workloads.json")" ]] \
  || fail "the PodMonitor scrapes a port the node agent does not name"
k delete -f "$tmp/monitoring.yaml" >/dev/null || fail "monitoring objects not deleted"
ok "ServiceMonitor, PrometheusRule and PodMonitor accepted by prometheus-operator $(basename "$mon_crds")'s CRDs (dry run, apply, read back); the PodMonitor selects the node agent's pods"

# Least privilege: approve only for the kubelet signers.
"$helm" template certguard charts/certguard --kube-version 1.34.0 --show-only templates/rbac.yaml >"$tmp/rbac.yaml"
signers="$(sed -n '/resources: \["signers"\]/,/verbs/p' "$tmp/rbac.yaml" | grep -E '^\s+- ' | sed 's/^ *- //' | sort | tr '\n' ' ')"
[[ "$signers" == "kubernetes.io/kube-apiserver-client-kubelet kubernetes.io/kubelet-serving " ]] \
  || fail "signers rule names: $signers"
ok "ClusterRole approves only for the two kubelet signers"

# The expiry inventory: its flags follow the values, and the webhook RBAC exists only when asked.
"$helm" template certguard charts/certguard --kube-version 1.34.0 >"$tmp/default.yaml"
grep -q -- '--expiry-webhooks=false' "$tmp/default.yaml" || fail "expiry flags not rendered by default"
grep -q 'validatingwebhookconfigurations' "$tmp/default.yaml" && fail "webhook RBAC granted while expiry.webhooks=false"
"$helm" template certguard charts/certguard --kube-version 1.34.0 --set expiry.webhooks=true \
  --set expiry.secretSelector=certguard.io/expiry=true >"$tmp/webhooks.yaml"
grep -q -- '--expiry-webhooks=true' "$tmp/webhooks.yaml" && grep -q -- '--expiry-secret-selector=certguard.io/expiry=true' "$tmp/webhooks.yaml" \
  && grep -q 'validatingwebhookconfigurations' "$tmp/webhooks.yaml" || fail "expiry values not rendered"
"$helm" template certguard charts/certguard --kube-version 1.34.0 --set controllers.expiry=false >"$tmp/noexpiry.yaml"
grep -q -- '--expiry-' "$tmp/noexpiry.yaml" && fail "expiry flags rendered with controllers.expiry=false"
grep -q -- '--controllers=csr,trust$' "$tmp/noexpiry.yaml" || fail "controllers.expiry=false still runs expiry"
"$helm" lint --strict charts/certguard --set expiry.secretSelector='a;b' >/dev/null 2>&1 && fail "schema accepts a selector with ';'"
ok "expiry values: flags, selectors and webhook RBAC follow the values"

# Secret trust targets: the flag and the right to write Secrets only with trust.secretTargets.enabled.
secret_verbs() { sed -n '/resources: \["secrets"\]/,/verbs/p' "$1" | grep -o 'verbs: .*' | sort -u | tr '\n' ' '; }
grep -q -- '- --trust-secret-targets$' "$tmp/default.yaml" && fail "--trust-secret-targets rendered by default"
[[ "$(secret_verbs "$tmp/default.yaml")" == 'verbs: ["get", "list", "watch"] ' ]] \
  || fail "Secrets writable by default: $(secret_verbs "$tmp/default.yaml")"
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 --set trust.secretTargets.enabled=true \
  --set crds.install=false >"$tmp/secret-targets.yaml"
grep -q -- '- --trust-secret-targets$' "$tmp/secret-targets.yaml" || fail "trust.secretTargets.enabled does not pass --trust-secret-targets"
[[ "$(secret_verbs "$tmp/secret-targets.yaml")" == 'verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] ' ]] \
  || fail "Secret targets enabled without the right to write Secrets: $(secret_verbs "$tmp/secret-targets.yaml")"
k apply --dry-run=server -f "$tmp/secret-targets.yaml" >/dev/null 2>&1 || fail "server dry run (trust.secretTargets.enabled=true)"
"$helm" template certguard charts/certguard --kube-version 1.34.0 --set trust.secretTargets.enabled=true \
  --set 'rbac.trustTargetNamespaces={team-a}' --show-only templates/rbac.yaml >"$tmp/secret-targets-ns.yaml"
[[ "$(sed -n '/^kind: ClusterRole$/,/^---/p' "$tmp/secret-targets-ns.yaml" | grep -A1 'resources: \["secrets"\]' | grep -c create)" -eq 0 ]] \
  || fail "rbac.trustTargetNamespaces set, yet Secrets writable cluster-wide"
[[ "$(sed -n '/name: certguard-trust-targets$/,/^---/p' "$tmp/secret-targets-ns.yaml" | grep -A1 'resources: \["secrets"\]' | grep -c create)" -eq 1 ]] \
  || fail "rbac.trustTargetNamespaces set, yet no Role to write Secrets there"
"$helm" template certguard charts/certguard --kube-version 1.34.0 --set trust.secretTargets.enabled=true \
  --set controllers.trust=false >"$tmp/secret-targets-notrust.yaml"
grep -q -- '- --trust-secret-targets$' "$tmp/secret-targets-notrust.yaml" && fail "--trust-secret-targets rendered with controllers.trust=false"
grep -A1 'resources: \["secrets"\]' "$tmp/secret-targets-notrust.yaml" | grep -q create && fail "Secrets writable with controllers.trust=false"
"$helm" lint --strict charts/certguard --set trust.secretTargets.enabled=yes >/dev/null 2>&1 && fail "schema accepts a non-boolean trust.secretTargets.enabled"
ok "Secret trust targets: flag and Secret write RBAC only with trust.secretTargets.enabled (cluster-wide or per namespace)"

# The expiry filters for big clusters: lists joined, absent when empty, bad values refused by the schema.
grep -q -- '--expiry-include-namespaces\|--expiry-leaf-only\|--expiry-secret-label-keys' "$tmp/default.yaml" \
  && fail "expiry filters rendered while unset"
grep -q -- '- --expiry-csr-signers=kubelet$' "$tmp/default.yaml" || fail "expiry.csrSigners default not rendered"
"$helm" template certguard charts/certguard --kube-version 1.34.0 \
  --set 'expiry.includeNamespaces={apps,team-*}' --set 'expiry.excludeNamespaces={kube-system}' \
  --set expiry.includeNamespaceSelector=certguard.io/expiry=on --set expiry.leafOnly=true \
  --set 'expiry.secretLabelKeys={team,app.kubernetes.io/name}' --set expiry.csrSigners=all >"$tmp/filters.yaml"
for flag in '--expiry-include-namespaces=apps,team-\*$' '--expiry-exclude-namespaces=kube-system$' \
    '--expiry-include-namespace-selector=certguard.io/expiry=on$' '--expiry-leaf-only$' \
    '--expiry-secret-label-keys=team,app.kubernetes.io/name$' '--expiry-csr-signers=all$'; do
  grep -q -- "- $flag" "$tmp/filters.yaml" || fail "expiry filter flag $flag not rendered"
done
"$helm" lint --strict charts/certguard --set expiry.csrSigners=some >/dev/null 2>&1 && fail "schema accepts csrSigners=some"
"$helm" lint --strict charts/certguard --set 'expiry.includeNamespaces={Apps}' >/dev/null 2>&1 \
  && fail "schema accepts a namespace name with capitals"
"$helm" lint --strict charts/certguard --set 'expiry.secretLabelKeys={a,b,c,d,e,f,g,h,i,j,k}' >/dev/null 2>&1 \
  && fail "schema accepts 11 secret label keys"
ok "expiry filters: namespaces, leaf-only, label keys and CSR signers follow the values"

# The node agent: off by default; when on, a DaemonSet the API server accepts, reading the
# host paths read-only, with pods the Deployment's Service does not select.
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 | grep -q '^kind: DaemonSet' \
  && fail "node agent rendered while nodeAgent.enabled=false"
"$helm" lint --strict charts/certguard --set nodeAgent.enabled=true >"$tmp/lint" 2>&1 || { cat "$tmp/lint" >&2; fail "helm lint (node agent)"; }
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 --set nodeAgent.enabled=true \
  --show-only templates/node-agent.yaml >"$tmp/agent.yaml" || fail "node agent does not render"
k apply --dry-run=server -f "$tmp/agent.yaml" >/dev/null || fail "node agent DaemonSet rejected"
[[ "$(grep -c 'readOnly: true' "$tmp/agent.yaml")" -eq 2 ]] || fail "node agent host paths not read-only"
grep -q -- '- node-agent' "$tmp/agent.yaml" && grep -q 'fieldPath: spec.nodeName' "$tmp/agent.yaml" \
  || fail "node agent args or NODE_NAME missing"
grep -q 'app.kubernetes.io/name: certguard-node-agent' "$tmp/agent.yaml" || fail "node agent pods share the Deployment's name label"
grep -q -- '- --expiry-max-series-per-object=500$' "$tmp/agent.yaml" && grep -q -- '- --expiry-max-series=50000$' "$tmp/agent.yaml" \
  || fail "node agent series bounds missing"
"$helm" template certguard charts/certguard --kube-version 1.34.0 --set nodeAgent.enabled=true \
  --set nodeAgent.maxSeries=2000000 --show-only templates/node-agent.yaml | grep -q -- '- --expiry-max-series=2000000$' \
  || fail "node agent: a large series bound is not rendered as an integer"
ok "node agent: off by default; DaemonSet accepted, read-only host paths, own pod labels, series bounds"

# Node kubeconfigs: single host files through their directories (mounted once), the
# reference bundle from a TrustBundle target ConfigMap, the server check.
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 --set nodeAgent.enabled=true \
  --set 'nodeAgent.hostFiles={/var/lib/kubelet/kubeconfig,/etc/kubernetes/kubeconfig}' \
  --set nodeAgent.trustBundle.configMap=certguard-api-int-ca --set nodeAgent.checkServer=true \
  --set 'nodeAgent.trustBundle.paths={/var/lib/kubelet/kubeconfig}' \
  --show-only templates/node-agent.yaml >"$tmp/agent-trust.yaml" || fail "node agent with host files does not render"
k apply --dry-run=server -f "$tmp/agent-trust.yaml" >/dev/null || fail "node agent with host files rejected"
for arg in --path=/var/lib/kubelet/kubeconfig --path=/etc/kubernetes/kubeconfig \
  --trust-bundle=/etc/certguard/trust-bundle/ca-bundle.crt --trust-path=/var/lib/kubelet/kubeconfig --check-server; do
  grep -q -- "- $arg\$" "$tmp/agent-trust.yaml" || fail "node agent arg $arg missing"
done
[[ "$(grep -c 'mountPath: /etc/kubernetes$' "$tmp/agent-trust.yaml")" -eq 1 ]] || fail "a host directory mounted twice"
grep -q 'mountPath: /var/lib/kubelet$' "$tmp/agent-trust.yaml" || fail "a host file's directory not mounted"
[[ "$(grep -c 'readOnly: true' "$tmp/agent-trust.yaml")" -eq 4 ]] || fail "node agent mounts not read-only"
grep -q 'name: certguard-api-int-ca' "$tmp/agent-trust.yaml" || fail "trust bundle ConfigMap not mounted"
"$helm" lint --strict charts/certguard --set nodeAgent.enabled=true --set 'nodeAgent.hostFiles={relative}' >/dev/null 2>&1 \
  && fail "schema accepts a relative host file"
ok "node agent: host files through their directories, trust bundle ConfigMap, --check-server"

# OpenShift: the node agent's SCC, its ServiceAccount and the RBAC to use it, only when asked.
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 --set nodeAgent.enabled=true \
  >"$tmp/no-scc.yaml" || fail "node agent does not render"
grep -q 'kind: SecurityContextConstraints' "$tmp/no-scc.yaml" && fail "SCC rendered by default"
grep -q 'seLinuxOptions' "$tmp/no-scc.yaml" && fail "spc_t set without the SCC"
"$helm" lint --strict charts/certguard --set nodeAgent.enabled=true --set nodeAgent.openshift.scc.create=true \
  >"$tmp/lint" 2>&1 || { cat "$tmp/lint" >&2; fail "helm lint (node agent SCC)"; }
"$helm" lint --strict charts/certguard --set nodeAgent.enabled=true --set nodeAgent.openshift.scc.create=yes \
  >/dev/null 2>&1 && fail "schema accepts a non-boolean nodeAgent.openshift.scc.create"
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 --set nodeAgent.enabled=true \
  --set nodeAgent.openshift.scc.create=true --show-only templates/node-agent-scc.yaml >"$tmp/scc.yaml" \
  || fail "node agent SCC does not render"
"$helm" template certguard charts/certguard -n "$ns" --kube-version 1.34.0 --set nodeAgent.enabled=true \
  --set nodeAgent.openshift.scc.create=true --show-only templates/node-agent.yaml >"$tmp/agent-scc.yaml"
[[ "$(grep '^kind:' "$tmp/scc.yaml" | sort | tr '\n' ' ')" == \
   "kind: ClusterRole kind: RoleBinding kind: SecurityContextConstraints kind: ServiceAccount " ]] \
  || fail "node agent SCC objects: $(grep '^kind:' "$tmp/scc.yaml" | tr '\n' ' ')"
scc="$(awk '/^kind: SecurityContextConstraints/,/^---/' "$tmp/scc.yaml")"
for want in 'allowHostDirVolumePlugin: true' 'allowPrivilegedContainer: false' \
            'allowPrivilegeEscalation: false' 'allowHostNetwork: false' 'allowHostPID: false' \
            'readOnlyRootFilesystem: true' 'allowedCapabilities: \[\]'; do
  grep -q "^$want\$" <<<"$scc" || fail "SCC lacks $want"
done
[[ "$(sed -n '/^volumes:/,/^[a-z]/p' <<<"$scc" | grep -c '^  - ')" -eq 2 ]] || fail "SCC allows other volumes than hostPath and configMap"
grep -q '^  - ALL$' <<<"$scc" || fail "SCC does not drop every capability"
grep -q 'serviceAccountName: certguard-node-agent$' "$tmp/agent-scc.yaml" || fail "node agent not on its ServiceAccount"
grep -q 'type: spc_t' "$tmp/agent-scc.yaml" || fail "node agent without spc_t under the SCC"
grep -q 'verbs: \["use"\]' "$tmp/scc.yaml" && grep -q 'resourceNames: \["certguard-node-agent"\]' "$tmp/scc.yaml" \
  || fail "RBAC does not grant use of exactly the agent's SCC"
# The plane has no security.openshift.io API: everything else is checked by the API server.
no_scc "$tmp/scc.yaml" "$tmp/agent-scc.yaml" >"$tmp/scc-rest.yaml"
k apply --dry-run=server -f "$tmp/scc-rest.yaml" >"$tmp/apply" 2>&1 || { cat "$tmp/apply" >&2; fail "SCC's ServiceAccount, RBAC or DaemonSet rejected"; }
ok "node agent on OpenShift: its own SCC (host paths read-only, no privilege), ServiceAccount, RBAC use, spc_t"

# The namespace stays: the test plane runs no namespace controller, so a deleted one
# would stay Terminating and refuse the next run's dry runs.
echo "chart check: $pass passed, 0 failed"
