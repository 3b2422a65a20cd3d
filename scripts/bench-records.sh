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
#   BENCH_BASE_PORT=P uses ports P+1 to P+206 (default: a free base from 20000 on).
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
bench=bench-records
# shellcheck source=lib/side-by-side.sh
source "$(dirname "$0")/lib/side-by-side.sh"

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
