#!/usr/bin/env bash
# Builds the tools the integration tests, the demo and the benchmarks use, from
# the Go module proxy, into a cache outside the repository, then prints the
# directory that holds them all (bin/ of the current pins):
#   kube-apiserver, kube-controller-manager, kubectl   (k8s.io/kubernetes, wrapper kubernetes/)
#   etcd                                               (go.etcd.io/etcd/server/v3, wrapper etcd/)
#   helm                                               (helm.sh/helm/v3, plain go install)
#   promtool                                           (github.com/prometheus/prometheus)
#   csr-oracle                                         (csr-oracle/, standard library only)
#   kubelet-certs                                      (kubernetes/kubelet-certs/: the kubelet's
#                                                       certificate code, same module set)
# A tool is rebuilt only when its pin (versions.sh, the wrapper go.mod/go.sum or
# this script's build flags) changes: each tool lives in a directory named after
# a hash of its pin, with a stamp written after a successful build.
#
# Usage: hack/tools/build.sh [-q]     -q: print only the directory
# Env:   CERTGUARD_TOOLS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools)
#        JOBS (go build -p, default 2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

quiet=0
[[ "${1:-}" == "-q" ]] && quiet=1
log() { if ((quiet)); then echo "$@" >&2; else echo "$@"; fi; }

cache="${CERTGUARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools}"
mkdir -p "$cache"

# Go: the one on PATH, else /usr/local/go, else the toolchain GO_TOOLCHAIN
# fetched once from the Go module proxy (golang.org/toolchain is a module).
GO_TOOLCHAIN="${GO_TOOLCHAIN:-go1.26.8}"
if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    goroot="$cache/go/$GO_TOOLCHAIN"
    if [[ ! -x "$goroot/bin/go" ]]; then
      mod="v0.0.1-$GO_TOOLCHAIN.linux-$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')"
      log "go: fetching golang.org/toolchain@$mod from the module proxy"
      proxy="${GOPROXY:-https://proxy.golang.org}"; proxy="${proxy%%,*}"
      rm -rf "$goroot.tmp" && mkdir -p "$goroot.tmp"
      curl -fsSL "$proxy/golang.org/toolchain/@v/$mod.zip" -o "$goroot.tmp/toolchain.zip"
      (cd "$goroot.tmp" && unzip -q toolchain.zip && rm toolchain.zip)
      mv "$goroot.tmp/golang.org/toolchain@$mod" "$goroot"
      rm -rf "$goroot.tmp"
      chmod +x "$goroot"/bin/* "$goroot"/pkg/tool/*/*
    fi
    PATH="$goroot/bin:$PATH"
  fi
fi
# GOTOOLCHAIN=local: build with the installed Go, never fetch another one.
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
jobs="${JOBS:-2}"

# Several worktrees share the cache: one build at a time.
exec 9>"$cache/.lock"
flock 9

kube_major_minor="${KUBERNETES_VERSION#v}"; kube_major_minor="${kube_major_minor%.*}"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION"
  kube_ldflags+=" -X $pkg.gitMajor=${kube_major_minor%%.*} -X $pkg.gitMinor=${kube_major_minor#*.}"
  # No commit: a module proxy build knows the tag, not the commit.
  kube_ldflags+=" -X $pkg.gitCommit= -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION"
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
# Prometheus tags its Go module v0.3MM.P for release v3.MM.P.
prom_minor="${PROMETHEUS_VERSION#v0.}"; prom_minor="${prom_minor%.*}"
prom_release="$((prom_minor / 100)).$((prom_minor % 100)).${PROMETHEUS_VERSION##*.}"
prom_ldflags="-s -w -X github.com/prometheus/common/version.Version=$prom_release"

# pin_dir NAME TEXT...: the cache directory of tool NAME for this exact pin.
pin_dir() {
  local name="$1"; shift
  echo "$cache/$name/$(printf '%s\n' "$@" | sha256sum | cut -c1-12)"
}

# build NAME DIR CMD...: runs CMD (which writes into DIR/) unless DIR/.stamp exists.
build() {
  local name="$1" dir="$2"; shift 2
  if [[ -f "$dir/.stamp" ]]; then
    log "$name: cached in $dir"
    return
  fi
  log "$name: building into $dir"
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  local start=$SECONDS
  if ! "$@" "$dir.tmp" >&2; then
    rm -rf "$dir.tmp"
    echo "$name: build failed" >&2
    exit 1
  fi
  date -u +%FT%TZ >"$dir.tmp/.stamp"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  log "$name: built in $((SECONDS - start))s"
}

build_kubernetes() {
  (cd "$here/kubernetes" && go build -p "$jobs" -trimpath -ldflags "$kube_ldflags" -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kubectl)
}
build_kubelet_certs() {
  # -mod=readonly: the wrapper's go.mod is the kube pin; building must not rewrite it.
  (cd "$here/kubernetes" && GOFLAGS="-mod=readonly -buildvcs=false" go build -p "$jobs" -trimpath \
    -ldflags "$kube_ldflags" -o "$1/kubelet-certs" ./kubelet-certs)
}
build_etcd() {
  (cd "$here/etcd" && go build -p "$jobs" -trimpath -ldflags "$etcd_ldflags" -o "$1/etcd" \
    go.etcd.io/etcd/server/v3)
}
build_helm() {
  # helm's go.mod has no local replaces: go install works as is.
  (cd "$1" && GOBIN="$1" go install -p "$jobs" -trimpath -ldflags "$helm_ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
}
build_promtool() {
  # remove_all_sd: no cloud service discovery (AWS, Azure, GCE, ...), a third of the
  # cold build; `promtool check rules` and `test rules` do not need it.
  (cd "$1" && GOBIN="$1" go install -p "$jobs" -trimpath -tags remove_all_sd -ldflags "$prom_ldflags" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION")
}

go_version="$(go env GOVERSION)"
kube_dir="$(pin_dir kubernetes "$KUBERNETES_VERSION" "$go_version" "$kube_ldflags" \
  "$(cat "$here/kubernetes/go.mod" "$here/kubernetes/go.sum")")"
etcd_dir="$(pin_dir etcd "$ETCD_VERSION" "$go_version" "$etcd_ldflags" \
  "$(cat "$here/etcd/go.mod" "$here/etcd/go.sum")")"
helm_dir="$(pin_dir helm "$HELM_VERSION" "$go_version" "$helm_ldflags")"
kubelet_certs_dir="$(pin_dir kubelet-certs "$kube_dir" "$(cat "$here/kubernetes/kubelet-certs/main.go")")"
prom_dir="$(pin_dir promtool "$PROMETHEUS_VERSION" "$go_version" "$prom_ldflags" remove_all_sd)"

build kubernetes "$kube_dir" build_kubernetes
build etcd "$etcd_dir" build_etcd
build helm "$helm_dir" build_helm
build promtool "$prom_dir" build_promtool
build kubelet-certs "$kubelet_certs_dir" build_kubelet_certs
# Seconds to build; its own script so tests can build it without the rest.
oracle_dir="$(dirname "$(bash "$here/csr-oracle/build.sh")")"
log "csr-oracle: $oracle_dir"

# One directory with every tool of the current pins, named after all of them.
set_dir="$(pin_dir sets "$kube_dir" "$etcd_dir" "$helm_dir" "$prom_dir" "$oracle_dir" "$kubelet_certs_dir")/bin"
if [[ ! -f "$set_dir/.stamp" ]]; then
  rm -rf "$set_dir"
  mkdir -p "$set_dir"
  for d in "$kube_dir" "$etcd_dir" "$helm_dir" "$prom_dir" "$oracle_dir" "$kubelet_certs_dir"; do
    for f in "$d"/*; do ln -sf "$f" "$set_dir/"; done
  done
  touch "$set_dir/.stamp"
fi
if ((quiet)); then
  echo "$set_dir"
else
  log "tools: $set_dir"
  for t in kube-apiserver kube-controller-manager kubectl etcd helm promtool csr-oracle kubelet-certs; do
    [[ -x "$set_dir/$t" ]] || { echo "missing tool $t in $set_dir" >&2; exit 1; }
  done
  echo "$set_dir"
fi
