// configs/memory_estimate.cc — what a training rank of a config needs in memory (parameters,
// gradients, AdamW moments, activations), computed from the sizes alone before anything is
// allocated, and the check of that against this machine's memory that ValidateConfig runs.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "configs/config.h"

namespace tigerfg::config {
namespace {

namespace pb = google::protobuf;

// Sizes are products of int32 fields; doubles hold them without overflow (2^31^4 ~ 2^124).
double VitParams(const ViTConfig& c) {
  const double d = c.width(), r = c.mlp_ratio(), p = c.patch_size();
  const double grid = c.patch_size() > 0 ? c.image_size() / c.patch_size() : 0;
  const double block = (4 + 2 * r) * d * d + (9 + r) * d;  // ln1, qkv, proj, ln2, fc1, fc2
  return d + (grid * grid + 1) * d + d * c.channels() * p * p + d + c.depth() * block + 2 * d;
}

double TextParams(const TextConfig& c) {
  const double d = c.width(), r = c.mlp_ratio();
  const double block = (4 + 2 * r) * d * d + (9 + r) * d;
  return c.max_len() * d + static_cast<double>(c.vocab_size()) * d + c.depth() * block + 2 * d;
}

// One sample's activations in one tower (model/vit.cc, model/transformer_block.cc): the stored
// block activations (every block, or one with recomputation or when frozen) and the residual
// stream. The scratch and small per-layer tensors are left out: this is a lower bound.
double TowerActivations(double seq, double d, double heads, double ratio, double depth,
                        bool trainable, bool recompute, double act_bytes) {
  const double stored = trainable && !recompute ? depth : 1;
  const double attention = act_bytes == 4 ? 4 * heads * seq * seq : 4 * heads * seq;
  const double block = act_bytes * seq * d * (6 + 2 * ratio) + 4 * seq * (d + 4) + attention;
  const double stream = (trainable ? depth + 1 : 1) * seq * d * 4;
  return stored * block + stream;
}

double VitActivations(const ViTConfig& c, bool trainable, bool recompute, double act_bytes) {
  const double grid = c.patch_size() > 0 ? c.image_size() / c.patch_size() : 0;
  return TowerActivations(grid * grid + 1, c.width(), c.heads(), c.mlp_ratio(), c.depth(),
                          trainable, recompute, act_bytes);
}

std::string Bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char text[64];
  std::snprintf(text, sizeof(text), u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return text;
}

// The size fields (integers of the model sections and train.global_batch) and where they live.
struct SizeField {
  std::string name;
  pb::Message* message;
  const pb::FieldDescriptor* field;
};

std::vector<SizeField> SizeFields(RunConfig* config) {
  std::vector<SizeField> fields;
  auto add_all = [&fields](const std::string& prefix, pb::Message* message) {
    const pb::Descriptor* d = message->GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32 && !f->is_repeated())
        fields.push_back({prefix + f->name(), message, f});
    }
  };
  ModelConfig* model = config->mutable_model();
  add_all("model.", model);
  add_all("model.query.", model->mutable_query());
  add_all("model.item.", model->mutable_item());
  add_all("model.text.", model->mutable_text());
  if (model->has_teacher()) add_all("model.teacher.", model->mutable_teacher());
  const pb::FieldDescriptor* batch = TrainConfig::descriptor()->FindFieldByName("global_batch");
  fields.push_back({"train.global_batch", config->mutable_train(), batch});
  return fields;
}

}  // namespace

ParamCounts CountParams(const ModelConfig& model) {
  ParamCounts n;
  const double dq = model.query().width(), dv = model.item().width(), dt = model.text().width();
  const double e = model.embed_dim();
  n.trainable = 1 + VitParams(model.query()) + dq * e + VitParams(model.item()) +
                TextParams(model.text()) + (dv + dt) * e;
  if (model.ground_layers() > 0)
    n.trainable += dt * dv + dv + model.ground_layers() * (12 * dv * dv + 15 * dv) + 2 * dv;
  if (model.has_teacher()) n.frozen = VitParams(model.teacher());
  return n;
}

MemoryEstimate EstimateMemory(const RunConfig& config) {
  const ModelConfig& m = config.model();
  const bool recompute = config.train().recompute_blocks();
  const double act = config.train().precision() == BF16 ? 2 : 4;
  MemoryEstimate est;
  const ParamCounts params = CountParams(m);
  // fp32 parameters, gradients and both AdamW moments; the frozen teacher has parameters only.
  est.state_bytes = 16 * params.trainable + 4 * params.frozen;
  const TextConfig& t = m.text();
  est.activation_bytes_per_sample =
      VitActivations(m.query(), true, recompute, act) +
      VitActivations(m.item(), true, recompute, act) +
      TowerActivations(t.max_len(), t.width(), t.heads(), t.mlp_ratio(), t.depth(), true, recompute,
                       act) +
      (m.has_teacher() ? 2 * VitActivations(m.teacher(), false, false, act) : 0);
  // Every rank gathers the whole batch's embeddings (q, e and their gradients, [G, E]) and holds
  // its rows' logits against all of them (row, column and their gradients, [b, G]).
  const double g = config.train().global_batch();
  est.global_batch_bytes = 4 * g * m.embed_dim() * 4;
  est.activation_bytes_per_sample += 4 * g * 4;
  return est;
}

uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

Status CheckMemoryFits(const RunConfig& config, double machine_bytes, int64_t local_batch) {
  if (!(machine_bytes > 0)) return Status::Ok();  // unknown: nothing to check against
  const MemoryEstimate est = EstimateMemory(config);
  const double need = est.total(local_batch);
  if (need <= machine_bytes) return Status::Ok();
  // Blame the size field whose reduction to its default saves the most.
  RunConfig probe = config;
  std::string blamed = "model";
  double best_saving = -1;
  for (const SizeField& f : SizeFields(&probe)) {
    const pb::Reflection* r = f.message->GetReflection();
    const int32_t value = r->GetInt32(*f.message, f.field);
    const int32_t reference = std::min(value, f.field->default_value_int32());
    r->SetInt32(f.message, f.field, reference);
    const double saving = need - EstimateMemory(probe).total(local_batch);
    r->SetInt32(f.message, f.field, value);
    if (saving > best_saving) {
      best_saving = saving;
      blamed = f.name + "=" + std::to_string(value);
    }
  }
  return Status::Error(blamed + ": the model needs " + Bytes(need) + " to train (" +
                       Bytes(est.state_bytes) + " of parameters, gradients and optimizer state, " +
                       Bytes(need - est.state_bytes) + " of activations at " +
                       std::to_string(local_batch) + " sample(s) per rank); this machine has " +
                       Bytes(machine_bytes));
}

}  // namespace tigerfg::config
