#!/usr/bin/env bash
# The static checks of deploy/ (ctest runs each):
#   check-deploy.sh k8s              render deploy/k8s with `kubectl kustomize`, validate every object
#   check-deploy.sh k8s-broken       the same validation must reject a deliberately broken rendering
#   check-deploy.sh dockerfile BIN   parse deploy/Dockerfile; BIN's libraries must be installed in it
#   check-deploy.sh dockerfile-broken BIN   a Dockerfile that runs as root must be rejected
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
if [[ ! -d $here/node_modules/kubernetes-models || ! -d $here/node_modules/dockerfile-ast ]]; then
  echo "error: $here/node_modules is missing; run scripts/install-deps.sh" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Debian packages holding the shared libraries of BIN, but those every
# Debian image has (libc6, libgcc-s1, libstdc++6).
runtime_packages() {
  ldd "$1" | awk '/=> \// {print $3}' | while read -r lib; do
    # dpkg knows each file by one of its names: /lib or /usr/lib (merged /usr).
    for path in "$lib" "$(readlink -f "$lib")"; do
      for name in "$path" "${path#/usr}" "/usr$path"; do
        dpkg -S "$name" 2>/dev/null | cut -d: -f1
      done
    done | head -n1
  done | sort -u | grep -Ev '^(libc6|libgcc-s1|libstdc\+\+6)$' || true
}

case ${1:-} in
  k8s)
    kubectl kustomize "$root/deploy/k8s" >"$tmp/rendered.yaml"
    node "$here/validate-k8s.mjs" "$tmp/rendered.yaml"
    ;;
  k8s-broken)
    kubectl kustomize "$root/deploy/k8s" | sed 's/publishNotReadyAddresses: true/publishNotReadyAddresses: false/; s/replicas: 3$/replicas: three/' >"$tmp/rendered.yaml"
    out=$(node "$here/validate-k8s.mjs" "$tmp/rendered.yaml" 2>&1) && { echo "a broken rendering passed: $out" >&2; exit 1; }
    grep -q "fail: StatefulSet/minga: data/spec/replicas must be integer" <<<"$out"
    grep -q "fail: minga-peers publishes not-ready addresses" <<<"$out"
    echo "rejected as it should be"
    ;;
  dockerfile)
    mapfile -t pkgs < <(runtime_packages "$2")
    ((${#pkgs[@]} > 0)) || { echo "error: no runtime packages found for $2" >&2; exit 1; }
    node "$here/check-dockerfile.mjs" "$root/deploy/Dockerfile" "$root/.dockerignore" "${pkgs[@]}"
    ;;
  dockerfile-broken)
    sed 's/^USER .*/USER root/; s/ libssl3 / /' "$root/deploy/Dockerfile" >"$tmp/Dockerfile"
    mapfile -t pkgs < <(runtime_packages "$2")
    out=$(node "$here/check-dockerfile.mjs" "$tmp/Dockerfile" "$root/.dockerignore" "${pkgs[@]}" 2>&1) && { echo "a broken Dockerfile passed: $out" >&2; exit 1; }
    grep -q "fail: the final USER is not root (root)" <<<"$out"
    grep -q "fail: the final stage installs libssl3" <<<"$out"
    echo "rejected as it should be"
    ;;
  *)
    echo "usage: $0 k8s|k8s-broken|dockerfile BIN|dockerfile-broken BIN" >&2
    exit 2
    ;;
esac
