#!/usr/bin/env bash
# cluster/bundle.sh — a relocatable bundle of a build for machines that have the CUDA, cuDNN,
# NCCL and MPI libraries but not the rest (glog, gflags, OpenBLAS, protobuf, ONNX, ...):
#   cluster/bundle.sh BUILD_DIR OUT_DIR [RELATIVE_BINARY ...]
# copies the binaries (default: launcher/tigerfg) under OUT_DIR with their relative paths and the
# shared libraries they need into OUT_DIR/lib, leaving out the C/C++ runtime, MPI (the cluster's
# own must match its launcher) and the CUDA libraries (the driver's and the machine's).
# Run with LD_LIBRARY_PATH=OUT_DIR/lib (cluster/gpu_check.sh --libs OUT_DIR/lib does that).
set -euo pipefail
build=${1:?usage: bundle.sh BUILD_DIR OUT_DIR [RELATIVE_BINARY ...]}
out=${2:?usage: bundle.sh BUILD_DIR OUT_DIR [RELATIVE_BINARY ...]}
shift 2
binaries=("$@")
[[ ${#binaries[@]} -gt 0 ]] || binaries=(launcher/tigerfg)
mkdir -p "$out/lib"
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libstdc\+\+|libgcc_s|libmpi|libopen-(pal|rte)|libhwloc|libevent|libudev|libcuda|libcudart|libcublas|libcudnn|libnccl|libnvrtc|libnvJitLink)'
for rel in "${binaries[@]}"; do
  [[ -x $build/$rel ]] || { echo "bundle: $build/$rel not found" >&2; exit 1; }
  mkdir -p "$out/$(dirname "$rel")"
  cp "$build/$rel" "$out/$rel"
  ldd "$build/$rel" | awk '$3 ~ /^\// {print $1, $3}' | while read -r name path; do
    [[ $name =~ $skip ]] && continue
    cp -L "$path" "$out/lib/$name"
  done
done
du -sh "$out"
