#!/usr/bin/env bash
# cluster/fmnist_experiment.sh — the Fashion-MNIST retrieval experiment: builds the benchmark (if
# absent), trains five models with two seeds each on the same data, evaluates them and prints the
# table with the paired gaps (cluster/fmnist_table.py) and the R@1-over-steps plot:
#   baseline          ground_layers 0 (the item image's CLS + the title's CLS)
#   grounded          text-guided grounding (the title's CLS attends over the item's patches)
#   srd_mask          grounded + SRD towards the mask teacher: each training listing's product box
#                     (target_box) as SRD's target map (model.srd_target MASK), an upper-bound
#                     teacher; no teacher ViT, so no SDD; eval reports the mask's mass on the
#                     product
#   baseline_generic, grounded_generic   the same, TRAINED (and evaluated) with every title
#                     "product" (DIR/train_generic): the control without title information
# With FMNIST_EXTRA (any of "distill distill_srd distill_sdd"), distillation from a learned
# teacher, the query tower of the baseline of the same seed (train --teacher_weights maps query.*
# onto teacher.*), checked first by `tigerfg eval --teacher_only` (its SRD map's mass on the
# product against a uniform map's on held-out listings):
#   distill           grounded + SRD + SDD from that teacher
#   distill_srd, distill_sdd   one term alone (w_sdd = 0, resp. w_srd = 0)
# The two seeds of a model train side by side, one thread each (2 cores). Writes
# $FMNIST_OUT/results.{json,md}, r1_over_steps.svg and (with matplotlib) training.png; the default
# full run also copies the plot to docs/fmnist_r1_over_steps.svg. Knobs (environment):
#   TIGERFG        the binary (default build/launcher/tigerfg)
#   FMNIST_DATA    the benchmark folder (default out/fmnist)
#   FMNIST_OUT     results (default out/fmnist_experiment)
#   FMNIST_STEPS   training steps per model (default 2000); FMNIST_QUICK=1: 60 steps, a smoke run
#   FMNIST_SEEDS   seeds (default "0 1")
#   FMNIST_EXTRA   more models after the five: distill, distill_srd and/or distill_sdd
#   FMNIST_RETRAIN=1  train again even where OUT/NAME/final.safetensors exists (default: reuse)
#   FMNIST_EVAL_EVERY  checkpoint and evaluate every N steps for the R@1-over-steps plot
#                  (default steps / 4; 0 = only the final weights)
#   FMNIST_REQUIRE_TEACHER=1  stop before distillation when the teacher check fails (default: warn
#                  and train anyway, so the table shows what a weak teacher does)
#   FMNIST_README=1|0  write the table, machine, date and run time into README.md's figures:fmnist
#                  block and the plot into docs/; default 1 only for the default full run (2000
#                  steps, seeds 0 1, no FMNIST_QUICK, no FMNIST_EXTRA), so a smoke run leaves the
#                  README alone; never when a model was reused
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenMP threads that spin while waiting starve each other on a shared machine (10x slower steps
# measured on 2 busy cores); passive waiting costs nothing on an idle one.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
bin=${TIGERFG:-build/launcher/tigerfg}
data=${FMNIST_DATA:-out/fmnist}
out=${FMNIST_OUT:-out/fmnist_experiment}
seeds=${FMNIST_SEEDS:-0 1}
default_steps=2000
steps=${FMNIST_STEPS:-$default_steps}
[[ ${FMNIST_QUICK:-0} == 1 ]] && steps=${FMNIST_STEPS:-60}
eval_every=${FMNIST_EVAL_EVERY:-$((steps / 4))}
default_run=0
[[ ${FMNIST_QUICK:-0} != 1 && $steps == "$default_steps" && $seeds == "0 1" &&
  -z ${FMNIST_EXTRA:-} ]] && default_run=1
readme=${FMNIST_README:-$default_run}
reused=""
mkdir -p "$out"
: > "$out/timings.txt" # this run's timings only
start=$SECONDS

if [[ ! -f $data/stats.json || ! -d $data/train_generic ]]; then
  echo "== building the benchmark in $data"
  "$bin" data fmnist --out "$data" | tee "$out/data.log"
  echo "data_s $((SECONDS - start))" >> "$out/timings.txt"
fi
sets="$data/eval_normal,$data/eval_cluttered"

config_of() {
  local base=${1%_generic}
  echo "configs/fmnist_${base%_s[dr][dr]}.prototxt"
}
terms_of() { # the distillation term a single-term model switches off
  case $1 in
    distill_srd) echo ",model.w_sdd=0" ;;
    distill_sdd) echo ",model.w_srd=0" ;;
  esac
}
shards_of() { [[ $1 == *_generic ]] && echo "$data/train_generic" || echo "$data/train"; }
titles_of() { [[ $1 == *_generic ]] && echo generic || echo title; }
paths_of() { echo "data.train_shards=$(shards_of "$1")/shard-*.tar,data.vocab=$data/vocab.txt"; }

# Runs "$@" once per seed, side by side, {} replaced by the seed; fails when one fails.
per_seed() {
  local pids=() seed rc=0
  for seed in $seeds; do
    "${@//\{\}/$seed}" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  return $rc
}

train_one() { # MODEL SEED [extra flags]
  local model=$1 seed=$2 run="$out/$1_s$2"
  shift 2
  if [[ -f $run/final.safetensors && ${FMNIST_RETRAIN:-0} != 1 ]]; then
    echo "== $model seed $seed: reusing $run/final.safetensors (FMNIST_RETRAIN=1 trains again)"
    echo "$model" >> "$out/reused.txt"
    return
  fi
  rm -rf "$run"
  local t0=$SECONDS
  "$bin" train --config "$(config_of "$model")" --steps "$steps" --out_dir "$run" \
    --set "$(paths_of "$model")$(terms_of "$model"),train.seed=$seed,train.threads=1,train.checkpoint_every=$eval_every,train.keep_last=0" \
    "$@" > "$run.train.log" 2>&1 || { tail -20 "$run.train.log"; return 1; }
  echo "  $model seed $seed: $(tail -1 "$run.train.log")"
  echo "$model s$seed train_s $((SECONDS - t0))" >> "$out/timings.txt"
}

eval_one() { # MODEL SEED
  local model=$1 seed=$2 run="$out/$1_s$2" ckpt step
  local common=(--config "$(config_of "$model")"
    --set "$(paths_of "$model")$(terms_of "$model"),train.threads=1"
    --eval_set "$sets" --title_mode "$(titles_of "$model")")
  # Intermediate checkpoints (OUT/checkpoints/step-N): R@1 over steps.
  for ckpt in "$run"/checkpoints/step-*; do
    [[ -d $ckpt && $eval_every -gt 0 ]] || continue
    step=$((10#${ckpt##*step-}))
    [[ $step -lt $steps ]] || continue
    "$bin" eval "${common[@]}" --checkpoint "$ckpt" --out "$run/eval-step-$step.json" \
      > /dev/null 2>&1 || echo "  (evaluating $ckpt failed)"
  done
  "$bin" eval "${common[@]}" --weights "$run/final.safetensors" --controls \
    --out "$run/eval_final.json" > "$run.eval.log" 2>&1 || { tail -20 "$run.eval.log"; return 1; }
  grep -v '^I' "$run.eval.log" | grep -v '^R@1 attr' | sed "s/^/  $model s$seed: /"
}

# The distillation teacher of seed S: the query tower of baseline seed S, checked on held-out
# listings; the result goes into the table.
check_teacher() { # SEED
  local seed=$1 rc=0
  "$bin" eval --config configs/fmnist_distill.prototxt --set "$(paths_of distill),train.threads=1" \
    --eval_set "$sets" --teacher_only --teacher_weights "$out/baseline_s$seed/final.safetensors" \
    --out "$out/teacher_s$seed.json" > "$out/teacher_s$seed.log" 2>&1 || rc=$?
  grep -v '^I' "$out/teacher_s$seed.log" | sed "s/^/  teacher s$seed: /"
  if [[ $rc == 3 && ${FMNIST_REQUIRE_TEACHER:-0} == 1 ]]; then
    echo "the teacher of seed $seed is at or below uniform (FMNIST_REQUIRE_TEACHER=1): stopping"
    return 1
  fi
  [[ $rc == 0 || $rc == 3 ]]
}

rm -f "$out/reused.txt"
checked=0
for model in baseline grounded srd_mask baseline_generic grounded_generic ${FMNIST_EXTRA:-}; do
  echo "== $model: seeds $seeds side by side, $steps steps"
  if [[ $model == distill* ]]; then
    if [[ $checked == 0 ]]; then
      per_seed check_teacher {}
      checked=1
    fi
    per_seed train_one "$model" {} --teacher_weights "$out/baseline_s{}/final.safetensors"
  else
    per_seed train_one "$model" {}
  fi
  per_seed eval_one "$model" {}
done
echo "total_s $((SECONDS - start))" >> "$out/timings.txt"
[[ -f $out/reused.txt ]] && reused=$(sort -u "$out/reused.txt" | tr '\n' ' ')

blas=$(ldd "$bin" 2> /dev/null | grep -o 'openblas-[a-z]*' | head -1 || true)
/usr/bin/python3 cluster/fmnist_table.py "$out" --steps "$steps" --seeds "$seeds" --data "$data" \
  --blas "$blas"
if [[ $readme == 1 && -n $reused ]]; then
  echo "README.md not written: reused $reused(FMNIST_RETRAIN=1 measures afresh)"
elif [[ $readme == 1 ]]; then
  /usr/bin/python3 cluster/readme_figures.py README.md fmnist "$out/readme_block.md"
  mkdir -p docs
  cp "$out/r1_over_steps.svg" docs/fmnist_r1_over_steps.svg
fi
if /usr/bin/python3 -c "import matplotlib" 2> /dev/null; then
  first=${seeds%% *}
  /usr/bin/python3 cluster/plot_metrics.py --out "$out/training.png" \
    "$out"/{baseline,grounded,srd_mask,baseline_generic,grounded_generic}_s"$first"
fi
echo "results: $out/results.md, $out/results.json, $out/r1_over_steps.svg ($((SECONDS - start)) s)"
