// tests/testing/backend_cases.cc — every case of the backend harness, gathered once.
#include "tests/testing/backend_cases.h"

namespace tigerfg::testing {

const std::vector<OpCase>& AllOpCases() {
  static const std::vector<OpCase>* cases = [] {
    auto* all = new std::vector<OpCase>;
    AddDenseCases(*all);
    AddRowwiseCases(*all);
    AddAttentionCases(*all);
    AddLossCases(*all);
    AddTensorCases(*all);
    return all;
  }();
  return *cases;
}

}  // namespace tigerfg::testing
