// tests/data/webdataset_test.cc — shard spec expansion limits: a brace expansion too large to be
// a shard list fails at once with the count, before any name is built.
#include "runtime/data/webdataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace tigerfg::data {
namespace {

using ::testing::HasSubstr;

// Defect: `shard-{0..99999999}.tar`-sized expansions (10^8 names) ground for a minute first.
TEST(ExpandBraces, HugeExpansionsFailAtOnceWithTheCount) {
  const auto start = std::chrono::steady_clock::now();
  struct Case {
    const char* spec;
    const char* count;
  };
  for (const Case& c : {Case{"shard-{0..99999999}.tar", "expands to 100000000 shard names"},
                        Case{"s-{0..9999}-{0..9999}.tar", "expands to 100000000 shard names"},
                        Case{"s-{0..999}-{0..1000}.tar", "expands to 1001000 shard names"},
                        Case{"s-{0..9999999}-{a,b}.tar", "expands to 20000000 shard names"}}) {
    auto names = ExpandBraces(c.spec);
    ASSERT_FALSE(names.ok()) << c.spec;
    EXPECT_THAT(names.status().message(), HasSubstr(c.spec));
    EXPECT_THAT(names.status().message(), HasSubstr(c.count));
    EXPECT_THAT(names.status().message(), HasSubstr("the limit is 1000000"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  auto fits = ExpandBraces("s-{0..999}-{0..9}.tar");
  ASSERT_TRUE(fits.ok()) << fits.status().message();
  EXPECT_EQ(fits->size(), 10000u);
}

}  // namespace
}  // namespace tigerfg::data
