#!/usr/bin/env bash
# cluster/fmnist_experiment.sh — the Fashion-MNIST retrieval experiment: builds the benchmark (if
# absent), trains the CLIP-style baseline, text-guided grounding, and grounding + distillation
# from a frozen teacher (the baseline's query tower, a contrastive-only first stage), evaluates
# each on the normal and cluttered layouts with real and generic titles, and prints the table.
# Writes $FMNIST_OUT/results.{json,md} and loss/R@1 plots. Knobs (environment):
#   TIGERFG        the binary (default build/launcher/tigerfg)
#   FMNIST_DATA    the benchmark folder (default out/fmnist)
#   FMNIST_OUT     results (default out/fmnist_experiment)
#   FMNIST_STEPS   training steps per model (default 500); FMNIST_QUICK=1: 60 steps, a smoke run
#   FMNIST_RETRAIN=1  train again even where OUT/NAME/final.safetensors exists (default: reuse)
#   FMNIST_EVAL_EVERY  checkpoint and evaluate (normal + cluttered R@1) every N steps for the
#                  R@1-over-steps plot (default steps / 5; 0 = only the final weights)
#   FMNIST_README=1|0  write the table, machine, date and run time into README.md's figures:fmnist
#                  block; default 1 only for the default full run (500 steps, no FMNIST_QUICK), so
#                  a smoke run leaves the README alone; never done when a model was reused
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenMP threads that spin while waiting starve each other on a shared machine (10x slower steps
# measured on 2 busy cores); passive waiting costs nothing on an idle one.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
bin=${TIGERFG:-build/launcher/tigerfg}
data=${FMNIST_DATA:-out/fmnist}
out=${FMNIST_OUT:-out/fmnist_experiment}
steps=${FMNIST_STEPS:-500}
[[ ${FMNIST_QUICK:-0} == 1 ]] && steps=${FMNIST_STEPS:-60}
eval_every=${FMNIST_EVAL_EVERY:-$((steps / 5))}
default_run=0
[[ ${FMNIST_QUICK:-0} != 1 && $steps == 500 ]] && default_run=1
readme=${FMNIST_README:-$default_run}
reused=""
mkdir -p "$out"
: > "$out/timings.txt"  # this run's timings only
start=$SECONDS

if [[ ! -f $data/stats.json ]]; then
  echo "== building the benchmark in $data"
  "$bin" data fmnist --out "$data"
  echo "data_s $((SECONDS - start))" >> "$out/timings.txt"
fi
sets="$data/eval_normal,$data/eval_cluttered"
paths="data.train_shards=$data/train/shard-*.tar,data.vocab=$data/vocab.txt"

train() {  # NAME [extra flags]
  local name=$1
  shift
  local t0=$SECONDS
  if [[ -f $out/$name/final.safetensors && ${FMNIST_RETRAIN:-0} != 1 ]]; then
    echo "== $name: reusing $out/$name/final.safetensors (FMNIST_RETRAIN=1 trains again)"
    reused="$reused $name"
    return
  fi
  echo "== training $name ($steps steps)"
  "$bin" train --config "configs/fmnist_$name.prototxt" --steps "$steps" \
    --set "$paths,train.checkpoint_every=$eval_every,train.keep_last=0" --out_dir "$out/$name" --overwrite "$@" > "$out/$name.train.log" 2>&1 ||
    { tail -20 "$out/$name.train.log"; exit 1; }
  tail -1 "$out/$name.train.log"
  echo "$name train_s $((SECONDS - t0))" >> "$out/timings.txt"
}

evaluate() {  # NAME
  local name=$1 mode ckpt step
  # Intermediate checkpoints (the trainer writes OUT/checkpoints/step-N): R@1 over steps.
  for ckpt in "$out/$name"/checkpoints/step-*; do
    [[ -d $ckpt && $eval_every -gt 0 ]] || continue
    step=$((10#${ckpt##*step-}))
    [[ $step -lt $steps ]] || continue
    "$bin" eval --config "configs/fmnist_$name.prototxt" --set "$paths" --checkpoint "$ckpt" \
      --eval_set "$sets" --out "$out/$name/eval-step-$step.json" > /dev/null 2>&1 ||
      echo "  (evaluating $ckpt failed)"
  done
  for mode in title generic; do
    "$bin" eval --config "configs/fmnist_$name.prototxt" --set "$paths" \
      --weights "$out/$name/final.safetensors" --eval_set "$sets" --title_mode "$mode" \
      --out "$out/$name/eval_$mode.json" > "$out/$name.eval_$mode.log" 2>&1 ||
      { tail -20 "$out/$name.eval_$mode.log"; exit 1; }
  done
  grep -v '^I' "$out/$name.eval_title.log" | sed "s/^/  $name: /"
}

train baseline
evaluate baseline
train grounded
evaluate grounded
# Stage 2: the baseline's query tower (trained by contrast alone) is the frozen teacher.
train distill --teacher_weights "$out/baseline/final.safetensors"
evaluate distill
echo "total_s $((SECONDS - start))" >> "$out/timings.txt"

blas=$(ldd "$bin" 2> /dev/null | grep -o 'openblas-[a-z]*' | head -1 || true)
/usr/bin/python3 cluster/fmnist_table.py "$out" --steps "$steps" --data "$data" --blas "$blas"
if [[ $readme == 1 && -n $reused ]]; then
  echo "README.md not written: reused$reused (FMNIST_RETRAIN=1 measures afresh)"
elif [[ $readme == 1 ]]; then
  /usr/bin/python3 cluster/readme_figures.py README.md fmnist "$out/readme_block.md"
fi
if /usr/bin/python3 -c "import matplotlib" 2> /dev/null; then
  /usr/bin/python3 cluster/plot_metrics.py --out "$out/training.png" \
    "$out/baseline" "$out/grounded" "$out/distill"
fi
echo "results: $out/results.md, $out/results.json ($((SECONDS - start)) s)"
