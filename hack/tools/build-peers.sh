#!/usr/bin/env bash
# Builds the approvers certguard is benchmarked against, from the Go module
# proxy, into the tool cache (never into the repository), one line per peer on
# stdout:
#   NAME<TAB>ok<TAB>BINARY
#   NAME<TAB>unavailable<TAB>WHY        (the proxy refused it, the build failed, ...)
# A peer that cannot be had is reported, never dropped: the benchmark prints why.
# Built like hack/tools/build.sh builds helm: `go install MODULE/CMD@VERSION`
# (their go.mod files replace nothing, so no wrapper module is needed), at low
# priority and one package at a time (GOFLAGS=-p=1): the machine is shared.
# A peer is rebuilt only when its pin or the Go version changes.
#
# Usage: hack/tools/build-peers.sh
# Env:   CERTGUARD_TOOLS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools)
set -uo pipefail

# name  package@version
PEERS=(
  "kubelet-csr-approver github.com/postfinance/kubelet-csr-approver/cmd/kubelet-csr-approver@v1.2.14"
  "kubelet-serving-cert-approver github.com/alex1989hu/kubelet-serving-cert-approver@v0.11.0"
)

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

exec 9>"$cache/peers/.lock"
flock 9

for p in "${PEERS[@]}"; do
  name="${p%% *}" pkg="${p#* }"
  dir="$cache/peers/$name/$(printf '%s\n' "$pkg" "$go_version" | sha256sum | cut -c1-12)"
  bin="$dir/$name"
  if [[ -f "$dir/.stamp" && -x "$bin" ]]; then
    printf '%s\tok\t%s\n' "$name" "$bin"
    continue
  fi
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  echo "$name: go install $pkg (into $dir)" >&2
  if (cd "$dir.tmp" && GOBIN="$dir.tmp" nice -n 19 go install -trimpath -ldflags "-s -w" "$pkg") \
      >"$dir.tmp/build.log" 2>&1 && [[ -x "$dir.tmp/$name" ]]; then
    date -u +%FT%TZ >"$dir.tmp/.stamp"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    printf '%s\tok\t%s\n' "$name" "$bin"
  else
    # The last meaningful line of go's error, on one line.
    why="$(grep -v '^\s*$' "$dir.tmp/build.log" | tail -n 3 | tr '\n\t' '  ' | cut -c1-400)"
    cat "$dir.tmp/build.log" >&2
    rm -rf "$dir.tmp"
    printf '%s\tunavailable\tgo install %s failed: %s\n' "$name" "$pkg" "${why:-no output}"
  fi
done
