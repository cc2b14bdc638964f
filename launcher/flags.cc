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
