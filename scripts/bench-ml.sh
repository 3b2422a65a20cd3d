#!/usr/bin/env bash
# minga's training core beside PyTorch on the same network and data:
# the 784-256-128-10 MLP, Adam lr 0.001, batch 64, Fashion-MNIST from
# /usr/share/datasets/fashion-mnist, 1 and 2 threads each. The runs
# alternate (minga, torch, minga, torch ...) so that a load change on the
# machine hits both; it prints the median seconds per epoch and the median
# final test accuracy of each, and the ratios.
#   scripts/bench-ml.sh [ROUNDS] [EPOCHS]     (defaults 3 and 5)
# Needs a release build (make build) and scripts/install-deps.sh --bench.
set -euo pipefail
rounds=${1:-3}
epochs=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
minga="$root/build/release/minga"
peer="$root/bench/peers/torch_mlp.py"
[ -x "$minga" ] || { echo "no $minga (make build)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || { echo "no PyTorch (scripts/install-deps.sh --bench)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/minga-bench-ml.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "$rounds rounds of $epochs epochs; each line: seconds/epoch (mean over the epochs), final test accuracy"
for ((r = 1; r <= rounds; r++)); do
  for t in 1 2; do
    "$minga" bench ml --epochs "$epochs" --threads "$t" --seed "$r" | tail -1 >"$work/out"
    read -r secs acc < <(sed -E 's/^ml: ([0-9.]+) s\/epoch.*accuracy ([0-9.]+)%.*/\1 \2/' "$work/out")
    echo "$secs $acc" >>"$work/minga-$t"
    echo "round $r minga threads $t: $secs s/epoch, $acc%"
    /usr/bin/python3 "$peer" --epochs "$epochs" --threads "$t" --seed "$r" | tail -1 >"$work/out"
    read -r secs acc < <(sed -E 's/^torch: ([0-9.]+) s\/epoch.*accuracy ([0-9.]+)%.*/\1 \2/' "$work/out")
    echo "$secs $acc" >>"$work/torch-$t"
    echo "round $r torch threads $t: $secs s/epoch, $acc%"
  done
done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "== medians"
for name in minga torch; do
  for t in 1 2; do
    s=$(cut -d' ' -f1 "$work/$name-$t" | median)
    a=$(cut -d' ' -f2 "$work/$name-$t" | median)
    echo "$s" >"$work/med-$name-$t"
    printf '%-5s threads %d: %.3f s/epoch, test accuracy %.2f%%\n' "$name" "$t" "$s" "$a"
  done
done
best_torch=$(cat "$work/med-torch-1" "$work/med-torch-2" | sort -g | head -1)
best_minga=$(cat "$work/med-minga-1" "$work/med-minga-2" | sort -g | head -1)
# About 60 GFLOP per epoch (forward 2*235k multiply-adds per example, the
# weight gradients as many again, the hidden deltas a little more) against
# about 166 GFLOP/s fp32 peak on two cores: the machine's limit is ~0.36 s/epoch.
awk -v m="$best_minga" -v t="$best_torch" 'BEGIN {
  printf "best minga %.3f s/epoch vs best torch %.3f s/epoch: %.2fx torch'"'"'s time (%.1fx faster)\n", m, t, m / t, t / m
  printf "against the ~0.36 s/epoch limit of this machine: %.1fx\n", m / 0.36 }'
