#!/usr/bin/env bash
# cluster/fault_drill.sh — kills, stops and starves a tiny training run (train.checkpoint_every=1)
# and checks after each fault that a checkpoint survives and the run resumes with --resume=auto.
#
#   cluster/fault_drill.sh [--kills N] [--build DIR] [--keep]
#
# Cases: kill -9 of a single-process run at N (default 20) random moments (each restart resumes
# with --resume=auto); SIGTERM to one rank of `mpirun -np 2` (must exit 0 with a checkpoint); a
# stopped rank (SIGSTOP; the watchdog must end the job at dist.timeout_s); a dead rank (kill -9 of
# rank 1); a full disk (a real 12 MiB tmpfs, which needs root; without root the case is skipped
# and the table says so). Prints a table (case, outcome, time to exit, checkpoint usable) and exits
# non-zero when any checkpoint is lost or a run cannot resume. Takes about a minute on 2 cores.
# A drill, not a CI test (tests/e2e/operations_test.cc covers SIGTERM and the out-dir policy).
set -u
cd "$(dirname "$0")/.."
kills=20
build=build
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills="${2:?--kills needs a number}"; shift 2 ;;
    --build) build="${2:?--build needs a folder}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "fault_drill: unknown argument $1" >&2; exit 2 ;;
  esac
done
bin="$build/launcher/tigerfg"
[ -x "$bin" ] || { echo "fault_drill: $bin not found (build first)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun="mpirun --oversubscribe"
root="$(mktemp -d /tmp/tigerfg_drill.XXXXXX)"
config="configs/tiny_cpu.prototxt"
set_common="train.threads=1,train.global_batch=8,train.checkpoint_every=1,train.log_every=0"
rows=()
losses=0

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
latest_step() {  # the step `latest` names, 0 without one
  local f="$1/checkpoints/latest"
  [ -f "$f" ] && sed -E 's/step-0*([0-9]+)/\1/; s/^$/0/' "$f" || echo 0
}
usable() {  # inspect --verify of the run's latest checkpoint
  "$bin" inspect "$1" --verify >"$1.inspect.log" 2>&1 && echo yes || echo NO
}
row() { rows+=("$(printf '%-22s %-44s %-10s %s' "$1" "$2" "$3" "$4")"); }
rank_pid() {  # PID of rank $2 of the job writing to out_dir $1
  local pid
  for pid in $(pgrep -f "launcher/tigerfg train .*--out_dir $1( |$)"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
      echo "$pid"
      return
    fi
  done
}
wait_for_step() {  # until the run in $1 has a checkpoint at step >= $2 (at most 60 s)
  local deadline=$((SECONDS + 60))
  while [ "$(latest_step "$1")" -lt "$2" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
}
# resume_check OUT [mpirun prefix]: --resume=auto continues; the run stops 2 steps later (SIGTERM
# to itself) with exit 0 and a later checkpoint.
resume_check() {
  local out="$1" prefix="${2:-}" before after
  before=$(latest_step "$out")
  $prefix "$bin" train --config "$config" --set "$set_common,train.steps=100000" \
    --out_dir "$out" --resume=auto --debug_signal_at=0:$((before + 1)) >"$out.resume.log" 2>&1
  local rc=$?
  after=$(latest_step "$out")
  if [ $rc -eq 0 ] && [ "$after" -eq $((before + 2)) ]; then echo "resumed $before->$after"; else
    echo "RESUME FAILED (rc $rc, $before->$after)"; fi
}

# 1) kill -9 at random moments; every restart resumes from the newest checkpoint.
out="$root/kill9"
lost_kills=0
max_exit=0
for i in $(seq 1 "$kills"); do
  before=$(latest_step "$out")
  "$bin" train --config "$config" --set "$set_common,train.steps=100000" --out_dir "$out" \
    --resume=auto >>"$out.log" 2>&1 &
  pid=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.4 + 2.6 * r / 32767 }')"
  t0=$(now)
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  exit_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
  max_exit=$(awk -v a="$max_exit" -v b="$exit_s" 'BEGIN { print (b > a ? b : a) }')
  after=$(latest_step "$out")
  ok=$(usable "$out")
  if [ "$after" -lt "$before" ] || { [ "$after" -gt 0 ] && [ "$ok" != yes ]; }; then
    lost_kills=$((lost_kills + 1))
    echo "kill $i: checkpoint lost or unusable (latest $before -> $after, verify $ok)"
  fi
done
last=$(latest_step "$out")
check=$(resume_check "$out")
case "$check" in resumed*) ;; *) lost_kills=$((lost_kills + 1)) ;; esac
row "kill -9 x$kills" "$((kills - lost_kills))/$kills intact, at step $last; $check" \
  "<= ${max_exit} s" "$([ $lost_kills -eq 0 ] && echo yes || echo NO)"
losses=$((losses + lost_kills))

# Runs a 2-rank job in $root/NAME with --set "$set_common,EXTRA", sends SIGNAL to rank 1 once step
# 3 is done, and waits for the job: sets out, rc (its exit), took (s from the signal), ok (a
# usable checkpoint) and check (the resume check). A stopped rank is killed after the job ends.
signal_rank1() { # NAME SIGNAL EXTRA
  out="$root/$1"
  $mpirun -np 2 "$bin" train --config "$config" --set "$set_common,$3" --out_dir "$out" \
    >"$out.log" 2>&1 &
  local job=$! victim
  wait_for_step "$out" 3
  victim=$(rank_pid "$out" 1)
  local t0
  t0=$(now)
  kill "-$2" "$victim"
  wait "$job"
  rc=$?
  took=$(since "$t0")
  [ "$2" = STOP ] && kill -KILL "$victim" 2>/dev/null
  ok=$(usable "$out")
  check=$(resume_check "$out" "$mpirun -np 2")
}

# 2) SIGTERM to rank 1 of 2: every rank stops at the next step boundary, checkpoints, exits 0.
signal_rank1 sigterm TERM "train.steps=100000"
outcome="exit $rc at step $(grep -oE 'stopped after step [0-9]+' "$out.log" | grep -oE '[0-9]+$'); $check"
row "SIGTERM (rank 1 of 2)" "$outcome" "$took" "$ok"
[ $rc -eq 0 ] && [ "$ok" = yes ] && [[ $check == resumed* ]] || losses=$((losses + 1))

# 3) A stopped rank: the watchdog ends the job at dist.timeout_s (5 s here).
signal_rank1 sigstop STOP "train.steps=100000,dist.timeout_s=5"
row "SIGSTOP (rank 1 of 2)" "exit $rc (watchdog); $check" "$took" "$ok"
[ $rc -ne 0 ] && [ "$ok" = yes ] && [[ $check == resumed* ]] || losses=$((losses + 1))

# 4) A dead rank: Open MPI ends the job when rank 1 dies.
signal_rank1 deadrank KILL "train.steps=100000"
row "kill -9 (rank 1 of 2)" "exit $rc; $check" "$took" "$ok"
[ $rc -ne 0 ] && [ "$ok" = yes ] && [[ $check == resumed* ]] || losses=$((losses + 1))

# 5) A full disk: a 12 MiB tmpfs holds two 4.8 MB checkpoints but not a third being written.
out="$root/disk/run"
mkdir -p "$root/disk"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=12m tmpfs "$root/disk" 2>/dev/null; then
  t0=$(now)
  "$bin" train --config "$config" --set "$set_common,train.steps=100000" --out_dir "$out" \
    >"$root/disk.log" 2>&1
  rc=$?
  took=$(since "$t0")
  ok=$(usable "$out")
  reason=$(grep -oE 'No space left on device' "$root/disk.log" | head -n 1)
  last=$(latest_step "$out")
  mount -o remount,size=64m "$root/disk"
  check=$(resume_check "$out")
  row "full disk (12M tmpfs)" "exit $rc (${reason:-?}) at step $last; $check" "$took" "$ok"
  [ $rc -ne 0 ] && [ "$ok" = yes ] && [[ $check == resumed* ]] || losses=$((losses + 1))
  umount "$root/disk" 2>/dev/null || { sleep 2; umount -l "$root/disk"; }
else
  row "full disk" "skipped: needs root to mount a tmpfs" "-" "-"
fi

echo
printf '%-22s %-44s %-10s %s\n' case outcome "exit in" "checkpoint usable"
for r in "${rows[@]}"; do echo "$r"; done
echo "logs: $root"
if [ $keep = 0 ] && [ $losses -eq 0 ]; then rm -rf "$root"; fi
if [ $losses -gt 0 ]; then
  echo "fault_drill: $losses case(s) lost a checkpoint or could not resume"
  exit 1
fi
echo "fault_drill: no checkpoint lost"
