#!/usr/bin/env bash
# Checks that every shared library the certguard binary loads comes from a
# package listed in hack/runtime-packages.txt, the list the Dockerfile's slim
# stage installs. Fails, naming the package, when one is missing.
#
# Usage: hack/check-runtime-packages.sh [BINARY]   (default build-release/out/certguard)
# An arm64 binary on an amd64 host (hack/build-release.sh --arch arm64) is checked
# too: its loader, from libc6:arm64, lists its libraries under qemu-aarch64 as ldd
# would, and each must come from the :arm64 build of a listed package (the names are
# the same for both architectures).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build-release/out/certguard}
[ -x "$bin" ] || { echo "check-runtime-packages: no binary at $bin" >&2; exit 1; }
mapfile -t wanted < <(grep -v '^#' hack/runtime-packages.txt | sed '/^$/d')

machine=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
case "$machine" in
  "Advanced Micro Devices X86-64") arch=amd64 ;;
  AArch64) arch=arm64 ;;
  *) echo "check-runtime-packages: $bin is for '$machine', not amd64 or arm64" >&2; exit 1 ;;
esac
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
  list=(ldd "$bin")
else
  list=(qemu-aarch64 /lib/ld-linux-aarch64.so.1 --list "$bin")
fi
libs=$("${list[@]}") || { echo "check-runtime-packages: ${list[*]} failed" >&2; exit 1; }

missing=0
count=0
while read -r lib; do
  count=$((count + 1))
  # dpkg -S prints "package[:arch]: path"; the library's own path or its target.
  owner=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d' ' -f1) || owner=""
  [ -n "$owner" ] || owner=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d' ' -f1) || true
  owner=${owner%:}
  if [ -z "$owner" ]; then
    echo "check-runtime-packages: $lib belongs to no package" >&2; missing=1; continue
  fi
  pkg=${owner%%:*}
  pkg_arch=$(dpkg-query -W -f='${Architecture}' "$owner" 2>/dev/null) || pkg_arch=""
  if [ "$pkg_arch" != "$arch" ] && [ "$pkg_arch" != all ]; then
    echo "check-runtime-packages: $lib comes from $owner ($pkg_arch), not an $arch package" >&2
    missing=1
  fi
  found=0
  for w in "${wanted[@]}"; do [ "$w" = "$pkg" ] && found=1; done
  if [ $found -eq 0 ]; then
    echo "check-runtime-packages: $lib comes from $pkg, not in hack/runtime-packages.txt" >&2
    missing=1
  fi
done < <(awk '/=>/ {print $3}' <<<"$libs" | grep -v '^$')
if [ "$count" -eq 0 ]; then
  echo "check-runtime-packages: no library listed for $bin" >&2; missing=1
fi
[ $missing -eq 0 ] && echo "check-runtime-packages: every library of $bin ($arch, $count libraries) is covered (${#wanted[@]} packages listed)"
exit $missing
