#!/usr/bin/env bash
# Regenerates the wrapper modules hack/tools/{kubernetes,etcd}/go.mod and go.sum
# from the go.mod of the pinned upstream tag. Upstream go.mod files point their
# sibling modules at local directories (replace => ./staging/..., ../api), which
# makes `go install` refuse them; the wrapper requires the upstream module and
# replaces each of those local paths with the published module version instead.
# Run after changing a version in versions.sh, then commit go.mod and go.sum.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

# upstream_gomod MODULE VERSION: path of the tagged go.mod in the module cache.
upstream_gomod() {
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'
}

# local_replaces GOMOD: the module paths that GOMOD replaces with a local directory.
local_replaces() {
  go mod edit -json "$1" |
    python3 -c 'import json,sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith((".", "/")) and "Version" not in r["New"] and "FORBIDDEN" not in r["New"]["Path"]:
        print(r["Old"]["Path"])'
}

# gen DIR MODULE VERSION REPLACE_VERSION TOOL...: writes DIR/go.mod and DIR/go.sum.
gen() {
  local dir="$here/$1" module="$2" version="$3" replace_version="$4"
  shift 4
  local upstream
  upstream="$(upstream_gomod "$module" "$version")"
  mkdir -p "$dir"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (
    cd "$dir"
    go mod init "certguard.local/hack/tools/$(basename "$dir")" 2>/dev/null
    go mod edit -go="$(go mod edit -json "$upstream" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Go"])')"
    # Keep upstream's GODEBUG defaults: they are part of how the binaries behave.
    grep -E '^godebug ' "$upstream" >>go.mod || true
    go mod edit -require="$module@$version"
    local m
    for m in $(local_replaces "$upstream"); do
      go mod edit -replace="$m=$m@$replace_version"
    done
    local t
    for t in "$@"; do go mod edit -tool="$t"; done
    go mod tidy
  )
  echo "generated $dir/go.mod ($(grep -c '=>' "$dir/go.mod") replace lines)"
}

kube_staging="v0${KUBERNETES_VERSION#v1}"   # v1.34.12 -> v0.34.12
gen kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION" "$kube_staging" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl
gen etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION" \
  go.etcd.io/etcd/server/v3
