// runtime/train/flops.cc — a transcription of the spec's count_flops.
#include "runtime/train/flops.h"

namespace tigerfg::train {

namespace {

double Tower(double width, double depth, double seq, double ratio) {
  return depth * (2 * seq * (4 + 2 * ratio) * width * width + 4 * seq * seq * width);
}

double Vit(const config::ViTConfig& c) {
  const double grid = c.image_size() / c.patch_size();
  const double n = grid * grid;
  return Tower(c.width(), c.depth(), n + 1, c.mlp_ratio()) +
         2 * n * c.channels() * c.patch_size() * c.patch_size() * c.width();
}

}  // namespace

double StepFlops(const config::ModelConfig& cfg, int64_t batch) {
  const double grid = cfg.item().image_size() / cfg.item().patch_size();
  const double n_item = grid * grid;
  const double w = cfg.item().width();
  const double ground =
      cfg.ground_layers() * (2 * w * w * (2 + 2 * 4) + 2 * n_item * 2 * w * w + 4 * n_item * w);
  const double train = Vit(cfg.query()) + Vit(cfg.item()) +
                       Tower(cfg.text().width(), cfg.text().depth(), cfg.text().max_len(), 4) +
                       ground;
  const double teach = cfg.has_teacher() ? 2 * Vit(cfg.teacher()) : 0;
  return static_cast<double>(batch) * (3 * train + teach);
}

}  // namespace tigerfg::train
