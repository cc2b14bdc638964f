#!/usr/bin/env bash
# CPU throughput against the PyTorch specification, same machine, same run:
#   cluster/cpu_bench.sh [CONFIG=configs/small_cpu.prototxt] [BATCH=64] [STEPS=10] [THREADS=2]
# Runs `tigerfg bench` and the spec's `bench --cpu` (Debian's python3-torch) alternately, twice
# each, and prints samples/s of both and their ratio. With the default arguments (or README=1; never
# with README=0) it also writes them, with the machine and date, into README.md's figures:cpu_bench
# block ("Performance (measured)").
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/small_cpu.prototxt}
batch=${2:-64}
steps=${3:-10}
threads=${4:-2}
default_args=0
[[ $config == configs/small_cpu.prototxt && $batch == 64 && $steps == 10 && $threads == 2 ]] &&
  default_args=1
readme=${README:-$default_args}
binary=${TIGERFG_BINARY:-build/launcher/tigerfg}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The spec reads its model config as JSON; tigerfg writes it from the same prototxt.
"$binary" config --config "$config" --spec_json >"$work/model.json"
spec=tests/reference/tigerfg_ref.py
for round in 1 2; do
  OMP_NUM_THREADS=$threads "$binary" bench --config "$config" --batch "$batch" --steps "$steps" \
    --set "train.threads=$threads" 2>/dev/null | tail -1 >"$work/ours$round.json"
  /usr/bin/python3 "$spec" bench --config "$work/model.json" --batch "$batch" --steps "$steps" \
    --cpu --threads "$threads" --warmup 2 | tail -1 >"$work/torch$round.json"
done
/usr/bin/python3 - "$work" "$config" "$batch" "$steps" "$threads" <<'PY'
import datetime, json, sys, os
sys.path.insert(0, "cluster")
from readme_figures import machine
w, config, batch, steps, threads = sys.argv[1:]
ours = [json.load(open(os.path.join(w, f"ours{r}.json"))) for r in (1, 2)]
torch = [json.load(open(os.path.join(w, f"torch{r}.json"))) for r in (1, 2)]
o = max(x["samples_per_s"] for x in ours)
t = max(x["samples_per_s"] for x in torch)
print(f"{'':12}{'samples/s (2 runs)':>26}{'best':>10}")
print(f"{'tigerfg':12}{ours[0]['samples_per_s']:>13.1f}{ours[1]['samples_per_s']:>13.1f}{o:>10.1f}")
print(f"{'pytorch':12}{torch[0]['samples_per_s']:>13.1f}{torch[1]['samples_per_s']:>13.1f}{t:>10.1f}"
      f"   (torch {torch[0]['torch']}, {torch[0]['device']})")
gflops = max(x["model_gflops"] for x in ours)
print(f"ratio tigerfg / pytorch: {o / t:.2f}x   model GFLOP/s tigerfg {gflops:.1f}")
name = os.path.splitext(os.path.basename(config))[0]
with open(os.path.join(w, "readme_block.md"), "w") as f:
    f.write("| CPU training step | machine | tigerfg | PyTorch (the spec, same run) | measured |\n"
            "|---|---|---|---|---|\n"
            f"| `{name}`, batch {batch}, {steps} steps, {threads} threads | {machine()} "
            f"| {o:.1f} samples/s ({gflops:.1f} model GFLOP/s) "
            f"| {t:.1f} samples/s (torch {torch[0]['torch']}, float32): **{o / t:.1f}x** "
            f"| {datetime.date.today().isoformat()} |\n\n"
            "Best of two runs each, alternating (tigerfg %.1f and %.1f, PyTorch %.1f and %.1f samples/s).\n"
            % (ours[0]["samples_per_s"], ours[1]["samples_per_s"], torch[0]["samples_per_s"],
               torch[1]["samples_per_s"]))
PY
if [[ $readme == 1 ]]; then
  /usr/bin/python3 cluster/readme_figures.py README.md cpu_bench "$work/readme_block.md"
fi
