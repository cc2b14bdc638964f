// runtime/core/trace.cc — the streaming Chrome trace writer.
#include "runtime/core/trace.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace tigerfg::profile {

namespace {

// Microseconds with exactly three decimals from integer nanoseconds: nested events stay nested
// (no floating-point rounding between a step and its phases).
std::string Micros(int64_t ns) {
  char buf[32];
  const int64_t whole = ns / 1000, frac = ns % 1000;
  if (ns < 0 && frac != 0)
    std::snprintf(buf, sizeof(buf), "-%lld.%03lld", static_cast<long long>(-whole),
                  static_cast<long long>(-frac));
  else
    std::snprintf(buf, sizeof(buf), "%lld.%03lld", static_cast<long long>(whole),
                  static_cast<long long>(frac < 0 ? -frac : frac));
  return buf;
}

const char* TrackName(int tid) {
  return tid == kPhaseTrack ? "step phases (compute stream)" : "collectives";
}

}  // namespace

std::string RankTracePath(const std::string& path, int rank, int world) {
  if (world <= 1) return path;
  const std::filesystem::path p(path);
  const std::string name =
      p.stem().string() + ".rank" + std::to_string(rank) + p.extension().string();
  return (p.parent_path() / name).string();
}

TraceWriter::~TraceWriter() {
  if (file_) (void)Close();
}

Status TraceWriter::Open(const std::string& path, int rank) {
  CHECK(file_ == nullptr) << "TraceWriter::Open twice";
  file_ = std::fopen(path.c_str(), "w");
  if (!file_)
    return Status::Error(path + ": cannot write the trace (--trace): " + std::strerror(errno));
  path_ = path;
  pid_ = rank;
  first_event_ = true;
  constexpr int64_t kDay = 86400;
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  origin_ns_ = now_s / kDay * kDay * 1'000'000'000;
  std::fprintf(file_,
               "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"ts_origin_unix_s\":%lld},"
               "\"traceEvents\":[\n",
               static_cast<long long>(origin_ns_ / 1'000'000'000));
  auto meta = [&](const char* what, int tid, const std::string& value) {
    nlohmann::json e = {
        {"ph", "M"}, {"name", what}, {"pid", pid_}, {"tid", tid}, {"args", {{"name", value}}}};
    std::fputs(first_event_ ? "" : ",\n", file_);
    first_event_ = false;
    std::fputs(e.dump().c_str(), file_);
  };
  meta("process_name", kPhaseTrack, "rank " + std::to_string(rank));
  meta("process_sort_index", kPhaseTrack, std::to_string(rank));
  meta("thread_name", kPhaseTrack, TrackName(kPhaseTrack));
  meta("thread_name", kCollectiveTrack, TrackName(kCollectiveTrack));
  if (std::fflush(file_) != 0) {
    std::fclose(file_);
    file_ = nullptr;
    return Status::Error(path + ": cannot write the trace (--trace): " + std::strerror(errno));
  }
  return Status::Ok();
}

void TraceWriter::Event(const std::string& name, int tid, int64_t ts_ns, int64_t dur_ns,
                        const std::string& args_json) {
  std::string line = first_event_ ? "" : ",\n";
  first_event_ = false;
  line += "{\"ph\":\"X\",\"name\":" + nlohmann::json(name).dump() +
          ",\"pid\":" + std::to_string(pid_) + ",\"tid\":" + std::to_string(tid) +
          ",\"ts\":" + Micros(ts_ns) + ",\"dur\":" + Micros(dur_ns);
  if (!args_json.empty()) line += ",\"args\":" + args_json;
  line += "}";
  std::fputs(line.c_str(), file_);
}

void TraceWriter::WriteStep(const StepProfile& profile) {
  if (!file_) return;
  const int64_t t0 = profile.start_unix_ns - origin_ns_;
  const int64_t step_ns = static_cast<int64_t>(std::llround(profile.step_s * 1e9));
  Event("step " + std::to_string(profile.step), kPhaseTrack, t0, step_ns,
        "{\"step\":" + std::to_string(profile.step) + "}");
  for (const Span& s : profile.spans)
    Event(s.name, s.track, t0 + s.begin_ns, s.end_ns - s.begin_ns,
          "{\"step\":" + std::to_string(profile.step) + "}");
  std::fflush(file_);
}

Status TraceWriter::Close() {
  if (!file_) return Status::Ok();
  std::fputs("\n]}\n", file_);
  const bool failed = std::ferror(file_) != 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (failed || !closed) return Status::Error(path_ + ": writing the trace failed");
  return Status::Ok();
}

}  // namespace tigerfg::profile
