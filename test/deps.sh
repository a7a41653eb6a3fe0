#!/usr/bin/env bash
# Installs the Debian packages corral needs to build and test, if missing.
# Sourced by test/all.sh and test/demo.sh; run as root (or with sudo).
set -euo pipefail

CORRAL_PACKAGES=(
  build-essential meson ninja-build pkg-config
  libcurl4-openssl-dev libuv1-dev uthash-dev libidn2-dev libssl-dev
  check python3 valgrind nginx-light openssl clang libclang-rt-14-dev
)

corral_install_deps() {
  local missing=() p
  for p in "${CORRAL_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}
