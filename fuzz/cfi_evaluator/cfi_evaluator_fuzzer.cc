// The postfix evaluator (STACK CFI rules, STACK WIN programs) on arbitrary text: it must return a
// value or a reason, never crash, never loop, never return a value wider than its word.
//
// Input: first byte = mode (bit 0: 4- or 8-byte words; bit 1: program or expression), the rest is
// the rule text. Memory reads are answered from a small fixed window of addresses.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "stackwalk/postfix_evaluator.h"

namespace {

class WindowMemory final : public bw::stackwalk::WordReader {
 public:
  std::optional<uint64_t> read_word(uint64_t address, unsigned word_bytes) const override {
    if (address < 0x1000 || address >= 0x2000) return std::nullopt;
    uint64_t v = address * 0x9E3779B97F4A7C15ULL;
    return word_bytes == 4 ? (v & 0xffffffffULL) : v;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  unsigned word = (data[0] & 1) != 0 ? 8 : 4;
  bool program = (data[0] & 2) != 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  WindowMemory memory;
  bw::stackwalk::Variables vars;
  for (const char* name : {"$esp", "$ebp", "$eip", "$rsp", "$rbp", "$rip", "sp", "x29", "pc", "lr", ".cfa"}) {
    vars.set(name, 0x1800);
  }
  vars.set(".cbSavedRegs", 8);
  vars.set(".cbParams", 4);
  vars.set(".raSearchStart", 0x1804);
  std::string error;
  const uint64_t mask = word == 4 ? 0xffffffffULL : ~0ULL;
  if (program) {
    std::vector<std::string> assigned;
    bool ok = bw::stackwalk::run_postfix_program(text, vars, memory, word, &error, {}, &assigned);
    if (!ok && error.empty()) std::abort();
    for (const auto& name : assigned) {
      auto v = vars.get(name);
      if (!v || (*v & ~mask) != 0) std::abort();
    }
  } else {
    auto v = bw::stackwalk::evaluate_postfix(text, vars, memory, word, &error);
    if (!v && error.empty()) std::abort();
    if (v && (*v & ~mask) != 0) std::abort();
  }
  return 0;
}
