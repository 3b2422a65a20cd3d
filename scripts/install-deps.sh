#!/usr/bin/env bash
# Installs the Debian 12 packages minga needs to build, test and run.
# Idempotent: returns in a moment when everything is already there.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also what the side-by-side benchmarks use (redis, etcd 3.4 and
#                                    the Go sources its load generator builds from offline, python3,
#                                    PyTorch with OpenBLAS for the ML peer)
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config make
  libboost-dev protobuf-compiler libprotobuf-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libicu-dev libeigen3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang clang-format libclang-rt-14-dev
  libssl-dev netcat-openbsd docker-compose
  zlib1g-dev dataset-fashion-mnist
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(redis-server redis-tools python3 curl etcd-server golang-go golang-etcd-server-dev
    python3-torch python3-numpy libopenblas0-pthread)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "installing: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
