#!/usr/bin/env bash
# The prometheus-operator CRDs the chart's monitoring objects need (ServiceMonitor,
# PodMonitor, PrometheusRule), as that project generates them: the files of
# example/prometheus-operator-crd/ in its Go module
# github.com/prometheus-operator/prometheus-operator at PROMETHEUS_OPERATOR_VERSION
# (versions.sh), fetched with `go mod download` from the Go module proxy (and so
# checked against the checksum database) into the tool cache, never into the
# repository. Prints the directory holding the three files; cached per version.
#
# Usage: hack/tools/prometheus-operator-crds.sh
# Env:   CERTGUARD_TOOLS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
cache="${CERTGUARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools}"
dir="$cache/prometheus-operator-crds/$PROMETHEUS_OPERATOR_VERSION"
crds=(servicemonitors podmonitors prometheusrules)
if [[ ! -f "$dir/.stamp" ]]; then
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  module="github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
  # Outside any module, so no go.mod of ours is read or changed.
  scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
  src="$(cd "$scratch" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "$module" | jq -r '.Dir // empty')"
  [[ -n "$src" && -d "$src" ]] || { echo "go mod download $module failed" >&2; exit 1; }
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  for c in "${crds[@]}"; do
    cp "$src/example/prometheus-operator-crd/monitoring.coreos.com_$c.yaml" "$dir.tmp/"
  done
  chmod 644 "$dir.tmp"/*.yaml
  date -u +%FT%TZ >"$dir.tmp/.stamp"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir"
