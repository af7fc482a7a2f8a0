#!/usr/bin/env bash
# The /metrics benchmark (make bench-metrics): a fresh control plane in a
# scratch directory, x509-certificate-exporter built into the tool cache, then
# certguard_bench_scrape creates the TLS Secrets and runs certguard and the
# exporter in turn against them, and writes bench/results/metrics.json. An
# exporter that cannot be built is passed on as unavailable, with why, so it
# shows in the table.
#
# Usage: bench/metrics.sh [BUILD_DIR]
# Env:   BENCH_SECRETS (10000), BENCH_NAMESPACES (100), BENCH_SCRAPES (50),
#        BENCH_KEEP=1 keeps the plane's directory (each exporter's log in it),
#        BENCH_PEERS (0 or empty: certguard only), PEER_SRC_DIR (see hack/tools/build-peers.sh),
#        BENCH_OUT (bench/results/metrics.json), CERTGUARD_TOOLS (a directory with etcd,
#        kube-apiserver, kube-controller-manager and kubectl: hack/tools/build.sh is not run)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_start "${1:-}"
bench_plane certguard-bench-metrics

# Both at their defaults but for their addresses: loopback ports the benchmark
# chose ($METRICS_PORT, $PROBE_PORT); certguard without leader election, which
# the exporter does not have.
args=(--exporter "certguard=$build/operator/certguard run --kubeconfig $kc --controllers expiry \
--leader-elect=false --metrics-bind-address 127.0.0.1:\$METRICS_PORT --health-bind-address 127.0.0.1:\$PROBE_PORT")
peers="${BENCH_PEERS-x509-certificate-exporter}"
if [[ -n "$peers" && "$peers" != 0 ]]; then
  while IFS=$'\t' read -r name state what; do
    if [[ "$state" != ok ]]; then
      args+=(--unavailable "$name=$what")
    elif [[ "$name" == x509-certificate-exporter ]]; then
      args+=(--exporter "$name=env KUBECONFIG=$kc $what -b 127.0.0.1:\$METRICS_PORT \
--probe.listen-address 127.0.0.1:\$PROBE_PORT --watch-kube-secrets")
    else
      args+=(--unavailable "$name=not an exporter of certificates")
    fi
  done < <(bash hack/tools/build-peers.sh $peers)
fi
bench_meta operator bench
"$build/bench/certguard_bench_scrape" --cluster "$dir" "${meta[@]}" \
  --secrets "${BENCH_SECRETS:-10000}" --namespaces "${BENCH_NAMESPACES:-100}" \
  --scrapes "${BENCH_SCRAPES:-50}" \
  --out "${BENCH_OUT:-$root/bench/results/metrics.json}" "${args[@]}"
