#!/usr/bin/env bash
# cluster/gpu_check.sh — checks a tigerfg CUDA build on a GPU machine: prints the GPU, runs
# cuda_tests (and, when present, core_tests, ops_tests, comm_tests, e2e_tests and `tigerfg --help`),
# a summary table and which attention kernels and fused paths passed. Exits non-zero when any part
# fails (a test binary missing or failing, the GPU not seen, the binary not starting).
#
#   cluster/gpu_check.sh [--libs DIR] [BUILD_DIR]     (BUILD_DIR defaults to build-cuda)
#
# --libs DIR: a folder of shared libraries to put first on LD_LIBRARY_PATH (glog, gflags,
# libunwind carried over when the machine lacks them). The folders holding libcudnn.so.9,
# libnccl.so.2, libcublasLt.so.* and libnvrtc.so.* (cuDNN compiles its SDPA engine at run time)
# are found under /usr and /opt and added too.
set -u

libs=""
build="build-cuda"
while [ $# -gt 0 ]; do
  case "$1" in
    --libs) libs="${2:?--libs needs a folder}"; shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) build="$1"; shift ;;
  esac
done

extra=""
if [ -n "$libs" ]; then
  extra="$(cd "$libs" && pwd)"
fi
for pattern in 'libcudnn.so.9*' 'libnccl.so.2*' 'libcublasLt.so.*' 'libnvrtc.so.*'; do
  lib="$(find /usr /opt -name "$pattern" -print -quit 2>/dev/null)"
  if [ -n "$lib" ]; then
    extra="${extra:+$extra:}$(dirname "$lib")"
  else
    echo "note: no $pattern under /usr or /opt"
  fi
done
export LD_LIBRARY_PATH="${extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

failures=0
echo "== GPU"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader ||
    failures=$((failures + 1))
else
  echo "nvidia-smi not found"
  failures=$((failures + 1))
fi

logdir="$(mktemp -d)"
rows=()

# gtest_count LOG PATTERN: the number GoogleTest's summary line matching PATTERN reports, or 0.
gtest_count() {
  grep -oE "$2" "$1" | grep -oE '[0-9]+' | head -n 1 | grep . || echo 0
}

# run_gtest NAME BINARY: runs a GoogleTest binary, records run/passed/failed/skipped. A test that
# kills the process (a signal) is recorded as crashed, and the binary runs again without it, so
# one crash does not hide the verdicts of the tests after it (at most 8 crashes per binary).
run_gtest() {
  local name="$1" bin="$2" log="$logdir/$1.log"
  if [ ! -x "$bin" ]; then
    rows+=("$(printf '%-16s %s' "$name" "missing ($bin)")")
    failures=$((failures + 1))
    return
  fi
  echo "== $name ($bin)"
  local rc=0 run=0 passed=0 failed=0 skipped=0 crashed=() exclude="" attempt part
  for attempt in 1 2 3 4 5 6 7 8 9; do
    part="$log.$attempt"
    "$bin" --gtest_filter="*${exclude:+-$exclude}" >"$part" 2>&1
    rc=$?
    grep -E '^\[  (FAILED|SKIPPED) \]|Failure|rror' "$part" | tail -n 40
    run=$((run + $(gtest_count "$part" '^\[==========\] [0-9]+ tests? from .* ran')))
    passed=$((passed + $(gtest_count "$part" '^\[  PASSED  \] [0-9]+')))
    failed=$((failed + $(gtest_count "$part" '^\[  FAILED  \] [0-9]+ tests?, listed')))
    skipped=$((skipped + $(gtest_count "$part" '^\[  SKIPPED \] [0-9]+ tests?')))
    # A signal (exit > 128) before GoogleTest's summary: the last test started is the crashed one.
    local last
    last="$(grep -oE '^\[ RUN      \] [^ ]+' "$part" | tail -n 1 | cut -c14-)"
    if [ "$rc" -le 128 ] || grep -q '^\[==========\] [0-9]* tests\? from .* ran' "$part" ||
        [ -z "$last" ] || [ "$attempt" -eq 9 ]; then
      break
    fi
    echo "CRASHED: $last (exit $rc); running the rest without it"
    tail -n 5 "$part"
    crashed+=("$last")
    # The tests that passed before the crash count as run and passed; the rerun skips them too.
    local ok_before
    ok_before=$(grep -c '^\[       OK \]' "$part")
    run=$((run + ok_before))
    passed=$((passed + ok_before))
    exclude="${exclude:+$exclude:}$(grep -oE '^\[       OK \] [^ ]+' "$part" | cut -c14- |
      tr '\n' ':')$last"
  done
  cat "$log".* >"$log"
  [ "$rc" -eq 0 ] && [ "${#crashed[@]}" -eq 0 ] || failures=$((failures + 1))
  rows+=("$(printf '%-16s %6s %7s %7s %8s %5s' "$name" "$((run + ${#crashed[@]}))" "$passed" \
    "$((failed + ${#crashed[@]}))" "$skipped" "$rc")")
  [ "${#crashed[@]}" -eq 0 ] || rows+=("  crashed: ${crashed[*]}")
}

run_gtest cuda_tests "$build/tests/cuda/cuda_tests"
if [ -x "$build/tests/core_tests" ]; then
  run_gtest core_tests "$build/tests/core_tests"
fi
# The backend harness: every op of the CUDA table against the CPU one (tests/ops/backend_ops_test).
if [ -x "$build/tests/ops_tests" ]; then
  run_gtest ops_tests "$build/tests/ops_tests"
fi
if [ -x "$build/tests/comm/comm_tests" ]; then
  run_gtest comm_tests "$build/tests/comm/comm_tests"
fi
if [ -x "$build/tests/e2e/e2e_tests" ]; then
  run_gtest e2e_tests "$build/tests/e2e/e2e_tests"
fi
# Which attention kernels (and which of the newer fused paths) passed on this GPU: cuda_tests
# and ops_tests again, filtered to each one's tests (they ran above; this names the verdicts).
# A kernel passes when its tests ran and none failed. Attention on CUDA: UNFUSED (FP32), FLASH
# (BF16; FLASH-deterministic is train.deterministic's backward), CUDNN once it has tests.
kernels=()
# path_check NAME CUDA_FILTER OPS_FILTER: "passed", "FAILED", "skipped" (every cuda_tests test
# of the path skipped: no GPU) or "no tests" for one path.
path_check() {
  local name="$1" cuda_filter="$2" ops_filter="$3" ran=0 bad=0 gpu_ran=0 gpu_skipped=0 n k log
  for pair in "$build/tests/cuda/cuda_tests|$cuda_filter" "$build/tests/ops_tests|$ops_filter"; do
    local bin="${pair%%|*}" filter="${pair#*|}"
    [ -n "$filter" ] && [ -x "$bin" ] || continue
    log="$logdir/path-$name-$(basename "$bin").log"
    "$bin" --gtest_brief=1 --gtest_filter="$filter" >"$log" 2>&1 || bad=1
    n="$(grep -oE '\[==========\] [0-9]+ tests? from .* ran' "$log" | grep -oE '^\[==========\] [0-9]+' | grep -oE '[0-9]+$' | tail -n 1)"
    ran=$((ran + ${n:-0}))
    if [ "$(basename "$bin")" = cuda_tests ]; then
      k="$(grep -oE '\[  SKIPPED \] [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | tail -n 1)"
      gpu_ran=$((gpu_ran + ${n:-0}))
      gpu_skipped=$((gpu_skipped + ${k:-0}))
    fi
  done
  local verdict="passed"
  if [ "$bad" -ne 0 ]; then
    verdict="FAILED"
  elif [ "$ran" -eq 0 ]; then
    verdict="no tests"
  elif [ "$gpu_ran" -gt 0 ] && [ "$gpu_skipped" -eq "$gpu_ran" ]; then
    verdict="skipped"
  fi
  kernels+=("$(printf '%-22s %-9s (%s tests)' "$name" "$verdict" "$ran")")
}
harness='AllOps/BackendOpsTest.CpuDeterministicAndCudaMatchesCpu'
path_check UNFUSED 'CudaSelfAttentionTest.*' "$harness/SelfAttention*"
path_check FLASH 'CudaFlashAttention.*:-*Deterministic*' "$harness/FlashAttention*"
path_check FLASH-deterministic 'CudaFlashAttention.*Deterministic*' ''
path_check CUDNN 'CudaCudnnAttention*' "$harness/CudnnAttention*"
path_check gemm-epilogues 'CudaFusedPathsTest.*Mlp*:CudaFusedPathsTest.*Epilogue*' \
  "$harness/Linear*"
path_check warp-layernorm 'CudaFusedPathsTest.*LayerNorm*' "$harness/LayerNorm*"
path_check input-ring 'InputRing.*' "$harness/NormalizeImages*"
path_check step-without-waits 'StepWaits.*' ''

if [ -x "$build/launcher/tigerfg" ]; then
  echo "== tigerfg binary"
  if "$build/launcher/tigerfg" --help >/dev/null 2>&1; then echo "tigerfg starts"; else
    echo "tigerfg --help failed (missing libraries?)"
    failures=$((failures + 1))
  fi
else
  echo "== tigerfg binary missing ($build/launcher/tigerfg)"
  failures=$((failures + 1))
fi

echo
echo "== summary (logs in $logdir)"
printf '%-16s %6s %7s %7s %8s %5s\n' binary run passed failed skipped exit
for row in "${rows[@]}"; do echo "$row"; done
echo
echo "== attention kernels and fused paths on this GPU"
for row in "${kernels[@]}"; do echo "$row"; done
if [ "$failures" -gt 0 ]; then
  echo "gpu_check: $failures part(s) failed"
  exit 1
fi
echo "gpu_check: every part passed"
