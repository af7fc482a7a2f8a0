#!/usr/bin/env bash
# Checks that every shared library the certguard binary loads comes from a
# package listed in hack/runtime-packages.txt, the list the Dockerfile's slim
# stage installs. Fails, naming the package, when one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build-release/out/certguard}
[ -x "$bin" ] || { echo "check-runtime-packages: no binary at $bin" >&2; exit 1; }
mapfile -t wanted < <(grep -v '^#' hack/runtime-packages.txt | sed '/^$/d')
missing=0
while read -r lib; do
  real=$(readlink -f "$lib")
  pkg=$(dpkg -S "$real" 2>/dev/null | head -1 | cut -d: -f1) || pkg=""
  [ -n "$pkg" ] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || true
  if [ -z "$pkg" ]; then
    echo "check-runtime-packages: $lib belongs to no package" >&2; missing=1; continue
  fi
  found=0
  for w in "${wanted[@]}"; do [ "$w" = "$pkg" ] && found=1; done
  if [ $found -eq 0 ]; then
    echo "check-runtime-packages: $lib comes from $pkg, not in hack/runtime-packages.txt" >&2
    missing=1
  fi
done < <(ldd "$bin" | awk '/=>/ {print $3}' | grep -v '^$')
[ $missing -eq 0 ] && echo "check-runtime-packages: every library of $bin is covered (${#wanted[@]} packages listed)"
exit $missing
