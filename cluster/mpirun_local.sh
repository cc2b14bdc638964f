#!/usr/bin/env bash
# Runs N ranks of tigerfg on this machine: cluster/mpirun_local.sh N <tigerfg args...>
#   cluster/mpirun_local.sh 4 train --config configs/tiny_cpu.prototxt --out_dir out/np4
# One process per GPU when GPUs are present (rank r uses GPU r); on CPU the cores are shared
# among the ranks (train.threads = cores / N unless set).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 N <tigerfg command and flags>" >&2
  exit 2
fi
np=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${TIGERFG_BINARY:-$root/build/launcher/tigerfg}
[[ -x $binary ]] || { echo "$0: $binary not found; run cluster/build.sh first" >&2; exit 2; }
extra=()
[[ $(id -u) -eq 0 ]] && extra+=(--allow-run-as-root)
# --oversubscribe: more ranks than cores is fine for CPU runs and tests.
exec mpirun --oversubscribe "${extra[@]}" --bind-to none -np "$np" "$binary" "$@"
