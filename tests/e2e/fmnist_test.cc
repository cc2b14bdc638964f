// tests/e2e/fmnist_test.cc — the Fashion-MNIST retrieval path as a user runs it, on a reduced
// benchmark: build it, train the baseline config briefly, evaluate (Recall@1 far above chance;
// the benchmark's metrics, controls and the teacher check; the mask teacher),
// and embed the catalogue to .npy at 1 and 2 ranks (numpy reads it; ranks agree; the numpy
// ranking of the embeddings reproduces eval's Recall@1).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/testing/shell.h"

namespace {

using tigerfg::testing::Shell;
using tigerfg::testing::ShellResult;
using tigerfg::testing::TempDir;

const std::string kBinary = "OMP_WAIT_POLICY=passive " + std::string(TIGERFG_BINARY);
const std::string kMpirun = std::string(TIGERFG_MPIEXEC) + " --oversubscribe --allow-run-as-root";
const std::string kConfig = std::string(TIGERFG_SOURCE_DIR) + "/configs/fmnist_baseline.prototxt";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class FmnistTest : public ::testing::Test {
 protected:
  // One reduced benchmark and one trained model for all tests of the suite.
  static void SetUpTestSuite() {
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) return;
    dir_ = new std::string(TempDir("fmnist"));
    const std::string& d = *dir_;
    ShellResult data = Shell(kBinary +
                             " data fmnist --train_listings 3000 --eval_queries 200 "
                             "--eval_gallery 400 --shard_size 500 --max_source_images 3000 --out " +
                             d + "/bench");
    ASSERT_EQ(data.exit_code, 0) << data.output;
    *paths_ =
        "data.train_shards=" + d + "/bench/train/shard-*.tar,data.vocab=" + d + "/bench/vocab.txt";
    ShellResult train = Shell(kBinary + " train --config " + kConfig + " --set '" + *paths_ +
                              ",train.global_batch=32' --steps 250 --out_dir " + d + "/run");
    ASSERT_EQ(train.exit_code, 0) << train.output;
    trained_ = true;
  }
  static void TearDownTestSuite() {
    if (dir_) std::filesystem::remove_all(*dir_);
  }
  void SetUp() override {
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
      GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    ASSERT_TRUE(trained_) << "building the benchmark or training failed";
  }
  std::string Eval(const std::string& extra) const {
    return kBinary + " eval --config " + kConfig + " --set '" + *paths_ + "' --weights " + *dir_ +
           "/run/final.safetensors --eval_set " + *dir_ + "/bench/eval_normal," + *dir_ +
           "/bench/eval_cluttered " + extra;
  }
  static std::string* dir_;
  static std::string* paths_;
  static bool trained_;
};

std::string* FmnistTest::dir_ = nullptr;
std::string* FmnistTest::paths_ = new std::string();
bool FmnistTest::trained_ = false;

TEST_F(FmnistTest, TrainedBaselineRetrievesFarAboveChance) {
  const std::string out = *dir_ + "/eval.json";
  ShellResult r = Shell(Eval("--out " + out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("eval_cluttered"), std::string::npos) << r.output;
  const auto report = nlohmann::json::parse(ReadFile(out));
  ASSERT_EQ(report["results"].size(), 2u);
  const auto& normal = report["results"][0];
  EXPECT_EQ(normal["set"], "eval_normal");
  EXPECT_EQ(normal["queries"], 200);
  EXPECT_EQ(normal["gallery"], 400);
  const double chance = normal["chance@1"], r1 = normal["recall@1"];
  EXPECT_GT(r1, 5 * chance) << "Recall@1 " << r1 << ", chance " << chance;
  for (const auto& set : report["results"]) {
    EXPECT_LE(set["recall@1"].get<double>(), set["recall@5"].get<double>());
    EXPECT_LE(set["recall@5"].get<double>(), set["recall@10"].get<double>());
  }
  // The generic-title ablation runs and reports the same sets.
  ShellResult generic = Shell(Eval("--title_mode=generic --out " + *dir_ + "/generic.json"));
  ASSERT_EQ(generic.exit_code, 0) << generic.output;
  EXPECT_EQ(nlohmann::json::parse(ReadFile(*dir_ + "/generic.json"))["results"].size(), 2u);
}

TEST_F(FmnistTest, BadEvalFlagsAreClearErrors) {
  ShellResult no_weights = Shell(kBinary + " eval --config " + kConfig + " --set '" + *paths_ +
                                 "' --eval_set " + *dir_ + "/bench/eval_normal");
  EXPECT_NE(no_weights.exit_code, 0);
  EXPECT_NE(no_weights.output.find("--weights"), std::string::npos) << no_weights.output;
  ShellResult mode = Shell(Eval("--title_mode=none"));
  EXPECT_NE(mode.exit_code, 0);
  EXPECT_NE(mode.output.find("--title_mode"), std::string::npos) << mode.output;
  ShellResult missing =
      Shell(kBinary + " eval --config " + kConfig + " --set '" + *paths_ + "' --weights " + *dir_ +
            "/run/final.safetensors --eval_set " + *dir_ + "/nothing_here");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("nothing_here"), std::string::npos) << missing.output;
}

// The benchmark's own metrics: attribute-matched Recall@1 and the text-only oracle, the
// controls (generic titles, blanked images) in one pass, and the teacher check with the trained
// baseline's query tower as the teacher of the distillation config.
TEST_F(FmnistTest, EvalReportsBenchmarkMetricsAndTheTeacherCheck) {
  const std::string out = *dir_ + "/controls.json";
  ShellResult r = Shell(Eval("--controls --out " + out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = nlohmann::json::parse(ReadFile(out));
  for (const auto& set : report["results"]) {
    for (const char* key : {"recall@1_attribute_matched", "text_oracle@1",
                            "attribute_group_listings", "generic_titles", "blank_images"})
      EXPECT_TRUE(set.contains(key)) << key << " in " << set.dump();
    EXPECT_FALSE(set.contains("ground_on_product")) << "the baseline has no grounding";
    EXPECT_GT(set["attribute_group_listings"].get<double>(), 3);
    EXPECT_LT(set["text_oracle@1"].get<double>(), 0.5);
    EXPECT_GE(set["recall@1_attribute_matched"].get<double>(), set["recall@1"].get<double>());
  }
  const std::string distill = std::string(TIGERFG_SOURCE_DIR) + "/configs/fmnist_distill.prototxt";
  ShellResult teacher =
      Shell(kBinary + " eval --config " + distill + " --set '" + *paths_ +
            "' --teacher_only --teacher_weights " + *dir_ + "/run/final.safetensors --eval_set " +
            *dir_ + "/bench/eval_cluttered --out " + *dir_ + "/teacher.json");
  EXPECT_TRUE(teacher.exit_code == 0 || teacher.exit_code == 3) << teacher.output;
  EXPECT_NE(teacher.output.find("a uniform map"), std::string::npos) << teacher.output;
  const auto t = nlohmann::json::parse(ReadFile(*dir_ + "/teacher.json"))["results"][0];
  const double on = t["teacher_on_product"], uniform = t["teacher_uniform"];
  EXPECT_EQ(teacher.exit_code == 3, on <= uniform) << teacher.output;
  EXPECT_GT(uniform, 0.1);  // a cluttered target covers about 4 of 16 patches
  EXPECT_LT(uniform, 0.4);
  ShellResult allowed =
      Shell(kBinary + " eval --config " + distill + " --set '" + *paths_ +
            "' --teacher_only --allow_weak_teacher --teacher_weights " + *dir_ +
            "/run/final.safetensors --eval_set " + *dir_ + "/bench/eval_cluttered");
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
}

// The mask teacher (model.srd_target MASK): trains from the training listings' target_box with
// an SRD term and no teacher ViT; eval reports the mask's mass on the product as the teacher's
// (about 1, labelled an upper bound), and the teacher check passes without --teacher_weights.
TEST_F(FmnistTest, MaskTeacherTrainsAndEvalReportsItsMassAsAnUpperBound) {
  const std::string& d = *dir_;
  const std::string mask = std::string(TIGERFG_SOURCE_DIR) + "/configs/fmnist_srd_mask.prototxt";
  ShellResult train =
      Shell(kBinary + " train --config " + mask + " --set '" + *paths_ +
            ",train.global_batch=16,train.log_every=1' --steps 4 --out_dir " + d + "/mask_run");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(ReadFile(d + "/mask_run/metrics.jsonl").find("\"srd\""), std::string::npos);
  ShellResult ev = Shell(kBinary + " eval --config " + mask + " --set '" + *paths_ +
                         "' --weights " + d + "/mask_run/final.safetensors --eval_set " + d +
                         "/bench/eval_cluttered --out " + d + "/mask_eval.json");
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("upper bound"), std::string::npos) << ev.output;
  const auto r = nlohmann::json::parse(ReadFile(d + "/mask_eval.json"))["results"][0];
  EXPECT_EQ(r["teacher"], "mask (upper bound)");
  EXPECT_GT(r["teacher_on_product"].get<double>(), 0.9);
  EXPECT_LE(r["teacher_on_product"].get<double>(), 1.0 + 1e-9);
  EXPECT_LT(r["teacher_uniform"].get<double>(), 0.4);
  ShellResult check = Shell(kBinary + " eval --config " + mask + " --set '" + *paths_ +
                            "' --teacher_only --eval_set " + d + "/bench/eval_cluttered");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("mask teacher"), std::string::npos) << check.output;
}

// Catalogue and query embeddings as .npy: numpy reads them with the right shape, 2 ranks write
// what 1 rank writes, and ranking them in numpy gives eval's Recall@1 and mAP.
TEST_F(FmnistTest, EmbedWritesNpyThatReproducesEval) {
  if (Shell("/usr/bin/python3 -c 'import numpy'").exit_code != 0)
    GTEST_SKIP() << "python3-numpy is not installed";
  const std::string& d = *dir_;
  const std::string embed = " embed --config " + kConfig + " --set '" + *paths_ + "' --weights " +
                            d + "/run/final.safetensors";
  const std::string set = d + "/bench/eval_cluttered";
  ShellResult items = Shell(kBinary + embed + " --tower item --data '" + set +
                            "/gallery-*.tar' --out " + d + "/items");
  ASSERT_EQ(items.exit_code, 0) << items.output;
  ShellResult queries = Shell(kBinary + embed + " --tower query --data '" + set +
                              "/queries-*.tar' --out " + d + "/queries.npy");
  ASSERT_EQ(queries.exit_code, 0) << queries.output;
  ShellResult two =
      Shell("OMP_WAIT_POLICY=passive " + kMpirun + " -np 2 " + std::string(TIGERFG_BINARY) + embed +
            " --tower item --data '" + set + "/gallery-*.tar' --out " + d + "/items2");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_EQ(ReadFile(d + "/items.keys.tsv"), ReadFile(d + "/items2.keys.tsv"));
  ShellResult ev = Shell(Eval("--out " + d + "/eval_embed.json"));
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  const auto cluttered = nlohmann::json::parse(ReadFile(d + "/eval_embed.json"))["results"][1];

  // Pessimistic ties as in runtime/eval/retrieval.h: a hit ranks after every non-hit >= it.
  const std::string script =
      "import numpy as np, sys\n"
      "d = sys.argv[1]\n"
      "g = np.load(d + '/items.npy'); g2 = np.load(d + '/items2.npy'); q = np.load(d + "
      "'/queries.npy')\n"
      "assert g.dtype == np.float32 and g.shape == (400, 64), (g.dtype, g.shape)\n"
      "assert q.shape == (200, 64), q.shape\n"
      "assert np.allclose(g, g2, atol=1e-5), np.abs(g - g2).max()\n"
      "gid = np.array([int(l.split('\\t')[1]) for l in open(d + '/items.keys.tsv')])\n"
      "qid = np.array([int(l.split('\\t')[1]) for l in open(d + '/queries.keys.tsv')])\n"
      "assert len(gid) == 400 and len(qid) == 200\n"
      "s = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (g / np.linalg.norm(g, axis=1, "
      "keepdims=True)).T\n"
      "r1 = 0; ap = 0\n"
      "for i in range(len(q)):\n"
      "  hit = gid == qid[i]; miss = s[i][~hit]; hs = np.sort(s[i][hit])[::-1]\n"
      "  ranks = [j + 1 + int((miss >= h).sum()) for j, h in enumerate(hs)]\n"
      "  r1 += ranks[0] == 1; ap += np.mean([(j + 1) / r for j, r in enumerate(ranks)])\n"
      "print('%.9f %.9f' % (r1 / len(q), ap / len(q)))\n";
  std::ofstream(d + "/check.py") << script;
  ShellResult check = Shell("/usr/bin/python3 " + d + "/check.py " + d);
  ASSERT_EQ(check.exit_code, 0) << check.output;
  double r1 = -1, map = -1;
  std::istringstream(check.output) >> r1 >> map;
  EXPECT_NEAR(r1, cluttered["recall@1"].get<double>(), 1e-9) << check.output;
  EXPECT_NEAR(map, cluttered["map"].get<double>(), 1e-4) << check.output;
}

}  // namespace
