// Hostile input: truncated and bit-flipped copies of every corpus dump, and the fuzzer's
// regression inputs, must open cleanly or fail with a reason, never crash (run under ASan/UBSan in
// the sanitize build). Every span the reader hands out must lie inside the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "minidump/minidump.h"

namespace bw::minidump {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<fs::path> corpus_dumps() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(BW_TESTDATA_DIR) / "minidumps")) {
    if (e.path().extension() == ".dmp") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool inside(std::span<const uint8_t> part, std::span<const uint8_t> file) {
  if (part.empty()) return true;
  return part.data() >= file.data() && part.data() + part.size() <= file.data() + file.size();
}

// Uses every accessor and checks the invariants that hold for any input.
void exercise(const Minidump& d) {
  const auto file = d.file_bytes();
  std::string text = debug_dump(d);
  ASSERT_FALSE(text.empty());
  (void)d.crash_reason();
  (void)d.crash_address();
  (void)d.cpu_info();
  (void)d.process_id();
  if (d.system_info()) {
    (void)d.system_info()->os_version_rust();
  }
  for (const auto& t : d.threads()) {
    ASSERT_TRUE(inside(t.stack.bytes(), file));
    if (t.context) {
      uint64_t sp = t.context->stack_pointer();
      (void)d.memory().read_pointer(sp, t.context->pointer_size() == 0 ? 8 : t.context->pointer_size());
      (void)t.stack.read_u64(sp);
      (void)d.module_at(t.context->instruction_pointer());
      for (size_t i = 0; i < t.context->register_count(); ++i) {
        ASSERT_EQ(t.context->get(t.context->register_name(i)), t.context->value(i));
      }
    }
  }
  for (const auto& r : d.memory().regions()) {
    ASSERT_TRUE(inside(r.bytes(), file));
    ASSERT_EQ(d.memory_at(r.base()), &r);
  }
  for (const auto& m : d.modules()) {
    ASSERT_TRUE(inside(m.codeview_record, file));
    ASSERT_TRUE(inside(m.misc_record, file));
    (void)d.module_at(m.base);
  }
  for (const auto& u : d.unloaded_modules()) (void)d.unloaded_modules_at(u.base);
  (void)d.linux_streams().lsb();
  for (const auto& s : d.directory()) (void)d.stream_bytes(s.type);
}

void check(std::vector<uint8_t> bytes) {
  auto dump = Minidump::from_bytes(std::move(bytes));
  if (!dump.ok()) {
    ASSERT_FALSE(dump.error().reason.empty());
    return;
  }
  exercise(*dump);
}

TEST(Robustness, EveryCorpusDumpOpensAndExercises) {
  for (const auto& path : corpus_dumps()) {
    SCOPED_TRACE(path.filename().string());
    auto dump = Minidump::open(path);
    ASSERT_TRUE(dump.ok()) << dump.error().reason;
    exercise(*dump);
  }
}

TEST(Robustness, TruncatedCopies) {
  for (const auto& path : corpus_dumps()) {
    SCOPED_TRACE(path.filename().string());
    const auto bytes = read_file(path);
    std::vector<size_t> cuts;
    const size_t stride = std::max<size_t>(1, bytes.size() / 128);
    for (size_t n = 0; n < bytes.size(); n += stride) cuts.push_back(n);
    for (size_t n = 0; n < std::min<size_t>(bytes.size(), 512); n += 3) cuts.push_back(n);
    // Around the start and end of every stream, where the interesting failures are.
    auto full = Minidump::from_bytes(std::span<const uint8_t>(bytes));
    ASSERT_TRUE(full.ok());
    for (const auto& s : full->directory()) {
      for (uint64_t at : {uint64_t{s.offset}, uint64_t{s.offset} + 1, uint64_t{s.offset} + 4,
                          uint64_t{s.offset} + s.size - 1, uint64_t{s.offset} + s.size / 2}) {
        if (at < bytes.size()) cuts.push_back(static_cast<size_t>(at));
      }
    }
    for (size_t n : cuts) {
      check(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(Robustness, BitFlippedCopies) {
  for (const auto& path : corpus_dumps()) {
    SCOPED_TRACE(path.filename().string());
    auto bytes = read_file(path);
    auto full = Minidump::from_bytes(std::span<const uint8_t>(bytes));
    ASSERT_TRUE(full.ok());
    // Positions that matter: header, directory and the first bytes of every stream (counts,
    // sizes, rvas); plus anywhere at all.
    std::vector<std::pair<size_t, size_t>> hot = {{0, std::min<size_t>(bytes.size(), 32 + 12 * full->directory().size() + 64)}};
    for (const auto& s : full->directory()) {
      if (s.offset < bytes.size()) hot.emplace_back(s.offset, std::min<size_t>(bytes.size() - s.offset, std::max<size_t>(s.size, 1)));
    }
    std::mt19937_64 rng(std::hash<std::string>{}(path.filename().string()));
    // Bounded work for the large dumps: each trial copies the whole file.
    const size_t trials = std::clamp<size_t>((64u << 20) / std::max<size_t>(bytes.size(), 1), 24, 400);
    for (size_t trial = 0; trial < trials; ++trial) {
      std::vector<uint8_t> copy = bytes;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        size_t pos;
        if (rng() % 4 != 0) {
          const auto& [start, len] = hot[rng() % hot.size()];
          pos = start + (len > 256 ? rng() % 256 : rng() % len);  // headers of records sit at the start
        } else {
          pos = rng() % copy.size();
        }
        copy[pos] ^= static_cast<uint8_t>(1U << (rng() % 8));
      }
      check(std::move(copy));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(Robustness, FuzzerRegressions) {
  // Inputs a fuzzer once found (rust-minidump's two are there from the start); they also run as
  // fuzz.minidump_reader.replay.
  const fs::path dir = fs::path(BW_SOURCE_DIR) / "fuzz/minidump_reader/regressions";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    SCOPED_TRACE(e.path().filename().string());
    check(read_file(e.path()));
    ++n;
  }
  EXPECT_GE(n, 2U);
}

}  // namespace
}  // namespace bw::minidump
