// comm/mpi_check.h — MPI_CHECK: dies naming the MPI call, the file, the line and MPI's message.
#pragma once

#include <glog/logging.h>
#include <mpi.h>

#include <string>

namespace tigerfg::comm {
inline std::string MpiErrorString(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return "MPI error " + std::to_string(code);
  return std::string(text, length);
}
}  // namespace tigerfg::comm

#define MPI_CHECK(call)                                                                            \
  do {                                                                                             \
    const int _mpi_rc = (call);                                                                    \
    CHECK(_mpi_rc == MPI_SUCCESS) << #call << " failed at " << __FILE__ << ":" << __LINE__ << ": " \
                                  << ::tigerfg::comm::MpiErrorString(_mpi_rc);                     \
  } while (0)
