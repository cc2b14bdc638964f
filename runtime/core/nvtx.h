// runtime/core/nvtx.h — scoped NVTX ranges for Nsight Systems (`nsys profile -t cuda,nvtx`).
// CUDA builds use the header-only NVTX3 of the toolkit; CPU-only builds compile them to nothing.
#pragma once

#include <string>

#if defined(TIGERFG_WITH_CUDA) || defined(__CUDACC__)
#include <nvtx3/nvToolsExt.h>
#define TIGERFG_HAS_NVTX 1
#endif

namespace tigerfg::profile {

// Without an attached tool each call is one branch on NVTX's (unset) function pointer.
inline void NvtxPush(const char* name) {
#ifdef TIGERFG_HAS_NVTX
  nvtxRangePushA(name);
#else
  (void)name;
#endif
}

inline void NvtxPop() {
#ifdef TIGERFG_HAS_NVTX
  nvtxRangePop();
#endif
}

// Pushes a range on this host thread for the object's lifetime.
class NvtxRange {
 public:
  explicit NvtxRange(const char* name) { NvtxPush(name); }
  explicit NvtxRange(const std::string& name) { NvtxPush(name.c_str()); }
  ~NvtxRange() { NvtxPop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace tigerfg::profile

#define TIGERFG_NVTX_CONCAT_INNER(a, b) a##b
#define TIGERFG_NVTX_CONCAT(a, b) TIGERFG_NVTX_CONCAT_INNER(a, b)
// TIGERFG_NVTX_RANGE("encoder.block3"): an NVTX range until the end of the enclosing scope.
#define TIGERFG_NVTX_RANGE(name) \
  ::tigerfg::profile::NvtxRange TIGERFG_NVTX_CONCAT(tigerfg_nvtx_range_, __LINE__)(name)
// The same for a name built at run time (a std::string, copied by NVTX when pushed).
#define TIGERFG_NVTX_RANGE_STR(name) TIGERFG_NVTX_RANGE(std::string(name))
