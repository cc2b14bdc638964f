// launcher/flags.cc — definitions of the flags shared by several subcommands.
#include "launcher/flags.h"

DEFINE_string(config, "", "text-format RunConfig (configs/*.prototxt)");
DEFINE_string(set, "", "comma-separated config overrides, e.g. model.embed_dim=64,train.steps=10");
DEFINE_string(out_dir, "", "output folder of a run");
DEFINE_string(weights, "", "safetensors file of parameters named as the spec names them");
DEFINE_string(batch, "", "grads: safetensors batch file; bench: batch size");
DEFINE_string(out, "", "output file or folder");
DEFINE_int32(steps, 0, "number of steps (overrides the config when > 0)");
DEFINE_string(device, "", "auto | cpu | cuda (overrides train.device)");
DEFINE_double(peak_tflops, 791,
              "bench, train: peak TFLOP/s of one accelerator for MFU (default: H100/H200 dense "
              "bf16 as a large GEMM measures it, DESIGN.md section 8)");
DEFINE_string(trace, "",
              "bench, train: write a Chrome trace (Perfetto) of each step's phases and "
              "collectives to this file; with several ranks rank r writes FILE with .rank<r> "
              "before the extension");
DEFINE_string(checkpoint, "", "eval, embed: a checkpoint directory or root (instead of --weights)");
DEFINE_int32(embed_batch, 64, "eval, embed: samples per forward pass");
