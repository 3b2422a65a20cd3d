#!/usr/bin/env bash
# The consensus layer's figures, in one run on this machine:
#   - the core alone, in memory, 3 nodes, 64-byte commands;
#   - the durable log (RaftStorage) with group commit, beside the disk's own
#     limit for synchronous 4 kB writes (dd ... oflag=dsync) measured now.
#   scripts/bench-raft.sh [SECONDS]
# Needs a release build (make build).
set -euo pipefail
seconds=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bench="$root/build/release/minga-bench-raft"
[ -x "$bench" ] || { echo "no $bench (make build)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/minga-bench-raft.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores; disk of $work: $(df -h "$work" | awk 'NR==2 {print $1}')"
echo "== disk limit: dd if=/dev/zero of=FILE bs=4k count=2000 oflag=dsync"
dd if=/dev/zero of="$work/dd" bs=4k count=2000 oflag=dsync 2>&1 | tail -1
rm -f "$work/dd"
echo "== core"
"$bench" core --seconds "$seconds" --batch 64 --bytes 64
echo "== durable log"
for setting in "1 4096" "64 64" "256 64" "64 4096"; do
  set -- $setting
  "$bench" wal "$work/wal" --seconds "$seconds" --batch "$1" --bytes "$2"
done
