#!/usr/bin/env bash
# Coordination on the Raft leader, on this machine, in one run: the same
# `minga bench tasks --kind KIND` load against
#   1. a single `both` node (runs every task itself),
#   2. the leader of a 3-node cluster (schedules every task over the members),
#   3. a follower of that cluster (forwards every task to the leader),
# in alternating rounds (1, 2, 3, 1, 2, 3, ...), each on 127.0.0.1. Prints
# every run, then the median of each and the ratios to the single node.
# All processes share this machine's cores, so this measures the cost of
# the hops, not the gain of more machines.
#   scripts/bench-leader.sh [ROUNDS] [SECONDS] [CONNECTIONS] [PIPELINE] [KIND]
# Binary: $MINGA, else build/release/minga (make build).
set -euo pipefail
rounds=${1:-3}
seconds=${2:-4}
conns=${3:-50}
pipe=${4:-1}
kind=${5:-uppercase}
root=$(cd "$(dirname "$0")/.." && pwd)
minga=${MINGA:-$root/build/release/minga}
[ -x "$minga" ] || { echo "no minga binary at $minga (make build, or set MINGA)" >&2; exit 2; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Ports for the cluster, chosen up front (peers must know each other's Raft
# ports): free now on 127.0.0.1.
read -r -a ports <<<"$(python3 - <<'EOF'
import socket
socks, ports = [], []
for _ in range(9):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s); ports.append(s.getsockname()[1])
print(" ".join(map(str, ports)))
EOF
)"

# wait_addr LOG : sets $addr to the HOST:PORT the node logged at start.
wait_addr() {
  addr=""
  for _ in $(seq 200); do
    addr=$(grep -o 'node_start | result: success .*| address: [0-9.:]*' "$1" 2>/dev/null | grep -o '[0-9.]*:[0-9]*$' || true)
    [ -n "$addr" ] && return
    sleep 0.05
  done
  echo "a node did not start:" >&2; cat "$1" >&2; exit 1
}

"$minga" node --host 127.0.0.1 --port 0 --monitor-port 0 --data-dir "$work/single" --id single \
  >"$work/single.out" 2>"$work/single.log" &
pids+=($!)
wait_addr "$work/single.log"
single=$addr

peers="n1=127.0.0.1:${ports[3]},n2=127.0.0.1:${ports[4]},n3=127.0.0.1:${ports[5]}"
for i in 1 2 3; do
  "$minga" node --host 127.0.0.1 --id "n$i" --port "${ports[$((i - 1))]}" --raft-port "${ports[$((i + 2))]}" \
    --monitor-port "${ports[$((i + 5))]}" --data-dir "$work/n$i" --peers "$peers" \
    >"$work/n$i.out" 2>"$work/n$i.log" &
  pids+=($!)
done
all="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
leader=""
for _ in $(seq 200); do
  live=$("$minga" --server "$all" --timeout 2 -o json workers 2>/dev/null | grep -o '"state":"live"' | wc -l || true)
  if [ "$live" -eq 3 ]; then
    leader=$("$minga" --server "$all" -o json cluster status | grep -o '"leader_address":"[^"]*"' | cut -d'"' -f4)
    [ -n "$leader" ] && break
  fi
  sleep 0.1
done
[ -n "$leader" ] || { echo "the cluster did not form" >&2; tail -5 "$work"/n*.log >&2; exit 1; }
follower=""
for a in ${all//,/ }; do [ "$a" != "$leader" ] && { follower=$a; break; }; done

field() { grep -o "\"$1\":[0-9.e+]*" <<<"$2" | cut -d: -f2; }
run() {
  "$minga" --server "$1" -o json bench tasks --kind "$kind" --connections "$conns" --pipeline "$pipe" \
    --duration "$seconds" --warmup 1
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); minga $("$minga" --version); $kind, $conns connections, pipeline $pipe, $seconds s a run, $rounds rounds"
declare -A rps p50
for r in $(seq "$rounds"); do
  for target in single leader follower; do
    case $target in single) a=$single ;; leader) a=$leader ;; follower) a=$follower ;; esac
    out=$(run "$a")
    rps[$target]+="$(field requests_per_s "$out") "
    p50[$target]+="$(field p50_us "$out") "
    printf 'round %d %-9s %10.0f req/s  p50 %7.0f us  p99 %7.0f us  errors %s\n' "$r" "$target" \
      "$(field requests_per_s "$out")" "$(field p50_us "$out")" "$(field p99_us "$out")" "$(field errors "$out")"
  done
done
python3 - "${rps[single]}" "${rps[leader]}" "${rps[follower]}" "${p50[single]}" "${p50[leader]}" "${p50[follower]}" <<'EOF'
import statistics, sys
med = [statistics.median(map(float, a.split())) for a in sys.argv[1:]]
s, l, f, s50, l50, f50 = med
print(f"median    single {s:10.0f} req/s  p50 {s50:7.0f} us")
print(f"median    leader {l:10.0f} req/s  p50 {l50:7.0f} us  ratio {l / s:.2f}x")
print(f"median  follower {f:10.0f} req/s  p50 {f50:7.0f} us  ratio {f / s:.2f}x")
EOF
"$minga" --server "$leader" workers
