#!/usr/bin/env bash
# The README's first command: installs dependencies, builds tigerfg, and runs the Fashion-MNIST
# retrieval experiment (cluster/fmnist_experiment.sh): builds the benchmark, trains the baseline,
# text-guided grounding, grounding + SRD towards the mask teacher and the baseline and grounding
# trained on generic titles, two seeds each, evaluates them on the normal and cluttered layouts
# and ends with the table and the paired gaps (out/fmnist_experiment/results.md,
# r1_over_steps.svg).
# FMNIST_QUICK=1 runs a short smoke version (60 steps per model); FMNIST_STEPS=N sets the steps.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cluster/install_deps.sh
TIGERFG_TARGETS=tigerfg bash cluster/build.sh build
TIGERFG=build/launcher/tigerfg bash cluster/fmnist_experiment.sh
