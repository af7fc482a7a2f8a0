#!/usr/bin/env bash
# Builds the peers certguard is benchmarked against (the approvers, and
# trust-manager), from the Go module proxy, into the tool cache (never into the
# repository), one line per peer on stdout:
#   NAME<TAB>ok<TAB>BINARY
#   NAME<TAB>unavailable<TAB>WHY        (the proxy refused it, the build failed, ...)
# A peer that cannot be had is reported, never dropped: the benchmark prints why.
# Built like hack/tools/build.sh builds helm: `go install MODULE/CMD@VERSION`
# (their go.mod files replace nothing, so no wrapper module is needed), at low
# priority and one package at a time (GOFLAGS=-p=1): the machine is shared.
# A peer is rebuilt only when its pin, its preparation or the Go version changes.
#
# trust-manager's metrics and readiness servers listen on 0.0.0.0 (only their
# ports are flags): its build binds them to 127.0.0.1 (the two addresses in
# cmd/trust-manager/app/app.go, nothing else changed; see build below). Its Helm
# chart (the Bundle CRD's source) is kept next to the binary, in BINARY_DIR/chart,
# for the benchmark to render and apply.
#
# Usage: hack/tools/build-peers.sh [NAME...]     (default: every peer)
# Env:   CERTGUARD_TOOLS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/certguard/tools)
set -uo pipefail

# name  package@version
PEERS=(
  "kubelet-csr-approver github.com/postfinance/kubelet-csr-approver/cmd/kubelet-csr-approver@v1.2.14"
  "kubelet-serving-cert-approver github.com/alex1989hu/kubelet-serving-cert-approver@v0.11.0"
  "trust-manager github.com/cert-manager/trust-manager/cmd/trust-manager@v0.24.0"
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

# build NAME PKG TMPDIR: builds TMPDIR/NAME, messages on stdout/stderr.
# Most peers: `go install PKG`. trust-manager: its module (as the proxy serves
# it) copied to TMPDIR/src with app.go's two listen hosts changed, then `go
# build` there with the module's own go.mod and go.sum (the same dependency
# versions as `go install`); its chart is kept in TMPDIR/chart.
build() {
  local name="$1" pkg="$2" tmp="$3"
  case "$name" in
    trust-manager)
      local path="${pkg%@*}" version="${pkg##*@}" mod info dir app="cmd/trust-manager/app/app.go"
      mod="${path%/cmd/*}@$version"
      info="$(go mod download -json "$mod")"
      dir="$(sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p' <<<"$info")"
      [[ -n "$dir" ]] ||
        { echo "go mod download $mod: $(sed -n 's/^\s*"Error": "\(.*\)",\?$/\1/p' <<<"$info")" >&2; return 1; }
      [[ -f "$dir/$app" && -d "$dir/deploy/charts/trust-manager" ]] ||
        { echo "no $app or chart in $mod" >&2; return 1; }
      cp -r "$dir" "$tmp/src" && chmod -R u+w "$tmp/src" || return 1
      sed -i 's/"0\.0\.0\.0:%d"/"127.0.0.1:%d"/' "$tmp/src/$app"
      [[ "$(grep -c '"127.0.0.1:%d"' "$tmp/src/$app")" == 2 ]] ||
        { echo "$app: expected two 0.0.0.0:%d listen addresses (metrics, readiness)" >&2; return 1; }
      cp -r "$tmp/src/deploy/charts/trust-manager" "$tmp/chart" || return 1
      (cd "$tmp/src" && nice -n 19 go build -trimpath -ldflags "-s -w" -o "$tmp/$name" ./cmd/trust-manager) || return 1
      rm -rf "$tmp/src" ;;
    *)
      (cd "$tmp" && GOBIN="$tmp" nice -n 19 go install -trimpath -ldflags "-s -w" "$pkg") ;;
  esac
}

exec 9>"$cache/peers/.lock"
flock 9

for p in "${PEERS[@]}"; do
  name="${p%% *}" pkg="${p#* }"
  dir="$cache/peers/$name/$(printf '%s\n' "$pkg" "$go_version" "$(declare -f build)" |
    sha256sum | cut -c1-12)"
  bin="$dir/$name"
  if [[ -f "$dir/.stamp" && -x "$bin" ]]; then
    printf '%s\tok\t%s\n' "$name" "$bin"
    continue
  fi
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  echo "$name: building $pkg (into $dir)" >&2
  if build "$name" "$pkg" "$dir.tmp" >"$dir.tmp/build.log" 2>&1 && [[ -x "$dir.tmp/$name" ]]; then
    date -u +%FT%TZ >"$dir.tmp/.stamp"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    printf '%s\tok\t%s\n' "$name" "$bin"
  else
    # The last meaningful line of go's error, on one line.
    why="$(grep -v '^\s*$' "$dir.tmp/build.log" | tail -n 3 | tr '\n\t' '  ' | cut -c1-400)"
    cat "$dir.tmp/build.log" >&2
    rm -rf "$dir.tmp"
    printf '%s\tunavailable\tbuilding %s failed: %s\n' "$name" "$pkg" "${why:-no output}"
  fi
done
