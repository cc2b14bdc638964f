// comm/nccl_communicator.h — the NCCL backend (GPU buffers), built only with CUDA. Its works run
// on the communicator's own stream, ordered after the compute stream with cudaEvents.
#pragma once

#include <memory>

#include "comm/communicator.h"

namespace tigerfg::comm {

// One rank per GPU (device = the CUDA context's device, normally the local rank). The NCCL
// unique id goes from rank 0 to the others over MPI (rank and world come from MPI as well).
// In a build without NCCL this returns an error Status.
StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const CommOptions& options);

}  // namespace tigerfg::comm
