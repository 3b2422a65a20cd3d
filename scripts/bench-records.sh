#!/usr/bin/env bash
# Side by side on this machine: a 3-node minga cluster and a 3-member etcd 3.4
# cluster (Debian's etcd-server), both on 127.0.0.1, both with data in one
# temporary directory on the same disk, loaded with durable replicated writes
# of the same value size at the same concurrency, alternating rounds
# (minga, etcd, minga, etcd, ...). Prints every round, the medians and the
# ratio minga/etcd.
#   scripts/bench-records.sh [ROUNDS] [SECONDS] [POINTS]
#     ROUNDS   rounds per point for each system (default 3)
#     SECONDS  measured seconds per round, after 1 s of warm-up (default 5)
#     POINTS   "CONNECTIONSxINFLIGHT ..." (default "8x8 16x16": 64 and 256 in flight)
#   BENCH_DIR=DIR puts the data under DIR instead of $TMPDIR or /tmp.
#
# minga: `minga bench records --connections C --inflight N --size 64` over
# the three client ports. etcd: bench/etcd-put (a Go client on Debian's etcd
# client library, modelled on etcd's `benchmark put`, which Debian does not
# ship) with C gRPC connections and C x N concurrent Puts, over the three
# client URLs. Each write is acknowledged after a quorum fsynced it, in both.
# Needs: a release build (make build). Installs etcd-server, golang-go and
# golang-etcd-server-dev (and curl) with apt-get if they are missing.
set -euo pipefail
rounds=${1:-3}
seconds=${2:-5}
points=${3:-"8x8 16x16"}
size=64
root=$(cd "$(dirname "$0")/.." && pwd)
minga="$root/build/release/minga"
etcdput="$root/build/release/etcd-put"
[[ -x "$minga" ]] || { echo "bench-records: build minga first (make build)" >&2; exit 2; }

missing=()
for p in etcd-server golang-go golang-etcd-server-dev curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "bench-records: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The etcd client, built offline from Debian's Go sources.
if [[ ! -x "$etcdput" || "$root/bench/etcd-put/main.go" -nt "$etcdput" ]]; then
  echo "bench-records: building bench/etcd-put (offline, GOPATH=/usr/share/gocode)"
  (cd "$root/bench/etcd-put" && GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= \
    GOCACHE="$root/build/go-cache" timeout 600 go build -o "$etcdput" .)
fi

work=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" minga-bench-records.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A base port P such that P+1..3 (client), P+81..83 (monitor), P+101..103
# (Raft) and P+201..206 (etcd client and peer) are all free on 127.0.0.1.
base=$(python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 32000, 10)  # below the ephemeral range (32768-)
    ports = [p + o for o in (1, 2, 3, 81, 82, 83, 101, 102, 103, 201, 202, 203, 204, 205, 206)]
    socks = []
    try:
        for q in ports:
            s = socket.socket(); s.bind(("127.0.0.1", q)); socks.append(s)
        print(p); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
)

"$minga" cluster up --nodes 3 --data-dir "$work/minga" --base-port "$base" \
  --node-arg=--log-level --node-arg=warn >"$work/minga.log" 2>&1 &
pids+=($!)
minga_servers="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"

cluster=""
for i in 1 2 3; do cluster+="${cluster:+,}e$i=http://127.0.0.1:$((base + 203 + i))"; done
etcd_endpoints=""
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$work/etcd/e$i" \
    --listen-client-urls "http://127.0.0.1:$((base + 200 + i))" \
    --advertise-client-urls "http://127.0.0.1:$((base + 200 + i))" \
    --listen-peer-urls "http://127.0.0.1:$((base + 203 + i))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((base + 203 + i))" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token minga-bench \
    --logger zap --log-level warn >"$work/etcd$i.log" 2>&1 &
  pids+=($!)
  etcd_endpoints+="${etcd_endpoints:+,}127.0.0.1:$((base + 200 + i))"
done

# Every minga node answers, both clusters have a leader and commit a write
# (bounded: 20 s).
ready=""
for _ in $(seq 100); do
  if [[ -z "$ready" ]] && "$minga" --server "$minga_servers" --timeout 2 records add ready >/dev/null 2>&1 &&
    "$minga" --server "127.0.0.1:$((base + 1))" --timeout 1 status >/dev/null 2>&1 &&
    "$minga" --server "127.0.0.1:$((base + 2))" --timeout 1 status >/dev/null 2>&1 &&
    "$minga" --server "127.0.0.1:$((base + 3))" --timeout 1 status >/dev/null 2>&1; then
    ready="minga"
  fi
  if [[ "$ready" == minga ]] &&
    curl -sf -m 2 -X POST -d '{"key":"cmVhZHk=","value":"eQ=="}' "http://127.0.0.1:$((base + 201))/v3/kv/put" \
      >/dev/null 2>&1; then
    ready="both"
    break
  fi
  sleep 0.2
done
if [[ "$ready" != both ]]; then
  echo "bench-records: the clusters did not come up (ready: ${ready:-none})" >&2
  tail -5 "$work"/*.log >&2
  exit 1
fi

field() { python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print(d['$1'])"; }
errs() { python3 -c "import json,sys; d=json.loads(sys.stdin.read()); e=d.get('errors_by_code') or {}; print(','.join(f'{k}={v}' for k,v in e.items()) or '0')"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bound=$(python3 -c "print(int($seconds) + 40)")

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); minga $("$minga" --version); $(etcd --version | head -1)"
echo "data: $work (minga and etcd on the same disk); ${size}-byte values; ${seconds} s per round after 1 s warm-up"
for point in $points; do
  conns=${point%x*} inflight=${point#*x}
  total=$((conns * inflight))
  : >"$work/m"; : >"$work/e"; : >"$work/m99"; : >"$work/e99"
  for round in $(seq "$rounds"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    m=$(timeout "$bound" "$minga" --server "$minga_servers" --output json bench records --connections "$conns" \
      --inflight "$inflight" --size "$size" --duration "$seconds" --warmup 1 || true)
    e=$(timeout "$bound" "$etcdput" --endpoints "$etcd_endpoints" --conns "$conns" --clients "$total" \
      --val-size "$size" --duration "$seconds" --warmup 1 || true)
    if [[ -z "$m" || -z "$e" ]]; then
      echo "bench-records: a run failed (minga: '${m}', etcd: '${e}')" >&2
      exit 1
    fi
    printf 'round %d %5s load %-5s minga %7.0f w/s p50 %6.0f p99 %6.0f p99.9 %6.0f us err %s | etcd %7.0f w/s p50 %6.0f p99 %6.0f p99.9 %6.0f us err %s\n' \
      "$round" "$point" "$load" \
      "$(field writes_per_s <<<"$m")" "$(field p50_us <<<"$m")" "$(field p99_us <<<"$m")" "$(field p999_us <<<"$m")" "$(errs <<<"$m")" \
      "$(field writes_per_s <<<"$e")" "$(field p50_us <<<"$e")" "$(field p99_us <<<"$e")" "$(field p999_us <<<"$e")" "$(errs <<<"$e")"
    field writes_per_s <<<"$m" >>"$work/m"
    field writes_per_s <<<"$e" >>"$work/e"
    field p99_us <<<"$m" >>"$work/m99"
    field p99_us <<<"$e" >>"$work/e99"
  done
  mm=$(median <"$work/m"); em=$(median <"$work/e")
  printf 'median %s (%d in flight): minga %.0f writes/s p99 %.0f us, etcd %.0f writes/s p99 %.0f us, ratio minga/etcd %.2f\n' \
    "$point" "$total" "$mm" "$(median <"$work/m99")" "$em" "$(median <"$work/e99")" "$(python3 -c "print($mm/$em)")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
