#!/usr/bin/env bash
# tests/cluster/gpu_check_test.sh — cluster/gpu_check.sh keeps the verdicts of a test binary in
# which one test crashes: the crashed test is named and counted as failed, the binary runs again
# without it, and the tests after it still run (a stand-in GoogleTest binary: A.One passes, A.Two
# kills the process, B.Three fails, B.Four passes). Without a GPU the check fails, as it must.
#   gpu_check_test.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: gpu_check_test.sh SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$tmp/build/tests/cuda"
cat >"$tmp/build/tests/cuda/cuda_tests" <<'FAKE'
#!/usr/bin/env bash
filter="*"
for a in "$@"; do case "$a" in --gtest_filter=*) filter="${a#--gtest_filter=}" ;; esac; done
excluded="${filter#*-}"
[ "$excluded" = "$filter" ] && excluded=""
n=0 pass=0 failed=0
for t in A.One A.Two B.Three B.Four; do
  [[ ":$excluded:" == *":$t:"* ]] && continue
  n=$((n + 1))
  echo "[ RUN      ] $t"
  case "$t" in
    A.Two) kill -SEGV $$ ;;
    B.Three) echo "[  FAILED  ] $t (0 ms)"; failed=$((failed + 1)) ;;
    *) echo "[       OK ] $t (0 ms)"; pass=$((pass + 1)) ;;
  esac
done
echo "[==========] $n tests from 2 test suites ran. (1 ms total)"
echo "[  PASSED  ] $pass tests."
if [ "$failed" -gt 0 ]; then echo "[  FAILED  ] $failed test, listed below:"; exit 1; fi
FAKE
chmod +x "$tmp/build/tests/cuda/cuda_tests"

if bash "$src/cluster/gpu_check.sh" "$tmp/build" >"$tmp/log" 2>&1; then
  fail "gpu_check.sh passed with a crashing test"
fi
grep -qE '^cuda_tests +4 +2 +2 +0 ' "$tmp/log" ||
  fail "the summary does not count 4 run, 2 passed, 2 failed: $(grep -A3 '== summary' "$tmp/log")"
grep -q "crashed: A.Two" "$tmp/log" || fail "the crashed test is not named"
echo "gpu_check_test: passed"
