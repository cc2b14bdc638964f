// tests/fuzz/checkpoint_input.h — the checkpoint fuzz input: one checkpoint directory packed into
// one byte string, and the parameter table its seeds were saved with.
//   [u32 LE n][manifest.pb: n bytes][u32 LE p][params.bin: p bytes][optimizer.rank0.bin: the rest]
#pragma once

#include <cstdint>
#include <string>

#include "runtime/core/param_table.h"

namespace tigerfg::fuzz {

inline ParamTable CheckpointFuzzTable() {
  ParamTable t;
  t.Add("fc.weight", Shape{3, 4}, /*trainable=*/true, /*decay=*/true);
  t.Add("fc.bias", Shape{4}, /*trainable=*/true, /*decay=*/false);
  t.Add("teacher.fc.weight", Shape{2, 2}, /*trainable=*/false, /*decay=*/true);
  return t;
}

struct CheckpointFiles {
  std::string manifest, params, optimizer;
};

inline std::string PackCheckpoint(const CheckpointFiles& f) {
  auto u32 = [](size_t n) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s;
  };
  return u32(f.manifest.size()) + f.manifest + u32(f.params.size()) + f.params + f.optimizer;
}

// False when the input is too short for its own length fields.
inline bool UnpackCheckpoint(const std::string& in, CheckpointFiles* f) {
  size_t at = 0;
  auto take = [&](std::string* out) {
    if (in.size() - at < 4) return false;
    uint32_t n = 0;
    for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(in[at + i]);
    at += 4;
    if (in.size() - at < n) return false;
    *out = in.substr(at, n);
    at += n;
    return true;
  };
  if (!take(&f->manifest) || !take(&f->params)) return false;
  f->optimizer = in.substr(at);
  return true;
}

}  // namespace tigerfg::fuzz
