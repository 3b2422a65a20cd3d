#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for FUZZ_SECONDS each (default 20)
# on a scratch copy of its seed corpus; fails if any finds a crash.
set -euo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  name=$(basename "$bin")
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  cp -r "$seeds/." "$work/"
  if "$bin" -max_total_time="$seconds" -max_len=65536 -print_final_stats=0 "$work" >"$work.log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$work.log" | tail -1 || true)
    echo "fuzz $name: ok (${runs:-done} in ${seconds}s)"
  else
    echo "fuzz $name: FAILED"; tail -40 "$work.log"; status=1
  fi
  rm -rf "$work" "$work.log"
done
exit $status
