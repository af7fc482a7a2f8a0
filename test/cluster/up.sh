#!/usr/bin/env bash
# Starts a real Kubernetes control plane on 127.0.0.1 for tests and the demo:
# etcd, kube-apiserver and kube-controller-manager (CSR signing and root CA
# publishing only: certguard is the approver), with a fresh openssl PKI.
#
# Usage: test/cluster/up.sh DIR
# Writes DIR/admin.kubeconfig (O=system:masters), DIR/env (sourceable:
# KUBECONFIG, KUBE_SERVER, ports, PIDs, paths), DIR/pki/, DIR/logs/.
# Stop it with test/cluster/down.sh DIR. On failure it stops what it started.
# Env: CERTGUARD_TOOLS (tool directory; default: hack/tools/build.sh builds it),
#      UP_TIMEOUT (seconds to wait for each component, default 60),
#      UP_EXTRA_CONTROLLERS (comma list added to kube-controller-manager's, e.g. garbagecollector),
#      UP_SIGNING_DURATION (kube-controller-manager --cluster-signing-duration, e.g. 3m, so that
#        kubelets rotate inside a test; default: kube-controller-manager's own, one year).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 DIR"
mkdir -p "$1"
dir="$(cd "$1" && pwd)"
timeout="${UP_TIMEOUT:-60}"
start=$SECONDS

if [[ -f "$dir/env" ]]; then
  (load_env "$dir"
   for pid in "${ETCD_PID:-}" "${KUBE_APISERVER_PID:-}" "${KUBE_CONTROLLER_MANAGER_PID:-}"; do
     if ours "$pid" "$dir"; then die "a cluster is already running in $dir: run down.sh $dir first"; fi
   done)
fi

tools="$(tools_dir)"
for t in etcd kube-apiserver kube-controller-manager kubectl; do
  [[ -x "$tools/$t" ]] || die "$tools/$t missing"
done

rm -rf "$dir/pki" "$dir/etcd" "$dir/logs" "$dir/nodes" "$dir/run" "$dir/env" "$dir"/*.kubeconfig
mkdir -p "$dir/pki" "$dir/logs" "$dir/run"
pki="$dir/pki"

# From here on, a failure stops whatever was started.
up_ok=0
cleanup() {
  if ((up_ok == 0)); then
    echo "up.sh: failed, stopping what was started; logs in $dir/logs" >&2
    for f in "$dir"/logs/*.log; do
      [[ -f "$f" ]] && { echo "--- tail of $f" >&2; tail -n 15 "$f" >&2; }
    done
    "$repo_root/test/cluster/down.sh" "$dir" >&2 || true
  fi
}
trap cleanup EXIT

# ---- PKI ------------------------------------------------------------------
ssl() { openssl "$@" 2>>"$dir/logs/openssl.log"; }

# new_ca NAME CN
new_ca() {
  ssl ecparam -name prime256v1 -genkey -noout -out "$pki/$1.key"
  ssl req -x509 -new -key "$pki/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyCertSign,cRLSign" \
    -out "$pki/$1.crt"
}

# new_cert NAME SUBJECT EXTFILE_CONTENT: a leaf certificate signed by the cluster CA.
new_cert() {
  ssl ecparam -name prime256v1 -genkey -noout -out "$pki/$1.key"
  ssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr"
  printf '%s\n' "$3" >"$pki/$1.ext"
  ssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$pki/$1.ext" -out "$pki/$1.crt"
  rm -f "$pki/$1.csr" "$pki/$1.ext"
}

client_ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

new_ca ca "certguard-test-cluster-ca"
new_ca signer-ca "certguard-test-kcm-signer-ca"
# The API server accepts client certificates of both: the harness mints node
# identities from ca, kube-controller-manager issues kubelet client certificates
# from signer-ca, and a kubelet authenticates with the one it was issued.
cat "$pki/ca.crt" "$pki/signer-ca.crt" >"$pki/client-ca.crt"
new_cert apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1"
new_cert admin "/O=system:masters/CN=kubernetes-admin" "$client_ext"
new_cert kube-controller-manager "/CN=system:kube-controller-manager" "$client_ext"
ssl genrsa -out "$pki/sa.key" 2048
ssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
chmod 600 "$pki"/*.key

# ---- ports ----------------------------------------------------------------
etcd_port="$(free_port)"
etcd_peer_port="$(free_port)"
apiserver_port="$(free_port)"
kcm_port="$(free_port)"
while [[ "$etcd_peer_port" == "$etcd_port" ]]; do etcd_peer_port="$(free_port)"; done
while [[ "$apiserver_port" == "$etcd_port" || "$apiserver_port" == "$etcd_peer_port" ]]; do
  apiserver_port="$(free_port)"
done
while [[ " $etcd_port $etcd_peer_port $apiserver_port " == *" $kcm_port "* ]]; do kcm_port="$(free_port)"; done
server="https://127.0.0.1:$apiserver_port"

# write_kubeconfig FILE USER CERT KEY
write_kubeconfig() {
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: certguard-test
  cluster:
    server: $server
    certificate-authority: $pki/ca.crt
users:
- name: $2
  user:
    client-certificate: $3
    client-key: $4
contexts:
- name: $2@certguard-test
  context: {cluster: certguard-test, user: $2}
current-context: $2@certguard-test
KC
}
write_kubeconfig "$dir/admin.kubeconfig" admin "$pki/admin.crt" "$pki/admin.key"
write_kubeconfig "$dir/kube-controller-manager.kubeconfig" kube-controller-manager \
  "$pki/kube-controller-manager.crt" "$pki/kube-controller-manager.key"

# Each component: own session (so no terminal or test runner signal reaches it),
# stdin from /dev/null and output to its log (so a caller's pipes close at once).
# launch NAME CMD...: starts CMD, records its PID in $dir/run/NAME.pid.
launch() {
  local name="$1"; shift
  setsid "$@" </dev/null >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/run/$name.pid"
}

# wait_for NAME PID CMD...: until CMD succeeds; fails if PID dies or after $timeout s.
wait_for() {
  local name="$1" pid="$2" deadline=$((SECONDS + timeout)); shift 2
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (see $dir/logs/$name.log)"
    ((SECONDS < deadline)) || die "$name not ready after ${timeout}s (see $dir/logs/$name.log)"
    sleep 0.2
  done
}

https_ok() {  # https_ok URL [curl args]: HTTP 200 with body "ok"
  local url="$1"; shift
  [[ "$(curl -sS --max-time 5 "$@" "$url")" == ok ]]
}

# ---- etcd -----------------------------------------------------------------
# Plain HTTP on loopback: only this machine can reach it. No fsync: test data.
launch etcd "$tools/etcd" \
  --name=certguard-test \
  --data-dir="$dir/etcd" \
  --listen-client-urls="http://127.0.0.1:$etcd_port" \
  --advertise-client-urls="http://127.0.0.1:$etcd_port" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster="certguard-test=http://127.0.0.1:$etcd_peer_port" \
  --unsafe-no-fsync \
  --log-level=warn
etcd_pid="$(cat "$dir/run/etcd.pid")"
wait_for etcd "$etcd_pid" https_ok "http://127.0.0.1:$etcd_port/health" -o /dev/null -w ok --fail

# ---- kube-apiserver -------------------------------------------------------
launch kube-apiserver "$tools/kube-apiserver" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$apiserver_port" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/client-ca.crt" \
  --enable-bootstrap-token-auth=true \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" \
  --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.96.0.0/12 \
  --endpoint-reconciler-type=none \
  --cert-dir="$dir/run/apiserver" \
  --profiling=false \
  --v=1
apiserver_pid="$(cat "$dir/run/kube-apiserver.pid")"
wait_for kube-apiserver "$apiserver_pid" https_ok "$server/readyz" \
  --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key"

# ---- kube-controller-manager ----------------------------------------------
# Only the CSR signer and the kube-root-ca.crt publisher: no approver.
# Each controller runs as its own service account, as in kubeadm clusters.
launch kube-controller-manager "$tools/kube-controller-manager" \
  --kubeconfig="$dir/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$dir/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$dir/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$kcm_port" \
  --cert-dir="$dir/run/kube-controller-manager" \
  --controllers=certificatesigningrequest-signing-controller,root-ca-certificate-publisher-controller${UP_EXTRA_CONTROLLERS:+,$UP_EXTRA_CONTROLLERS} \
  --cluster-signing-cert-file="$pki/signer-ca.crt" \
  --cluster-signing-key-file="$pki/signer-ca.key" \
  ${UP_SIGNING_DURATION:+--cluster-signing-duration="$UP_SIGNING_DURATION"} \
  --root-ca-file="$pki/ca.crt" \
  --service-account-private-key-file="$pki/sa.key" \
  --use-service-account-credentials=true \
  --leader-elect=false \
  --profiling=false \
  --v=1
kcm_pid="$(cat "$dir/run/kube-controller-manager.pid")"
wait_for kube-controller-manager "$kcm_pid" https_ok "https://127.0.0.1:$kcm_port/healthz" -k
# Ready for tests once the root CA publisher has written kube-root-ca.crt.
wait_for kube-controller-manager "$kcm_pid" \
  "$tools/kubectl" --kubeconfig "$dir/admin.kubeconfig" -n default get configmap kube-root-ca.crt

cat >"$dir/env" <<ENV
# Written by test/cluster/up.sh; sourceable by sh. Stop with test/cluster/down.sh $dir
CERTGUARD_CLUSTER_DIR=$dir
KUBECONFIG=$dir/admin.kubeconfig
KUBE_SERVER=$server
KUBE_APISERVER_PORT=$apiserver_port
KUBE_CONTROLLER_MANAGER_PORT=$kcm_port
ETCD_PORT=$etcd_port
ETCD_PEER_PORT=$etcd_peer_port
ETCD_PID=$etcd_pid
KUBE_APISERVER_PID=$apiserver_pid
KUBE_CONTROLLER_MANAGER_PID=$kcm_pid
CLUSTER_CA=$pki/ca.crt
CLUSTER_CA_KEY=$pki/ca.key
SIGNER_CA=$pki/signer-ca.crt
TOOLS_DIR=$tools
KUBECTL=$tools/kubectl
ENV
up_ok=1
echo "cluster up in $((SECONDS - start))s: $server (KUBECONFIG=$dir/admin.kubeconfig, env in $dir/env)"
