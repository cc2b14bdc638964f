// model/input_staging.h — the inputs of one model forward where its ops read them: the titles and
// their key-padding mask, the images (U8 normalised to F32), and on CUDA the ring that copies U8
// batches ahead of their forward.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <utility>

#include "configs/tigerfg.pb.h"
#include "runtime/core/batch.h"
#include "runtime/core/context.h"
#include "runtime/core/input_ring.h"
#include "runtime/core/tensor.h"

namespace tigerfg::model {

// Owned by the model; made once its rows per forward (`rows`) are known. `ctx` must outlive it.
struct InputStaging {
  // The tensors a forward reads, on ctx's device: images [rows, C, H, W] F32, title ids and key
  // mask [rows, L]. Batches that came through the CUDA ring also bring their product ids [rows]
  // I64 and target maps [rows, N] F32 (when the batch has them) on the device; empty otherwise
  // (the caller copies them from the host batch).
  struct Inputs {
    Tensor query_images, item_images, title_ids, key_valid;
    Tensor product_ids, target_maps;
  };

  InputStaging(const Context* ctx, const config::ModelConfig& cfg, int64_t rows);

  // The batch's inputs for EncodeForward (a batch StageAhead copied is taken from its ring slot).
  Inputs Stage(const Batch& batch);
  // CUDA, U8 images: starts the batch's copy into the next ring slot; no-op otherwise.
  void StageAhead(const Batch& batch);
  // A host tensor where the model's ops read it: itself on CPU, copied into `staging` on CUDA.
  Tensor OnDevice(const Buffer& staging, const Tensor& host) const;

  // title_ids and key_valid (1 where a token is not padding) from the batch's titles.
  void StageTitles(const Batch& batch);
  // CUDA, U8 images: the batch's images, titles and mask into the next ring slot, copied on the
  // ring's stream; returns the slot.
  int StageOnRing(const Batch& batch);
  // CUDA, U8 images: the slot's images normalised into the device image buffers, its titles,
  // mask, product ids and target maps copied into theirs, all on the compute stream after the
  // slot's copy. Returns the device product ids and target maps (empty without maps).
  std::pair<Tensor, Tensor> UnpackRing(const Batch& batch, int slot);
  // The ring slot StageAhead filled with `batch`, or -1; older staged batches are dropped.
  int TakeStaged(const Batch& batch);

  const Context* ctx;
  // Host staging of the title ids and their key-padding mask [rows, L].
  Buffer title_ids, key_valid;
  // CUDA only: the device copies of the staged titles and of the batch's images; and of the
  // product ids and target maps of ring batches (the maps made on first use).
  Buffer dev_title_ids, dev_key_valid, dev_query_images, dev_item_images;
  Buffer dev_product_ids, dev_target_maps;
  // U8 batches. CPU: the normalised images. CUDA: the staging ring (made on first use) and the
  // batches staged ahead (StageAhead), oldest first.
  Buffer host_query_images, host_item_images;
  std::unique_ptr<InputRing> ring;
  struct Staged {
    const void* query;
    int64_t first_sample;
    int slot;
  };
  std::deque<Staged> staged;
};

}  // namespace tigerfg::model
