// configs/validate.cc — ValidateConfig: every impossible value of a RunConfig is an error that
// names the field ("model.text.heads: 5 does not divide width 48"); all errors are reported.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cmath>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "configs/config.h"
#include "configs/limits.h"

namespace tigerfg::config {
namespace {

namespace pb = google::protobuf;

std::string Str(double v) {
  std::ostringstream out;
  // Integral values (sizes, counts) exactly: 2147483647, not 2.14748e+09.
  if (std::abs(v) < 9e15 && v == std::floor(v)) {
    out << static_cast<int64_t>(v);
  } else {
    out << v;
  }
  return out.str();
}

class Checker {
 public:
  void Fail(const std::string& field, const std::string& what) {
    errors_.push_back(field + ": " + what);
  }
  void Positive(const std::string& field, double v) {
    if (!(v > 0)) Fail(field, Str(v) + " must be positive");
  }
  void NonNegative(const std::string& field, double v) {
    if (!(v >= 0)) Fail(field, Str(v) + " must not be negative");
  }
  // An upper limit on a size: beyond it a value exhausts memory or time long before it can help
  // (README "Config limits").
  void AtMost(const std::string& field, double v, double limit) {
    if (v > limit) Fail(field, Str(v) + " exceeds the limit " + Str(limit));
  }
  bool ok() const { return errors_.empty(); }
  // lo <= v <= hi, or lo <= v < hi when `open_above`.
  void InRange(const std::string& field, double v, double lo, double hi, bool open_above = false) {
    const bool ok = v >= lo && (open_above ? v < hi : v <= hi);
    if (!ok) {
      Fail(field, Str(v) + " is outside [" + Str(lo) + ", " + Str(hi) + (open_above ? ")" : "]"));
    }
  }
  void OneOf(const std::string& field, const std::string& v,
             std::initializer_list<const char*> allowed) {
    std::string names;
    for (const char* a : allowed) {
      if (v == a) return;
      names += (names.empty() ? "" : ", ") + std::string(a);
    }
    Fail(field, "'" + v + "' is not one of " + names);
  }
  void HeadsDivideWidth(const std::string& prefix, int heads, int width,
                        const std::string& heads_name = "heads",
                        const std::string& width_name = "width") {
    if (heads > 0 && width > 0 && width % heads != 0) {
      Fail(prefix + heads_name,
           std::to_string(heads) + " does not divide " + width_name + " " + std::to_string(width));
    }
  }

  // NaN and infinities pass every comparison-based check the wrong way; reject them everywhere.
  void AllFinite(const pb::Message& message, const std::string& prefix) {
    const pb::Descriptor* descriptor = message.GetDescriptor();
    const pb::Reflection* reflection = message.GetReflection();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const pb::FieldDescriptor* field = descriptor->field(i);
      const std::string name = prefix + field->name();
      const int n = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
      for (int j = 0; j < n; ++j) {
        const std::string where =
            field->is_repeated() ? name + "[" + std::to_string(j) + "]" : name;
        double v = 0;
        switch (field->cpp_type()) {
          case pb::FieldDescriptor::CPPTYPE_FLOAT:
            v = field->is_repeated() ? reflection->GetRepeatedFloat(message, field, j)
                                     : reflection->GetFloat(message, field);
            break;
          case pb::FieldDescriptor::CPPTYPE_DOUBLE:
            v = field->is_repeated() ? reflection->GetRepeatedDouble(message, field, j)
                                     : reflection->GetDouble(message, field);
            break;
          case pb::FieldDescriptor::CPPTYPE_MESSAGE:
            if (field->is_repeated()) {
              AllFinite(reflection->GetRepeatedMessage(message, field, j), where + ".");
            } else if (reflection->HasField(message, field)) {
              AllFinite(reflection->GetMessage(message, field), where + ".");
            }
            continue;
          default:
            continue;
        }
        if (!std::isfinite(v)) Fail(where, Str(v) + " is not a finite number");
      }
    }
  }

  Status Result() const {
    if (errors_.empty()) return Status::Ok();
    std::string message;
    for (const std::string& e : errors_) message += (message.empty() ? "" : "; ") + e;
    return Status::Error(message);
  }

 private:
  std::vector<std::string> errors_;
};

void CheckViT(Checker& check, const std::string& name, const ViTConfig& vit) {
  const std::string p = name + ".";
  check.Positive(p + "image_size", vit.image_size());
  check.Positive(p + "patch_size", vit.patch_size());
  check.Positive(p + "channels", vit.channels());
  check.Positive(p + "width", vit.width());
  check.Positive(p + "depth", vit.depth());
  check.Positive(p + "heads", vit.heads());
  check.Positive(p + "mlp_ratio", vit.mlp_ratio());
  if (vit.image_size() > 0 && vit.patch_size() > 0 && vit.image_size() % vit.patch_size() != 0) {
    check.Fail(p + "image_size", std::to_string(vit.image_size()) +
                                     " is not divisible by patch_size " +
                                     std::to_string(vit.patch_size()));
  }
  check.HeadsDivideWidth(p, vit.heads(), vit.width());
  check.AtMost(p + "image_size", vit.image_size(), limits::kMaxImageSize);
  check.AtMost(p + "channels", vit.channels(), limits::kMaxChannels);
  check.AtMost(p + "width", vit.width(), limits::kMaxWidth);
  check.AtMost(p + "depth", vit.depth(), limits::kMaxDepth);
  check.AtMost(p + "mlp_ratio", vit.mlp_ratio(), limits::kMaxMlpRatio);
}

void CheckText(Checker& check, const TextConfig& text) {
  const std::string p = "model.text.";
  check.Positive(p + "vocab_size", text.vocab_size());
  check.Positive(p + "max_len", text.max_len());
  check.Positive(p + "width", text.width());
  check.Positive(p + "depth", text.depth());
  check.Positive(p + "heads", text.heads());
  check.Positive(p + "mlp_ratio", text.mlp_ratio());
  check.HeadsDivideWidth(p, text.heads(), text.width());
  check.AtMost(p + "vocab_size", text.vocab_size(), limits::kMaxVocab);
  check.AtMost(p + "max_len", text.max_len(), limits::kMaxTextLen);
  check.AtMost(p + "width", text.width(), limits::kMaxWidth);
  check.AtMost(p + "depth", text.depth(), limits::kMaxDepth);
  check.AtMost(p + "mlp_ratio", text.mlp_ratio(), limits::kMaxMlpRatio);
}

int Grid(const ViTConfig& vit) {
  return vit.patch_size() > 0 ? vit.image_size() / vit.patch_size() : 0;
}

// The teacher embeds the query crops and the item images with one positional table, and its
// patch tokens are matched one-to-one with the item tower's grounding map.
void CheckTeacher(Checker& check, const ModelConfig& model) {
  const ViTConfig& teacher = model.teacher();
  CheckViT(check, "model.teacher", teacher);
  if (Grid(teacher) != Grid(model.item())) {
    check.Fail("model.teacher", "patch grid " + std::to_string(Grid(teacher)) + " (image_size " +
                                    std::to_string(teacher.image_size()) + " / patch_size " +
                                    std::to_string(teacher.patch_size()) +
                                    ") differs from the item grid " +
                                    std::to_string(Grid(model.item())));
  }
  if (teacher.image_size() != model.query().image_size()) {
    check.Fail("model.teacher.image_size", std::to_string(teacher.image_size()) +
                                               " differs from model.query.image_size " +
                                               std::to_string(model.query().image_size()) +
                                               " (the teacher embeds the query crops)");
  }
  if (teacher.image_size() != model.item().image_size()) {
    check.Fail("model.teacher.image_size", std::to_string(teacher.image_size()) +
                                               " differs from model.item.image_size " +
                                               std::to_string(model.item().image_size()) +
                                               " (the teacher embeds the item images)");
  }
  for (const auto& [tower, vit] :
       {std::pair<const char*, const ViTConfig*>{"query", &model.query()},
        {"item", &model.item()}}) {
    if (teacher.channels() != vit->channels()) {
      check.Fail("model.teacher.channels", std::to_string(teacher.channels()) +
                                               " differs from model." + tower + ".channels " +
                                               std::to_string(vit->channels()));
    }
  }
}

void CheckModel(Checker& check, const RunConfig& config) {
  if (!config.has_model()) {
    check.Fail("model", "missing (the model section is required)");
    return;
  }
  const ModelConfig& model = config.model();
  const char* required[] = {"query", "item", "text"};
  const bool present[] = {model.has_query(), model.has_item(), model.has_text()};
  for (int i = 0; i < 3; ++i) {
    if (!present[i]) check.Fail(std::string("model.") + required[i], "missing (required)");
  }
  if (!present[0] || !present[1] || !present[2]) return;
  CheckViT(check, "model.query", model.query());
  CheckViT(check, "model.item", model.item());
  CheckText(check, model.text());
  if (model.has_teacher()) CheckTeacher(check, model);

  check.NonNegative("model.ground_layers", model.ground_layers());
  if (model.ground_layers() > 0) {
    check.Positive("model.ground_heads", model.ground_heads());
    check.HeadsDivideWidth("model.", model.ground_heads(), model.item().width(), "ground_heads",
                           "model.item.width");
  }
  check.AtMost("model.ground_layers", model.ground_layers(), limits::kMaxDepth);
  check.Positive("model.embed_dim", model.embed_dim());
  check.AtMost("model.embed_dim", model.embed_dim(), limits::kMaxWidth);
  check.NonNegative("model.w_contrastive", model.w_contrastive());
  check.NonNegative("model.w_srd", model.w_srd());
  check.NonNegative("model.w_sdd", model.w_sdd());
  check.Positive("model.tau_map", model.tau_map());
  check.Positive("model.tau_teacher", model.tau_teacher());
  check.Positive("model.max_logit_scale", model.max_logit_scale());
  if (model.srd_target() == ModelConfig::MASK) {
    // The mask is SRD's target for the grounding map: without grounding or SRD weight it would
    // silently do nothing.
    if (model.ground_layers() == 0)
      check.Fail("model.srd_target",
                 "MASK distils into the grounding map, but model.ground_layers is 0");
    if (!(model.w_srd() > 0))
      check.Fail("model.srd_target", "MASK is SRD's target, but model.w_srd is 0 (no SRD term)");
  }
}

void CheckData(Checker& check, const RunConfig& config) {
  const DataConfig& data = config.data();
  check.NonNegative("data.loader_threads", data.loader_threads());
  check.AtMost("data.loader_threads", data.loader_threads(), limits::kMaxThreads);
  check.NonNegative("data.prefetch", data.prefetch());
  check.AtMost("data.prefetch", data.prefetch(), limits::kMaxThreads);
  for (const auto& [name, values] :
       {std::pair<const char*, const pb::RepeatedField<float>*>{"data.mean", &data.mean()},
        {"data.std", &data.std()}}) {
    for (const ViTConfig* vit : {&config.model().query(), &config.model().item()}) {
      if (!values->empty() && values->size() != vit->channels()) {
        check.Fail(name, std::to_string(values->size()) + " values for " +
                             std::to_string(vit->channels()) +
                             " image channels (give one per channel, or none for 0.5)");
        break;
      }
    }
  }
  for (int c = 0; c < data.std_size(); ++c) {
    check.Positive("data.std[" + std::to_string(c) + "]", data.std(c));
  }
  check.InRange("data.hflip_prob", data.hflip_prob(), 0, 1);
  check.InRange("data.mosaic_prob", data.mosaic_prob(), 0, 1);
  check.Positive("data.mosaic_grid", data.mosaic_grid());
  check.AtMost("data.mosaic_grid", data.mosaic_grid(), limits::kMaxMosaicGrid);
  check.InRange("data.max_bad_fraction", data.max_bad_fraction(), 0, 1);
  check.NonNegative("data.bad_check_min_seen", static_cast<double>(data.bad_check_min_seen()));
  check.NonNegative("data.synthetic_products", data.synthetic_products());
  check.Positive("data.shuffle_window", static_cast<double>(data.shuffle_window()));
  check.AtMost("data.shuffle_window", static_cast<double>(data.shuffle_window()),
               limits::kMaxShuffleWindow);
  check.Positive("data.max_open_shards", data.max_open_shards());
  check.AtMost("data.max_open_shards", data.max_open_shards(), limits::kMaxOpenShards);
}

void CheckOptim(Checker& check, const OptimConfig& optim) {
  check.NonNegative("optim.lr", optim.lr());
  check.NonNegative("optim.weight_decay", optim.weight_decay());
  check.InRange("optim.beta1", optim.beta1(), 0, 1, /*open_above=*/true);
  check.InRange("optim.beta2", optim.beta2(), 0, 1, /*open_above=*/true);
  check.Positive("optim.eps", optim.eps());
  check.NonNegative("optim.warmup_steps", optim.warmup_steps());
  check.InRange("optim.min_lr_ratio", optim.min_lr_ratio(), 0, 1);
  check.NonNegative("optim.clip_grad_norm", optim.clip_grad_norm());
}

void CheckTrain(Checker& check, const TrainConfig& train) {
  check.Positive("train.global_batch", train.global_batch());
  check.AtMost("train.global_batch", train.global_batch(), limits::kMaxGlobalBatch);
  check.NonNegative("train.steps", train.steps());
  check.NonNegative("train.log_every", train.log_every());
  check.NonNegative("train.checkpoint_every", train.checkpoint_every());
  check.NonNegative("train.keep_last", train.keep_last());
  check.NonNegative("train.threads", train.threads());
  check.AtMost("train.threads", train.threads(), limits::kMaxThreads);
  check.NonNegative("train.eval_every", train.eval_every());
  check.OneOf("train.device", train.device(), {"auto", "cpu", "cuda"});
  check.NonNegative("train.micro_batch", train.micro_batch());
  if (train.micro_batch() > 0 && train.global_batch() > 0 &&
      train.global_batch() % train.micro_batch() != 0) {
    check.Fail("train.micro_batch", std::to_string(train.micro_batch()) +
                                        " does not divide train.global_batch " +
                                        std::to_string(train.global_batch()));
  }
}

void CheckDist(Checker& check, const DistConfig& dist) {
  check.Positive("dist.timeout_s", dist.timeout_s());
  check.AtMost("dist.timeout_s", dist.timeout_s(), limits::kMaxTimeoutS);
  check.Positive("dist.bucket_mb", dist.bucket_mb());
  check.AtMost("dist.bucket_mb", dist.bucket_mb(), limits::kMaxBucketMb);
  check.OneOf("dist.backend", dist.backend(), {"auto", "local", "mpi", "nccl"});
}

}  // namespace

Status ValidateConfig(const RunConfig& config) {
  Checker check;
  check.AllFinite(config, "");
  CheckModel(check, config);
  CheckData(check, config);
  CheckOptim(check, config.optim());
  CheckTrain(check, config.train());
  CheckDist(check, config.dist());
  check.Positive("export.onnx_opset", config.export_().onnx_opset());
  // Sizes combine (depth x width x vocab ...): with every field in range, the model must still
  // fit this machine at one sample per rank, checked before anything is allocated.
  if (check.ok() && config.has_model()) {
    TIGERFG_RETURN_IF_ERROR(
        CheckMemoryFits(config, static_cast<double>(PhysicalMemoryBytes()), /*local_batch=*/1));
  }
  return check.Result();
}

}  // namespace tigerfg::config
