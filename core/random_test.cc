#include "core/random.h"

#include <array>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace bw {
namespace {

TEST(RandomBytesTest, FillsEverySizeWithBytesThatDiffer) {
  random_bytes(nullptr, 0);  // nothing asked, nothing written
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::array<unsigned char, 16> b{};
    random_bytes(b.data(), b.size());
    seen.emplace(b.begin(), b.end());
  }
  EXPECT_EQ(seen.size(), 1000u);
  // Larger than one getrandom(2) call returns at once (32 MiB - 1 on Linux) is not needed; 1 MiB
  // still crosses the 256-byte boundary below which the kernel never returns short.
  std::vector<unsigned char> big(1 << 20, 0);
  random_bytes(big.data(), big.size());
  size_t zeros = 0;
  for (unsigned char c : big) zeros += c == 0;
  EXPECT_GT(zeros, 3000u);  // about 4096 expected of uniform bytes
  EXPECT_LT(zeros, 5200u);
}

}  // namespace
}  // namespace bw
