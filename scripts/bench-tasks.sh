#!/usr/bin/env bash
# Side by side on this machine: `minga bench tasks --kind uppercase` against a
# single node, and `redis-benchmark -t set` against redis-server, with the same
# connection count and pipeline depth, alternating, ROUNDS times each.
# Prints every run and the medians and ratios.
#   scripts/bench-tasks.sh [ROUNDS] [SECONDS]
# Needs: a release build (make build) and redis (scripts/install-deps.sh --bench).
set -euo pipefail
rounds=${1:-3}
seconds=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
minga="$root/build/release/minga"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mport=$(free_port)
"$minga" node --port "$mport" --monitor-port 0 --data-dir "$work/data" --log-level warn 2>"$work/node.log" &
pids+=($!)
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  if "$minga" --server "127.0.0.1:$mport" status >/dev/null 2>&1 && redis-cli -p "$rport" ping >/dev/null 2>&1; then break; fi
  sleep 0.1
done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores; minga $("$minga" --version); $(redis-server --version | cut -d' ' -f1-3)"
for setting in "50 1" "50 16"; do
  set -- $setting
  conns=$1 pipe=$2
  : >"$work/m" ; : >"$work/r"
  for round in $(seq "$rounds"); do
    m=$("$minga" --server "127.0.0.1:$mport" --output json bench tasks --kind uppercase --connections "$conns" \
        --pipeline "$pipe" --duration "$seconds" --warmup 1)
    m_rps=$(grep -o '"requests_per_s":[0-9.e+]*' <<<"$m" | cut -d: -f2)
    m_p50=$(grep -o '"p50_us":[0-9.e+]*' <<<"$m" | cut -d: -f2)
    m_p99=$(grep -o '"p99_us":[0-9.e+]*' <<<"$m" | cut -d: -f2)
    n=$(python3 -c "print(int(float('$m_rps') * $seconds) or 100000)")
    r=$(redis-benchmark -h 127.0.0.1 -p "$rport" -t set -c "$conns" -P "$pipe" -n "$n" --csv | tail -1 | tr -d '"')
    r_rps=$(cut -d, -f2 <<<"$r")
    r_p50=$(cut -d, -f5 <<<"$r")
    r_p99=$(cut -d, -f7 <<<"$r")
    printf 'round %d  c=%-3d P=%-3d  minga uppercase %10.0f req/s p50 %7.0f us p99 %7.0f us | redis SET %10.0f req/s p50 %7.0f us p99 %7.0f us\n' \
      "$round" "$conns" "$pipe" "$m_rps" "$m_p50" "$m_p99" "$r_rps" "$(python3 -c "print($r_p50*1000)")" "$(python3 -c "print($r_p99*1000)")"
    echo "$m_rps" >>"$work/m"
    echo "$r_rps" >>"$work/r"
  done
  mm=$(median <"$work/m"); rm_=$(median <"$work/r")
  printf 'median c=%d P=%d: minga %.0f req/s, redis %.0f req/s, ratio minga/redis %.2f\n' \
    "$conns" "$pipe" "$mm" "$rm_" "$(python3 -c "print($mm/$rm_)")"
done
