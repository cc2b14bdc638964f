// tests/testing/backend_cases.h — the backend harness's cases by op family; AllOpCases
// (tests/testing/op_harness.h) gathers them.
#pragma once

#include <vector>

#include "tests/testing/op_harness.h"

namespace tigerfg::testing {

void AddDenseCases(std::vector<OpCase>& cases);      // linear, im2col, cast, optimizer
void AddRowwiseCases(std::vector<OpCase>& cases);    // layernorm, gelu, normalize, softmax
void AddAttentionCases(std::vector<OpCase>& cases);  // self, flash, grounding, head mean
void AddLossCases(std::vector<OpCase>& cases);       // logits, InfoNCE, SDD, SRD
void AddTensorCases(std::vector<OpCase>& cases);     // glue ops, embedding

}  // namespace tigerfg::testing
