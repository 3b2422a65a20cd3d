#!/usr/bin/env bash
# Dispatch overhead of the coordinator, on this machine, in one run: the same
# `minga bench tasks --kind uppercase` load against
#   1. a single `both` node (runs every task itself), and
#   2. a coordinator with 3 workers (every task crosses one more hop),
# each on 127.0.0.1. Prints requests/s and p50/p99 for both and the ratios.
# All processes share this machine's cores, so this measures the cost of the
# extra hop, not the gain of more machines.
#   scripts/bench-coordinator.sh [SECONDS] [CONNECTIONS] [PIPELINE] [WORKER_THREADS]
# WORKER_THREADS (default: the node's default, one per core) is each worker's
# --threads, so its capacity: the coordinator keeps at most that many tasks
# on a worker at once. The `both` node keeps its default.
# Binary: $MINGA, else build/release/minga (make build).
set -euo pipefail
seconds=${1:-5}
conns=${2:-50}
pipe=${3:-1}
worker_threads=${4:-}
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

# start_node NAME ARGS... : starts `minga node` on ephemeral ports, waits for
# it to listen and sets $addr to its HOST:PORT. (Not run in $(...): the
# node would hold the substitution's pipe open, and its PID would be lost.)
start_node() {
  local name=$1; shift
  "$minga" node --host 127.0.0.1 --port 0 --monitor-port 0 --data-dir "$work/$name" \
    --id "$name" "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  addr=""
  for _ in $(seq 100); do
    addr=$(grep -o 'node_start | result: success .*| address: [0-9.:]*' "$work/$name.log" 2>/dev/null | grep -o '[0-9.]*:[0-9]*$' || true)
    [ -n "$addr" ] && return
    sleep 0.05
  done
  echo "node $name did not start:" >&2; cat "$work/$name.log" >&2; exit 1
}

start_node both
both=$addr
start_node coord --role coordinator
coord=$addr
worker_args=(--role worker --join "$coord")
[ -n "$worker_threads" ] && worker_args+=(--threads "$worker_threads")
for i in 1 2 3; do start_node "w$i" "${worker_args[@]}"; done
for _ in $(seq 100); do
  live=$("$minga" --server "$coord" -o json workers | grep -o '"state":"live"' | wc -l)
  [ "$live" -eq 3 ] && break
  sleep 0.05
done
[ "$live" -eq 3 ] || { echo "workers did not join" >&2; exit 1; }

field() { grep -o "\"$1\":[0-9.e+]*" <<<"$2" | cut -d: -f2; }
run() {
  "$minga" --server "$1" -o json bench tasks --kind uppercase --connections "$conns" --pipeline "$pipe" \
    --duration "$seconds" --warmup 1
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); minga $("$minga" --version); uppercase, $conns connections, pipeline $pipe, worker threads ${worker_threads:-default}, $seconds s each"
b=$(run "$both")
c=$(run "$coord")
printf '%-24s %10.0f req/s  p50 %7.0f us  p99 %7.0f us  errors %s\n' "both node" \
  "$(field requests_per_s "$b")" "$(field p50_us "$b")" "$(field p99_us "$b")" "$(field errors "$b")"
printf '%-24s %10.0f req/s  p50 %7.0f us  p99 %7.0f us  errors %s\n' "coordinator + 3 workers" \
  "$(field requests_per_s "$c")" "$(field p50_us "$c")" "$(field p99_us "$c")" "$(field errors "$c")"
python3 - "$(field requests_per_s "$b")" "$(field requests_per_s "$c")" "$(field p50_us "$b")" \
  "$(field p50_us "$c")" "$(field p99_us "$b")" "$(field p99_us "$c")" <<'EOF'
import sys
b_rps, c_rps, b50, c50, b99, c99 = map(float, sys.argv[1:])
print(f"ratio coordinator/both: throughput {c_rps / b_rps:.2f}, p50 {c50 / b50:.2f}x, p99 {c99 / b99:.2f}x")
EOF
"$minga" --server "$coord" workers
