#!/usr/bin/env bash
# Builds the release binary into OUT_DIR. The Dockerfile's build stage runs exactly
# this, and so does CI.
#
# Usage: hack/build-release.sh [--arch amd64|arm64] [OUT_DIR]
#   amd64 (the default): native build in build-release/, OUT_DIR build-release/out.
#   arm64: build-release-arm64/, OUT_DIR build-release-arm64/out; on an amd64 host a
#   cross build (cmake/toolchain-aarch64-linux-gnu.cmake, after `hack/install-deps.sh --arm64`),
#   its `version` run under qemu-aarch64.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=amd64
if [ "${1:-}" = "--arch" ]; then
  arch=${2:?"usage: $0 [--arch amd64|arm64] [OUT_DIR]"}
  shift 2
fi
host=$(dpkg --print-architecture 2>/dev/null || echo amd64)
tree=build-release
[ "$arch" = amd64 ] || tree=build-release-$arch
toolchain=(); strip=strip; run=()
if [ "$arch" != "$host" ]; then
  [ "$arch:$host" = arm64:amd64 ] ||
    { echo "build-release: cannot build $arch on $host (native, or arm64 on amd64)" >&2; exit 2; }
  toolchain=(-DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-aarch64-linux-gnu.cmake")
  strip=aarch64-linux-gnu-strip
  run=(qemu-aarch64) # the :arm64 packages provide its loader and libraries
fi
out=${1:-$tree/out}
# Warnings are errors in the RelWithDebInfo and sanitizer builds (make test); not here,
# since GCC 12 at -O3 reports false -Wrestrict/-Warray-bounds inside libstdc++'s string.
cmake -S . -B "$tree" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCERTGUARD_WERROR=OFF \
  -DCERTGUARD_BUILD_TESTS=OFF "${toolchain[@]}"
cmake --build "$tree" -j "$(nproc)" --target certguard
mkdir -p "$out"
install -m 0755 "$tree/operator/certguard" "$out/certguard"
"$strip" "$out/certguard"
"${run[@]}" "$out/certguard" version
