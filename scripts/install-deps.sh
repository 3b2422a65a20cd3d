#!/usr/bin/env bash
# Installs the Debian 12 packages minga needs to build, test and run.
# Idempotent: returns in a moment when everything is already there.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also what the side-by-side benchmarks use (redis, etcd 3.4 and
#                                    the Go sources its load generator builds from offline, python3,
#                                    PyTorch with OpenBLAS for the ML peer)
#   scripts/install-deps.sh --image  also what `make image-test` uses: Debian's podman (with runc),
#                                    debootstrap for the base image (docs/deploy.md)
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config make
  libboost-dev protobuf-compiler libprotobuf-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libicu-dev libeigen3-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang clang-format libclang-rt-14-dev
  libssl-dev netcat-openbsd docker-compose haproxy
  zlib1g-dev dataset-fashion-mnist
  chromium
)
# deploy/'s checks (tests/deploy): kubectl for `kubectl kustomize`, node and
# npm for the schema and Dockerfile checks. Another kubectl or node already
# on the PATH serves as well (Debian's packages would conflict with them).
command -v kubectl >/dev/null || packages+=(kubernetes-client)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(redis-server redis-tools python3 curl etcd-server golang-go golang-etcd-server-dev
    python3-torch python3-numpy libopenblas0-pthread)
fi
if [[ "${1:-}" == "--image" ]]; then
  packages+=(podman runc netavark aardvark-dns debootstrap curl python3)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The node packages of tests/deploy (its checks) and web/dashboard (the
# dashboard's bundle, built into the binary, and its browser tests, which
# drive Debian's chromium: playwright never downloads a browser), exactly as
# their package-lock.json say. Skipped (no network) while node_modules was
# installed from the same lock file.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
for dir in "$root/tests/deploy" "$root/web/dashboard"; do
  lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ "$(cat "$dir/node_modules/.installed-from-lock" 2>/dev/null)" != "$lock_sum" ]]; then
    echo "installing the node packages of ${dir#"$root"/} (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" >"$dir/node_modules/.installed-from-lock"
  fi
done
