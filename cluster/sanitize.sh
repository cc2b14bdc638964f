#!/usr/bin/env bash
# Builds the CPU unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (CPU only, in their
# own build folder) and runs them: any out-of-bounds access, use after free, leak or undefined
# behaviour (signed overflow, misaligned or null access, bad shift...) fails the test it happens
# in. Not part of CI (it takes longer than CI allows); run it before a release or after touching
# memory-handling code.
#   cluster/sanitize.sh [-R REGEX]     extra arguments go to ctest
# Environment: SANITIZE_BUILD (build folder, default build-asan).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SANITIZE_BUILD:-build-asan}
folders=(core ops configs model data fmnist checkpoint train eval export)
targets=(core_tests ops_tests config_tests model_tests data_tests fmnist_tests checkpoint_tests
         train_tests eval_tests export_tests)
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIGERFG_CUDA=OFF \
  -DTIGERFG_SANITIZE=ON "${launcher[@]}" > /dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
# halt_on_error: a report fails the test rather than scrolling past. Open MPI is not used by
# these tests; OpenBLAS and OpenMP keep thread-local buffers for the process's life (not leaks).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
labels=$(IFS='|'; echo "^(${folders[*]})\$")
ctest --test-dir "$build" -L "$labels" --output-on-failure -j "$(nproc)" --timeout 1800 "$@"
