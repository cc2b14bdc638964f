// tests/comm/collectives_test.cc — every collective on F32, BF16 and I64 against values each rank
// can compute for itself, at sizes that do not divide by the world size where allowed.
#include <cmath>
#include <numeric>

#include "comm/bf16.h"
#include "comm_test_util.h"

namespace tigerfg::comm {
namespace {

// Small integers: exact in F32, BF16 and I64, so sums over ranks are exact too.
double Value(int rank, int64_t i) { return static_cast<double>((rank + 1) * ((i % 7) - 3)); }

Buffer Filled(DType dtype, int64_t n, int rank, int64_t first_index = 0) {
  Buffer buffer(dtype, Shape{n});
  for (int64_t i = 0; i < n; ++i) {
    const double v = Value(rank, first_index + i);
    if (dtype == DType::kF32) buffer.f32()[i] = static_cast<float>(v);
    if (dtype == DType::kI64) buffer.i64()[i] = static_cast<int64_t>(v);
    if (dtype == DType::kBF16) buffer.tensor().bf16()[i] = FloatToBf16(static_cast<float>(v));
  }
  return buffer;
}

double At(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::kF32) return t.f32()[i];
  if (t.dtype() == DType::kI64) return static_cast<double>(t.i64()[i]);
  return Bf16ToFloat(t.bf16()[i]);
}

// Sum over ranks of Value(r, i), divided by world for a mean.
double Reduced(int world, int64_t i, ReduceOp op) {
  double sum = 0;
  for (int r = 0; r < world; ++r) sum += Value(r, i);
  return op == ReduceOp::kMean ? sum / world : sum;
}

double Tolerance(DType dtype, double expected) {
  return dtype == DType::kBF16 ? std::abs(expected) / 128 + 1e-6 : 1e-5 * std::abs(expected);
}

const DType kDTypes[] = {DType::kF32, DType::kBF16, DType::kI64};

TEST_P(CommTest, AllReduceSumAndMeanEveryDtypeAnyLength) {
  for (DType dtype : kDTypes) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMean}) {
      if (dtype == DType::kI64 && op == ReduceOp::kMean) continue;
      for (int64_t n : {1, 7, 1001}) {
        Buffer buf = Filled(dtype, n, comm_->rank());
        comm_->AllReduce(buf, op)->Wait();
        for (int64_t i = 0; i < n; ++i) {
          const double expected = Reduced(world_, i, op);
          ASSERT_NEAR(At(buf, i), expected, Tolerance(dtype, expected))
              << DTypeName(dtype) << " n=" << n << " i=" << i;
        }
      }
    }
  }
}

TEST_P(CommTest, AllGatherEveryDtypeInRankOrder) {
  const int64_t n = 5;
  for (DType dtype : kDTypes) {
    Buffer in = Filled(dtype, n, comm_->rank());
    Buffer out(dtype, Shape{world_ * n});
    comm_->AllGather(out, in)->Wait();
    for (int r = 0; r < world_; ++r) {
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(At(out, r * n + i), Value(r, i));
    }
  }
}

TEST_P(CommTest, AllGatherVUnequalCountsIncludingEmpty) {
  std::vector<int64_t> counts;
  for (int r = 0; r < world_; ++r) counts.push_back(r == 1 ? 0 : 2 * r + 3);
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  for (DType dtype : kDTypes) {
    Buffer in = Filled(dtype, counts[comm_->rank()], comm_->rank());
    Buffer out(dtype, Shape{total});
    comm_->AllGatherV(out, in.tensor(), counts)->Wait();
    int64_t offset = 0;
    for (int r = 0; r < world_; ++r) {
      for (int64_t i = 0; i < counts[r]; ++i) ASSERT_EQ(At(out, offset + i), Value(r, i));
      offset += counts[r];
    }
  }
}

TEST_P(CommTest, ReduceScatterEqualChunks) {
  const int64_t n = 6;
  for (DType dtype : kDTypes) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMean}) {
      if (dtype == DType::kI64 && op == ReduceOp::kMean) continue;
      Buffer in = Filled(dtype, world_ * n, comm_->rank());
      Buffer out(dtype, Shape{n});
      comm_->ReduceScatter(out, in, op)->Wait();
      for (int64_t i = 0; i < n; ++i) {
        const double expected = Reduced(world_, comm_->rank() * n + i, op);
        ASSERT_NEAR(At(out, i), expected, Tolerance(dtype, expected)) << DTypeName(dtype);
      }
    }
  }
}

TEST_P(CommTest, ReduceScatterVSizesThatDoNotDivide) {
  std::vector<int64_t> counts;
  for (int r = 0; r < world_; ++r) counts.push_back(r + 2);
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  const int64_t mine = std::accumulate(counts.begin(), counts.begin() + comm_->rank(), int64_t{0});
  for (DType dtype : kDTypes) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMean}) {
      if (dtype == DType::kI64 && op == ReduceOp::kMean) continue;
      Buffer in = Filled(dtype, total, comm_->rank());
      Buffer out(dtype, Shape{counts[comm_->rank()]});
      comm_->ReduceScatterV(out, in, counts, op)->Wait();
      for (int64_t i = 0; i < counts[comm_->rank()]; ++i) {
        const double expected = Reduced(world_, mine + i, op);
        ASSERT_NEAR(At(out, i), expected, Tolerance(dtype, expected)) << DTypeName(dtype);
      }
    }
  }
}

TEST_P(CommTest, BroadcastFromLastRankAnyLength) {
  const int root = world_ - 1;
  for (DType dtype : kDTypes) {
    Buffer buf = Filled(dtype, 11, comm_->rank());
    comm_->Broadcast(buf, root)->Wait();
    for (int64_t i = 0; i < 11; ++i) ASSERT_EQ(At(buf, i), Value(root, i));
  }
}

TEST_P(CommTest, BarrierCompletes) {
  auto work = comm_->Barrier();
  work->Wait();
  EXPECT_TRUE(work->IsCompleted());
}

TEST_P(CommTest, SeveralOutstandingWorksCompleteInAnyWaitOrder) {
  std::vector<Buffer> buffers;
  std::vector<std::shared_ptr<Work>> works;
  for (int k = 0; k < 4; ++k) {
    buffers.push_back(Filled(DType::kF32, 300 + 17 * k, comm_->rank()));
    works.push_back(comm_->AllReduce(buffers.back(), ReduceOp::kSum));
  }
  Buffer ids = Filled(DType::kI64, 3, comm_->rank());
  Buffer gathered(DType::kI64, Shape{3 * world_});
  works.push_back(comm_->AllGather(gathered, ids));
  for (auto it = works.rbegin(); it != works.rend(); ++it) (*it)->Wait();
  for (auto& work : works) EXPECT_TRUE(work->IsCompleted());
  for (int k = 0; k < 4; ++k) {
    for (int64_t i = 0; i < buffers[k].numel(); ++i) {
      ASSERT_EQ(buffers[k].f32()[i], Reduced(world_, i, ReduceOp::kSum));
    }
  }
  for (int r = 0; r < world_; ++r) EXPECT_EQ(gathered.i64()[3 * r + 2], Value(r, 2));
}

TEST_P(CommTest, ReportsRankAndWorld) {
  EXPECT_EQ(comm_->world_size(), world_);
  EXPECT_GE(comm_->local_rank(), 0);
  EXPECT_LT(comm_->local_rank(), world_);
  EXPECT_STREQ(comm_->backend(), GetParam().c_str());
}

INSTANTIATE_TEST_SUITE_P(Backends, CommTest, testing::Values("local", "mpi"));

TEST(CreateCommunicator, UserMistakesComeBackAsStatus) {
  auto unknown = CreateCommunicator("gloo", 10);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("gloo"), std::string::npos);
  EXPECT_FALSE(CreateCommunicator("mpi", 0).ok());
  Context cpu = Context::Cpu();
  auto nccl = CreateCommunicator("nccl", 10, &cpu);
  ASSERT_FALSE(nccl.ok());
  EXPECT_NE(nccl.status().message().find("nccl"), std::string::npos);
}

TEST(CreateCommunicator, AutoPicksLocalForOneRankAndMpiOtherwise) {
  int world = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  auto comm = CreateCommunicator("auto", 10);
  ASSERT_TRUE(comm.ok()) << comm.status().message();
  EXPECT_STREQ((*comm)->backend(), world == 1 ? "local" : "mpi");
  (*comm)->set_step(42);
  EXPECT_EQ((*comm)->step(), 42);
}

}  // namespace
}  // namespace tigerfg::comm
