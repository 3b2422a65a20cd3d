#!/usr/bin/env bash
# Files side by side on this machine: a 3-node minga cluster (files.replicas
# 3: every blob fsynced on its replicas, a write quorum before the answer)
# and a 3-member etcd 3.4 cluster (Debian's etcd-server), both on 127.0.0.1
# with their data in one temporary directory on the same disk, storing the
# same number of random values of the same size at the same concurrency, in
# alternating rounds (minga, etcd, dd, minga, etcd, dd, ...). Beside them,
# the disk's own figure for the same bytes: `dd bs=SIZE count=N
# oflag=dsync` (one synchronous write per file) in the same directory.
# Prints every round, the medians and the ratios.
#   scripts/bench-files.sh [ROUNDS] [CONCURRENCY] [POINTS]
#     ROUNDS       rounds per point (default 3)
#     CONCURRENCY  puts in flight, in both systems (default 32)
#     POINTS       "SIZExCOUNT ..." (default "4096x1000 65536x300 1048576x40")
#   BENCH_DIR=DIR puts the data under DIR instead of $TMPDIR or /tmp.
#
# minga: `minga bench files --files COUNT --size SIZE --concurrency C` over
# the three client ports (it also reads every file back and checks its
# sha256). etcd: bench/etcd-put --count COUNT --val-size SIZE --clients C
# --conns C over the three client URLs: COUNT distinct keys, random values,
# each Put acknowledged after a quorum fsynced it.
# Needs: a release build (make build). Installs etcd-server, golang-go and
# golang-etcd-server-dev (and curl) with apt-get if they are missing.
set -euo pipefail
rounds=${1:-3}
conc=${2:-32}
points=${3:-"4096x1000 65536x300 1048576x40"}
root=$(cd "$(dirname "$0")/.." && pwd)
minga="$root/build/release/minga"
etcdput="$root/build/release/etcd-put"
[[ -x "$minga" ]] || { echo "bench-files: build minga first (make build)" >&2; exit 2; }

missing=()
for p in etcd-server golang-go golang-etcd-server-dev curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "bench-files: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The etcd client, built offline from Debian's Go sources.
if [[ ! -x "$etcdput" || "$root/bench/etcd-put/main.go" -nt "$etcdput" ]]; then
  echo "bench-files: building bench/etcd-put (offline, GOPATH=/usr/share/gocode)"
  (cd "$root/bench/etcd-put" && GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= \
    GOCACHE="$root/build/go-cache" timeout 600 go build -o "$etcdput" .)
fi

work=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" minga-bench-files.XXXXXX)
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
  echo "bench-files: the clusters did not come up (ready: ${ready:-none})" >&2
  tail -5 "$work"/*.log >&2
  exit 1
fi

field() { python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print(d['$1'])"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# dd's MB/s (10^6 bytes) for COUNT synchronous writes of SIZE bytes.
dd_mbps() {
  local out
  out=$(dd if=/dev/zero of="$work/dd" bs="$1" count="$2" oflag=dsync 2>&1 | tail -1)
  rm -f "$work/dd"
  python3 -c "import re,sys; m=re.match(r'(\d+) bytes.*copied, ([0-9.e+-]+) s', sys.argv[1]); print(int(m[1])/float(m[2])/1e6)" "$out"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); minga $("$minga" --version); $(etcd --version | head -1)"
echo "data: $work (minga, etcd and dd on the same disk); $conc puts in flight; minga files.replicas 3"
for point in $points; do
  size=${point%x*} count=${point#*x}
  : >"$work/m"; : >"$work/mb"; : >"$work/e"; : >"$work/eb"; : >"$work/d"; : >"$work/m99"; : >"$work/e99"
  for round in $(seq "$rounds"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    m=$(timeout 300 "$minga" --server "$minga_servers" --output json bench files --files "$count" --size "$size" \
      --concurrency "$conc" --prefix "r$round-$point/" || true)
    e=$(timeout 300 "$etcdput" --endpoints "$etcd_endpoints" --conns "$conc" --clients "$conc" --val-size "$size" \
      --count "$count" --key-prefix "r$round-$point/" || true)
    d=$(dd_mbps "$size" "$count")
    if [[ -z "$m" || -z "$e" ]]; then
      echo "bench-files: a run failed (minga: '${m}', etcd: '${e}')" >&2
      exit 1
    fi
    if [[ "$(field verified <<<"$m")" != True || "$(field errors <<<"$m")" != 0 || "$(field errors <<<"$e")" != 0 ]]; then
      echo "bench-files: errors or a failed read-back (minga: $m) (etcd: $e)" >&2
      exit 1
    fi
    em=$(python3 -c "print($(field writes_per_s <<<"$e") * $size / 1e6)")
    printf 'round %d %s load %-5s minga %6.0f files/s %7.2f MB/s p50 %6.0f p99 %6.0f p99.9 %6.0f us | etcd %6.0f puts/s %7.2f MB/s p50 %6.0f p99 %6.0f p99.9 %6.0f us | dd dsync %7.2f MB/s\n' \
      "$round" "$point" "$load" \
      "$(field files_per_s <<<"$m")" "$(field mb_per_s <<<"$m")" "$(field p50_us <<<"$m")" "$(field p99_us <<<"$m")" "$(field p999_us <<<"$m")" \
      "$(field writes_per_s <<<"$e")" "$em" "$(field p50_us <<<"$e")" "$(field p99_us <<<"$e")" "$(field p999_us <<<"$e")" "$d"
    field files_per_s <<<"$m" >>"$work/m"
    field mb_per_s <<<"$m" >>"$work/mb"
    field p99_us <<<"$m" >>"$work/m99"
    field writes_per_s <<<"$e" >>"$work/e"
    echo "$em" >>"$work/eb"
    field p99_us <<<"$e" >>"$work/e99"
    echo "$d" >>"$work/d"
  done
  mm=$(median <"$work/m"); mmb=$(median <"$work/mb"); em=$(median <"$work/e"); emb=$(median <"$work/eb"); dm=$(median <"$work/d")
  printf 'median %s (%d in flight): minga %.0f files/s %.2f MB/s p99 %.0f us, etcd %.0f puts/s %.2f MB/s p99 %.0f us, dd dsync %.2f MB/s; ratio minga/etcd %.2f, minga/dd %.2f\n' \
    "$point" "$conc" "$mm" "$mmb" "$(median <"$work/m99")" "$em" "$emb" "$(median <"$work/e99")" "$dm" \
    "$(python3 -c "print($mm/$em)")" "$(python3 -c "print($mmb/$dm)")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
