// tests/eval/inference_test.cc — the serving entry points (EncodeQueries, EncodeItems) give the
// training forward's embeddings for any number of rows up to the planned batch, with and
// without grounding and teacher.
#include <gtest/gtest.h>

#include <string>

#include "configs/config.h"
#include "model/tigerfg_model.h"
#include "runtime/core/rng.h"

namespace tigerfg {
namespace {

constexpr int64_t kBatch = 4;

config::ModelConfig MiniModel(const std::string& extra) {
  const std::string overrides =
      "model.query.image_size=16,model.query.width=16,model.query.depth=1,model.query.heads=2,"
      "model.item.image_size=16,model.item.width=16,model.item.depth=1,model.item.heads=2,"
      "model.text.vocab_size=32,model.text.max_len=5,model.text.width=12,model.text.depth=1,"
      "model.text.heads=2,model.teacher.image_size=16,model.teacher.width=8,"
      "model.ground_heads=2,model.embed_dim=8" +
      extra;
  auto run =
      config::LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt", overrides);
  CHECK(run.ok()) << run.status().message();
  return run->model();
}

Batch RandomBatch(const config::ModelConfig& cfg, uint64_t seed) {
  Rng rng(seed);
  Batch b;
  const int64_t len = cfg.text().max_len(), s = cfg.item().image_size();
  b.query_images =
      Buffer(DType::kF32, Shape{kBatch, 3, cfg.query().image_size(), cfg.query().image_size()});
  b.item_images = Buffer(DType::kF32, Shape{kBatch, 3, s, s});
  rng.FillNormal(b.query_images.tensor());
  rng.FillNormal(b.item_images.tensor());
  b.title_ids = Buffer(DType::kI64, Shape{kBatch, len});
  b.product_ids = Buffer(DType::kI64, Shape{kBatch});
  for (int64_t i = 0; i < kBatch; ++i) {
    for (int64_t j = 0; j < len; ++j)
      b.title_ids.i64()[i * len + j] = j == 0 ? 1 : (j <= i + 1 ? rng.Int(2, 32) : 0);
    b.product_ids.i64()[i] = i;
  }
  return b;
}

void ExpectRowsEqual(const Tensor& got, const Tensor& want, int64_t want_row0) {
  const int64_t e = got.dim(1);
  for (int64_t i = 0; i < got.dim(0); ++i)
    for (int64_t k = 0; k < e; ++k)
      EXPECT_NEAR(got.f32()[i * e + k], want.f32()[(want_row0 + i) * e + k], 1e-6)
          << "row " << i << " dim " << k;
}

void CheckServingMatchesTraining(const std::string& extra) {
  const config::ModelConfig cfg = MiniModel(extra);
  model::TigerFGModel m(cfg, kBatch, Context::Cpu());
  model::InitParams(m.table(), cfg, /*seed=*/5, m.params());
  const Batch batch = RandomBatch(cfg, /*seed=*/9);
  m.EncodeForward(batch);
  const int64_t e = m.embed_dim();
  Buffer q(DType::kF32, Shape{kBatch, e}), it(DType::kF32, Shape{kBatch, e});
  std::copy(m.query_emb().f32(), m.query_emb().f32() + kBatch * e, q.f32());
  std::copy(m.item_emb().f32(), m.item_emb().f32() + kBatch * e, it.f32());
  // Every window of rows: the full batch, a prefix, a middle slice, one row.
  for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, 4}, {0, 3}, {1, 3}, {3, 4}}) {
    SCOPED_TRACE("rows [" + std::to_string(begin) + ", " + std::to_string(end) + ")");
    const Tensor got_q = m.EncodeQueries(batch.query_images.tensor().Slice(begin, end));
    ASSERT_EQ(got_q.shape(), Shape({end - begin, e}));
    ExpectRowsEqual(got_q, q, begin);
    const Tensor got_i = m.EncodeItems(batch.item_images.tensor().Slice(begin, end),
                                       batch.title_ids.tensor().Slice(begin, end));
    ASSERT_EQ(got_i.shape(), Shape({end - begin, e}));
    ExpectRowsEqual(got_i, it, begin);
  }
  // The item embedding depends on the title: another title changes it.
  Buffer other(DType::kI64, Shape{1, cfg.text().max_len()});
  other.i64()[0] = 1;
  other.i64()[1] = 30;
  const Tensor changed = m.EncodeItems(batch.item_images.tensor().Slice(0, 1), other);
  double diff = 0;
  for (int64_t k = 0; k < e; ++k) diff += std::abs(changed.f32()[k] - it.f32()[k]);
  EXPECT_GT(diff, 1e-4);
}

TEST(Serving, GroundedWithTeacherMatchesTrainingForward) { CheckServingMatchesTraining(""); }

TEST(Serving, BaselineWithoutTeacherMatchesTrainingForward) {
  CheckServingMatchesTraining(",model.ground_layers=0,model.teacher=none");
}

}  // namespace
}  // namespace tigerfg
