#!/usr/bin/env bash
# Installs every build and test dependency of certguard from Debian packages.
# Idempotent: packages already present are left as they are. Used by the README,
# .ci/run and the Dockerfile's build stage, so all three build the same way.
# `--build-only` (the Dockerfile) leaves out what only the tests use.
#
# Usage: hack/install-deps.sh [--build-only]
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl openssl jq unzip
  libssl-dev libcpprest-dev nlohmann-json3-dev libyaml-cpp-dev prometheus-cpp-dev
  libspdlog-dev catch2 libcli11-dev libre2-dev
  clang libclang-rt-14-dev ccache
)
# Test-only: keytool reads the JKS and PKCS#12 trust stores certguard writes.
test_packages=(openjdk-17-jre-headless)

case "${1:-}" in
  --build-only) ;;
  "") packages+=("${test_packages[@]}") ;;
  *) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
