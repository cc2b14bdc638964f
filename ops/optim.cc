// ops/optim.cc — the public optimizer ops: sizes checked once, then the device's backend.
#include "ops/optim.h"

#include <cstring>

#include "ops/backend.h"
#include "runtime/core/buffer.h"

namespace tigerfg::ops {

void AdamWUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, const Tensor& grads,
                 const AdamWHyper& hyper) {
  const int64_t n = params.numel();
  CHECK(m.numel() == n && v.numel() == n && grads.numel() == n) << "AdamWUpdate: sizes differ";
  BackendForOp(ctx, OpKind::kAdamWUpdate).adamw_update(ctx, params, m, v, grads, hyper);
}

Buffer MakeAdamWTable(const std::vector<AdamWTensor>& tensors) {
  const auto count = static_cast<int64_t>(tensors.size());
  Buffer table(DType::kI64, Shape{count, kAdamWTableCols});
  int64_t* row = table.i64();
  int64_t chunks = 0;
  for (const AdamWTensor& t : tensors) {
    CHECK(t.offset >= 0 && t.numel >= 0) << "MakeAdamWTable: negative offset or size";
    row[0] = t.offset;
    row[1] = t.numel;
    row[2] = t.decay ? 1 : 0;
    row[3] = chunks;
    chunks += (t.numel + kAdamWChunk - 1) / kAdamWChunk;
    row += kAdamWTableCols;
  }
  return table;
}

void AdamWMultiUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, Tensor params16,
                      const Tensor& grads, const Tensor& table, const Tensor& grad_sumsq,
                      const AdamWHyper& hyper) {
  const int64_t n = params.numel();
  CHECK(m.numel() == n && v.numel() == n && grads.numel() == n) << "AdamWMultiUpdate: sizes differ";
  CHECK(!params16.defined() || (params16.dtype() == DType::kBF16 && params16.numel() == n))
      << "AdamWMultiUpdate: params16 must be BF16 [n] or empty";
  CHECK(table.dtype() == DType::kI64 && table.ndim() == 2 && table.shape()[1] == kAdamWTableCols)
      << "AdamWMultiUpdate: table must be I64 [count, " << kAdamWTableCols << "]";
  CHECK(!grad_sumsq.defined() || (grad_sumsq.dtype() == DType::kI64 && grad_sumsq.numel() == 1))
      << "AdamWMultiUpdate: grad_sumsq must be I64 [1] or empty";
  BackendForOp(ctx, OpKind::kAdamWMultiUpdate)
      .adamw_multi_update(ctx, params, m, v, params16, grads, table, grad_sumsq, hyper);
}

double SumOfSquares(const Context& ctx, const Tensor& x) {
  return BackendForOp(ctx, OpKind::kSumOfSquares).sum_of_squares(ctx, x);
}

void SumOfSquaresInto(const Context& ctx, Tensor out, const Tensor& x) {
  CHECK(out.dtype() == DType::kI64 && out.numel() == 1) << "SumOfSquaresInto: out must be I64 [1]";
  BackendForOp(ctx, OpKind::kSumOfSquaresInto).sum_of_squares_into(ctx, out, x);
}

double SumOfSquaresValue(const Context& ctx, const Tensor& out) {
  int64_t bits = 0;
  CopyToHost(ctx, Tensor(&bits, DType::kI64, Shape{1}), out);
  double value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

}  // namespace tigerfg::ops
