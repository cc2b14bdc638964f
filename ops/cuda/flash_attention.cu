// ops/cuda/flash_attention.cu — fused bf16 self-attention on tensor cores (FlashAttention-2's
// algorithm, mma.sync m16n8k16 with fp32 accumulation): the forward keeps each query row's
// running max and sum in registers and saves its log-sum-exp; the backward recomputes the
// probabilities per (key tile, query tile), keeps dK/dV in registers and adds dQ atomically, or,
// deterministic (ops::DeterministicAttention), stores each key tile's dQ share into its own
// buffer and sums the shares in key-tile order afterwards.
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "ops/backend.h"
#include "ops/cuda/common.cuh"
#include "ops/cuda/flash_attention_dq.h"
#include "ops/flash_attention.h"

namespace tigerfg::ops::cuda {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kTile = 64;  // queries per forward block, keys per backward block, tile sizes
constexpr int kWarps = 4;  // each warp owns 16 rows of the block's tile
constexpr int kBlockThreads = kWarps * 32;
constexpr float kLog2e = 1.4426950408889634f;

// C[16x8] += A[16x16] · B[16x8], bf16 inputs, fp32 accumulators (PTX fragment layouts).
__device__ inline void Mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two bf16 with `lo` in the low half: the element order of every fragment register.
__device__ inline uint32_t Pack(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}
__device__ inline uint32_t Pack(bf16 lo, bf16 hi) {
  __nv_bfloat162 v;
  v.x = lo;
  v.y = hi;
  return *reinterpret_cast<const uint32_t*>(&v);
}
// Elements c and c + 1 of a shared-memory row (c even, rows 4-byte aligned).
__device__ inline uint32_t Load2(const bf16* row, int c) {
  return *reinterpret_cast<const uint32_t*>(row + c);
}

// A [kTile, kDp + 8] bf16 tile in shared memory; the 8-element pad keeps fragment reads free of
// bank conflicts.
template <int kDp>
using Tile = bf16[kTile][kDp + 8];

// kTile rows of `row_elems`-strided bf16 rows starting at `first` (row r at first + r · stride)
// into `tile` with 16-byte copies: the head fills the padded width exactly (d == kDp), and rows
// and `first` are 16-byte aligned (checked on the host). Rows past `valid_rows` are zeros.
template <int kDp>
__device__ void LoadTileVec(Tile<kDp>& tile, const bf16* first, int64_t row_elems, int valid_rows) {
  constexpr int kChunks = kDp / 8;  // 8 bf16 = 16 bytes
  for (int idx = threadIdx.x; idx < kTile * kChunks; idx += kBlockThreads) {
    const int r = idx / kChunks, c = (idx % kChunks) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r < valid_rows) v = *reinterpret_cast<const uint4*>(first + r * row_elems + c);
    *reinterpret_cast<uint4*>(&tile[r][c]) = v;
  }
}

// Rows [row0, row0 + kTile) of one of q/k/v (which = 0/1/2) of head h into `tile`, zeros past the
// sequence or the head dimension.
template <int kDp>
__device__ void LoadTile(Tile<kDp>& tile, const bf16* qkv, int64_t b, int which, int h, int row0,
                         int S, int D, int d, bool vec) {
  if (vec) {
    LoadTileVec<kDp>(tile, qkv + ((b * S + row0) * 3 + which) * static_cast<int64_t>(D) + h * d,
                     3 * static_cast<int64_t>(D), S - row0);
    return;
  }
  for (int idx = threadIdx.x; idx < kTile * kDp; idx += kBlockThreads) {
    const int r = idx / kDp, c = idx % kDp;
    const int s = row0 + r;
    tile[r][c] = (s < S && c < d)
                     ? qkv[((b * S + s) * 3 + which) * static_cast<int64_t>(D) + h * d + c]
                     : __float2bfloat16(0.0f);
  }
}

// Rows of a [B, S, D] tensor (dout, out) for head h, like LoadTile.
template <int kDp>
__device__ void LoadTokens(Tile<kDp>& tile, const bf16* x, int64_t b, int h, int row0, int S, int D,
                           int d, bool vec) {
  if (vec) {
    LoadTileVec<kDp>(tile, x + (b * S + row0) * static_cast<int64_t>(D) + h * d, D, S - row0);
    return;
  }
  for (int idx = threadIdx.x; idx < kTile * kDp; idx += kBlockThreads) {
    const int r = idx / kDp, c = idx % kDp;
    const int s = row0 + r;
    tile[r][c] = (s < S && c < d) ? x[(b * S + s) * static_cast<int64_t>(D) + h * d + c]
                                  : __float2bfloat16(0.0f);
  }
}

// key_ok[j] = key row0 + j exists and may be attended.
__device__ void LoadKeyMask(bool* key_ok, const uint8_t* key_valid, int64_t b, int row0, int S) {
  for (int j = threadIdx.x; j < kTile; j += kBlockThreads) {
    const int s = row0 + j;
    key_ok[j] = s < S && (key_valid == nullptr || key_valid[b * S + s] != 0);
  }
}

// The A fragments of rows [r0, r0 + 16) of a tile over the whole (padded) head dimension.
template <int kDp>
__device__ void LoadRowFragments(uint32_t frag[kDp / 16][4], const Tile<kDp>& tile, int r0) {
  const int g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
#pragma unroll
  for (int kk = 0; kk < kDp / 16; ++kk) {
    const int c = kk * 16 + 2 * t;
    frag[kk][0] = Load2(tile[r0 + g], c);
    frag[kk][1] = Load2(tile[r0 + g + 8], c);
    frag[kk][2] = Load2(tile[r0 + g], c + 8);
    frag[kk][3] = Load2(tile[r0 + g + 8], c + 8);
  }
}

// acc[n] (n = 0..7: columns 8n..8n+7 of a 64-wide tile) = rows(frag) · tile^T: the 16 x 64 block
// of scores between the fragment's rows and all 64 rows of `tile`.
template <int kDp>
__device__ void RowsTimesTileT(float acc[8][4], const uint32_t frag[kDp / 16][4],
                               const Tile<kDp>& tile) {
  const int g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
#pragma unroll
  for (int n = 0; n < 8; ++n) {
    acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < kDp / 16; ++kk) {
      const int c = kk * 16 + 2 * t;
      Mma(acc[n], frag[kk], Load2(tile[n * 8 + g], c), Load2(tile[n * 8 + g], c + 8));
    }
  }
}

// Four 8x8 bf16 matrices from shared memory, transposed: lane l gives the address of row l % 8 of
// matrix l / 8, and r[i] receives matrix i's elements (rows 2 (l % 4) and 2 (l % 4) + 1, column
// l / 4) — the B fragment layout of a [k][n] row-major tile (or the A layout of a [k][m] one).
__device__ inline void LoadMatrixX4Trans(uint32_t r[4], const bf16* row) {
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// The B fragments of output column blocks nd and nd + 1 for keys [k0, k0 + 16) of a [key][col]
// tile: b[0], b[1] for nd, b[2], b[3] for nd + 1. kLdsm: one ldmatrix; else element loads.
template <bool kLdsm, int kCols>
__device__ void LoadBPair(uint32_t b[4], const bf16 (*tile)[kCols], int k0, int nd) {
  const int lane = threadIdx.x & 31;
  if constexpr (kLdsm) {
    const int m = lane >> 3;  // matrix m: keys + 8 (m & 1), columns + 8 (m >> 1)
    LoadMatrixX4Trans(b, &tile[k0 + (m & 1) * 8 + (lane & 7)][nd * 8 + (m >> 1) * 8]);
  } else {
    const int g = lane >> 2, k = k0 + 2 * (lane & 3);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int col = (nd + half) * 8 + g;
      b[2 * half] = Pack(tile[k][col], tile[k + 1][col]);
      b[2 * half + 1] = Pack(tile[k + 8][col], tile[k + 9][col]);
    }
  }
}

// out[kDp / 8][4] += P · tile, P the 16 x 64 accumulator block p[8][4] (rounded to bf16), tile
// 64 rows x kDp: the accumulator layout of P is the A fragment layout of its 16-column halves.
template <int kDp, bool kLdsm>
__device__ void AccTimesTile(float out[kDp / 8][4], const float p[8][4], const Tile<kDp>& tile) {
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    const uint32_t a[4] = {Pack(p[2 * kk][0], p[2 * kk][1]), Pack(p[2 * kk][2], p[2 * kk][3]),
                           Pack(p[2 * kk + 1][0], p[2 * kk + 1][1]),
                           Pack(p[2 * kk + 1][2], p[2 * kk + 1][3])};
#pragma unroll
    for (int nd = 0; nd < kDp / 8; nd += 2) {
      uint32_t b[4];
      LoadBPair<kLdsm>(b, tile, kk * 16, nd);
      Mma(out[nd], a, b[0], b[1]);
      Mma(out[nd + 1], a, b[2], b[3]);
    }
  }
}

// Sum over the four lanes of a fragment row group.
__device__ inline float RowGroupSum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}
__device__ inline float RowGroupMax(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

// Grid (B · H, query tiles). Each warp: 16 query rows against every key tile.
template <int kDp, bool kLdsm>
__global__ void __launch_bounds__(kBlockThreads)
    FlashForwardKernel(const bf16* qkv, bf16* out, float* lse, const uint8_t* key_valid, int S,
                       int D, int H, int d, float scale_log2, bool vec) {
  __shared__ __align__(16) Tile<kDp> sq, sk, sv;
  __shared__ bool key_ok[kTile];
  const int64_t b = blockIdx.x / H;
  const int h = blockIdx.x % H;
  const int q0 = blockIdx.y * kTile;
  const int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;

  LoadTile<kDp>(sq, qkv, b, 0, h, q0, S, D, d, vec);
  __syncthreads();
  uint32_t qf[kDp / 16][4];
  LoadRowFragments<kDp>(qf, sq, warp * 16);

  float o[kDp / 8][4] = {};
  float m[2] = {-INFINITY, -INFINITY};  // running max of rows g and g + 8, log2 units
  float l[2] = {0.0f, 0.0f};            // running sum of exp2(score - m)
  for (int k0 = 0; k0 < S; k0 += kTile) {
    __syncthreads();  // the previous tile is no longer read
    LoadTile<kDp>(sk, qkv, b, 1, h, k0, S, D, d, vec);
    LoadTile<kDp>(sv, qkv, b, 2, h, k0, S, D, d, vec);
    LoadKeyMask(key_ok, key_valid, b, k0, S);
    __syncthreads();
    float s[8][4];
    RowsTimesTileT<kDp>(s, qf, sk);
#pragma unroll
    for (int rr = 0; rr < 2; ++rr) {
      float tile_max = -INFINITY;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
#pragma unroll
        for (int e = 2 * rr; e < 2 * rr + 2; ++e) {
          const int key = n * 8 + 2 * t + (e & 1);
          s[n][e] = key_ok[key] ? s[n][e] * scale_log2 : -INFINITY;
          tile_max = fmaxf(tile_max, s[n][e]);
        }
      }
      const float m_new = fmaxf(m[rr], RowGroupMax(tile_max));
      // While every key so far is masked, exponentiate against 0: all terms are exp2(-inf) = 0.
      const float base = m_new == -INFINITY ? 0.0f : m_new;
      const float rescale = exp2f(m[rr] - base);
      float sum = 0.0f;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
#pragma unroll
        for (int e = 2 * rr; e < 2 * rr + 2; ++e) {
          s[n][e] = exp2f(s[n][e] - base);
          sum += s[n][e];
        }
      }
      l[rr] = l[rr] * rescale + RowGroupSum(sum);
      m[rr] = m_new;
#pragma unroll
      for (int nd = 0; nd < kDp / 8; ++nd) {
        o[nd][2 * rr] *= rescale;
        o[nd][2 * rr + 1] *= rescale;
      }
    }
    AccTimesTile<kDp, kLdsm>(o, s, sv);
  }

#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int row = q0 + warp * 16 + g + 8 * rr;
    if (row >= S) continue;
    const float inv = l[rr] > 0.0f ? 1.0f / l[rr] : 0.0f;
    bf16* orow = out + (b * S + row) * static_cast<int64_t>(D) + h * d;
#pragma unroll
    for (int nd = 0; nd < kDp / 8; ++nd) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int col = nd * 8 + 2 * t + e;
        if (col < d) orow[col] = __float2bfloat16_rn(o[nd][2 * rr + e] * inv);
      }
    }
    if (t == 0) {
      lse[(b * H + h) * static_cast<int64_t>(S) + row] =
          l[rr] > 0.0f ? m[rr] / kLog2e + logf(l[rr]) : -INFINITY;
    }
  }
}

// The backward's dQ for the warp's 16 queries [qw, qw + 16) of query tile q0 over the block's 64
// keys, from dS^T [key][query] in shared memory and the key tile sk: added into dq_acc [B, S, D]
// (kPartialDq false), or stored into key tile blockIdx.y's share dq_acc[blockIdx.y] [B, S, D]
// (true: every element of the share is written by exactly one thread).
template <int kDp, bool kLdsm, bool kPartialDq>
__device__ __forceinline__ void WarpDq(float* dq_acc, const bf16 (&sds)[kTile][kTile + 8],
                                       const Tile<kDp>& sk, int64_t batch, int h, int q0, int S,
                                       int D, int H, int d, float scale) {
  const int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
  const int qw = warp * 16;
  float dq[kDp / 8][4] = {};
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    // A = dS [16 queries][16 keys], read transposed from dS^T [key][query].
    uint32_t a[4];
    if constexpr (kLdsm) {
      // Matrices: (queries +0, keys +0), (queries +8, keys +0), (+0, +8), (+8, +8).
      const int lane = threadIdx.x & 31, m = lane >> 3;
      LoadMatrixX4Trans(a, &sds[kk * 16 + (m >> 1) * 8 + (lane & 7)][qw + (m & 1) * 8]);
    } else {
      const int key = kk * 16 + 2 * t;
      a[0] = Pack(sds[key][qw + g], sds[key + 1][qw + g]);
      a[1] = Pack(sds[key][qw + g + 8], sds[key + 1][qw + g + 8]);
      a[2] = Pack(sds[key + 8][qw + g], sds[key + 9][qw + g]);
      a[3] = Pack(sds[key + 8][qw + g + 8], sds[key + 9][qw + g + 8]);
    }
#pragma unroll
    for (int nd = 0; nd < kDp / 8; nd += 2) {
      uint32_t b[4];
      LoadBPair<kLdsm>(b, sk, kk * 16, nd);
      Mma(dq[nd], a, b[0], b[1]);
      Mma(dq[nd + 1], a, b[2], b[3]);
    }
  }
#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int q = q0 + qw + g + 8 * rr;
    if (q >= S) continue;
    float* dst = dq_acc + (batch * S + q) * static_cast<int64_t>(D) + h * d;
    if constexpr (kPartialDq) dst += blockIdx.y * (static_cast<int64_t>(gridDim.x / H) * S * D);
#pragma unroll
    for (int nd = 0; nd < kDp / 8; ++nd) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int col = nd * 8 + 2 * t + e;
        if (col >= d) continue;
        if constexpr (kPartialDq) {
          dst[col] = dq[nd][2 * rr + e] * scale;
        } else {
          atomicAdd(dst + col, dq[nd][2 * rr + e] * scale);
        }
      }
    }
  }
}

// The backward's dK (scaled) and dV of the warp's 16 keys from key kw0 on, into dqkv's K and V
// parts (bf16).
template <int kDp>
__device__ __forceinline__ void StoreKeyGrads(bf16* dqkv, const float (&dk)[kDp / 8][4],
                                              const float (&dv)[kDp / 8][4], int64_t batch, int h,
                                              int kw0, int S, int D, int d, float scale) {
  const int g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
#pragma unroll
  for (int rr = 0; rr < 2; ++rr) {
    const int key = kw0 + g + 8 * rr;
    if (key >= S) continue;
    bf16* dk_row = dqkv + ((batch * S + key) * 3 + 1) * static_cast<int64_t>(D) + h * d;
    bf16* dv_row = dk_row + D;
#pragma unroll
    for (int nd = 0; nd < kDp / 8; ++nd) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int col = nd * 8 + 2 * t + e;
        if (col >= d) continue;
        dk_row[col] = __float2bfloat16_rn(dk[nd][2 * rr + e] * scale);
        dv_row[col] = __float2bfloat16_rn(dv[nd][2 * rr + e]);
      }
    }
  }
}

// Grid (B · H, key tiles). Each warp owns 16 keys of the block's tile and loops over all query
// tiles: S^T = K Q^T, P^T = exp(S^T - lse), dV += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - delta),
// dK += dS^T Q; dS^T goes through shared memory so that each warp then adds dQ = dS K for 16
// queries into the fp32 accumulator.
template <int kDp, bool kLdsm, bool kPartialDq>
__global__ void __launch_bounds__(kBlockThreads)
    FlashBackwardKernel(const bf16* qkv, const bf16* dout, const float* lse, const float* delta,
                        const uint8_t* key_valid, float* dq_acc, bf16* dqkv, int S, int D, int H,
                        int d, float scale, bool vec) {
  __shared__ __align__(16) Tile<kDp> sk, sv, sq, sdo;
  __shared__ __align__(16) bf16 sds[kTile][kTile + 8];  // dS^T [key][query]
  __shared__ float s_lse[kTile], s_delta[kTile];
  __shared__ bool key_ok[kTile];
  const int64_t b = blockIdx.x / H;
  const int h = blockIdx.x % H;
  const int k0 = blockIdx.y * kTile;
  const int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
  const int kw = warp * 16;  // the warp's first key within the tile
  const float scale_log2 = scale * kLog2e;
  const float* lse_bh = lse + (b * H + h) * static_cast<int64_t>(S);
  const float* delta_bh = delta + (b * H + h) * static_cast<int64_t>(S);

  LoadTile<kDp>(sk, qkv, b, 1, h, k0, S, D, d, vec);
  LoadTile<kDp>(sv, qkv, b, 2, h, k0, S, D, d, vec);
  LoadKeyMask(key_ok, key_valid, b, k0, S);
  __syncthreads();
  uint32_t kf[kDp / 16][4], vf[kDp / 16][4];
  LoadRowFragments<kDp>(kf, sk, kw);
  LoadRowFragments<kDp>(vf, sv, kw);
  const bool ok_lo = key_ok[kw + g], ok_hi = key_ok[kw + g + 8];

  float dk[kDp / 8][4] = {}, dv[kDp / 8][4] = {};
  for (int q0 = 0; q0 < S; q0 += kTile) {
    __syncthreads();  // the previous query tile and dS^T are no longer read
    LoadTile<kDp>(sq, qkv, b, 0, h, q0, S, D, d, vec);
    LoadTokens<kDp>(sdo, dout, b, h, q0, S, D, d, vec);
    for (int i = threadIdx.x; i < kTile; i += kBlockThreads) {
      const int q = q0 + i;
      const float row_lse = q < S ? lse_bh[q] : -INFINITY;
      // A row without a valid key (or past the sequence) has no probabilities: +inf makes every
      // exp2(score - lse) zero.
      s_lse[i] = row_lse == -INFINITY ? INFINITY : row_lse * kLog2e;
      s_delta[i] = q < S ? delta_bh[q] : 0.0f;
    }
    __syncthreads();

    float p[8][4];
    RowsTimesTileT<kDp>(p, kf, sq);  // S^T: rows = the warp's keys, columns = queries
#pragma unroll
    for (int n = 0; n < 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int q = n * 8 + 2 * t + (e & 1);
        const bool ok = e < 2 ? ok_lo : ok_hi;
        p[n][e] = ok ? exp2f(p[n][e] * scale_log2 - s_lse[q]) : 0.0f;
      }
    }
    AccTimesTile<kDp, kLdsm>(dv, p, sdo);
    float ds[8][4];
    RowsTimesTileT<kDp>(ds, vf, sdo);  // dP^T
#pragma unroll
    for (int n = 0; n < 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int q = n * 8 + 2 * t + (e & 1);
        ds[n][e] = p[n][e] * (ds[n][e] - s_delta[q]);
      }
      *reinterpret_cast<uint32_t*>(&sds[kw + g][n * 8 + 2 * t]) = Pack(ds[n][0], ds[n][1]);
      *reinterpret_cast<uint32_t*>(&sds[kw + g + 8][n * 8 + 2 * t]) = Pack(ds[n][2], ds[n][3]);
    }
    AccTimesTile<kDp, kLdsm>(dk, ds, sq);
    __syncthreads();  // dS^T of every warp is in shared memory

    WarpDq<kDp, kLdsm, kPartialDq>(dq_acc, sds, sk, b, h, q0, S, D, H, d, scale);
  }

  StoreKeyGrads<kDp>(dqkv, dk, dv, b, h, k0 + kw, S, D, d, scale);
}

struct Dims {
  int B, S, D, H, d;
};

Dims CheckBf16(const Tensor& qkv, int heads, const char* op) {
  CHECK(qkv.dtype() == DType::kBF16)
      << op << ": the CUDA kernel takes BF16 qkv, got " << DTypeName(qkv.dtype())
      << " (FP32 mode uses SelfAttentionForward)";
  const int64_t D = qkv.dim(2) / 3, d = D / heads;
  CHECK(d >= 1 && d <= kFlashMaxHeadDim)
      << op << ": head dimension " << d << " is over " << kFlashMaxHeadDim;
  // Grid x is batch · heads, grid y the sequence's 64-row tiles (at most 65535); int indices
  // cover the rest.
  CHECK(qkv.dim(0) * heads < (int64_t{1} << 31) && qkv.dim(1) < 65535 * kTile && D < (1 << 24))
      << op << ": qkv " << qkv.shape().ToString() << " with " << heads << " heads is too large";
  return {static_cast<int>(qkv.dim(0)), static_cast<int>(qkv.dim(1)), static_cast<int>(D), heads,
          static_cast<int>(d)};
}

const uint8_t* MaskPointer(const Tensor& key_valid) {
  return key_valid.defined() ? static_cast<const uint8_t*>(key_valid.data()) : nullptr;
}

// Whether the kernels may copy tiles in 16-byte pieces (see LoadTileVec).
bool Vectorizable(const Dims& n, int kDp, std::initializer_list<const void*> pointers) {
  if (n.d != kDp || n.D % 8 != 0) return false;
  for (const void* p : pointers) {
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  }
  return true;
}

// Fragments through ldmatrix unless the context says element loads (UseFlashLdmatrix: the simpler
// path, kept to tell a fragment-layout fault from others on a new GPU).
bool UseLdmatrix(const Context& ctx) { return ctx.cuda()->flash_ldmatrix; }

template <int kDp>
void LaunchForward(const Context& ctx, const Dims& n, const bf16* qkv, bf16* out, float* lse,
                   const uint8_t* valid) {
  const dim3 grid(n.B * n.H, (n.S + kTile - 1) / kTile);
  const float scale_log2 = kLog2e / std::sqrt(static_cast<float>(n.d));
  const bool vec = Vectorizable(n, kDp, {qkv});
  if (UseLdmatrix(ctx)) {
    FlashForwardKernel<kDp, true><<<grid, kBlockThreads, 0, Stream(ctx)>>>(
        qkv, out, lse, valid, n.S, n.D, n.H, n.d, scale_log2, vec);
  } else {
    FlashForwardKernel<kDp, false><<<grid, kBlockThreads, 0, Stream(ctx)>>>(
        qkv, out, lse, valid, n.S, n.D, n.H, n.d, scale_log2, vec);
  }
  CUDA_CHECK_LAUNCH();
}

template <int kDp, bool kPartialDq>
void LaunchBackward(const Context& ctx, const Dims& n, const bf16* qkv, const bf16* dout,
                    const float* lse, const float* delta, const uint8_t* valid, float* dq_acc,
                    bf16* dqkv) {
  const dim3 grid(n.B * n.H, (n.S + kTile - 1) / kTile);
  const float scale = 1.0f / std::sqrt(static_cast<float>(n.d));
  const bool vec = Vectorizable(n, kDp, {qkv, dout});
  if (UseLdmatrix(ctx)) {
    FlashBackwardKernel<kDp, true, kPartialDq><<<grid, kBlockThreads, 0, Stream(ctx)>>>(
        qkv, dout, lse, delta, valid, dq_acc, dqkv, n.S, n.D, n.H, n.d, scale, vec);
  } else {
    FlashBackwardKernel<kDp, false, kPartialDq><<<grid, kBlockThreads, 0, Stream(ctx)>>>(
        qkv, dout, lse, delta, valid, dq_acc, dqkv, n.S, n.D, n.H, n.d, scale, vec);
  }
  CUDA_CHECK_LAUNCH();
}

// The backward kernel for head width n.d (padded to 16, 32 or 64).
template <bool kPartialDq>
void LaunchBackwardFor(const Context& ctx, const Dims& n, const bf16* qkv, const bf16* dout,
                       const float* lse, const float* delta, const uint8_t* valid, float* dq_acc,
                       bf16* dqkv) {
  if (n.d <= 16) {
    LaunchBackward<16, kPartialDq>(ctx, n, qkv, dout, lse, delta, valid, dq_acc, dqkv);
  } else if (n.d <= 32) {
    LaunchBackward<32, kPartialDq>(ctx, n, qkv, dout, lse, delta, valid, dq_acc, dqkv);
  } else {
    LaunchBackward<64, kPartialDq>(ctx, n, qkv, dout, lse, delta, valid, dq_acc, dqkv);
  }
}

}  // namespace

void FlashAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads) {
  const Dims n = CheckBf16(qkv, heads, "FlashAttentionForward");
  if (n.B == 0 || n.S == 0 || n.D == 0) return;
  const auto* pqkv = static_cast<const bf16*>(qkv.data());
  auto* pout = static_cast<bf16*>(out.data());
  const uint8_t* valid = MaskPointer(key_valid);
  if (n.d <= 16) {
    LaunchForward<16>(ctx, n, pqkv, pout, lse.f32(), valid);
  } else if (n.d <= 32) {
    LaunchForward<32>(ctx, n, pqkv, pout, lse.f32(), valid);
  } else {
    LaunchForward<64>(ctx, n, pqkv, pout, lse.f32(), valid);
  }
}

void FlashAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads) {
  const char* op = "FlashAttentionBackward";
  const Dims n = CheckBf16(qkv, heads, op);
  const int64_t need = FlashAttentionWorkspaceNumel(n.B, n.S, n.D, heads);
  CHECK(workspace.defined() && workspace.dtype() == DType::kF32 && workspace.numel() >= need)
      << op << ": workspace must be F32 with at least " << need << " elements";
  if (n.B == 0 || n.S == 0 || n.D == 0) return;
  float* dq_acc = workspace.f32();
  float* delta = dq_acc + static_cast<int64_t>(n.B) * n.S * n.D;
  const auto* pqkv = static_cast<const bf16*>(qkv.data());
  const auto* pdout = static_cast<const bf16*>(dout.data());
  auto* pdqkv = static_cast<bf16*>(dqkv.data());
  const uint8_t* valid = MaskPointer(key_valid);
  const int64_t rows = static_cast<int64_t>(n.B) * n.H * n.S;
  LaunchFlashDelta(ctx, pdout, static_cast<const bf16*>(out.data()), delta, dq_acc, rows, n.S, n.D,
                   n.H, n.d);
  const int64_t tokens = static_cast<int64_t>(n.B) * n.S;
  if (DeterministicAttention()) {
    // One fp32 [B, S, D] share per key tile (T · B · S · D · 4 bytes of scratch), summed in order.
    const int shares = (n.S + kTile - 1) / kTile;
    Scratch share(ctx, static_cast<size_t>(shares) * tokens * n.D * sizeof(float));
    LaunchBackwardFor<true>(ctx, n, pqkv, pdout, lse.f32(), delta, valid, share.f32(), pdqkv);
    LaunchFlashSumDqShares(ctx, share.f32(), shares, pdqkv, tokens, n.D);
    return;
  }
  LaunchBackwardFor<false>(ctx, n, pqkv, pdout, lse.f32(), delta, valid, dq_acc, pdqkv);
  LaunchFlashWriteDq(ctx, dq_acc, pdqkv, tokens, n.D);
}

}  // namespace tigerfg::ops::cuda
