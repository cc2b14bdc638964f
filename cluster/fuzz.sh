#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, CPU only) in their own build
# folder and runs each on its seed corpus (tests/fuzz/corpus/<target>) for a while; fails on any
# crash, sanitizer report, leak, timeout or out-of-memory. Findings land in $work/crashes.
#   cluster/fuzz.sh                    smoke run (CI): a few seconds per target
#   cluster/fuzz.sh --seconds 300      a longer run per target
#   cluster/fuzz.sh --only tar         one target (repeatable)
#   cluster/fuzz.sh --seeds            rewrite tests/fuzz/corpus with make_seeds, then run
# Environment: FUZZ_BUILD (build folder, default build-fuzz), FUZZ_WORK (corpus copies, findings
# and logs; default a fresh temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5 seeds=0 only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --seeds) seeds=1; shift ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
targets=(tar safetensors checkpoint config wordpiece jpeg)
[ ${#only[@]} -gt 0 ] && targets=("${only[@]}")
build=${FUZZ_BUILD:-build-fuzz}
work=${FUZZ_WORK:-$(mktemp -d -t tigerfg-fuzz.XXXXXX)}
mkdir -p "$work/crashes"

cc=$(command -v clang-14 || command -v clang) cxx=$(command -v clang++-14 || command -v clang++)
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_CXX_COMPILER="$cxx" -DTIGERFG_CUDA=OFF -DTIGERFG_BUILD_TESTS=OFF -DTIGERFG_FUZZ=ON \
  "${launcher[@]}" > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target fuzz_targets

if [ "$seeds" = 1 ]; then
  rm -rf tests/fuzz/corpus
  "$build/tests/fuzz/make_seeds" "$PWD" tests/fuzz/corpus
fi

# Leaks are findings too; protobuf's and glog's process-lifetime singletons are not leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
printf '%-12s %10s %8s %6s  %s\n' target executions seconds crash corpus
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus"
  log="$work/$t.log"
  # New inputs go to the copy; the committed seeds are read only.
  rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/crashes/$t-" \
    "$corpus" "tests/fuzz/corpus/$t" > "$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  time=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}' | tail -1)
  crash=0
  if [ "$rc" != 0 ]; then
    crash=1
    failed+=("$t")
  fi
  printf '%-12s %10s %8s %6s  %s\n' "$t" "${execs:-?}" "${time:-?}" "$crash" \
    "$(find "$corpus" -type f | wc -l) inputs"
done
if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "---- fuzz_$t failed (log $work/$t.log):" >&2
    grep -E 'ERROR|SUMMARY|fuzz property|Check failed|==[0-9]+==|#[0-9]+ 0x' "$work/$t.log" \
      | head -30 >&2
    ls "$work/crashes/$t-"* 2>/dev/null >&2 || true
  done
  echo "fuzz.sh: crashes in: ${failed[*]} (reproduce: $build/tests/fuzz/fuzz_TARGET FILE)" >&2
  exit 1
fi
echo "fuzz.sh: no crash in ${#targets[@]} target(s), ${seconds} s each (work folder $work)"
