#!/usr/bin/env bash
# Smoke check of the arm64 release binary on an amd64 host (CI runs it after
# `hack/build-release.sh --arch arm64`): the file is an aarch64 ELF; under qemu-aarch64,
# with the loader and libraries of the :arm64 packages (`hack/install-deps.sh --arm64`),
# `certguard version` runs and `certguard csr evaluate` approves a kubelet serving CSR
# that matches its Node and denies one that claims an address the Node does not have;
# every library it loads comes from hack/runtime-packages.txt, as :arm64 packages.
#
# Usage: hack/check-arm64.sh [BINARY]   (default build-release-arm64/out/certguard)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build-release-arm64/out/certguard}")
fail() { echo "check-arm64: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "no binary at $bin"

# ELF header: magic, ELFCLASS64 (2), little endian (1), e_machine (offset 18) EM_AARCH64 = 183.
read -r -a ident < <(od -An -tu1 -N6 "$bin")
[ "${ident[*]}" = "127 69 76 70 2 1" ] || fail "$bin is not a 64-bit little-endian ELF (${ident[*]})"
machine=$(od -An -tu2 -j18 -N2 "$bin" | tr -d ' ')
[ "$machine" = 183 ] || fail "$bin has e_machine $machine, not 183 (AArch64)"
echo "check-arm64: $(file -b "$bin")"
# Its libraries come from the system's directories, as in the image: no RPATH/RUNPATH
# (the build finds two of them through /opt/certguard-arm64, which the image lacks).
! readelf -d "$bin" | grep -E '\((RPATH|RUNPATH)\)' || fail "$bin has a library search path"

run() { qemu-aarch64 "$bin" "$@"; }
version=$(run version) || fail "certguard version failed under qemu-aarch64"
want=$(sed -n 's/^project(certguard VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
grep -qx "certguard $want" <<<"$version" || fail "version printed '$version', want certguard $want"
grep -q '^openssl: OpenSSL 3' <<<"$version" || fail "version names no OpenSSL 3: '$version'"
echo "check-arm64: version under qemu-aarch64: $(tr '\n' ' ' <<<"$version")"

# A kubelet serving CSR for worker-1 (10.0.0.11), made here so nothing expires; the
# same CSR with an address worker-1 does not have must be denied.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/nodes.yaml" <<'YAML'
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: worker-1
  status:
    addresses:
    - {type: InternalIP, address: 10.0.0.11}
    - {type: Hostname, address: worker-1}
    conditions:
    - {type: Ready, status: "True", lastTransitionTime: "2026-11-01T00:00:00Z"}
YAML
evaluate() { # NAME SAN -> the JSON decision
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tmp/$1.key" -subj "/O=system:nodes/CN=system:node:worker-1" \
    -addext "subjectAltName=$2" -out "$tmp/$1.pem" 2>/dev/null
  cat >"$tmp/$1.yaml" <<YAML
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: $1
  creationTimestamp: "2026-11-24T06:00:00Z"
spec:
  request: $(base64 -w0 "$tmp/$1.pem")
  signerName: kubernetes.io/kubelet-serving
  usages: [digital signature, key encipherment, server auth]
  username: system:node:worker-1
  groups: [system:nodes, system:authenticated]
YAML
  run csr evaluate --csr "$tmp/$1.yaml" --nodes "$tmp/nodes.yaml" -o json \
    --now 2026-11-24T06:30:00Z || fail "csr evaluate of $1 exited $?"
}
expect() { # JSON DECISION CODE
  local got
  got=$(jq -r '.decision + " " + ([.reasons[].code] | join(","))' <<<"$1") ||
    fail "csr evaluate printed no JSON: $1"
  [ "${got%% *}" = "$2" ] && grep -qw "$3" <<<"${got#* }" || fail "want $2 ($3), got $got"
  echo "check-arm64: csr evaluate under qemu-aarch64: $got"
}
out=$(evaluate serving 'DNS:worker-1,IP:10.0.0.11')
expect "$out" Approve ApprovedServing
out=$(evaluate foreign-ip 'DNS:worker-1,IP:10.0.0.99')
expect "$out" Deny SANNotNodeAddress

bash hack/check-runtime-packages.sh "$bin"
