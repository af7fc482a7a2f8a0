#!/usr/bin/env bash
# A kubelet stand-in for tests: requests a node certificate exactly as the
# kubelet (k8s.io/kubernetes pkg/kubelet/certificate, client-go
# util/certificate) does, waits for approval and issuance, saves the result.
#
#   kubelet-csr.sh create  --kubeconfig F --node NAME --type client|serving --out PREFIX
#                          [--dns NAME]... [--ip IP]... [--key-type ecdsa|rsa]
#                          [--bootstrap] [--expiration-seconds N]
#       Writes PREFIX.key (ECDSA P-256 unless rsa: 2048 bits) and PREFIX.csr,
#       creates the CertificateSigningRequest, prints its name (also in PREFIX.name).
#   kubelet-csr.sh wait    --kubeconfig F --name CSR --out PREFIX [--timeout SECONDS]
#       Waits for the certificate (default 60 s), writes PREFIX.crt. Prints one
#       line: "issued", "denied: REASON: MESSAGE", "failed: ..." or "timeout".
#   kubelet-csr.sh request (the options of create, plus --timeout): create then wait.
#
# The kubelet's shapes: subject O=system:nodes, CN=system:node:NAME; client:
# signer kubernetes.io/kube-apiserver-client-kubelet, no SANs, usages
# [digital signature, client auth]; serving: signer kubernetes.io/kubelet-serving,
# the DNS and IP SANs given (the kubelet takes them from its node addresses),
# usages [digital signature, server auth]; key encipherment is added for RSA keys.
# The name is generateName "csr-" (certificate rotation, serving) or, with
# --bootstrap, the kubelet's TLS-bootstrap name node-csr-<digest of key,
# subject and usages>.
#
# Exit: 0 created/issued, 1 error, 2 usage, 3 denied, 4 failed, 5 timeout.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '5,16p' "$0" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
cmd="$1"; shift
kubeconfig="" node="" type="" out="" key_type=ecdsa bootstrap=0 expiration="" name="" timeout=60
dns=() ips=()
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 || "$1" == --bootstrap ]] || usage
  case "$1" in
    --kubeconfig) kubeconfig="$2"; shift 2 ;;
    --node) node="$2"; shift 2 ;;
    --type) type="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --dns) dns+=("$2"); shift 2 ;;
    --ip) ips+=("$2"); shift 2 ;;
    --key-type) key_type="$2"; shift 2 ;;
    --bootstrap) bootstrap=1; shift ;;
    --expiration-seconds) expiration="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[[ -n "$kubeconfig" && -n "$out" ]] || usage
kubectl="${KUBECTL:-$(command -v kubectl || true)}"
if [[ -z "$kubectl" ]]; then kubectl="$(tools_dir)/kubectl"; fi

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

create() {
  [[ -n "$node" ]] || usage
  local signer usages
  case "$type" in
    client) signer=kubernetes.io/kube-apiserver-client-kubelet; usages='"digital signature","client auth"' ;;
    serving) signer=kubernetes.io/kubelet-serving; usages='"digital signature","server auth"' ;;
    *) usage ;;
  esac
  case "$key_type" in
    ecdsa) openssl ecparam -name prime256v1 -genkey -noout -out "$out.key" 2>/dev/null ;;
    rsa)
      openssl genrsa -traditional -out "$out.key" 2048 2>/dev/null
      usages="${usages/,/,\"key encipherment\",}"   # the kubelet's order: ds, ke, auth
      ;;
    *) usage ;;
  esac
  chmod 600 "$out.key"

  # Only the subject and, for serving, the SANs: no other extension, as Go's
  # x509.CreateCertificateRequest makes it from the kubelet's template.
  local conf san=""
  conf="$(mktemp)"
  printf '[req]\ndistinguished_name=dn\n[dn]\n' >"$conf"
  local d i
  for d in "${dns[@]}"; do san+="${san:+,}DNS:$d"; done
  for i in "${ips[@]}"; do san+="${san:+,}IP:$i"; done
  local subject="/O=system:nodes/CN=system:node:$node"
  if [[ -n "$san" ]]; then
    openssl req -new -config "$conf" -key "$out.key" -subj "$subject" -addext "subjectAltName=$san" -out "$out.csr"
  else
    openssl req -new -config "$conf" -key "$out.key" -subj "$subject" -out "$out.csr"
  fi
  rm -f "$conf"

  local meta
  if ((bootstrap)); then
    # pkg/kubelet/certificate/bootstrap digestedName: sha512/256 over base64url
    # fields, each followed by '|': public key (PKIX DER), CN, each O, each usage.
    local digest
    digest="$( {
      openssl pkey -in "$out.key" -pubout -outform DER 2>/dev/null | b64url; printf '|'
      printf '%s' "system:node:$node" | b64url; printf '|'
      printf '%s' "system:nodes" | b64url; printf '|'
      local u
      while read -r u; do printf '%s' "$u" | b64url; printf '|'; done < <(jq -r '.[]' <<<"[$usages]")
    } | openssl dgst -sha512-256 -binary | b64url)"
    meta="{\"name\": \"node-csr-$digest\"}"
  elif [[ -n "$name" ]]; then
    meta="$(jq -cn --arg n "$name" '{name: $n}')"
  else
    meta='{"generateName": "csr-"}'
  fi
  local spec
  spec="$(jq -cn --arg req "$(base64 -w0 <"$out.csr")" --arg signer "$signer" \
    --argjson usages "[$usages]" --arg exp "$expiration" \
    '{request: $req, signerName: $signer, usages: $usages}
     + (if $exp == "" then {} else {expirationSeconds: ($exp | tonumber)} end)')"
  local created
  created="$(jq -n --argjson meta "$meta" --argjson spec "$spec" \
    '{apiVersion: "certificates.k8s.io/v1", kind: "CertificateSigningRequest", metadata: $meta, spec: $spec}' |
    "$kubectl" --kubeconfig "$kubeconfig" create -f - -o jsonpath='{.metadata.name}')" ||
    die "creating the CSR failed"
  echo "$created" >"$out.name"
  name="$created"
  echo "$created"
}

wait_issued() {
  [[ -n "$name" ]] || usage
  local deadline=$((SECONDS + timeout)) json
  while :; do
    if json="$("$kubectl" --kubeconfig "$kubeconfig" get csr "$name" -o json 2>/dev/null)"; then
      local denied failed cert
      denied="$(jq -r '[.status.conditions[]? | select(.type == "Denied" and .status == "True")][0] // empty
                       | "\(.reason): \(.message)"' <<<"$json")"
      if [[ -n "$denied" ]]; then echo "denied: $denied"; return 3; fi
      failed="$(jq -r '[.status.conditions[]? | select(.type == "Failed" and .status == "True")][0] // empty
                       | "\(.reason): \(.message)"' <<<"$json")"
      if [[ -n "$failed" ]]; then echo "failed: $failed"; return 4; fi
      cert="$(jq -r '.status.certificate // empty' <<<"$json")"
      if [[ -n "$cert" ]]; then
        base64 -d <<<"$cert" >"$out.crt"
        echo issued
        return 0
      fi
    fi
    if ((SECONDS >= deadline)); then echo timeout; return 5; fi
    sleep 0.5
  done
}

case "$cmd" in
  create) create ;;
  wait) wait_issued ;;
  request) create >/dev/null; wait_issued ;;
  *) usage ;;
esac
