// tests/comm/nccl_test.cc — the NCCL backend on device buffers, one rank per GPU; skips where no
// GPU is visible, in builds without NCCL, and where ranks outnumber this node's GPUs.
#include <cmath>
#include <numeric>

#include "comm_test_util.h"

#ifdef TIGERFG_WITH_NCCL
#include <cuda_runtime.h>

#include "runtime/core/cuda_check.h"
#include "runtime/core/cuda_context.h"

namespace tigerfg::comm {
namespace {

class NcclTest : public testing::Test {
 protected:
  void SetUp() override {
    int gpus = 0;
    if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) GTEST_SKIP() << "no GPU";
    int world = 0, rank = 0, local_size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local_size);
    MPI_Comm_free(&node);
    // Every rank takes the same decision, so none is left alone in NCCL's start-up.
    int enough = local_size <= gpus ? 1 : 0, all_enough = 0;
    MPI_Allreduce(&enough, &all_enough, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_enough) GTEST_SKIP() << "more ranks than GPUs on a node";
    int local_rank = 0;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank);
    MPI_Comm_free(&node);
    ctx_ = std::make_unique<Context>(Context::Cuda(local_rank));
    auto comm = CreateCommunicator("nccl", 60, ctx_.get());
    ASSERT_TRUE(comm.ok()) << comm.status().message();
    comm_ = std::move(comm).value();
  }

  // Host values -> a device buffer of `dtype` F32; freed by TearDown.
  float* Device(const std::vector<float>& host) {
    float* ptr = nullptr;
    CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(1, host.size()) * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(ptr, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    allocations_.push_back(ptr);
    return ptr;
  }
  std::vector<float> Host(const float* ptr, size_t n) {
    CUDA_CHECK(cudaStreamSynchronize(ctx_->cuda()->stream));
    std::vector<float> host(n);
    CUDA_CHECK(cudaMemcpy(host.data(), ptr, n * sizeof(float), cudaMemcpyDeviceToHost));
    return host;
  }
  void TearDown() override {
    comm_.reset();
    for (float* ptr : allocations_) cudaFree(ptr);
  }

  std::unique_ptr<Context> ctx_;
  std::unique_ptr<Communicator> comm_;
  std::vector<float*> allocations_;
};

float Value(int rank, int64_t i) { return static_cast<float>((rank + 1) * ((i % 5) - 2)); }

TEST_F(NcclTest, AllReduceMeanAndAllGatherVAndReduceScatterVAndBroadcast) {
  const int world = comm_->world_size(), rank = comm_->rank();
  const int64_t n = 1001;
  std::vector<float> mine(n);
  for (int64_t i = 0; i < n; ++i) mine[i] = Value(rank, i);

  float* reduced = Device(mine);
  auto mean = comm_->AllReduce(Tensor::F32(reduced, {n}, Device::kCuda), ReduceOp::kMean);

  std::vector<int64_t> counts;
  for (int r = 0; r < world; ++r) counts.push_back(r + 2);
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  float* gathered = Device(std::vector<float>(total));
  const std::vector<float> my_chunk(mine.begin(), mine.begin() + counts[rank]);
  auto gather =
      comm_->AllGatherV(Tensor::F32(gathered, {total}, Device::kCuda),
                        Tensor::F32(Device(my_chunk), {counts[rank]}, Device::kCuda), counts);
  float* scattered = Device(std::vector<float>(counts[rank]));
  auto scatter = comm_->ReduceScatterV(
      Tensor::F32(scattered, {counts[rank]}, Device::kCuda),
      Tensor::F32(Device(std::vector<float>(mine.begin(), mine.begin() + total)), {total},
                  Device::kCuda),
      counts, ReduceOp::kSum);
  float* broadcast = Device(mine);
  auto bcast = comm_->Broadcast(Tensor::F32(broadcast, {n}, Device::kCuda), world - 1);
  for (auto* work : {&mean, &gather, &scatter, &bcast}) (*work)->Wait();

  const auto mean_host = Host(reduced, n);
  const auto gathered_host = Host(gathered, total);
  const auto scattered_host = Host(scattered, counts[rank]);
  const auto broadcast_host = Host(broadcast, n);
  for (int64_t i = 0; i < n; ++i) {
    float sum = 0;
    for (int r = 0; r < world; ++r) sum += Value(r, i);
    ASSERT_NEAR(mean_host[i], sum / world, 1e-5f);
    ASSERT_EQ(broadcast_host[i], Value(world - 1, i));
  }
  int64_t offset = 0;
  for (int r = 0; r < world; ++r) {
    for (int64_t i = 0; i < counts[r]; ++i) ASSERT_EQ(gathered_host[offset + i], Value(r, i));
    offset += counts[r];
  }
  const int64_t my_offset = std::accumulate(counts.begin(), counts.begin() + rank, int64_t{0});
  for (int64_t i = 0; i < counts[rank]; ++i) {
    float sum = 0;
    for (int r = 0; r < world; ++r) sum += Value(r, my_offset + i);
    ASSERT_EQ(scattered_host[i], sum);
  }
  comm_->Barrier()->Wait();
}

}  // namespace
}  // namespace tigerfg::comm

#else

TEST(NcclTest, AllReduceMeanAndAllGatherVAndReduceScatterVAndBroadcast) {
  GTEST_SKIP() << "built without NCCL";
}

#endif  // TIGERFG_WITH_NCCL
