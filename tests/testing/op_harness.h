// tests/testing/op_harness.h — the backend harness's cases (after ggml's test-backend-ops): one
// op of the table at one shape and dtype, its tensors with their roles, and the checks that run
// a case on the CPU twice (deterministic, every output written) and on CUDA against the CPU.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ops/backend.h"
#include "runtime/core/context.h"
#include "runtime/core/rng.h"
#include "runtime/core/tensor.h"

namespace tigerfg::testing {

// How the op uses a tensor, which decides what the harness fills it with and compares.
enum class Role {
  kInput,    // read only; random (or given) contents
  kOutput,   // written (=): NaN-poisoned before each run, so an unwritten element fails
  kInOut,    // read and updated (+=, in place): random (or given) contents, compared after
  kScratch,  // workspace: allocated, not compared
  kAbsent,   // an empty tensor (an optional argument left out)
};

struct CaseTensor {
  std::string name;
  Role role = Role::kInput;
  Buffer host;      // contents of inputs; shape and dtype of every role but kAbsent
  double rtol = 0;  // CUDA vs CPU relative L2 error; 0: 1e-5 for F32, 1e-2 for BF16
};

// The tensors of a run, on the run's device, in the order of OpCase::tensors (kAbsent: empty).
using CaseTensors = std::vector<Tensor>;

struct OpCase {
  ops::OpKind op = ops::OpKind::kCount;
  std::string label;   // the shapes and dtypes, for messages and test names
  ops::OpShape shape;  // what a backend's supports() is asked
  std::vector<CaseTensor> tensors;
  // Calls the public op; returns its scalar result (SumOfSquares) or 0.
  std::function<double(const Context&, const CaseTensors&)> run;
  double value_rtol = 1e-6;  // CUDA vs CPU for the scalar result
};

// ---- building cases
// N(0, stddev^2) + shift values in dtype (F32 or BF16).
CaseTensor In(std::string name, Shape shape, Rng& rng, DType dtype = DType::kF32,
              float stddev = 1.0f, float shift = 0.0f);
CaseTensor Given(std::string name, Buffer contents, Role role = Role::kInput);
CaseTensor Out(std::string name, Shape shape, DType dtype = DType::kF32, double rtol = 0);
CaseTensor InOut(std::string name, Shape shape, Rng& rng, DType dtype = DType::kF32);
CaseTensor Scratch(std::string name, Shape shape);
CaseTensor Absent(std::string name);
// The tensors of a case, in the op's argument order (CaseTensor is move-only).
template <typename... T>
std::vector<CaseTensor> Tensors(T&&... tensors) {
  std::vector<CaseTensor> v;
  (v.push_back(std::forward<T>(tensors)), ...);
  return v;
}
// A host buffer from values (I64 ids, U8 masks, F32 numbers).
Buffer I64Values(Shape shape, const std::vector<int64_t>& values);
Buffer U8Values(Shape shape, const std::vector<uint8_t>& values);
// A host copy of a host tensor (inputs shared by a forward that derives them and the case); an
// empty tensor gives an empty buffer.
Buffer Clone(const Tensor& host);
// The same tensor again, with a copy of its contents.
CaseTensor Duplicate(const CaseTensor& t);
// "[2, 3] BF16"-style text for labels.
std::string Describe(const Shape& shape, DType dtype = DType::kF32);

// ---- running cases
struct CaseResult {
  std::vector<Buffer> tensors;  // host copies after the run (kAbsent: empty)
  double value = 0;
};
// Copies the case's tensors to ctx's device (outputs poisoned), runs it, copies them back.
CaseResult RunCase(const OpCase& c, const Context& ctx);
// Two CPU runs are bit-identical and leave no poisoned (NaN) element in an output.
void ExpectCpuDeterministicAndWritten(const OpCase& c);
// The run on ctx (a GPU) matches the CPU run: relative L2 error per compared tensor, every
// element finite where the CPU's is, infinities equal.
void ExpectMatchesCpu(const OpCase& c, const Context& ctx);

// Every case of every op (tests/testing/backend_cases*.cc), built once.
const std::vector<OpCase>& AllOpCases();

}  // namespace tigerfg::testing
