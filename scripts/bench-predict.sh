#!/usr/bin/env bash
# Predictions through the nodes (docs/ml.md, docs/benchmarks.md): starts 3
# local nodes, trains one model, then runs `minga bench predict` against one
# node and against all three.
#
#   scripts/bench-predict.sh [DURATION] [CONNECTIONS]   (default 5 s per phase, 50 connections)
#
# The model: Fashion-MNIST's 784-256-128-10 MLP, 1 epoch, when
# /usr/share/datasets/fashion-mnist (DATA_DIR) holds it; otherwise 8-16-3 on
# 3000 generated rows (three Gaussian blobs). Nodes on 127.0.0.1, ports
# BASE_PORT (17400) + 1..3 (client), +81..83 (monitor), +101..103 (Raft);
# all stopped at the end. Needs a release build (make build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
minga=${MINGA:-$here/build/release/minga}
data=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
base=${BASE_PORT:-17400}
duration=${1:-5}
connections=${2:-50}
work=$(mktemp -d /tmp/bench-predict.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# `minga cluster up` runs n1..n3 on BASE+1..3 (client), +81..83 (monitor),
# +101..103 (Raft), and stops them when it gets SIGTERM.
"$minga" cluster up --nodes 3 --data-dir "$work" --base-port "$base" >"$work/cluster.log" 2>&1 &
pids+=($!)
one="127.0.0.1:$((base + 1))"
all="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
for _ in $(seq 50); do "$minga" --server "$all" --timeout 1 ml jobs >/dev/null 2>&1 && break; sleep 0.2; done
if [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  what="Fashion-MNIST 784-256-128-10, 1 epoch"
  id=$("$minga" --server "$all" --timeout 300 ml train --images "$data/train-images-idx3-ubyte.gz" \
    --labels "$data/train-labels-idx1-ubyte.gz" --epochs 1 --name bench-predict --wait 2>/dev/null | tail -1)
else
  what="8-16-3 on 3000 generated rows, 2 epochs"
  /usr/bin/python3 -c '
import random
random.seed(1)
print(",".join("f%d" % f for f in range(8)) + ",label")
for r in range(3000):
    k = r % 3
    print(",".join("%.4f" % ((2.5 if f == k else 0.0) + random.gauss(0, 1)) for f in range(8)) + ",%d" % k)
' >"$work/blobs.csv"
  id=$("$minga" --server "$all" --timeout 120 ml train --data "$work/blobs.csv" --layers 16 --epochs 2 \
    --name bench-predict --wait 2>/dev/null | tail -1)
fi
role=$(/usr/bin/python3 -c '
import json, sys, urllib.request
try:
    print((json.load(urllib.request.urlopen("http://127.0.0.1:%s/status" % sys.argv[1], timeout=5)).get("raft") or {}).get("role", "?"))
except Exception:
    print("?")' $((base + 81)))
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); 3 nodes on 127.0.0.1 (n1 is $role); model $id: $what"
echo "== one node (n1): minga bench predict --server $one --model $id --connections $connections --duration $duration"
"$minga" --server "$one" bench predict --model "$id" --connections "$connections" --duration "$duration"
echo "== three nodes: minga bench predict --server $all --model $id --connections $connections --duration $duration"
"$minga" --server "$all" bench predict --model "$id" --connections "$connections" --duration "$duration"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
