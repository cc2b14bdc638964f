#!/usr/bin/env bash
# Configures and builds tigerfg into ./build (or $1). CUDA targets build when nvcc is found
# (/usr/local/cuda); pass extra CMake options after the folder, e.g. -DTIGERFG_CUDA=OFF.
# TIGERFG_TARGETS="tigerfg" builds only those targets (default: everything, tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
export PATH=/usr/local/cuda/bin:$PATH
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
# shellcheck disable=SC2086  # a space-separated list of targets
cmake --build "$build_dir" -j "$(nproc)" ${TIGERFG_TARGETS:+--target $TIGERFG_TARGETS}
