#!/usr/bin/env bash
# CPU throughput against the PyTorch specification, same machine, same run:
#   cluster/cpu_bench.sh [CONFIG=configs/small_cpu.prototxt] [BATCH=64] [STEPS=10] [THREADS=2]
# Runs `tigerfg bench` and the spec's `bench --cpu` (Debian's python3-torch) alternately, twice
# each, and prints samples/s of both and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/small_cpu.prototxt}
batch=${2:-64}
steps=${3:-10}
threads=${4:-2}
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
/usr/bin/python3 - "$work" <<'PY'
import json, sys, os
w = sys.argv[1]
ours = [json.load(open(os.path.join(w, f"ours{r}.json"))) for r in (1, 2)]
torch = [json.load(open(os.path.join(w, f"torch{r}.json"))) for r in (1, 2)]
o = max(x["samples_per_s"] for x in ours)
t = max(x["samples_per_s"] for x in torch)
print(f"{'':12}{'samples/s (2 runs)':>26}{'best':>10}")
print(f"{'tigerfg':12}{ours[0]['samples_per_s']:>13.1f}{ours[1]['samples_per_s']:>13.1f}{o:>10.1f}")
print(f"{'pytorch':12}{torch[0]['samples_per_s']:>13.1f}{torch[1]['samples_per_s']:>13.1f}{t:>10.1f}"
      f"   (torch {torch[0]['torch']}, {torch[0]['device']})")
print(f"ratio tigerfg / pytorch: {o / t:.2f}x   model GFLOP/s tigerfg {max(x['model_gflops'] for x in ours):.1f}")
PY
