// launcher/cmd_data.cc — `tigerfg data fmnist --out DIR [...]`: builds the Fashion-MNIST
// retrieval benchmark (shards with their indexes); `tigerfg data index SHARDS...`: indexes shards
// made elsewhere. Flags are parsed here by hand so they cannot clash with other subcommands.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "launcher/commands.h"
#include "runtime/data/shard_index.h"
#include "runtime/fmnist/fmnist_benchmark.h"

namespace tigerfg::launcher {

int RunDataBenchCommand(int argc, char** argv);  // launcher/cmd_data_bench.cc: synth, bench
// Flag argv[*i] of `tigerfg data argv[1]` (it starts with "--") as `--name=value` or
// `--name value` (*i then moves past the value); false, with a message, when the value is missing.
bool SplitDataFlag(int argc, char** argv, int* i, std::string* name, std::string* value);

bool SplitDataFlag(int argc, char** argv, int* i, std::string* name, std::string* value) {
  *name = std::string(argv[*i]).substr(2);
  const size_t eq = name->find('=');
  if (eq != std::string::npos) {
    *value = name->substr(eq + 1);
    *name = name->substr(0, eq);
  } else if (*i + 1 < argc) {
    *value = argv[++*i];
  } else {
    std::fprintf(stderr, "tigerfg data %s: --%s needs a value\n", argv[1], name->c_str());
    return false;
  }
  return true;
}

namespace {

constexpr char kDataUsage[] =
    "usage: tigerfg data fmnist --out DIR [flags]\n"
    "       tigerfg data index SHARDS...    writes SHARD.idx beside each shard (paths, globs,\n"
    "                                       {a,b} and {000..009} ranges); training and\n"
    "                                       evaluation shards must have one\n"
    "       tigerfg data synth|bench ...    a synthetic corpus and the loader benchmark\n"
    "                                       (`tigerfg data bench --help`)\n"
    "fmnist flags:\n"
    "  --source DIR                 IDX files (default /usr/share/datasets/fashion-mnist)\n"
    "  --seed S                     everything is a function of the seed (default 0)\n"
    "  --image_size N               item canvas side (default 64)\n"
    "  --query_size N               query image side (default 64)\n"
    "  --train_listings N           training samples (default 20000)\n"
    "  --listings_per_product N     listings sharing a product_id (default 3)\n"
    "  --train_cluttered_fraction F training listings in the cluttered layout (default 0.5)\n"
    "  --eval_queries N             queries per evaluation set (default 1000)\n"
    "  --eval_gallery N             gallery listings per evaluation set (default 2000)\n"
    "  --shard_size N               records per tar shard (default 1000)\n"
    "  --max_source_images N        use only the first N images of each split (default all)\n"
    "  --jpeg_quality Q             (default 90)\n"
    "  --generic_train 0|1          also write train_generic/: the training set with every\n"
    "                               title \"product\" (default 1)\n";

bool ParseInt(const std::string& text, int64_t* out) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) return false;
  *out = v;
  return true;
}

// Sets option `name` of `o` from `value`: false when the value does not parse; *known false when
// no option has that name.
bool SetFmnistFlag(const std::string& name, const std::string& value, data::FmnistOptions* o,
                   bool* known) {
  int64_t n = 0;
  const bool is_int = ParseInt(value, &n);
  if (name == "out") {
    o->out_dir = value;
  } else if (name == "source") {
    o->source_dir = value;
  } else if (name == "train_cluttered_fraction") {
    char* end = nullptr;
    o->train_cluttered_fraction = std::strtod(value.c_str(), &end);
    return !value.empty() && *end == '\0';
  } else if (name == "seed") {
    o->seed = static_cast<uint64_t>(n);
  } else if (name == "image_size") {
    o->image_size = static_cast<int>(n);
  } else if (name == "query_size") {
    o->query_size = static_cast<int>(n);
  } else if (name == "train_listings") {
    o->train_listings = n;
  } else if (name == "listings_per_product") {
    o->listings_per_product = static_cast<int>(n);
  } else if (name == "eval_queries") {
    o->eval_queries = n;
  } else if (name == "eval_gallery") {
    o->eval_gallery = n;
  } else if (name == "shard_size") {
    o->shard_size = n;
  } else if (name == "max_source_images") {
    o->max_source_images = n;
  } else if (name == "generic_train") {
    o->generic_train = n == 1;
    return is_int && (n == 0 || n == 1);
  } else if (name == "jpeg_quality") {
    o->jpeg_quality = static_cast<int>(n);
  } else {
    *known = false;
    return false;
  }
  return name == "out" || name == "source" || is_int;
}

// `tigerfg data index SHARDS...`: each shard is scanned and SHARD.idx written beside it.
int RunIndex(int argc, char** argv) {
  std::vector<std::string> specs(argv + 2, argv + argc);
  if (specs.empty()) {
    std::fprintf(stderr, "tigerfg data index: no shards given\n%s", kDataUsage);
    return 2;
  }
  StatusOr<int64_t> members = data::WriteShardIndexes(specs);
  if (!members.ok()) {
    std::fprintf(stderr, "tigerfg data index: %s\n", members.status().message().c_str());
    return 1;
  }
  std::printf("indexed %lld members\n", static_cast<long long>(*members));
  return 0;
}

int RunFmnist(int argc, char** argv) {
  data::FmnistOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kDataUsage, stdout);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      std::fprintf(stderr, "tigerfg data fmnist: unexpected argument '%s'\n", arg.c_str());
      return 2;
    }
    std::string name, value;
    if (!SplitDataFlag(argc, argv, &i, &name, &value)) return 2;
    bool known = true;
    const bool ok = SetFmnistFlag(name, value, &o, &known);
    if (!known) {
      std::fprintf(stderr, "tigerfg data fmnist: unknown flag --%s\n%s", name.c_str(), kDataUsage);
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "tigerfg data fmnist: bad value '%s' for --%s\n", value.c_str(),
                   name.c_str());
      return 2;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  StatusOr<data::FmnistReport> report = data::BuildFmnistBenchmark(o);
  if (!report.ok()) {
    std::fprintf(stderr, "tigerfg data fmnist: %s\n", report.status().message().c_str());
    return 1;
  }
  // Shards made here come with their indexes: training and evaluation read shards through them.
  const std::string& out = o.out_dir;
  std::vector<std::string> shards = {out + "/train/*.tar", out + "/eval_*/*.tar"};
  if (o.generic_train) shards.push_back(out + "/train_generic/*.tar");
  if (StatusOr<int64_t> indexed = data::WriteShardIndexes(shards); !indexed.ok()) {
    std::fprintf(stderr, "tigerfg data fmnist: %s\n", indexed.status().message().c_str());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s", report->Summary().c_str());
  std::printf(
      "wrote %s (train/, %seval_normal/, eval_cluttered/, vocab.txt, stats.json) in %.1f s\n",
      o.out_dir.c_str(), o.generic_train ? "train_generic/, " : "", seconds);
  return 0;
}

}  // namespace

int RunData(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kDataUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "index") == 0) return RunIndex(argc, argv);
  if (std::strcmp(argv[1], "synth") == 0 || std::strcmp(argv[1], "bench") == 0) {
    return RunDataBenchCommand(argc, argv);  // launcher/cmd_data_bench.cc
  }
  if (std::strcmp(argv[1], "fmnist") != 0) {
    std::fprintf(stderr, "tigerfg data: unknown dataset '%s'\n%s", argv[1], kDataUsage);
    return 2;
  }
  return RunFmnist(argc, argv);
}

}  // namespace tigerfg::launcher
