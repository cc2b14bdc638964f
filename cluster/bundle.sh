#!/usr/bin/env bash
# cluster/bundle.sh — a relocatable bundle of a build for machines that have the CUDA, cuDNN,
# NCCL and MPI libraries but not the rest (glog, gflags, OpenBLAS, protobuf, ONNX, ...):
#   cluster/bundle.sh BUILD_DIR OUT_DIR [RELATIVE_BINARY ...]
# copies the binaries (default: launcher/tigerfg) under OUT_DIR with their relative paths and the
# shared libraries they need into OUT_DIR/lib. It bundles ONLY an allow-list: the libraries tigerfg
# itself links that clusters often lack (glog, gflags, libunwind, OpenBLAS and its gfortran/
# quadmath, protobuf and abseil, ONNX, libjpeg-turbo, utf8proc, zlib, OpenMP). Everything else stays the
# machine's: the C/C++ runtime, CUDA/cuDNN/NCCL (must match the driver), and above all MPI and
# what it loads transitively (PMIx, PRRTE, hwloc, libevent, libfabric, UCX, libibverbs, rdma-core,
# munge, psm2, libnl): a bundled copy would shadow the cluster's and break its launcher or network.
# Each library is listed with the reason it was bundled or left out (bundle.txt in OUT_DIR). A
# library on neither list (a new dependency) is an error naming it, so a bundle never silently
# depends on something the GPU machine may lack.
# Run with LD_LIBRARY_PATH=OUT_DIR/lib (cluster/gpu_check.sh --libs OUT_DIR/lib does that).
set -euo pipefail
build=${1:?usage: bundle.sh BUILD_DIR OUT_DIR [RELATIVE_BINARY ...]}
out=${2:?usage: bundle.sh BUILD_DIR OUT_DIR [RELATIVE_BINARY ...]}
shift 2
binaries=("$@")
[[ ${#binaries[@]} -gt 0 ]] || binaries=(launcher/tigerfg)
mkdir -p "$out/lib"
bundle='^(libglog|libgflags|libunwind|libopenblas|libblas|liblapack|libgfortran|libquadmath|libprotobuf|libabsl_|libonnx|libjpeg|libturbojpeg|libutf8proc|libz\.so|libgomp|liblzma)'
# The machine's own: the C/C++ runtime, the CUDA stack (must match the driver), MPI and what it
# loads.
machine='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libresolv\.so|libutil\.so|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcudnn|libnccl|libnvrtc|libnvJitLink|libmpi|libopen-pal|libopen-rte|libpmix|libprrte|libhwloc|libevent|libudev|libfabric|libuc[pst]|libibverbs|librdmacm|libnl-|libmunge|libpsm|libnuma|libltdl|libcap|libsystemd)'
unknown="$out/unknown.txt"
: >"$unknown"
list="$out/bundle.txt"
: >"$list"
for rel in "${binaries[@]}"; do
  [[ -x $build/$rel ]] || { echo "bundle: $build/$rel not found" >&2; exit 1; }
  mkdir -p "$out/$(dirname "$rel")"
  cp "$build/$rel" "$out/$rel"
  ldd "$build/$rel" | awk '$3 ~ /^\// {print $1, $3}' | sort -u | while read -r name path; do
    if [[ $name =~ $bundle ]]; then
      cp -L "$path" "$out/lib/$name"
      echo "bundled  $name  (a tigerfg dependency clusters often lack)" >>"$list"
    elif [[ $name =~ $machine ]]; then
      echo "left out $name  (the machine's: system, CUDA or MPI stack, $path)" >>"$list"
    else
      echo "$name ($path, needed by $rel)" >>"$unknown"
    fi
  done
done
if [[ -s $unknown ]]; then
  echo "bundle: these libraries are neither on the bundle allow-list nor the machine's known" \
    "system/CUDA/MPI libraries; add each to one of the two lists in cluster/bundle.sh:" >&2
  sort -u "$unknown" >&2
  exit 1
fi
rm -f "$unknown"
sort -u -o "$list" "$list"
cat "$list"
du -sh "$out"
