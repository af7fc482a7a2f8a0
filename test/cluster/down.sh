#!/usr/bin/env bash
# Stops the control plane that test/cluster/up.sh DIR started: exactly the
# processes whose PIDs it recorded in DIR/run/ (and only while their command
# line still names DIR), SIGTERM then SIGKILL after 15 s. Keeps DIR/logs/.
# Safe to run twice, or after a failed up.sh.
#
# Usage: test/cluster/down.sh DIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 DIR"
[[ -d "$1" ]] || die "$1: no such directory"
dir="$(cd "$1" && pwd)"

stopped=()
# Reverse start order: clients before the store.
for name in kube-controller-manager kube-apiserver etcd; do
  pidfile="$dir/run/$name.pid"
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  if ours "$pid" "$dir"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      ours "$pid" "$dir" || break
      sleep 0.1
    done
    if ours "$pid" "$dir"; then
      echo "down.sh: $name ($pid) ignored SIGTERM, killing" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    ours "$pid" "$dir" && die "$name ($pid) still running"
    stopped+=("$name:$pid")
  fi
  rm -f "$pidfile"
done
rm -rf "$dir/etcd"
[[ -f "$dir/env" ]] && mv "$dir/env" "$dir/env.stopped"
echo "cluster down: stopped ${stopped[*]:-nothing}; logs in $dir/logs"
