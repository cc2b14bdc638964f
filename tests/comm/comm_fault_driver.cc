// tests/comm/comm_fault_driver.cc — a small multi-rank program that misbehaves on purpose, run by
// comm_fault_test.sh: `skip` (rank 1 never joins a collective) or `die` (rank 1 exits mid-run).
// Usage: comm_fault_driver skip|die <timeout_s> <tag>; the tag only marks the processes.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "comm/communicator.h"

int main(int argc, char** argv) {
  using namespace tigerfg::comm;  // NOLINT: a test driver
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s skip|die <timeout_s> [tag]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const double timeout_s = std::atof(argv[2]);
  tigerfg::Status status = InitMpi(&argc, &argv);
  CHECK(status.ok()) << status.message();
  {
    auto created = CreateCommunicator("mpi", timeout_s);
    CHECK(created.ok()) << created.status().message();
    Communicator& comm = **created;

    tigerfg::Buffer buf = tigerfg::Buffer::Zeros({1000});
    comm.set_step(6);
    comm.AllReduce(buf, ReduceOp::kSum)->Wait();  // every rank is up and talking
    comm.set_step(7);
    if (comm.rank() == 1) {
      if (mode == "die") _exit(3);
      // skip: a diverged rank that never joins the next collective and does not exit either.
      std::this_thread::sleep_for(std::chrono::seconds(120));
      return 0;
    }
    comm.AllReduce(buf, ReduceOp::kSum)->Wait();
    std::fprintf(stderr, "rank %d: the collective completed without rank 1\n", comm.rank());
  }
  FinalizeMpi();
  return 0;
}
