// runtime/core/trace.h — a Chrome trace (the JSON "traceEvents" format that Perfetto and
// chrome://tracing open) of one rank's steps: "X" complete events, ts/dur in microseconds,
// pid = rank, one tid per track (0: the step and its phases, 1: collectives). Timestamps count
// from 00:00 UTC of the day the file was opened (otherData.ts_origin_unix_s), so that ranks line up
// and doubles keep sub-nanosecond precision. Events are streamed to the file as each step ends,
// so memory stays bounded however long the run.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "runtime/core/status.h"
#include "runtime/core/step_timer.h"

namespace tigerfg::profile {

// The file rank `rank` of `world` writes for --trace PATH: PATH itself for one rank, otherwise
// PATH with ".rank<r>" before its extension (trace.json -> trace.rank1.json).
std::string RankTracePath(const std::string& path, int rank, int world);

class TraceWriter {
 public:
  TraceWriter() = default;
  ~TraceWriter();  // closes (a valid file) when Close was not called
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Creates `path` (truncating) and writes the header and the names of the process (`rank`) and
  // its tracks. Fails naming the path when it cannot be written, so a run checks before step 0.
  Status Open(const std::string& path, int rank);
  // Appends the step ("step N" on track 0) and its spans; flushed, so a killed run keeps every
  // finished step (Perfetto opens a file whose closing brackets are missing).
  void WriteStep(const StepProfile& profile);
  // Writes the closing brackets; the error names the path when the data did not reach the file.
  Status Close();
  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  void Event(const std::string& name, int tid, int64_t ts_ns, int64_t dur_ns,
             const std::string& args_json);

  std::FILE* file_ = nullptr;
  std::string path_;
  int pid_ = 0;
  int64_t origin_ns_ = 0;  // Unix time of the timestamps' zero
  bool first_event_ = true;
};

}  // namespace tigerfg::profile
