// launcher/cmd_data_bench.cc — `tigerfg data synth` (a synthetic corpus of tiny samples, written
// fast: one JPEG reused, a distinct JSON per sample, indexes included) and `tigerfg data bench`
// (one rank's loader: start-up time, resident memory of the loader, samples/s; run under mpirun
// for several ranks; cluster/data_scale_bench.sh drives both).
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "launcher/commands.h"
#include "runtime/data/image.h"
#include "runtime/data/jpeg.h"
#include "runtime/data/loader.h"
#include "runtime/data/tar_writer.h"

namespace tigerfg::launcher {

// launcher/cmd_data.cc: flag argv[*i] split into its name and value.
bool SplitDataFlag(int argc, char** argv, int* i, std::string* name, std::string* value);

namespace {

constexpr char kBenchUsage[] =
    "usage: tigerfg data synth --out DIR --samples N --shards S [--image_size 16]\n"
    "         writes DIR/train-NNNNNN.tar (+ .idx) and DIR/vocab.txt: N tiny samples in S shards\n"
    "       tigerfg data bench --shards SPEC --vocab FILE [--batches 40] [--global_batch 256]\n"
    "         [--threads 2] [--image_size 32] [--shuffle_window 4096] [--max_open_shards 64]\n"
    "         [--seed 0] one JSON line per rank (rank and world from Open MPI's environment):\n"
    "         start-up s, loader resident MB (VmRSS after the batches minus before Create),\n"
    "         VmHWM MB, samples/s of this rank\n";

// Flags as --name value or --name=value; false (with a message) on anything else.
bool ParseFlags(int argc, char** argv, std::vector<std::pair<std::string, std::string>>* out) {
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      std::fprintf(stderr, "tigerfg data %s: unexpected argument '%s'\n%s", argv[1], arg.c_str(),
                   kBenchUsage);
      return false;
    }
    std::string name, value;
    if (!SplitDataFlag(argc, argv, &i, &name, &value)) return false;
    out->emplace_back(name, value);
  }
  return true;
}

bool ToInt(const std::string& flag, const std::string& text, int64_t* out) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0) {
    std::fprintf(stderr, "tigerfg data: bad value '%s' for --%s\n", text.c_str(), flag.c_str());
    return false;
  }
  *out = v;
  return true;
}

// VmRSS or VmHWM of this process in MiB (0 when /proc is not there).
double ProcStatusMb(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::strlen(field) + 1) / 1024;
  }
  return 0;
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

Status WriteShard(const std::string& path, int64_t first, int64_t count, const std::string& jpeg) {
  data::TarWriter writer;
  TIGERFG_RETURN_IF_ERROR(writer.Open(path, /*write_index=*/true));
  char key[32];
  for (int64_t i = first; i < first + count; ++i) {
    std::snprintf(key, sizeof(key), "s%09lld", static_cast<long long>(i));
    const std::string k = key;
    TIGERFG_RETURN_IF_ERROR(writer.Add(k + ".query.jpg", jpeg));
    TIGERFG_RETURN_IF_ERROR(writer.Add(k + ".item.jpg", jpeg));
    TIGERFG_RETURN_IF_ERROR(
        writer.Add(k + ".json", "{\"title\": \"red shirt " + std::to_string(i % 1000) +
                                    "\", \"product_id\": " + std::to_string(i / 2) + "}"));
  }
  return writer.Close();
}

int RunSynth(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  std::string out;
  int64_t samples = 0, shards = 0, side = 16;
  for (const auto& [name, value] : flags) {
    bool ok = true;
    if (name == "out") {
      out = value;
    } else if (name == "samples") {
      ok = ToInt(name, value, &samples);
    } else if (name == "shards") {
      ok = ToInt(name, value, &shards);
    } else if (name == "image_size") {
      ok = ToInt(name, value, &side);
    } else {
      std::fprintf(stderr, "tigerfg data synth: unknown flag --%s\n%s", name.c_str(), kBenchUsage);
      return 2;
    }
    if (!ok) return 2;
  }
  if (out.empty() || samples < 1 || shards < 1 || shards > samples || side < 1 || side > 4096) {
    std::fprintf(stderr, "tigerfg data synth: need --out, --samples >= --shards >= 1\n%s",
                 kBenchUsage);
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  data::Image image(static_cast<int>(side), static_cast<int>(side), 3, 128);
  StatusOr<std::string> jpeg = data::EncodeJpeg(image, 90);
  if (!jpeg.ok()) {
    std::fprintf(stderr, "tigerfg data synth: %s\n", jpeg.status().message().c_str());
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (!(std::ofstream(out + "/vocab.txt") << "[PAD]\n[UNK]\n[CLS]\nred\nshirt\n")) {
    std::fprintf(stderr, "tigerfg data synth: cannot write %s/vocab.txt\n", out.c_str());
    return 1;
  }
  std::vector<Status> status(shards, Status::Ok());
#pragma omp parallel for schedule(dynamic)
  for (int64_t s = 0; s < shards; ++s) {
    char name[48];
    std::snprintf(name, sizeof(name), "/train-%06lld.tar", static_cast<long long>(s));
    status[s] = WriteShard(out + name, samples * s / shards,
                           samples * (s + 1) / shards - samples * s / shards, *jpeg);
  }
  for (const Status& st : status) {
    if (!st.ok()) {
      std::fprintf(stderr, "tigerfg data synth: %s\n", st.message().c_str());
      return 1;
    }
  }
  std::printf("wrote %lld samples in %lld shards (with indexes) to %s in %.1f s\n",
              static_cast<long long>(samples), static_cast<long long>(shards), out.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

// Fills `o` from the flags; false (with a message) on a bad one.
bool BenchOptions(const std::vector<std::pair<std::string, std::string>>& flags,
                  data::LoaderOptions* o, int64_t* batches) {
  int64_t side = 32, v = 0;
  for (const auto& [name, value] : flags) {
    if (name == "shards") {
      o->shards.push_back(value);
      continue;
    }
    if (name == "vocab") {
      o->vocab = value;
      continue;
    }
    if (!ToInt(name, value, &v)) return false;
    if (name == "batches") {
      *batches = v;
    } else if (name == "global_batch") {
      o->global_batch = v;
    } else if (name == "threads") {
      o->threads = static_cast<int>(v);
    } else if (name == "image_size") {
      side = v;
    } else if (name == "shuffle_window") {
      o->shuffle_window = v;
    } else if (name == "max_open_shards") {
      o->max_open_shards = static_cast<int>(v);
    } else if (name == "seed") {
      o->seed = static_cast<uint64_t>(v);
    } else {
      std::fprintf(stderr, "tigerfg data bench: unknown flag --%s\n%s", name.c_str(), kBenchUsage);
      return false;
    }
  }
  o->transform.query_size = o->transform.item_size = static_cast<int>(side);
  return true;
}

int RunBench(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  data::LoaderOptions o;
  o.global_batch = 256;
  int64_t batches = 40;
  if (!BenchOptions(flags, &o, &batches)) return 2;
  o.rank = EnvInt("OMPI_COMM_WORLD_RANK", 0);
  o.world = EnvInt("OMPI_COMM_WORLD_SIZE", 1);
  const double rss_before = ProcStatusMb("VmRSS:");
  const auto t0 = std::chrono::steady_clock::now();
  StatusOr<std::unique_ptr<data::DataLoader>> loader = data::DataLoader::Create(o);
  if (!loader.ok()) {
    std::fprintf(stderr, "tigerfg data bench: %s\n", loader.status().message().c_str());
    return 1;
  }
  const auto t1 = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < batches; ++b) {
    StatusOr<Batch> batch = (*loader)->NextBatch();
    if (!batch.ok()) {
      std::fprintf(stderr, "tigerfg data bench: %s\n", batch.status().message().c_str());
      return 1;
    }
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double startup = std::chrono::duration<double>(t1 - t0).count();
  const double read = std::chrono::duration<double>(t2 - t1).count();
  std::printf(
      "{\"rank\": %d, \"world\": %d, \"samples\": %lld, \"shards\": %d, \"startup_s\": %.4f, "
      "\"loader_rss_mb\": %.1f, \"rss_mb\": %.1f, \"hwm_mb\": %.1f, \"samples_per_s\": %.1f, "
      "\"order_kb\": %.1f, \"peak_open_shards\": %d, \"shard_loads\": %lld}\n",
      o.rank, o.world, static_cast<long long>((*loader)->dataset_size()),
      (*loader)->dataset().num_shards(), startup, ProcStatusMb("VmRSS:") - rss_before,
      ProcStatusMb("VmRSS:"), ProcStatusMb("VmHWM:"),
      static_cast<double>(batches * (*loader)->local_batch()) / read,
      (*loader)->order_footprint_bytes() / 1024.0, (*loader)->dataset().peak_open_shards(),
      static_cast<long long>((*loader)->dataset().shard_loads()));
  return 0;
}

}  // namespace

int RunDataBenchCommand(int argc, char** argv) {
  if (argc >= 3 && (std::strcmp(argv[2], "--help") == 0 || std::strcmp(argv[2], "-h") == 0)) {
    std::fputs(kBenchUsage, stdout);
    return 0;
  }
  return std::strcmp(argv[1], "synth") == 0 ? RunSynth(argc, argv) : RunBench(argc, argv);
}

}  // namespace tigerfg::launcher
