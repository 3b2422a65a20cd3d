#!/usr/bin/env bash
# The fuzz harness tested on deliberately broken targets (tests/fuzz/selftest):
# scripts/run-fuzzers.sh must fail on a target with undefined behaviour and
# on one that hangs, within seconds, and keep the input that did it under
# BUILD_DIR/fuzz-artifacts/. The undefined behaviour must also stop the
# target on its own, without the harness's UBSAN_OPTIONS (the fuzz preset's
# -fno-sanitize-recover=all).
set -euo pipefail
build=${1:?usage: check-fuzz-harness.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
cmake --build "$build" --target broken_undefined_behaviour broken_hang >/dev/null
dir="$build/tests/fuzz/selftest"
fail() {
  echo "fuzz harness self-test: FAILED: $*"
  exit 1
}

expect_failure() {  # name, what its log must say, what its artifact is called
  local name=$1 says=$2 artifact=$3 out start elapsed
  rm -rf "$build/fuzz-artifacts/$name"
  start=$(date +%s)
  if out=$(FUZZ_SECONDS=30 FUZZ_INPUT_TIMEOUT=2 "$root/scripts/run-fuzzers.sh" "$build" "$dir/$name" 2>&1); then
    fail "run-fuzzers.sh passed $name"
  fi
  elapsed=$(($(date +%s) - start))
  grep -q "fuzz $name: FAILED" <<<"$out" || fail "$name: no FAILED line in: $out"
  grep -q "$says" <<<"$out" || fail "$name: the log does not say '$says': $out"
  compgen -G "$build/fuzz-artifacts/$name/$artifact-*" >/dev/null || fail "$name: no $artifact-* input kept"
  ((elapsed < 20)) || fail "$name took ${elapsed}s to fail"
  echo "fuzz harness self-test: $name fails in ${elapsed}s ($says; input kept)"
}

expect_failure broken_undefined_behaviour "runtime error: signed integer overflow" crash
expect_failure broken_hang "ALARM: working on the last Unit" timeout

if env -u UBSAN_OPTIONS "$dir/broken_undefined_behaviour" -runs=1 \
  -artifact_prefix="$build/fuzz-artifacts/broken_undefined_behaviour/" >/dev/null 2>&1; then
  fail "undefined behaviour does not stop the target without UBSAN_OPTIONS (is -fno-sanitize-recover=all set?)"
fi
echo "fuzz harness self-test: ok"
