// tests/comm/comm_test_util.h — the communicators the comm tests run on: "mpi" at every world
// size, "local" too when there is one process.
#pragma once

#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace tigerfg::comm {

inline std::unique_ptr<Communicator> MakeComm(const std::string& backend, double timeout_s = 30) {
  auto comm = CreateCommunicator(backend, timeout_s);
  CHECK(comm.ok()) << comm.status().message();
  return std::move(comm).value();
}

// Test fixture parameterised by backend; "local" skips when the world has several ranks.
class CommTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    MPI_Comm_size(MPI_COMM_WORLD, &world_);
    if (GetParam() == "local" && world_ > 1) GTEST_SKIP() << "local backend is world size 1";
    comm_ = MakeComm(GetParam());
  }
  std::unique_ptr<Communicator> comm_;
  int world_ = 1;
};

}  // namespace tigerfg::comm
