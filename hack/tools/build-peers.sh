#!/usr/bin/env bash
# Builds the peers certguard is benchmarked against (the approvers,
# x509-certificate-exporter and trust-manager) into the tool cache (never into
# the repository), one line per peer on stdout:
#   NAME<TAB>ok<TAB>BINARY
#   NAME<TAB>unavailable<TAB>WHY        (no source, the build failed, ...)
# A peer that cannot be had is reported, never dropped: the benchmark prints why.
#
# Two ways to get a peer's source, at its pinned tag:
# - PEER_SRC_DIR=DIR: DIR/NAME is a git repository of the peer (a clone with a
#   work tree or a bare repository, e.g. `git clone --bare URL DIR/NAME`); the
#   tree of the tag is taken with `git archive`, and the build is cached by the
#   tag's commit. A peer without a repository there falls back to the proxy.
# - otherwise the Go module proxy (`go mod download MODULE@TAG`).
# Then, in a scratch copy: the listen addresses patched (below), `go mod
# download` and `go build` of the peer's main package with its own go.mod and
# go.sum, at low priority and one package at a time (GOFLAGS=-p=1): the
# machine is shared. A peer is rebuilt only when its pin (or commit), its
# preparation or the Go version changes.
#
# Servers that listen on every address with no flag to change it are bound to
# 127.0.0.1, nothing else changed: trust-manager's metrics and readiness
# servers (cmd/trust-manager/app/app.go), kubelet-serving-cert-approver's
# metrics :9090, probes :8080 and pprof :8081 (cmd/serve.go). trust-manager's
# Helm chart (the Bundle CRD's source) is kept next to the binary, in
# BINARY_DIR/chart, for the benchmark to render and apply.
#
# Usage: hack/tools/build-peers.sh [NAME...]     (default: every peer)
# Env:   PEER_SRC_DIR, CERTGUARD_TOOLS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools)
set -uo pipefail

# name  module  tag  main package (relative to the module's root)
PEERS=(
  "kubelet-csr-approver github.com/postfinance/kubelet-csr-approver v1.2.14 ./cmd/kubelet-csr-approver"
  "kubelet-serving-cert-approver github.com/alex1989hu/kubelet-serving-cert-approver v0.11.0 ."
  "x509-certificate-exporter github.com/enix/x509-certificate-exporter/v4 v4.2.0 ./cmd/x509-certificate-exporter"
  "trust-manager github.com/cert-manager/trust-manager v0.24.0 ./cmd/trust-manager"
)

# The peers asked for (every one by default); an unknown name is reported.
wanted=()
for arg in "$@"; do
  found=""
  for p in "${PEERS[@]}"; do [[ "${p%% *}" == "$arg" ]] && found="$p"; done
  if [[ -n "$found" ]]; then wanted+=("$found"); else printf '%s\tunavailable\tno such peer\n' "$arg"; fi
done
(($# == 0)) && wanted=("${PEERS[@]}")
PEERS=("${wanted[@]}")
((${#PEERS[@]} > 0)) || exit 0

cache="${CERTGUARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools}"
mkdir -p "$cache/peers"
if ! command -v go >/dev/null 2>&1; then
  [[ -x /usr/local/go/bin/go ]] && PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  for p in "${PEERS[@]}"; do
    printf '%s\tunavailable\tno Go toolchain (run hack/tools/build.sh first)\n' "${p%% *}"
  done
  exit 0
fi
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false -p=1"
go_version="$(go env GOVERSION)"

# git_dir NAME: the git directory of DIR/NAME under PEER_SRC_DIR, or nothing.
git_dir() {
  [[ -n "${PEER_SRC_DIR:-}" && -d "$PEER_SRC_DIR/$1" ]] || return 0
  git -C "$PEER_SRC_DIR/$1" rev-parse --absolute-git-dir 2>/dev/null
}

# fetch_source MODULE TAG GITDIR SRC: the peer's tree at TAG into SRC.
fetch_source() {
  local module="$1" tag="$2" gitdir="$3" src="$4" info dir
  mkdir -p "$src"
  if [[ -n "$gitdir" ]]; then
    git --git-dir="$gitdir" archive --format=tar "$tag" | tar -x -C "$src" || return 1
    return 0
  fi
  info="$(go mod download -json "$module@$tag")"
  dir="$(sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p' <<<"$info")"
  [[ -n "$dir" ]] ||
    { echo "go mod download $module@$tag: $(sed -n 's/^\s*"Error": "\(.*\)",\?$/\1/p' <<<"$info")" >&2; return 1; }
  cp -r "$dir/." "$src" && chmod -R u+w "$src"
}

# patch NAME SRC TMPDIR: binds fixed servers to 127.0.0.1 (each must be found).
patch() {
  local name="$1" src="$2" tmp="$3" f
  case "$name" in
    trust-manager)
      f="$src/cmd/trust-manager/app/app.go"
      sed -i 's/"0\.0\.0\.0:%d"/"127.0.0.1:%d"/' "$f" || return 1
      [[ "$(grep -c '"127.0.0.1:%d"' "$f")" == 2 ]] ||
        { echo "$f: expected two 0.0.0.0:%d listen addresses (metrics, readiness)" >&2; return 1; }
      [[ -d "$src/deploy/charts/trust-manager" ]] || { echo "no chart in trust-manager" >&2; return 1; }
      cp -r "$src/deploy/charts/trust-manager" "$tmp/chart" ;;
    kubelet-serving-cert-approver)
      f="$src/cmd/serve.go"
      sed -i 's/"\(:80[0-9][0-9]\|:9090\)"/"127.0.0.1\1"/' "$f" || return 1
      for port in 8080 8081 9090; do
        grep -q "\"127.0.0.1:$port\"" "$f" ||
          { echo "$f: no \":$port\" listen address to bind to 127.0.0.1" >&2; return 1; }
      done ;;
  esac
}

# build NAME MODULE TAG PKG GITDIR TMPDIR: builds TMPDIR/NAME.
build() {
  local name="$1" module="$2" tag="$3" pkg="$4" gitdir="$5" tmp="$6" src="$6/src"
  fetch_source "$module" "$tag" "$gitdir" "$src" || return 1
  patch "$name" "$src" "$tmp" || return 1
  (cd "$src" && nice -n 19 go mod download && nice -n 19 go build -trimpath -ldflags "-s -w" -o "$tmp/$name" "$pkg") || return 1
  rm -rf "$src"
}

exec 9>"$cache/peers/.lock"
flock 9

for p in "${PEERS[@]}"; do
  read -r name module tag pkg <<<"$p"
  gitdir="$(git_dir "$name")"
  origin="proxy $module@$tag"
  if [[ -n "$gitdir" ]]; then
    commit="$(git --git-dir="$gitdir" rev-parse --verify -q "$tag^{commit}")"
    if [[ -z "$commit" ]]; then
      printf '%s\tunavailable\t%s has no tag %s\n' "$name" "$PEER_SRC_DIR/$name" "$tag"
      continue
    fi
    origin="git $commit ($tag)"
  fi
  dir="$cache/peers/$name/$(printf '%s\n' "$origin" "$pkg" "$go_version" "$(declare -f fetch_source patch build)" |
    sha256sum | cut -c1-12)"
  bin="$dir/$name"
  if [[ -f "$dir/.stamp" && -x "$bin" ]]; then
    printf '%s\tok\t%s\n' "$name" "$bin"
    continue
  fi
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  echo "$name: building $pkg from $origin (into $dir)" >&2
  if build "$name" "$module" "$tag" "$pkg" "$gitdir" "$dir.tmp" >"$dir.tmp/build.log" 2>&1 &&
    [[ -x "$dir.tmp/$name" ]]; then
    printf '%s\n' "$origin" >"$dir.tmp/.origin"
    date -u +%FT%TZ >"$dir.tmp/.stamp"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    printf '%s\tok\t%s\n' "$name" "$bin"
  else
    # The last meaningful line of go's error, on one line.
    why="$(grep -v '^\s*$' "$dir.tmp/build.log" | tail -n 3 | tr '\n\t' '  ' | cut -c1-400)"
    cat "$dir.tmp/build.log" >&2
    rm -rf "$dir.tmp"
    printf '%s\tunavailable\tbuilding %s from %s failed: %s\n' "$name" "$pkg" "$origin" "${why:-no output}"
  fi
done
