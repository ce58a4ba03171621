// Realistic processed crashes for tests and benchmarks: JSON shaped as docs/processed_crash.md
// describes (and the raw crash beside it), deterministic for a seed, signatures Zipf-distributed
// as real crash volumes are (a few signatures carry most crashes). Test support only.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bw::index::test_data {

struct GeneratorOptions {
  uint64_t seed = 1;
  // Crashes are dated uniformly in [end - days, end).
  std::chrono::system_clock::time_point end = std::chrono::system_clock::now();
  int days = 30;
  size_t signatures = 500;   // distinct signatures
  double zipf_s = 1.1;       // Zipf exponent of the signature distribution
  // 0: each crash's date is uniform over the days (a random order). N: the crashes come in
  // arrival order, as a processor or `admin index rebuild` writes them: the k-th of N crashes is
  // dated uniformly within the k-th N-th of the period.
  size_t arrival_order_total = 0;
};

struct TestCrash {
  nlohmann::json processed;
  nlohmann::json raw;
};

class CrashGenerator {
 public:
  explicit CrashGenerator(GeneratorOptions options = {});
  TestCrash next();
  std::vector<TestCrash> make(size_t n);
  // The i-th signature (0 = the most frequent).
  static std::string signature_name(size_t i);

 private:
  uint64_t bits();
  double uniform();  // [0, 1)
  size_t pick(size_t n) { return static_cast<size_t>(uniform() * static_cast<double>(n)); }
  std::string hex(size_t n);

  GeneratorOptions options_;
  std::mt19937_64 rng_;
  std::vector<double> cdf_;
  int64_t end_us_ = 0;
  size_t made_ = 0;
};

}  // namespace bw::index::test_data
