#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything (CUDA sources too when
# nvcc is present) and runs the whole suite with CTest. GPU-only tests skip without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cluster/install_deps.sh
bash cluster/build.sh build
# Fuzz smoke run (tests/fuzz, README "Fuzzing and sanitizers"): each target a few seconds on its
# seed corpus, in its own clang build folder; fails on any crash. Before
# CTest, so that CTest's summary closes the output.
bash cluster/fuzz.sh
# Open MPI refuses to start as root without these; CI and containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir build --output-on-failure --timeout 1200
