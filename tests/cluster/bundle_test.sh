#!/usr/bin/env bash
# tests/cluster/bundle_test.sh — cluster/bundle.sh carries every library the GPU machine may lack:
# the binary's non-system dependencies are all bundled (utf8proc, glog, gflags, libunwind, ...),
# a binary with a library on neither of bundle.sh's lists is refused with the library named, and
# tigerfg needs no MPI C++ bindings.
#   bundle_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: bundle_test.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: bundle_test.sh SOURCE_DIR BUILD_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$src/cluster/bundle.sh" "$build" "$tmp/ok" launcher/tigerfg >"$tmp/ok.log" 2>&1 ||
  fail "bundle.sh refused launcher/tigerfg: $(cat "$tmp/ok.log")"
for lib in libutf8proc libglog libgflags libunwind libprotobuf libjpeg; do
  compgen -G "$tmp/ok/lib/$lib.so*" >/dev/null || fail "$lib is not in the bundle"
done
[[ -x $tmp/ok/launcher/tigerfg ]] || fail "the binary is not in the bundle"
# The bundle must not shadow the machine's MPI or CUDA.
if compgen -G "$tmp/ok/lib/libmpi*" >/dev/null || compgen -G "$tmp/ok/lib/libcud*" >/dev/null; then
  fail "the bundle carries MPI or CUDA libraries"
fi

# MPI through its C API only: the C++ bindings' library (libmpi_cxx) is gone in Open MPI 5.
if ldd "$build/launcher/tigerfg" | grep -q libmpi_cxx; then
  fail "tigerfg links libmpi_cxx (MPI's C++ bindings), which a GPU node's MPI may lack"
fi

# git links libpcre2, on neither list: refused, naming it.
if bash "$src/cluster/bundle.sh" / "$tmp/unknown" usr/bin/git >"$tmp/unknown.log" 2>&1; then
  fail "bundle.sh accepted a binary with an unlisted library"
fi
grep -q "libpcre2" "$tmp/unknown.log" || fail "the refusal does not name libpcre2: $(cat "$tmp/unknown.log")"
echo "bundle_test: passed"
