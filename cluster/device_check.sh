#!/usr/bin/env bash
# cluster/device_check.sh — the GPU check of issue #10 as one call on a lent GPU machine (device
# time is minutes): unpacks a bundle made here by cluster/device_bundle.sh, runs
# cluster/gpu_check.sh (every CUDA test, the backend harness, the attention and fused-path table),
# then cluster/gpu_bench.sh (tiny FP32/BF16/CPU loss curves; tigerfg bench BF16, --uint8_images
# and FP32; PyTorch eager and compiled; the kernel table) in what is left of a wall-clock budget.
# OUT_DIR receives check.log, bench.log, results.tgz (the bench logs and JSONs, without traces
# and checkpoints) and, when a bench ran, readme_gpu_block.md (the README's GPU row to commit).
# Exits non-zero when either part failed or ran out of time.
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

started=$SECONDS
timeout "$check_budget_s" bash cluster/gpu_check.sh --libs "$bundle/lib" "$bundle" 2>&1 |
  tee "$out/check.log"
check_rc=${PIPESTATUS[0]}
left=$((budget_s - (SECONDS - started)))
results="$work/results"
README=1 bash cluster/gpu_bench.sh --libs "$bundle/lib" --build "$bundle" --results "$results" \
  --spec_compile --budget_s "$left" 2>&1 | tee "$out/bench.log"
bench_rc=${PIPESTATUS[0]}

[ -f "$results/readme_block.md" ] && cp "$results/readme_block.md" "$out/readme_gpu_block.md"
tar czf "$out/results.tgz" -C "$results" --exclude='*.trace.json' --exclude='*.nsys-rep' \
  --exclude='*.sqlite' --exclude='checkpoints' --exclude='*.safetensors' . 2>/dev/null
echo
echo "device_check: gpu_check exit $check_rc$([ "$check_rc" -eq 124 ] && echo ' (out of time)'),"\
  "gpu_bench exit $bench_rc, $((SECONDS - started)) s of a $budget_s s budget"
rm -rf "$work"
[ "$check_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
