#!/usr/bin/env bash
# cluster/device_check.sh — the GPU check of issue #10 as one call on a lent GPU machine (device
# time is minutes): unpacks a bundle made here by cluster/device_bundle.sh, runs
# cluster/gpu_check.sh (every CUDA test, the backend harness, the attention and fused-path table),
# then cluster/gpu_bench.sh (tiny FP32/BF16/CPU loss curves; tigerfg bench BF16, --uint8_images
# and FP32; PyTorch eager and compiled; the kernel table) in what is left of a wall-clock budget.
# OUT_DIR receives machine.log (GPU, driver, nvcc, cuDNN/NCCL/NVRTC, torch), check.log,
# bench.log, results.tgz (the bench logs and JSONs, without traces and checkpoints), memcheck.log
# (compute-sanitizer over the newest kernels' tests, in what time is left) and, when a bench ran,
# readme_gpu_block.md (the README's GPU row to commit): six files. Exits non-zero when a part
# failed, the check or the bench ran out of time, or memcheck found an error.
#
#   cluster/device_check.sh BUNDLE.tgz OUT_DIR [--budget_s S (540)] [--check_budget_s S (240)]
set -u
cd "$(dirname "$0")/.." || exit 1
bundle_tgz="" out="" budget_s=540 check_budget_s=240
while [ $# -gt 0 ]; do
  case "$1" in
    --budget_s) budget_s="$2"; shift 2 ;;
    --check_budget_s) check_budget_s="$2"; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) if [ -z "$bundle_tgz" ]; then bundle_tgz="$1"; elif [ -z "$out" ]; then out="$1"; else
         echo "device_check: unexpected argument $1" >&2; exit 2; fi; shift ;;
  esac
done
if [ -z "$bundle_tgz" ] || [ -z "$out" ] || [ ! -f "$bundle_tgz" ]; then
  echo "usage: device_check.sh BUNDLE.tgz OUT_DIR (bundle: cluster/device_bundle.sh)" >&2
  exit 2
fi
mkdir -p "$out"
work="$(mktemp -d)"
tar xzf "$bundle_tgz" -C "$work" || { echo "device_check: cannot unpack $bundle_tgz" >&2; exit 2; }
bundle="$work/bundle"

# The test binaries read configs and the spec from the folder they were compiled in: where that
# folder is missing here, it becomes a link to this checkout.
source_dir="$(cat "$bundle/source_dir" 2>/dev/null)"
if [ -n "$source_dir" ] && [ ! -e "$source_dir" ]; then
  mkdir -p "$(dirname "$source_dir")" && ln -s "$PWD" "$source_dir" &&
    echo "device_check: linked $source_dir -> $PWD"
elif [ -n "$source_dir" ] && [ "$(cd "$source_dir" && pwd -P)" != "$(pwd -P)" ]; then
  echo "device_check: note: the tests read $source_dir, not this checkout"
fi

# The library path the checks use (gpu_check.sh and gpu_bench.sh build the same): the bundle's,
# then the folders of the CUDA libraries found on the machine.
libs="$bundle/lib"
for pattern in 'libcudnn.so.9*' 'libnccl.so.2*' 'libcublasLt.so.*' 'libnvrtc.so.*'; do
  lib="$(find /usr /opt -name "$pattern" -print -quit 2>/dev/null)"
  [ -n "$lib" ] && libs="$libs:$(dirname "$lib")"
done
libs="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# What the machine has, for reading the results later.
{
  echo "== machine"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 2
  nvcc --version 2>/dev/null | tail -n 1
  for pattern in 'libcudnn.so.9.*' 'libnccl.so.2.*' 'libnvrtc.so.*'; do
    find /usr /opt -name "$pattern" -print -quit 2>/dev/null
  done
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' \
    2>&1 | tail -n 1
  command -v nsys compute-sanitizer || true
  # A library the bundle and the machine both lack stops every binary: name it here.
  LD_LIBRARY_PATH="$libs" ldd "$bundle/launcher/tigerfg" |
    grep "not found" || echo "tigerfg: every library found"
} 2>&1 | tee "$out/machine.log"

started=$SECONDS
timeout "$check_budget_s" bash cluster/gpu_check.sh --libs "$bundle/lib" "$bundle" 2>&1 |
  tee "$out/check.log"
check_rc=${PIPESTATUS[0]}
left=$((budget_s - (SECONDS - started)))
results="$work/results"
README=1 bash cluster/gpu_bench.sh --libs "$bundle/lib" --build "$bundle" --results "$results" \
  --spec_compile --budget_s "$left" 2>&1 | tee "$out/bench.log"
bench_rc=${PIPESTATUS[0]}

# What is left of the budget: compute-sanitizer's memcheck over the CUDA tests of the kernels
# written since the last GPU run (out-of-bounds and misaligned accesses that results may not
# show). Skipped, saying so, when under 60 s are left or the tool is missing.
sanitize_rc=0
left=$((budget_s - (SECONDS - started) - 15))
sanitizer="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)"
if [ -z "$sanitizer" ]; then
  echo "memcheck: compute-sanitizer not found, skipped" | tee "$out/memcheck.log"
elif [ "$left" -lt 60 ]; then
  echo "memcheck: skipped, $left s left" | tee "$out/memcheck.log"
else
  LD_LIBRARY_PATH="$libs" timeout "$left" \
    "$sanitizer" --tool memcheck --error-exitcode 3 "$bundle/tests/cuda/cuda_tests" \
    --gtest_filter='InputRing.*:StepWaits.*:CudaFusedPathsTest.*:CudaFlashAttention.*:CudaCudnn*:CudaOptim*:CudaNormalize*' \
    >"$out/memcheck.log" 2>&1
  sanitize_rc=$?
  tail -n 5 "$out/memcheck.log"
  echo "memcheck: exit $sanitize_rc$([ "$sanitize_rc" -eq 124 ] && echo ' (out of time: not a failure)')"
  [ "$sanitize_rc" -eq 124 ] && sanitize_rc=0
  # Some sandboxes (gVisor) refuse the tool itself: no verdict on the kernels, so not a failure.
  if grep -q "Device not supported" "$out/memcheck.log"; then
    echo "memcheck: compute-sanitizer does not support this machine's GPU runtime, skipped"
    sanitize_rc=0
  fi
fi

[ -f "$results/readme_block.md" ] && cp "$results/readme_block.md" "$out/readme_gpu_block.md"
tar czf "$out/results.tgz" -C "$results" --exclude='*.trace.json' --exclude='*.nsys-rep' \
  --exclude='*.sqlite' --exclude='checkpoints' --exclude='*.safetensors' . 2>/dev/null
echo
echo "device_check: gpu_check exit $check_rc$([ "$check_rc" -eq 124 ] && echo ' (out of time)'),"\
  "gpu_bench exit $bench_rc, memcheck exit $sanitize_rc, $((SECONDS - started)) s of a" \
  "$budget_s s budget"
rm -rf "$work"
[ "$check_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ] && [ "$sanitize_rc" -eq 0 ]
