// launcher/flags.h — flags shared by several subcommands (defined once in launcher/flags.cc).
// A subcommand's own flags live in its cmd_*.cc.
#pragma once

#include <gflags/gflags.h>

DECLARE_string(config);   // text-format RunConfig
DECLARE_string(set);      // comma-separated overrides: model.embed_dim=64,train.steps=10
DECLARE_string(out_dir);  // where a run writes metrics.jsonl, final.safetensors, checkpoints
DECLARE_string(weights);  // a safetensors file of parameters (the spec's names)
DECLARE_string(batch);    // grads: a safetensors batch; bench: the batch size (see cmd_bench.cc)
DECLARE_string(out);      // an output file or folder
DECLARE_int32(steps);     // overrides train.steps / bench steps when > 0
DECLARE_string(device);   // overrides train.device: auto | cpu | cuda
DECLARE_double(peak_tflops);  // bench, train: the accelerator's peak for MFU (TFLOP/s)
DECLARE_string(trace);        // bench, train: Chrome trace output (per rank: .rank<r>)
DECLARE_string(checkpoint);   // eval, embed: a checkpoint directory or root (instead of --weights)
DECLARE_int32(embed_batch);   // eval, embed: samples per forward pass
