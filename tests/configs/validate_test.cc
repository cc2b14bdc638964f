// tests/configs/validate_test.cc — ValidateConfig: each impossible value is rejected with a
// message that names the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "configs/config.h"

namespace tigerfg::config {
namespace {

using ::testing::HasSubstr;

RunConfig Tiny() {
  StatusOr<RunConfig> config =
      LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt", "");
  EXPECT_TRUE(config.ok()) << config.status().message();
  return config.ok() ? config.value() : RunConfig();
}

// Applies `mutate` to the tiny config and expects a validation error containing `expected`.
void ExpectInvalid(const std::function<void(RunConfig*)>& mutate, const std::string& expected) {
  RunConfig config = Tiny();
  ASSERT_TRUE(ValidateConfig(config).ok());
  mutate(&config);
  const Status status = ValidateConfig(config);
  ASSERT_FALSE(status.ok()) << "expected: " << expected;
  EXPECT_THAT(status.message(), HasSubstr(expected));
}

TEST(ValidateConfig, ShippedConfigsAreValid) {
  for (const char* name : {"tiny_cpu.prototxt", "small_cpu.prototxt", "vit_b16.prototxt"}) {
    StatusOr<RunConfig> config =
        LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/" + name, "");
    EXPECT_TRUE(config.ok()) << name << ": " << config.status().message();
  }
}

TEST(ValidateConfig, HeadsMustDivideWidth) {
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_text()->set_heads(5); },
                "model.text.heads: 5 does not divide width 48");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_query()->set_heads(3); },
                "model.query.heads: 3 does not divide width 64");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_item()->set_width(66); },
                "model.item.heads: 4 does not divide width 66");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_teacher()->set_heads(3); },
                "model.teacher.heads: 3 does not divide width 32");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_ground_heads(3); },
                "model.ground_heads: 3 does not divide model.item.width 64");
}

TEST(ValidateConfig, GroundHeadsIgnoredWithoutGrounding) {
  RunConfig config = Tiny();
  config.mutable_model()->set_ground_layers(0);
  config.mutable_model()->set_ground_heads(3);
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config).message();
  config.mutable_model()->set_ground_layers(-1);
  const Status status = ValidateConfig(config);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("model.ground_layers: -1"));
}

TEST(ValidateConfig, ImageSizeDivisibleByPatch) {
  ExpectInvalid(
      [](RunConfig* c) {
        c->mutable_model()->mutable_query()->set_image_size(30);
        c->mutable_model()->mutable_teacher()->set_image_size(30);
      },
      "model.query.image_size: 30 is not divisible by patch_size 8");
}

TEST(ValidateConfig, SizesMustBePositive) {
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_query()->set_depth(0); },
                "model.query.depth: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_item()->set_patch_size(0); },
                "model.item.patch_size: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_item()->set_channels(-3); },
                "model.item.channels: -3 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_query()->set_mlp_ratio(0); },
                "model.query.mlp_ratio: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_teacher()->set_width(-32); },
                "model.teacher.width: -32 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_text()->set_vocab_size(0); },
                "model.text.vocab_size: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_text()->set_max_len(0); },
                "model.text.max_len: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_text()->set_heads(0); },
                "model.text.heads: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_embed_dim(0); },
                "model.embed_dim: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_ground_heads(0); },
                "model.ground_heads: 0 must be positive");
}

TEST(ValidateConfig, TeacherMustMatchTheTowers) {
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_teacher()->set_patch_size(16); },
                "model.teacher: patch grid 2 (image_size 32 / patch_size 16) differs from the "
                "item grid 4");
  ExpectInvalid(
      [](RunConfig* c) {
        c->mutable_model()->mutable_query()->set_image_size(64);
        c->mutable_model()->mutable_query()->set_patch_size(16);
      },
      "model.teacher.image_size: 32 differs from model.query.image_size 64");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_teacher()->set_channels(1); },
                "model.teacher.channels: 1 differs from model.query.channels 3");
}

TEST(ValidateConfig, ModelSectionsRequired) {
  ExpectInvalid([](RunConfig* c) { c->clear_model(); }, "model: missing");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->clear_query(); }, "model.query: missing");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->clear_item(); }, "model.item: missing");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->clear_text(); }, "model.text: missing");
  RunConfig no_teacher = Tiny();
  no_teacher.mutable_model()->clear_teacher();
  EXPECT_TRUE(ValidateConfig(no_teacher).ok());
}

TEST(ValidateConfig, LossTerms) {
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_w_contrastive(-1); },
                "model.w_contrastive: -1 must not be negative");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_w_srd(-0.5f); },
                "model.w_srd: -0.5 must not be negative");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_w_sdd(-2); },
                "model.w_sdd: -2 must not be negative");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_tau_map(0); },
                "model.tau_map: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_tau_teacher(-0.1f); },
                "model.tau_teacher: -0.1 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_max_logit_scale(0); },
                "model.max_logit_scale: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_init_logit_scale(NAN); },
                "model.init_logit_scale: nan is not a finite number");
}

// srd_target: MASK needs grounding and an SRD weight; the message names the field and why.
TEST(ValidateConfig, MaskSrdTargetNeedsGroundingAndSrd) {
  ExpectInvalid(
      [](RunConfig* c) {
        c->mutable_model()->set_srd_target(ModelConfig::MASK);
        c->mutable_model()->set_ground_layers(0);
      },
      "model.srd_target: MASK distils into the grounding map, but model.ground_layers is 0");
  ExpectInvalid(
      [](RunConfig* c) {
        c->mutable_model()->set_srd_target(ModelConfig::MASK);
        c->mutable_model()->set_w_srd(0);
      },
      "model.srd_target: MASK is SRD's target, but model.w_srd is 0");
  RunConfig mask = Tiny();
  mask.mutable_model()->set_srd_target(ModelConfig::MASK);
  mask.mutable_model()->clear_teacher();  // the mask needs no teacher ViT
  EXPECT_TRUE(ValidateConfig(mask).ok()) << ValidateConfig(mask).message();
}

TEST(ValidateConfig, Optimizer) {
  ExpectInvalid([](RunConfig* c) { c->mutable_optim()->set_lr(-1e-3f); },
                "optim.lr: -0.001 must not be negative");
  ExpectInvalid([](RunConfig* c) { c->mutable_optim()->set_warmup_steps(-1); },
                "optim.warmup_steps: -1");
  ExpectInvalid([](RunConfig* c) { c->mutable_optim()->set_clip_grad_norm(-1); },
                "optim.clip_grad_norm: -1");
  ExpectInvalid([](RunConfig* c) { c->mutable_optim()->set_weight_decay(-0.1f); },
                "optim.weight_decay: -0.1");
  ExpectInvalid([](RunConfig* c) { c->mutable_optim()->set_beta1(1.0f); },
                "optim.beta1: 1 is outside [0, 1)");
  ExpectInvalid([](RunConfig* c) { c->mutable_optim()->set_beta2(-0.5f); },
                "optim.beta2: -0.5 is outside [0, 1)");
  ExpectInvalid([](RunConfig* c) { c->mutable_optim()->set_lr(INFINITY); },
                "optim.lr: inf is not a finite number");
}

TEST(ValidateConfig, TrainAndDist) {
  ExpectInvalid([](RunConfig* c) { c->mutable_train()->set_global_batch(0); },
                "train.global_batch: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_train()->set_steps(-1); },
                "train.steps: -1 must not be negative");
  ExpectInvalid([](RunConfig* c) { c->mutable_train()->set_device("gpu"); },
                "train.device: 'gpu' is not one of auto, cpu, cuda");
  ExpectInvalid([](RunConfig* c) { c->mutable_dist()->set_backend("gloo"); },
                "dist.backend: 'gloo' is not one of auto, local, mpi, nccl");
  ExpectInvalid([](RunConfig* c) { c->mutable_dist()->set_timeout_s(0); },
                "dist.timeout_s: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_dist()->set_bucket_mb(-1); },
                "dist.bucket_mb: -1 must be positive");
}

TEST(ValidateConfig, Data) {
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_mosaic_prob(1.5f); },
                "data.mosaic_prob: 1.5 is outside [0, 1]");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_hflip_prob(-0.1f); },
                "data.hflip_prob: -0.1 is outside [0, 1]");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_max_bad_fraction(2); },
                "data.max_bad_fraction: 2 is outside [0, 1]");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->add_mean(0.5f); },
                "data.mean: 4 values for 3 image channels");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->mutable_std()->RemoveLast(); },
                "data.std: 2 values for 3 image channels");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_std(1, 0); },
                "data.std[1]: 0 must be positive");
  RunConfig empty_mean = Tiny();
  empty_mean.mutable_data()->clear_mean();
  empty_mean.mutable_data()->clear_std();
  EXPECT_TRUE(ValidateConfig(empty_mean).ok());
}

// Defect: sizes that pass the old checks aborted later with a glog trace (a byte count, not the
// field) or ground for minutes; each is now a limit naming the field.
TEST(ValidateConfig, SizesHaveUpperLimitsNamingTheField) {
  ExpectInvalid([](RunConfig* c) { c->mutable_train()->set_global_batch(2147483647); },
                "train.global_batch: 2147483647 exceeds the limit 1048576");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_embed_dim(2147483647); },
                "model.embed_dim: 2147483647 exceeds the limit 65536");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_query()->set_depth(1000000); },
                "model.query.depth: 1000000 exceeds the limit 1024");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_text()->set_vocab_size(99999999); },
                "model.text.vocab_size: 99999999 exceeds the limit 4194304");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_item()->set_image_size(65536); },
                "model.item.image_size: 65536 exceeds the limit 8192");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->mutable_text()->set_max_len(100000); },
                "model.text.max_len: 100000 exceeds the limit 8192");
  ExpectInvalid([](RunConfig* c) { c->mutable_model()->set_ground_layers(5000); },
                "model.ground_layers: 5000 exceeds the limit 1024");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_loader_threads(100000); },
                "data.loader_threads: 100000 exceeds the limit 4096");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_prefetch(100000); },
                "data.prefetch: 100000 exceeds the limit 4096");
  ExpectInvalid([](RunConfig* c) { c->mutable_train()->set_threads(100000); },
                "train.threads: 100000 exceeds the limit 4096");
  ExpectInvalid([](RunConfig* c) { c->mutable_dist()->set_bucket_mb(1e9f); },
                "dist.bucket_mb: 1000000000 exceeds the limit 4096");
  ExpectInvalid([](RunConfig* c) { c->mutable_dist()->set_timeout_s(1e9f); },
                "dist.timeout_s: 1000000000 exceeds the limit 86400");
}

TEST(ValidateConfig, ShuffleWindowAndOpenShardsAreBounded) {
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_shuffle_window(0); },
                "data.shuffle_window: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_shuffle_window(int64_t{1} << 30); },
                "data.shuffle_window: 1073741824 exceeds the limit 16777216");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_max_open_shards(0); },
                "data.max_open_shards: 0 must be positive");
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_max_open_shards(100000); },
                "data.max_open_shards: 100000 exceeds the limit 65536");
}

TEST(ValidateConfig, BadCheckMinSeenMustNotBeNegative) {
  ExpectInvalid([](RunConfig* c) { c->mutable_data()->set_bad_check_min_seen(-5); },
                "data.bad_check_min_seen: -5 must not be negative");
}

// Every field within its limit, the sizes together still cannot fit any machine here: the
// error names the field that matters most, before anything is allocated.
TEST(ValidateConfig, ModelThatCannotFitThisMachineIsAnErrorNamingTheField) {
  ExpectInvalid(
      [](RunConfig* c) {
        c->mutable_model()->mutable_query()->set_depth(1000);
        c->mutable_model()->mutable_query()->set_width(65536);
        c->mutable_model()->mutable_query()->set_heads(4);
      },
      "the model needs");
  RunConfig config = Tiny();
  config.mutable_model()->mutable_text()->set_vocab_size(4000000);
  config.mutable_model()->mutable_text()->set_width(4096);
  const double machine = 23.0 * (1 << 30);
  const Status status = CheckMemoryFits(config, machine);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("model.text.vocab_size=4000000: the model needs"));
  EXPECT_THAT(status.message(), HasSubstr("this machine has 23.0 GiB"));
  // 16 bytes (parameter, gradient, two moments) per token-embedding entry alone: > 240 GiB.
  EXPECT_GT(EstimateMemory(config).state_bytes, 16.0 * 4000000 * 4096);
  EXPECT_TRUE(CheckMemoryFits(Tiny(), machine).ok());
  // A batch per rank that does not fit names the global batch.
  RunConfig batch = Tiny();
  batch.mutable_train()->set_global_batch(1048576);
  const Status big_batch = CheckMemoryFits(batch, machine, /*local_batch=*/1048576);
  ASSERT_FALSE(big_batch.ok());
  EXPECT_THAT(big_batch.message(), HasSubstr("train.global_batch=1048576"));
}

TEST(ValidateConfig, ReportsEveryError) {
  RunConfig config = Tiny();
  config.mutable_train()->set_global_batch(0);
  config.mutable_dist()->set_backend("x");
  const Status status = ValidateConfig(config);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("train.global_batch"));
  EXPECT_THAT(status.message(), HasSubstr("dist.backend"));
}

}  // namespace
}  // namespace tigerfg::config
