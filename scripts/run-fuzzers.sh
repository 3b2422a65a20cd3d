#!/usr/bin/env bash
# Runs libFuzzer targets for FUZZ_SECONDS each (default 20) on a scratch copy
# of their seed corpus and reports the executions of each; fails if any
# target crashes, trips a sanitizer (undefined behaviour is fatal: see the
# fuzz preset and UBSAN_OPTIONS below) or spends more than
# FUZZ_INPUT_TIMEOUT seconds (default 5) on one input. Crash, timeout and
# leak inputs are kept under BUILD_DIR/fuzz-artifacts/<target>/.
#
#   run-fuzzers.sh BUILD_DIR            every BUILD_DIR/tests/fuzz/fuzz_* target
#   run-fuzzers.sh BUILD_DIR BINARY...  only these (scripts/check-fuzz-harness.sh)
set -euo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR [BINARY...]}
shift
seconds=${FUZZ_SECONDS:-20}
input_timeout=${FUZZ_INPUT_TIMEOUT:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
if [[ $# -gt 0 ]]; then
  bins=("$@")
else
  bins=("$build"/tests/fuzz/fuzz_*)
fi
if [[ ! -x "${bins[0]}" ]]; then
  echo "fuzz: no targets in $build (build the fuzz preset first)" >&2
  exit 1
fi
# Stop at the first report, whatever the sanitizer, even in code built
# without -fno-sanitize-recover.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="halt_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
status=0
for bin in "${bins[@]}"; do
  name=$(basename "$bin")
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  artifacts="$build/fuzz-artifacts/$name"
  mkdir -p "$artifacts"
  work=$(mktemp -d)
  log=$(mktemp)
  if [[ -d "$seeds" ]]; then cp -r "$seeds/." "$work/"; fi
  if "$bin" -max_total_time="$seconds" -timeout="$input_timeout" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" >"$log" 2>&1; then
    runs=$(grep -o '^stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    echo "fuzz $name: ok, ${runs:-?} executions in ${seconds}s"
  else
    echo "fuzz $name: FAILED (inputs kept in $artifacts)"
    tail -40 "$log"
    status=1
  fi
  rm -rf "$work" "$log"
done
exit $status
