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
bench=bench-files
# shellcheck source=lib/side-by-side.sh
source "$(dirname "$0")/lib/side-by-side.sh"

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
