#!/usr/bin/env bash
# cluster/gpu_bench.sh — on any GPU machine, after cluster/gpu_check.sh: trains the tiny config on
# the GPU through the NCCL communicator and on the CPU (the two loss curves must agree), times
# `tigerfg bench` on the GPU, and runs the PyTorch specification's bench beside it when a CUDA
# PyTorch is installed. Prints a short table; logs go to RESULTS_DIR. With the default config and
# batch (or README=1; never with README=0), once a tigerfg bench has run on the GPU, it writes the
# GPU row of README.md's "Performance (measured)" (block figures:gpu_bench) with the GPU and date.
# Each part runs under a time limit cut to what is left of --budget_s (parts that no longer fit are
# skipped and say so), so the summary and the README row are always written; each row is printed
# as it is made too. Exits non-zero when a part failed or was skipped: a train or a tigerfg bench
# failing, or the GPU loss curves leaving the CPU's (FP32) or FP32's (BF16) by more than 2%
# (means over windows of 10 steps).
#
#   cluster/gpu_bench.sh [--libs DIR] [--build DIR] [--results DIR] [--config C] [--batch N]
#                        [--spec_compile] [--budget_s S (default 900)]
set -u
libs="" build="build-gpu" results="$(mktemp -d)" config="configs/vit_b16.prototxt" batch=256
spec_compile=0 budget_s=900
while [ $# -gt 0 ]; do
  case "$1" in
    --libs) libs="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --spec_compile) spec_compile=1; shift ;;
    --budget_s) budget_s="$2"; shift 2 ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.." || exit 1
mkdir -p "$results"
extra=""
[ -n "$libs" ] && extra="$(cd "$libs" && pwd)"
for pattern in 'libcudnn.so.9*' 'libnccl.so.2*' 'libcublasLt.so.*' 'libnvrtc.so.*'; do
  lib="$(find /usr /opt -name "$pattern" -print -quit 2>/dev/null)"
  [ -n "$lib" ] && extra="${extra:+$extra:}$(dirname "$lib")"
done
export LD_LIBRARY_PATH="${extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bin="$build/launcher/tigerfg"
rows=()
failures=0
deadline=$((SECONDS + budget_s))
row() {  # a summary row, printed now and again at the end
  rows+=("$1")
  echo "-- $1"
}
# limit MAX: the seconds a part may take, MAX cut to what is left of the budget (30 s are kept
# for the summary); 0 when fewer than 20 s would be left for it.
limit() {
  local left=$((deadline - SECONDS - 30))
  ((left < 20)) && { echo 0; return; }
  ((left < $1)) && echo "$left" || echo "$1"
}
# run_limited LOG MAX CMD...: CMD under its limit, output to LOG; rc 124 when it ran out of time,
# 125 when no time was left to start it.
run_limited() {
  local log="$1" t
  t=$(limit "$2")
  shift 2
  if [ "$t" -eq 0 ]; then
    echo "skipped: out of time" >"$log"
    return 125
  fi
  timeout "$t" "$@" >"$log" 2>&1
}
# Loss curves: the max relative gap between the means of RUN and REF over windows of 10 steps;
# prints a line and exits 1 above 2% (or when a run has no metrics).
curve_check() {
  python3 - "$results" "$1" "$2" <<'PY' 2>&1
import json, sys
r, run, ref = sys.argv[1:]
def losses(name):
    return [json.loads(l)["loss"] for l in open(f"{r}/{name}/metrics.jsonl")]
try:
    a, b = losses(run), losses(ref)
except OSError as e:
    print(f"no metrics: {e}")
    sys.exit(1)
n = min(len(a), len(b))
gaps = [abs(sum(a[i:i + 10]) - sum(b[i:i + 10])) / max(abs(sum(b[i:i + 10])), 1e-12)
        for i in range(0, n, 10)]
worst = max(gaps) if gaps else float("inf")
print(f"steps {len(a)}/{len(b)}  {run} {a[0]:.4f}->{a[-1]:.4f}  {ref} {b[0]:.4f}->{b[-1]:.4f}"
      f"  max gap of 10-step means {worst:.2e} (limit 2e-2)")
sys.exit(0 if n >= 10 and worst <= 0.02 else 1)
PY
}

# 1. Tiny config, 200 steps: GPU (NCCL communicator, world 1) in FP32 and BF16, and the CPU; the
# FP32 curve must follow the CPU's, the BF16 curve FP32's.
tiny() {  # tiny NAME SETTINGS
  run_limited "$results/$1.log" 120 "$bin" train --config configs/tiny_cpu.prototxt \
    --out_dir "$results/$1" --overwrite --set "$2"
}
tiny tiny_cpu train.device=cpu
cpu_rc=$?
tiny tiny_gpu train.device=cuda,dist.backend=nccl
gpu_rc=$?
grep -h "communicator" "$results/tiny_gpu.log" | tail -n 1
tiny tiny_gpu_bf16 train.device=cuda,dist.backend=nccl,train.precision=BF16
bf16_rc=$?
compare="$(curve_check tiny_gpu tiny_cpu)"
curve_rc=$?
row "tiny train gpu fp32 (nccl) rc=$gpu_rc, cpu rc=$cpu_rc: $compare"
[ $gpu_rc -eq 0 ] && [ $cpu_rc -eq 0 ] && [ $curve_rc -eq 0 ] || failures=$((failures + 1))
compare="$(curve_check tiny_gpu_bf16 tiny_gpu)"
curve_rc=$?
row "tiny train gpu bf16 rc=$bf16_rc: $compare"
[ $bf16_rc -eq 0 ] && [ $curve_rc -eq 0 ] || failures=$((failures + 1))

# 2. tigerfg bench on the GPU: BF16 (the product path) and FP32 (exact fp32, for comparison).
bench_BF16="" bench_FP32=""  # the JSON of each precision's successful bench, for the README row
summary() {  # one bench JSON -> a short line
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.1f samples/s, step %.1f ms, %.1f TFLOP/s, MFU %.3f, peak %.1f GiB, activations %.1f GiB; fwd %.1f bwd %.1f loss %.1f opt %.1f ms" % (r["samples_per_s"], 1e3*r["step_s_median"], r["model_tflops"], r["mfu"], r["peak_mem_gib"], r["activation_bytes"]/2**30, 1e3*r["forward_s_median"], 1e3*r["backward_s_median"], 1e3*r["loss_s_median"], 1e3*r["optimizer_s_median"]))' "$1" 2>&1
}
# op_rows JSON: the bench's per-op table (--op_table_steps; ops/op_timeline.h), its top 15 ops.
op_rows() {
  python3 - "$1" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
print(f"per-op times, {r['op_table_steps']} steps after the timed ones (op, calls/step, ms/step, share):")
for row in r["op_table"][:15]:
    print(f"  {row['op']:<28} {row['calls_per_step']:7.1f} {row['ms_per_step']:9.3f} {100 * row['share']:5.1f}%")
PY
}

# bench_precision PRECISION [FLAGS...]: the bench at the batch, or at half of it if the full one
# fails.
bench_precision() {
  local precision="$1" b out rc line
  shift
  for b in "$batch" $((batch / 2)); do
    out="$results/bench_tigerfg_${precision}_$b"
    run_limited "$out.log" 150 "$bin" bench --config "$config" --batch "$b" --steps 10 \
      --warmup 3 --set train.device=cuda,train.precision=$precision --out "$out.json" \
      --trace "$out.trace.json" "$@"
    rc=$?
    if [ $rc -eq 0 ]; then
      row "tigerfg bench $config batch $b $precision: $(summary "$out.json")"
      printf -v "bench_$precision" '%s' "$out.json"
      if [ $# -gt 0 ]; then
        while IFS= read -r line; do row "$line"; done < <(op_rows "$out.json")
      fi
      return 0
    fi
    row "tigerfg bench $config batch $b $precision rc=$rc: $(tail -n 3 "$out.log" | tr '\n' ' ' | cut -c1-300)"
  done
  failures=$((failures + 1))
}
# The per-op table (no profiler needed: nsys is not on every GPU machine) from 3 BF16 steps.
bench_precision BF16 --op_table_steps 3

# 2a. BF16 again with uint8 images: normalised on the GPU, staged through the pinned input ring one
# step ahead (issue #10 item 3); a quarter of the image bytes of the F32 batches above.
if [ -n "$bench_BF16" ]; then
  b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch"])' "$bench_BF16")
  out="$results/bench_tigerfg_BF16_${b}_uint8"
  run_limited "$out.log" 150 "$bin" bench --config "$config" --batch "$b" --steps 10 --warmup 3 \
    --uint8_images --set train.device=cuda,train.precision=BF16 --out "$out.json"
  rc=$?
  if [ $rc -eq 0 ]; then
    row "tigerfg bench $config batch $b BF16 --uint8_images: $(summary "$out.json")"
  else
    row "tigerfg bench $config batch $b BF16 --uint8_images rc=$rc: $(tail -n 3 "$out.log" | tr '\n' ' ' | cut -c1-300)"
    failures=$((failures + 1))
  fi
fi

# 3. The specification's bench under PyTorch (bf16 autocast), eager and optionally compiled.
torch_eager="" torch_compile=""  # their logs, when run
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  preset=$(basename "$config" .prototxt)
  [ "$preset" = vit_b16 ] && spec_args="--preset base" || {
    "$bin" config --config "$config" --spec_json >"$results/model.json"
    spec_args="--config $results/model.json"; }
  # shellcheck disable=SC2086
  run_limited "$results/bench_torch_eager.log" 150 python3 tests/reference/tigerfg_ref.py bench \
    $spec_args --batch "$batch" --steps 20
  rc=$?
  row "pytorch eager rc=$rc: $(tail -n 1 "$results/bench_torch_eager.log" | cut -c1-300)"
  torch_eager="$results/bench_torch_eager.log"
  [ $rc -eq 0 ] || failures=$((failures + 1))
  if [ "$spec_compile" = 1 ]; then
    # shellcheck disable=SC2086
    run_limited "$results/bench_torch_compile.log" 240 python3 tests/reference/tigerfg_ref.py \
      bench $spec_args --batch "$batch" --steps 20 --compile
    rc=$?
    row "pytorch compile rc=$rc: $(tail -n 1 "$results/bench_torch_compile.log" | cut -c1-300)"
    torch_compile="$results/bench_torch_compile.log"
    [ $rc -eq 0 ] || failures=$((failures + 1))
  fi
else
  row "pytorch: no CUDA PyTorch here, spec bench skipped"
fi

# 3a. FP32 (exact fp32, for comparison: the mode measured before BF16).
bench_precision FP32

# 3b. Where the BF16 step's GPU time goes, kernel by kernel, when Nsight Systems is installed.
if command -v nsys >/dev/null 2>&1; then
  run_limited "$results/bench_nsys.log" 180 nsys profile -t cuda,nvtx -f true \
    -o "$results/bench_nsys" "$bin" bench --config "$config" --batch "$batch" --steps 3 \
    --warmup 2 --set train.device=cuda,train.precision=BF16
  for report in cuda_gpu_kern_sum gpukernsum; do
    if nsys stats --report "$report" --format csv "$results/bench_nsys.nsys-rep" \
        >"$results/kernels.csv" 2>/dev/null && [ -s "$results/kernels.csv" ]; then
      row "nsys: top kernels of 5 BF16 steps (time %, total ns, count, name):"
      while IFS= read -r line; do row "  $line"; done < <(python3 - "$results/kernels.csv" <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r]
head = next(i for i, r in enumerate(rows) if r and r[0].startswith("Time"))
keys = rows[head]
for r in rows[head + 1:head + 16]:
    d = dict(zip(keys, r))
    print(d.get("Time (%)", "?"), d.get("Total Time (ns)", "?"), d.get("Instances", "?"),
          d.get("Name", "?")[:110])
PY
)
      break
    fi
  done
else
  row "nsys: not installed here, no kernel breakdown"
fi

# 4. The README's GPU row (README.md, block figures:gpu_bench) from the benches above.
default_args=0
[ "$config" = configs/vit_b16.prototxt ] && [ "$batch" = 256 ] && default_args=1
if [ "${README:-$default_args}" = 1 ]; then
  if [ -z "$bench_BF16$bench_FP32" ]; then
    row "README.md: not written (no tigerfg bench ran on the GPU)"
  else
    gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)"
    python3 - "$config" "$batch" "${gpu:-unknown GPU}" "$bench_BF16" "$bench_FP32" \
      "$torch_eager" "$torch_compile" >"$results/readme_block.md" <<'PY'
import datetime, json, os, sys
config, batch, gpu, bf16, fp32, eager, compiled = sys.argv[1:]
ours = []
for precision, path in (("BF16", bf16), ("FP32", fp32)):
    if not path:
        ours.append(f"{precision} failed")
        continue
    r = json.load(open(path))
    at = "" if str(r["batch"]) == batch else f" at batch {r['batch']}"
    ours.append(f"{r['samples_per_s']:,.0f} samples/s {precision}{at} (MFU {r['mfu']:.3f})")
spec, version = [], "?"
for mode, path in (("eager", eager), ("`--compile`", compiled)):
    try:
        r = json.loads(open(path).read().splitlines()[-1])
        spec.append(f"{r['samples_per_s']:,.0f} {mode}")
        version = r["torch"]
    except (OSError, ValueError, IndexError, KeyError):
        pass
torch = " / ".join(spec) + f" (torch {version}, bf16 autocast)" if spec else "not run"
name = os.path.splitext(os.path.basename(config))[0]
print("| GPU training step | machine | tigerfg | PyTorch (the spec, same run) | measured |")
print("|---|---|---|---|---|")
print(f"| `{name}`, batch {batch} | 1x {gpu} | {'; '.join(ours)} | {torch} "
      f"| {datetime.date.today().isoformat()} |")
PY
    block_rc=$?
    if [ $block_rc -eq 0 ] &&
        python3 cluster/readme_figures.py README.md gpu_bench "$results/readme_block.md"; then
      row "README.md: GPU row written (block figures:gpu_bench)"
    else
      row "README.md: writing the GPU row failed (see above)"
    fi
  fi
fi

echo
echo "== gpu_bench summary (logs in $results)"
for line in "${rows[@]}"; do echo "$line"; done
if [ "$failures" -gt 0 ]; then
  echo "gpu_bench: $failures part(s) failed or ran out of time"
  exit 1
fi
echo "gpu_bench: every part passed"
