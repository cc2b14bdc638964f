#!/usr/bin/env bash
# Installs, idempotently, every Debian package that tigerfg's build, tests and benchmark need.
# The CUDA toolkit (nvcc, cuBLAS, cuDNN, NCCL) is expected at /usr/local/cuda and is not installed here.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git bc procps
  libopenmpi-dev openmpi-bin
  libprotobuf-dev protobuf-compiler
  libgoogle-glog-dev libgflags-dev
  libgtest-dev libgmock-dev
  libopenblas-openmp-dev
  libjpeg62-turbo-dev zlib1g-dev
  nlohmann-json3-dev libutf8proc-dev
  libonnx-dev nodejs
  python3 python3-torch python3-numpy python3-matplotlib
  dataset-fashion-mnist
  clang-14 libclang-rt-14-dev libomp-14-dev  # the fuzz build (cluster/fuzz.sh): libFuzzer, sanitizers
)
# npm fetches onnxruntime-node for the ONNX parity test (into the build tree, on first use).
# NodeSource's nodejs bundles npm and conflicts with Debian's npm package: add it only when absent.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  echo "install_deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install_deps: all packages present"
fi
