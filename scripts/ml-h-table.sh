#!/usr/bin/env bash
# The H table (docs/ml.md): test accuracy and time per averaging round
# against --sync-every H, training on 3 local nodes.
#
#   scripts/ml-h-table.sh [EPOCHS] [H...]      (default: 1 epoch, H = 1 4 16 64)
#
# Data: Fashion-MNIST from /usr/share/datasets/fashion-mnist (DATA_DIR to
# change), 784-256-128-10, Adam lr 0.001, batch 64, seed 1, MINGA_ML_THREADS=1
# per node. Nodes on 127.0.0.1, ports BASE_PORT (17000) + 1..3 (client),
# +81..83 (monitor), +101..103 (Raft); all stopped at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
minga=${MINGA:-$here/build/release/minga}
data=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
base=${BASE_PORT:-17000}
epochs=${1:-1}
shift || true
hs=("$@")
[ ${#hs[@]} -gt 0 ] || hs=(1 4 16 64)
work=$(mktemp -d /tmp/ml-h-table.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# `minga cluster up` runs n1..n3 on BASE+1..3 (client), +81..83 (monitor),
# +101..103 (Raft), and stops them when it gets SIGTERM.
MINGA_ML_THREADS=1 "$minga" cluster up --nodes 3 --data-dir "$work" --base-port "$base" >"$work/cluster.log" 2>&1 &
pids+=($!)
server="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
for _ in $(seq 50); do "$minga" --server "$server" --timeout 1 ml jobs >/dev/null 2>&1 && break; sleep 0.2; done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); 3 nodes, 1 ML thread each; Fashion-MNIST 784-256-128-10, $epochs epoch(s), batch 64"
printf '%-6s %-10s %-8s %-10s %-10s %-10s %-10s\n' H test_acc rounds s/epoch ms/round train_ms rest_ms
for h in "${hs[@]}"; do
  id=$("$minga" --server "$server" --timeout 120 ml train --images "$data/train-images-idx3-ubyte.gz" \
    --labels "$data/train-labels-idx1-ubyte.gz" --test-images "$data/t10k-images-idx3-ubyte.gz" \
    --test-labels "$data/t10k-labels-idx1-ubyte.gz" --epochs "$epochs" --sync-every "$h" --name "h$h" \
    --wait 2>/dev/null | tail -1)
  "$minga" --server "$server" -o json ml status "$id" | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
h = j["history"]
secs = [e["seconds"] for e in h]
rounds = sum(e["rounds"] for e in h)
in_rounds = sum(e["round_seconds"] for e in h)
training = sum(e["train_seconds"] for e in h)
# s/epoch: the whole epoch (the first includes the members reading the data
# set, and each the evaluation); ms/round: a round on the leader, weights out
# to the answers back; train_ms: of it, the slowest member training its
# rows; rest_ms: the difference (weights serialised, sent, parsed, waited).
print("%-6s %-10s %-8d %-10.2f %-10.1f %-10.1f %-10.1f" % (sys.argv[1], "%.2f%%" % (100 * j["test_accuracy"]), rounds,
      sum(secs) / len(secs), 1000 * in_rounds / rounds, 1000 * training / rounds, 1000 * (in_rounds - training) / rounds))
' "$h"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
