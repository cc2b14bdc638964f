#!/usr/bin/env bash
# tests/cluster/device_check_test.sh — the one-call GPU check without a GPU: device_bundle.sh packs
# a bundle within the device's carry limit with its source folder recorded; device_check.sh links
# a source folder missing on the machine to the checkout, runs both parts inside its budget, leaves
# its logs and results in OUT_DIR and exits non-zero (no GPU here); with too small a budget the
# bench's parts are skipped and say so. Skipped (77) for a build without CUDA.
#   device_check_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: device_check_test.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: device_check_test.sh SOURCE_DIR BUILD_DIR}
compgen -G "$build/CMakeFiles/*/CMakeCUDACompiler.cmake" >/dev/null || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$src/cluster/device_bundle.sh" "$build" "$tmp/bundle.tgz" >"$tmp/bundle.log" 2>&1 ||
  fail "device_bundle.sh: $(cat "$tmp/bundle.log")"
(($(stat -c %s "$tmp/bundle.tgz") <= 60 * 1024 * 1024)) || fail "the bundle is over 60 MiB"
mkdir "$tmp/unpacked"
tar xzf "$tmp/bundle.tgz" -C "$tmp/unpacked"
[[ $(cat "$tmp/unpacked/bundle/source_dir") == "$(cd "$src" && pwd)" ]] ||
  fail "source_dir is not the build's source folder: $(cat "$tmp/unpacked/bundle/source_dir")"
# As on the GPU machine: the folder the tests were compiled in does not exist there.
echo "$tmp/elsewhere/src" >"$tmp/unpacked/bundle/source_dir"
tar czf "$tmp/moved.tgz" -C "$tmp/unpacked" bundle

started=$SECONDS
if bash "$src/cluster/device_check.sh" "$tmp/moved.tgz" "$tmp/out" --budget_s 90 \
    --check_budget_s 60 >"$tmp/check.log" 2>&1; then
  fail "device_check.sh passed without a GPU"
fi
((SECONDS - started <= 100)) || fail "device_check.sh took $((SECONDS - started)) s of a 90 s budget"
[[ -L $tmp/elsewhere/src && $(readlink "$tmp/elsewhere/src") == "$(cd "$src" && pwd)" ]] ||
  fail "the missing source folder was not linked to the checkout"
for f in machine.log check.log bench.log results.tgz; do
  [[ -s $tmp/out/$f ]] || fail "OUT_DIR lacks $f"
done
grep -q "nvidia-smi not found" "$tmp/out/check.log" || fail "check.log does not say the GPU is missing"
grep -q "gpu_check: [0-9]* part(s) failed" "$tmp/out/check.log" || fail "no gpu_check verdict"
grep -q "gpu_bench: [0-9]* part(s) failed" "$tmp/out/bench.log" || fail "no gpu_bench verdict"
grep -q "device_check: gpu_check exit 1, gpu_bench exit 1, memcheck exit 0" "$tmp/check.log" ||
  fail "no device_check verdict: $(tail -n 3 "$tmp/check.log")"

# A budget that leaves the bench no time: its parts are skipped, saying so, and it still fails.
if bash "$src/cluster/device_check.sh" "$tmp/bundle.tgz" "$tmp/out2" --budget_s 20 \
    --check_budget_s 30 >"$tmp/check2.log" 2>&1; then
  fail "device_check.sh passed with no time for the bench"
fi
grep -q "rc=125: skipped: out of time" "$tmp/out2/bench.log" ||
  fail "the skipped bench parts do not say so: $(cat "$tmp/out2/bench.log")"
echo "device_check_test: passed"
