#!/usr/bin/env bash
# Builds csr-oracle (main.go, standard library only) into the tool cache and
# prints the path of the binary. Its directory is named after a hash of the
# source, the Go version and the flags, so an edit rebuilds it (in seconds);
# hack/tools/build.sh links it into the tool set. Never committed.
#
# Usage: hack/tools/csr-oracle/build.sh     (prints /…/csr-oracle/<hash>/csr-oracle)
# Env:   CERTGUARD_TOOLS_CACHE as for hack/tools/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${CERTGUARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools}"
if ! command -v go >/dev/null 2>&1; then
  [[ -x /usr/local/go/bin/go ]] || { echo "csr-oracle: no Go toolchain (go on PATH or /usr/local/go)" >&2; exit 1; }
  PATH="/usr/local/go/bin:$PATH"
fi
# Outside any module: nothing to download, the installed Go only.
export CGO_ENABLED=0 GOTOOLCHAIN=local GO111MODULE=off GOFLAGS=-buildvcs=false
flags=(-trimpath -ldflags "-s -w")
dir="$cache/csr-oracle/$(printf '%s\n' "$(go env GOVERSION)" "${flags[*]}" "$(cat "$here/main.go")" |
  sha256sum | cut -c1-12)"
if [[ ! -f "$dir/.stamp" ]]; then
  mkdir -p "$cache/csr-oracle"
  exec 8>"$cache/csr-oracle/.lock"
  flock 8
  if [[ ! -f "$dir/.stamp" ]]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    (cd "$here" && go build "${flags[@]}" -o "$dir.tmp/csr-oracle" main.go) >&2
    date -u +%FT%TZ >"$dir.tmp/.stamp"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
fi
echo "$dir/csr-oracle"
