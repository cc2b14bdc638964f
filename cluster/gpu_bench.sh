#!/usr/bin/env bash
# cluster/gpu_bench.sh — on any GPU machine, after cluster/gpu_check.sh: trains the tiny config on
# the GPU through the NCCL communicator and on the CPU (the two loss curves must agree), times
# `tigerfg bench` on the GPU, and runs the PyTorch specification's bench beside it when a CUDA
# PyTorch is installed. Prints a short table; logs go to RESULTS_DIR. With the default config and
# batch (or README=1; never with README=0), once a tigerfg bench has run on the GPU, it writes the
# GPU row of README.md's "Performance (measured)" (block figures:gpu_bench) with the GPU and date.
#
#   cluster/gpu_bench.sh [--libs DIR] [--build DIR] [--results DIR] [--config C] [--batch N]
#                        [--spec_compile]
set -u
libs="" build="build-gpu" results="$(mktemp -d)" config="configs/vit_b16.prototxt" batch=256
spec_compile=0
while [ $# -gt 0 ]; do
  case "$1" in
    --libs) libs="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --spec_compile) spec_compile=1; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.." || exit 1
mkdir -p "$results"
extra=""
[ -n "$libs" ] && extra="$(cd "$libs" && pwd)"
for pattern in 'libcudnn.so.9*' 'libnccl.so.2*' 'libcublasLt.so.*'; do
  lib="$(find /usr /opt -name "$pattern" -print -quit 2>/dev/null)"
  [ -n "$lib" ] && extra="${extra:+$extra:}$(dirname "$lib")"
done
export LD_LIBRARY_PATH="${extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bin="$build/launcher/tigerfg"
rows=()

# 1. Tiny config, 200 steps: GPU (NCCL communicator, world 1) and CPU; compare the loss curves.
"$bin" train --config configs/tiny_cpu.prototxt --out_dir "$results/tiny_gpu" --overwrite \
  --set train.device=cuda,dist.backend=nccl >"$results/tiny_gpu.log" 2>&1
gpu_rc=$?
"$bin" train --config configs/tiny_cpu.prototxt --out_dir "$results/tiny_cpu" --overwrite \
  --set train.device=cpu >"$results/tiny_cpu.log" 2>&1
cpu_rc=$?
grep -h "communicator" "$results/tiny_gpu.log" | tail -n 1
compare="$(python3 - "$results" <<'PY' 2>&1
import json, sys
r = sys.argv[1]
def losses(run):
    return [json.loads(l)["loss"] for l in open(f"{r}/{run}/metrics.jsonl")]
g, c = losses("tiny_gpu"), losses("tiny_cpu")
n = min(len(g), len(c))
worst = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(g[:n], c[:n]))
first10 = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(g[:10], c[:10]))
print(f"steps {len(g)}/{len(c)}  gpu loss {g[0]:.4f}->{g[-1]:.4f}  cpu {c[0]:.4f}->{c[-1]:.4f}"
      f"  max rel diff first 10 steps {first10:.2e}, all {worst:.2e}")
PY
)"
rows+=("tiny train gpu(nccl) rc=$gpu_rc cpu rc=$cpu_rc: $compare")

# 1b. The same in BF16 on the GPU (no reference curve of its own: it must follow FP32's within
# bf16 accuracy).
"$bin" train --config configs/tiny_cpu.prototxt --out_dir "$results/tiny_gpu_bf16" --overwrite \
  --set train.device=cuda,dist.backend=nccl,train.precision=BF16 >"$results/tiny_gpu_bf16.log" 2>&1
bf16_rc=$?
compare="$(python3 - "$results" <<'PY' 2>&1
import json, sys
r = sys.argv[1]
def losses(run):
    return [json.loads(l)["loss"] for l in open(f"{r}/{run}/metrics.jsonl")]
g, c = losses("tiny_gpu_bf16"), losses("tiny_cpu")
n = min(len(g), len(c))
worst = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(g[:n], c[:n]))
print(f"steps {len(g)}/{len(c)}  gpu bf16 loss {g[0]:.4f}->{g[-1]:.4f}  cpu fp32 {c[0]:.4f}->{c[-1]:.4f}"
      f"  max rel diff {worst:.2e}")
PY
)"
rows+=("tiny train gpu bf16 rc=$bf16_rc: $compare")

# 2. tigerfg bench on the GPU: BF16 (the product path) and FP32 (exact fp32, for comparison).
bench_BF16="" bench_FP32=""  # the JSON of each precision's successful bench, for the README row
summary() {  # one bench JSON -> a short line
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.1f samples/s, step %.1f ms, %.1f TFLOP/s, MFU %.3f, peak %.1f GiB, activations %.1f GiB; fwd %.1f bwd %.1f loss %.1f opt %.1f ms" % (r["samples_per_s"], 1e3*r["step_s_median"], r["model_tflops"], r["mfu"], r["peak_mem_gib"], r["activation_bytes"]/2**30, 1e3*r["forward_s_median"], 1e3*r["backward_s_median"], 1e3*r["loss_s_median"], 1e3*r["optimizer_s_median"]))' "$1" 2>&1
}
for precision in BF16 FP32; do
  for b in "$batch" $((batch / 2)); do  # half the batch if the full one does not fit
    out="$results/bench_tigerfg_${precision}_$b"
    "$bin" bench --config "$config" --batch "$b" --steps 10 --warmup 3 \
      --set train.device=cuda,train.precision=$precision --out "$out.json" --trace "$out.trace.json" \
      >"$out.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
      rows+=("tigerfg bench $config batch $b $precision: $(summary "$out.json")")
      printf -v "bench_$precision" '%s' "$out.json"
      break
    fi
    rows+=("tigerfg bench $config batch $b $precision rc=$rc: $(tail -n 3 "$out.log" | tr '\n' ' ' | cut -c1-300)")
  done
done

# 2a. BF16 again with uint8 images: normalised on the GPU, staged through the pinned input ring one
# step ahead (issue #10 item 3); a quarter of the image bytes of the F32 batches above.
if [ -n "$bench_BF16" ]; then
  b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch"])' "$bench_BF16")
  out="$results/bench_tigerfg_BF16_${b}_uint8"
  "$bin" bench --config "$config" --batch "$b" --steps 10 --warmup 3 --uint8_images \
    --set train.device=cuda,train.precision=BF16 --out "$out.json" >"$out.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    rows+=("tigerfg bench $config batch $b BF16 --uint8_images: $(summary "$out.json")")
  else
    rows+=("tigerfg bench $config batch $b BF16 --uint8_images rc=$rc: $(tail -n 3 "$out.log" | tr '\n' ' ' | cut -c1-300)")
  fi
fi

# 2b. Where the BF16 step's GPU time goes, kernel by kernel, when Nsight Systems is installed.
if command -v nsys >/dev/null 2>&1; then
  timeout 240 nsys profile -t cuda,nvtx -f true -o "$results/bench_nsys" "$bin" bench \
    --config "$config" --batch "$batch" --steps 3 --warmup 2 \
    --set train.device=cuda,train.precision=BF16 >"$results/bench_nsys.log" 2>&1
  for report in cuda_gpu_kern_sum gpukernsum; do
    if nsys stats --report "$report" --format csv "$results/bench_nsys.nsys-rep" \
        >"$results/kernels.csv" 2>/dev/null && [ -s "$results/kernels.csv" ]; then
      rows+=("nsys: top kernels of 5 BF16 steps (time %, total ns, count, name):")
      while IFS= read -r line; do rows+=("  $line"); done < <(python3 - "$results/kernels.csv" <<'PY'
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
  rows+=("nsys: not installed here, no kernel breakdown")
fi

# 3. The specification's bench under PyTorch (bf16 autocast), eager and optionally compiled.
torch_eager="" torch_compile=""  # their logs, when run
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  preset=$(basename "$config" .prototxt)
  [ "$preset" = vit_b16 ] && spec_args="--preset base" || {
    "$bin" config --config "$config" --spec_json >"$results/model.json"
    spec_args="--config $results/model.json"; }
  timeout 150 python3 tests/reference/tigerfg_ref.py bench $spec_args --batch "$batch" \
    --steps 20 >"$results/bench_torch_eager.log" 2>&1
  rows+=("pytorch eager rc=$?: $(tail -n 1 "$results/bench_torch_eager.log" | cut -c1-300)")
  torch_eager="$results/bench_torch_eager.log"
  if [ "$spec_compile" = 1 ]; then
    timeout 240 python3 tests/reference/tigerfg_ref.py bench $spec_args --batch "$batch" \
      --steps 20 --compile >"$results/bench_torch_compile.log" 2>&1
    rows+=("pytorch compile rc=$?: $(tail -n 1 "$results/bench_torch_compile.log" | cut -c1-300)")
    torch_compile="$results/bench_torch_compile.log"
  fi
else
  rows+=("pytorch: no CUDA PyTorch here, spec bench skipped")
fi

# 4. The README's GPU row (README.md, block figures:gpu_bench) from the benches above.
default_args=0
[ "$config" = configs/vit_b16.prototxt ] && [ "$batch" = 256 ] && default_args=1
if [ "${README:-$default_args}" = 1 ]; then
  if [ -z "$bench_BF16$bench_FP32" ]; then
    rows+=("README.md: not written (no tigerfg bench ran on the GPU)")
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
      rows+=("README.md: GPU row written (block figures:gpu_bench)")
    else
      rows+=("README.md: writing the GPU row failed (see above)")
    fi
  fi
fi

echo
echo "== gpu_bench summary (logs in $results)"
for row in "${rows[@]}"; do echo "$row"; done
