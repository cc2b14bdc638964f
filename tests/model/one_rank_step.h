// tests/model/one_rank_step.h — one training step of a model on one rank, through the step runner
// (runtime/train/step_runner.h) with the local communicator, for model tests.
#pragma once

#include "comm/local_communicator.h"
#include "model/tigerfg_model.h"
#include "runtime/core/batch.h"
#include "runtime/train/step_runner.h"

namespace tigerfg::testing {

// Zeroes the gradients, runs forward, losses and backward; returns this rank's loss terms.
inline model::LossTerms OneRankStep(model::TigerFGModel& model, const Batch& batch) {
  comm::LocalCommunicator comm;
  train::StepRunner runner(model, &comm);
  StatusOr<train::StepResult> result = runner.Run(batch);
  CHECK(result.ok()) << result.status().message();
  return result->local;
}

}  // namespace tigerfg::testing
