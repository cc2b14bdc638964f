// comm/gather_with_grad.cc — shape checks around the all-gather / reduce-scatter pair.
#include "comm/gather_with_grad.h"

namespace tigerfg::comm {
namespace {

void CheckRows(const Tensor& global, const Tensor& local, int world, const char* what) {
  CHECK_GE(local.ndim(), 1) << what << ": local tensor has no rows";
  CHECK_EQ(global.ndim(), local.ndim())
      << what << ": " << global.shape().ToString() << " vs " << local.shape().ToString();
  CHECK_EQ(global.dim(0), local.dim(0) * world)
      << what << ": global rows " << global.dim(0) << " != world " << world << " x local rows "
      << local.dim(0);
  for (int i = 1; i < local.ndim(); ++i) {
    CHECK_EQ(global.dim(i), local.dim(i))
        << what << ": " << global.shape().ToString() << " vs " << local.shape().ToString();
  }
}

}  // namespace

std::shared_ptr<Work> GatherWithGradForward(Communicator& comm, Tensor gathered,
                                            const Tensor& local) {
  CheckRows(gathered, local, comm.world_size(), "GatherWithGradForward");
  return comm.AllGather(gathered, local, "gather_embeddings");
}

std::shared_ptr<Work> GatherWithGradBackward(Communicator& comm, Tensor d_local,
                                             const Tensor& d_gathered) {
  CheckRows(d_gathered, d_local, comm.world_size(), "GatherWithGradBackward");
  return comm.ReduceScatter(d_local, d_gathered, ReduceOp::kSum, "scatter_embedding_grads");
}

std::shared_ptr<Work> GatherIds(Communicator& comm, Tensor gathered_ids, const Tensor& local_ids) {
  CHECK(local_ids.dtype() == DType::kI64) << "GatherIds: ids are " << DTypeName(local_ids.dtype());
  CheckRows(gathered_ids, local_ids, comm.world_size(), "GatherIds");
  return comm.AllGather(gathered_ids, local_ids, "gather_ids");
}

}  // namespace tigerfg::comm
