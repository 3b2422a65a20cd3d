#!/usr/bin/env bash
# Builds deploy/Dockerfile with Debian's podman and runs a node from the image
# (docs/deploy.md, "Built and run with podman"). Nothing is pulled: the
# Debian 12 base image is made by debootstrap from the Debian mirror and
# imported under the names the Dockerfile's FROM lines give.
#   check-podman-image.sh MINGA_BIN [STATE_DIR]
# MINGA_BIN is the host's minga, the client that talks to the node in the
# container. STATE_DIR (default build/image) keeps the base tarball and
# podman's own storage (not the machine's /var/lib/containers), so a rerun
# reuses both and the build's layer cache; `rm -rf STATE_DIR` forgets them.
# Exits 77 (ctest: skipped) when this machine cannot run it, saying why.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:?usage: $0 MINGA_BIN [STATE_DIR]}
state=${2:-$root/build/image}
mirror=${MINGA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
image=localhost/minga:image-test

skip() {
  echo "skipped: $*"
  exit 77
}
[[ ${MINGA_IMAGE_TEST:-} == 1 ]] || skip "builds the image for minutes; run it with make image-test (MINGA_IMAGE_TEST=1)"
[[ $(id -u) == 0 ]] || skip "needs root (podman with its own storage, debootstrap)"
for tool in podman debootstrap runc curl; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh --image installs it)"
done
mkdir -p "$state"
state=$(cd "$state" && pwd)

# runc, not Debian's default crun: crun 1.8 refuses a host with cgroup v1
# controllers beside a cgroup v2 mount ("cgroups in hybrid mode not
# supported"). Without CAP_SYS_RESOURCE (a root that is itself in a
# container or a sandboxed VM) no limit can be raised above the hard one:
# podman's defaults fail with "setrlimit `RLIMIT_NOFILE`: Operation not
# permitted", so the limits are given, no higher than this shell's, and no
# more than 32768 processes (podman lowers its own process to that).
podman=(podman --root "$state/storage" --runroot "$state/run" --runtime runc --cgroup-manager cgroupfs
  --events-backend file)
nofile=$(ulimit -Hn)
[[ $nofile == unlimited || $nofile -gt 65536 ]] && nofile=65536
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

# Podman schedules the HEALTHCHECK with a systemd timer. Without systemd as
# init, every run, stop and rm logs "unable to get systemd connection to add
# healthchecks" (then start, remove) and goes on; those lines are left out,
# and the check is run on demand with `podman healthcheck run`.
no_timer_noise() { "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# 1. The base image: debootstrap's minbase of bookworm, cached as a tarball.
t=$(now)
tarball=$state/debian-bookworm-minbase.tar
if [[ ! -s $tarball ]]; then
  rootfs=$state/rootfs.tmp
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$state/debootstrap.log" 2>&1 \
    || { tail -5 "$state/debootstrap.log" >&2; echo "fail: debootstrap (log: $state/debootstrap.log)" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
fi
# Every FROM of the Dockerfile names this Debian 12 (bookworm, bookworm-slim).
mapfile -t bases < <(awk 'toupper($1) == "FROM" { print $2 }' "$root/deploy/Dockerfile" | sort -u)
for base in "${bases[@]}"; do
  [[ $base == debian:bookworm* ]] || { echo "fail: FROM $base is not Debian 12" >&2; exit 1; }
  if ! "${podman[@]}" image exists "docker.io/library/$base"; then
    "${podman[@]}" import --quiet --change 'CMD ["bash"]' "$tarball" "docker.io/library/$base" >/dev/null
  fi
done
echo "base image ${bases[*]} from debootstrap: $(since "$t")"

# 2. The image, as the Dockerfile says: both stages, apt-get inside the build
# from the same mirror (host network). Docker format: the OCI format has no
# HEALTHCHECK and podman would drop it.
t=$(now)
build() {
  nice -n 19 "${podman[@]}" build --pull=never --network host "${limits[@]}" --format docker --layers \
    -f "$root/deploy/Dockerfile" "$@" "$root" >>"$state/build.log" 2>&1 \
    || { tail -20 "$state/build.log" >&2; echo "fail: podman build $* (log: $state/build.log)" >&2; exit 1; }
}
: >"$state/build.log"
# The working containers of a build that was interrupted hold their layers.
mapfile -t leftovers < <(comm -23 <("${podman[@]}" ps -a -q --external --no-trunc | sort) \
  <("${podman[@]}" ps -a -q --no-trunc | sort))
((${#leftovers[@]} == 0)) || "${podman[@]}" rm -f "${leftovers[@]}" >/dev/null
# The build stage gets a tag too, so that pruning what no tag holds (the
# stages of earlier sources) keeps the layer cache of these sources.
build --target build -t "$image-build-stage"
build -t "$image"
"${podman[@]}" image prune -f >/dev/null
echo "podman build: $(since "$t"), image $("${podman[@]}" image inspect --format '{{.Size}}' "$image" \
  | awk '{ printf "%.0f MB", $1 / 1e6 }')"

fails=0
expect() { # NAME EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then
    echo "ok: $1: $3"
  else
    echo "fail: $1: expected '$2', got '$3'"
    fails=$((fails + 1))
  fi
}
expect "image user" "minga:minga" "$("${podman[@]}" image inspect --format '{{.Config.User}}' "$image")"
expect "image volume" '{"/data":{}}' "$("${podman[@]}" image inspect --format '{{json .Config.Volumes}}' "$image")"
# shellcheck disable=SC2016 # the Dockerfile's words, unexpanded
expect "image health check" '[CMD-SHELL curl -fsS -o /dev/null "http://127.0.0.1:${MINGA_MONITOR_PORT:-7480}/healthz" || exit 1]' \
  "$("${podman[@]}" image inspect --format '{{.HealthCheck.Test}}' "$image")"
expect "user in the container" "uid=10001(minga) gid=10001(minga) groups=10001(minga)" \
  "$(no_timer_noise "${podman[@]}" run --rm --pull=never "${limits[@]}" --network none --entrypoint id "$image")"

# 3. A node from the image, its ports on 127.0.0.1 of this machine, its data
# in a named volume.
read -r port monitor raft < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
volume=minga-image-test-$$
cid=""
cleanup() {
  [[ -n $cid ]] && "${podman[@]}" rm -f "$cid" >/dev/null 2>&1
  "${podman[@]}" volume rm -f "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# start_node host: the host's network, the node told to bind 127.0.0.1 and
# the free ports. start_node bridge: the image's own settings (0.0.0.0, 7400,
# 7480) in the container's network, published on the host's 127.0.0.1 only.
start_node() {
  local net
  if [[ $1 == host ]]; then
    net=(--network host -e MINGA_HOST=127.0.0.1 -e MINGA_PORT="$port" -e MINGA_MONITOR_PORT="$monitor"
      -e MINGA_RAFT_PORT="$raft")
  else
    net=(-p "127.0.0.1:$port:7400" -p "127.0.0.1:$monitor:7480")
  fi
  cid=$(no_timer_noise "${podman[@]}" run -d --pull=never "${limits[@]}" "${net[@]}" -v "$volume:/data" \
    -e MINGA_ID=image1 "$image")
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null "http://127.0.0.1:$monitor/healthz" 2>/dev/null; do
    if ((SECONDS > deadline)) || [[ $("${podman[@]}" inspect --format '{{.State.Running}}' "$cid") != true ]]; then
      "${podman[@]}" logs "$cid" | tail -20
      echo "fail: no /healthz from the node in container ${cid:0:12} within 30 s"
      exit 1
    fi
    sleep 0.2
  done
}
stop_node() { # SIGTERM: the node drains and exits 0
  no_timer_noise "${podman[@]}" stop -t 20 "$cid" >/dev/null
  expect "exit status after podman stop" 0 "$("${podman[@]}" inspect --format '{{.State.ExitCode}}' "$cid")"
  expect "log lines of the drain" "action: shutdown | result: in_progress | signal: SIGTERM;action: drain | result: success" \
    "$("${podman[@]}" logs "$cid" 2>&1 | grep -o 'action: shutdown | result: in_progress | signal: SIGTERM\|action: drain | result: success' | paste -sd';')"
  no_timer_noise "${podman[@]}" rm "$cid" >/dev/null
  cid=""
}

t=$(now)
start_node host
echo "node in container ${cid:0:12} answers /healthz: $(since "$t") after podman run"
expect "GET /healthz" "ok" "$(curl -fsS "http://127.0.0.1:$monitor/healthz")"
expect "podman healthcheck run (the image's HEALTHCHECK)" "healthy" \
  "$("${podman[@]}" healthcheck run "$cid" 2>&1 && echo healthy)"
expect "PING on the client port" "PONG" "$(
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'PING\r\n' >&3
  read -r -t 5 line <&3
  echo "${line%$'\r'}"
)"
expect "minga calc add 2 3" "5" "$("$bin" --server "127.0.0.1:$port" calc add 2 3)"
expect "minga records add" "1" "$("$bin" --server "127.0.0.1:$port" records add "kept in the volume")"
stop_node

# 4. Another container on the same volume: the record survived. This one
# runs with the image's own addresses behind published ports, as Compose
# runs it.
start_node bridge
expect "minga records ls in a new container (published ports)" "1	kept in the volume" \
  "$("$bin" --server "127.0.0.1:$port" records ls)"
expect "the node's own address in the container" "address: 0.0.0.0:7400" \
  "$("${podman[@]}" logs "$cid" 2>&1 | grep -o 'action: node_start | result: success .*' | grep -o 'address: [0-9.:]*')"
stop_node

((fails == 0)) || { echo "$fails check(s) failed"; exit 1; }
echo "the image builds and runs a node"
