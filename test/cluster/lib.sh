# Shared by the scripts of test/cluster/. Sourced, not run.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# tools_dir: the directory with kube-apiserver, kubectl, etcd, ... (builds them if needed).
tools_dir() {
  if [[ -n "${CERTGUARD_TOOLS:-}" ]]; then
    echo "$CERTGUARD_TOOLS"
  else
    "$repo_root/hack/tools/build.sh" -q
  fi
}

# load_env DIR: reads DIR/env (written by up.sh) into the shell.
load_env() {
  [[ -f "$1/env" ]] || die "$1/env not found: run test/cluster/up.sh $1 first"
  set -a
  # shellcheck disable=SC1091
  source "$1/env"
  set +a
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now, below the
# kernel's ephemeral range so that no outgoing connection takes it meanwhile.
free_port() {
  local port tries low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  ((low > 11024)) || die "ephemeral port range starts at $low: no room below it"
  for ((tries = 0; tries < 100; tries++)); do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

# ours PID DIR: true when PID is alive and is a process started for cluster DIR
# (its command line names DIR), so a recycled PID is never touched.
ours() {
  local pid="$1" dir="$2"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/"
}

# write_kubeconfig FILE USER CONTEXT CREDENTIAL...: writes FILE, a kubeconfig for
# the cluster of the loaded env (KUBE_SERVER, CLUSTER_CA) with one user USER,
# whose CREDENTIAL lines ("token: ...", "client-key: ...") go under `user:`, in
# context CONTEXT.
write_kubeconfig() {
  local file="$1" user="$2" context="$3"
  shift 3
  {
    cat <<KC
apiVersion: v1
kind: Config
clusters:
- name: certguard-test
  cluster:
    server: $KUBE_SERVER
    certificate-authority: $CLUSTER_CA
users:
- name: $user
  user:
KC
    printf '    %s\n' "$@"
    cat <<KC
contexts:
- name: $context
  context: {cluster: certguard-test, user: "$user"}
current-context: $context
KC
  } >"$file"
}
