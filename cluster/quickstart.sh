#!/usr/bin/env bash
# The README's first command: installs dependencies, builds tigerfg, and trains the tiny model on
# the embedded default (deterministic synthetic data), printing the loss as it falls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cluster/install_deps.sh
bash cluster/build.sh build
out=${OUT_DIR:-out/quickstart}
build/launcher/tigerfg train --config configs/tiny_cpu.prototxt --out_dir "$out"
echo "metrics: $out/metrics.jsonl   weights: $out/final.safetensors"
