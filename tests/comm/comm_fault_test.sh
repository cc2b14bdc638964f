#!/bin/bash
# tests/comm/comm_fault_test.sh — runs comm_fault_driver under mpirun and asserts that the job
# fails: non-zero exit, within timeout + 10 s, the watchdog's message (skip mode), and no rank
# process left behind.
# Usage: comm_fault_test.sh <mpiexec> <driver> <skip|die> <np> <timeout_s>
set -u
mpiexec=$1 driver=$2 mode=$3 np=$4 timeout_s=$5
tag="faulttag$$x$RANDOM"
log=$(mktemp)
start=$(date +%s.%N)
timeout 120 "$mpiexec" --oversubscribe --allow-run-as-root -np "$np" "$driver" "$mode" "$timeout_s" "$tag" >"$log" 2>&1
rc=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
cat "$log"
fail() { echo "FAIL: $*"; rm -f "$log"; exit 1; }
echo "exit code $rc after $elapsed s"
[ "$rc" -ne 0 ] || fail "the job exited 0"
[ "$rc" -ne 124 ] || fail "the job hung until the outer timeout"
limit=$(echo "$timeout_s + 10" | bc)
[ "$(echo "$elapsed < $limit" | bc)" = 1 ] || fail "took $elapsed s, more than timeout + 10 s"
if [ "$mode" = skip ]; then
  grep -q "collective all_reduce (step 7) on rank 0 timed out after" "$log" ||
    fail "no watchdog message from rank 0"
  # Rank 1 is alive but never launched the second collective: the message names it.
  grep -q "ranks that have not reached collective #2: 1 (launched #1)" "$log" ||
    fail "the watchdog does not name the late rank"
fi
grep -q "completed without rank 1" "$log" && fail "a collective completed without rank 1"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pgrep -f "$tag" >/dev/null || break
  sleep 0.5
done
pgrep -af "$tag" && fail "processes left behind"
rm -f "$log"
echo PASS
