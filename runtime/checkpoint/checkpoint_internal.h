// runtime/checkpoint/checkpoint_internal.h — names and helpers shared by checkpoint.cc (writing)
// and checkpoint_read.cc (reading); not for use outside them and their tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tigerfg::train::internal {

inline constexpr int kFormatVersion = 1;
inline constexpr char kStepPrefix[] = "step-";  // complete checkpoints: step-NNNNNNNN
inline constexpr char kTmpPrefix[] = ".tmp-";   // being written, or left by a killed writer
// Tensor names in the manifest.
inline constexpr char kParamsPrefix[] = "params/";
inline constexpr char kAdamMPrefix[] = "adamw.m/";
inline constexpr char kAdamVPrefix[] = "adamw.v/";

// zlib's crc32 of the bytes.
uint32_t Crc32(const void* data, size_t n);

// "step-00000012" -> 12; -1 for any other name.
int64_t StepOfDirName(const std::string& name);

}  // namespace tigerfg::train::internal
