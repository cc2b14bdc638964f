#!/usr/bin/env bash
# cluster/device_bundle.sh — packs a build for the one-call GPU check (cluster/device_check.sh):
# the binaries the check runs, with the libraries a GPU machine lacks (cluster/bundle.sh), and
# the source folder the test binaries were compiled against, into one tarball small enough to be
# carried to the device (the device tool carries at most 64 MiB).
#
#   cluster/device_bundle.sh [BUILD_DIR (default build)] [OUT (default .device/bundle.tgz)]
#
# Then, on a lent GPU (the device tool's `run`, carrying .device):
#   bash cluster/device_check.sh .device/bundle.tgz "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-.device/bundle.tgz}
binaries=(launcher/tigerfg tests/cuda/cuda_tests tests/core_tests tests/ops_tests
  tests/comm/comm_tests)
for b in "${binaries[@]}"; do
  [[ -x $build/$b ]] || { echo "device_bundle: $build/$b is not built" >&2; exit 1; }
done
compgen -G "$build/CMakeFiles/*/CMakeCUDACompiler.cmake" >/dev/null ||
  { echo "device_bundle: $build was configured without CUDA (no nvcc found)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash cluster/bundle.sh "$build" "$work/bundle" "${binaries[@]}" >/dev/null
# The test binaries read configs and the spec from the source folder they were built in.
sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" >"$work/bundle/source_dir"
mkdir -p "$(dirname "$out")"
tar czf "$out" -C "$work" bundle
bytes=$(stat -c %s "$out")
limit=$((60 * 1024 * 1024))
if ((bytes > limit)); then
  echo "device_bundle: $out is $bytes bytes, over the 60 MiB the device call can carry" >&2
  exit 1
fi
echo "device_bundle: $out ($((bytes / 1024 / 1024)) MiB; source $(cat "$work/bundle/source_dir"))"
