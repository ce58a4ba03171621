// The behaviour every CrashIndex implementation must show, as one parameterized GoogleTest suite
// (crash_index_contract.cc). Each backend's test binary provides an IndexBackend and instantiates
// both fixtures (empty index; index loaded with 400 generated crashes) with one macro:
//   BW_INSTANTIATE_CRASH_INDEX_CONTRACT(Sqlite, make_sqlite_backend);
// Expected answers are computed in the test from the generated crashes' JSON (test_crashes.h),
// never from the index itself.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "index/crash_index.h"
#include "index/fields.h"
#include "index/test_crashes.h"

namespace bw::index::contract {

class IndexBackend {
 public:
  virtual ~IndexBackend() = default;
  // An index over storage private to the running test, empty on the first call; later calls
  // open the same data again (a restart).
  virtual std::unique_ptr<CrashIndex> open(std::shared_ptr<const FieldCatalogue> fields) = 0;
};

using BackendFactory = std::function<std::unique_ptr<IndexBackend>()>;

class CrashIndexContract : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override;

  std::shared_ptr<const FieldCatalogue> fields_;
  std::unique_ptr<IndexBackend> backend_;
  std::unique_ptr<CrashIndex> index_;
};

// The same, loaded with 400 generated crashes (seed 42) dated in the 20 days before
// 2026-11-01T12:00:00Z.
class CrashIndexDataContract : public CrashIndexContract {
 protected:
  void SetUp() override;
  // Searches with every crash's dates unless the pairs have a date filter.
  nlohmann::json search(const QueryPairs& pairs, const Permissions& permissions = {});
  // Checks total and hits of a query against a predicate over the generated crashes.
  void expect_matches(const QueryPairs& pairs, const std::function<bool(const test_data::TestCrash&)>& pred,
                      const Permissions& permissions = {});

  std::vector<test_data::TestCrash> crashes_;
};

// Use where both fixtures are visible unqualified (gtest pastes the names), e.g. after
// `using bw::index::contract::CrashIndexContract; using bw::index::contract::CrashIndexDataContract;`.
#define BW_INSTANTIATE_CRASH_INDEX_CONTRACT(name, factory)                                \
  INSTANTIATE_TEST_SUITE_P(name, CrashIndexContract, ::testing::Values(factory));         \
  INSTANTIATE_TEST_SUITE_P(name, CrashIndexDataContract, ::testing::Values(factory))

}  // namespace bw::index::contract
