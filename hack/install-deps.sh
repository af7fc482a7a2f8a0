#!/usr/bin/env bash
# Installs every build and test dependency of certguard from Debian packages.
# Idempotent: packages already present are left as they are. Used by the README,
# .ci/run and the Dockerfile's build stage, so all three build the same way.
# `--build-only` (the Dockerfile) leaves out what only the tests use.
# `--arm64` adds what the arm64 release build and its smoke check need (see below).
#
# Usage: hack/install-deps.sh [--build-only] [--arm64]
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl openssl jq unzip
  libssl-dev libcpprest-dev nlohmann-json3-dev libyaml-cpp-dev prometheus-cpp-dev
  libspdlog-dev catch2 libcli11-dev libre2-dev
  clang libclang-rt-14-dev ccache
)
# Test-only: keytool reads the JKS and PKCS#12 trust stores certguard writes.
test_packages=(openjdk-17-jre-headless)

# arm64 cross build (Debian multiarch): the cross compiler, qemu-user for the smoke
# check, and the :arm64 libraries. Header-only and arch-all packages (nlohmann_json,
# CLI11) serve both architectures from the host install.
arm64_packages=(
  crossbuild-essential-arm64 qemu-user file
  libssl-dev:arm64 libcpprest-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64
  libre2-dev:arm64 zlib1g-dev:arm64 libcivetweb-dev:arm64 libcurl4-openssl-dev:arm64
  libyaml-cpp0.7:arm64 libprometheus-cpp-core1.0:arm64 libprometheus-cpp-pull1.0:arm64
  libprometheus-cpp-push1.0:arm64
)
# libyaml-cpp-dev (not Multi-Arch: same) and prometheus-cpp-dev (depends on the civetweb
# program) cannot be installed for both architectures: apt would remove the amd64 ones.
# Their arm64 CMake and pkg-config files are unpacked into this prefix instead, their
# libraries pointing at the :arm64 runtime packages above (cmake/toolchain-aarch64-linux-gnu.cmake).
arm64_extra_prefix=/opt/certguard-arm64
# Each entry: the -dev package, then the runtime packages it belongs to (the first gives
# the version).
arm64_extract=(
  "libyaml-cpp-dev libyaml-cpp0.7"
  "prometheus-cpp-dev libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprometheus-cpp-push1.0"
)

arm64=0
for arg in "$@"; do
  case "$arg" in
    --build-only) build_only=1 ;;
    --arm64) arm64=1 ;;
    *) echo "usage: $0 [--build-only] [--arm64]" >&2; exit 2 ;;
  esac
done
[ -n "${build_only:-}" ] || packages+=("${test_packages[@]}")
[ $arm64 -eq 0 ] || packages+=("${arm64_packages[@]}")

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

updated=0 # whether apt's lists were refreshed in this run
if [ $arm64 -eq 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  updated=1
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The arm64 -dev files apt cannot install next to the amd64 ones, at the version of the
# installed runtime library. A stamp names the versions, so a rerun does nothing.
if [ $arm64 -eq 1 ]; then
  want=""
  for entry in "${arm64_extract[@]}"; do
    read -r dev runtime _ <<<"$entry"
    want+="$dev=$(dpkg-query -W -f='${Version}' "$runtime:arm64") "
  done
  if [ "$(cat "$arm64_extra_prefix/stamp" 2>/dev/null)" != "$want" ]; then
    [ $updated -eq 1 ] || $SUDO apt-get update -qq
    tmp=$(mktemp -d)
    [ "$(id -u)" -ne 0 ] || chown _apt "$tmp" # apt-get download runs as _apt
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && for pv in $want; do apt-get download -qq "${pv%%=*}:arm64=${pv#*=}"; done)
    $SUDO rm -rf "$arm64_extra_prefix"
    for deb in "$tmp"/*.deb; do $SUDO dpkg-deb -x "$deb" "$arm64_extra_prefix"; done
    # The CMake files name the versioned libraries beside them: link the installed ones.
    lib=$arm64_extra_prefix/usr/lib/aarch64-linux-gnu
    for entry in "${arm64_extract[@]}"; do
      read -r _ runtime <<<"$entry"
      for pkg in $runtime; do
        for so in $(dpkg -L "$pkg:arm64" | grep -E '/lib[^/]*\.so\.[0-9.]+$'); do
          $SUDO ln -sf "$so" "$lib/$(basename "$so")"
        done
      done
    done
    echo "$want" | $SUDO tee "$arm64_extra_prefix/stamp" >/dev/null
    echo "install-deps: unpacked ${want}into $arm64_extra_prefix"
  fi
fi
