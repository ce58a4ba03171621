// Address → module lookup as Breakpad resolves it. Module lists of Linux and Android dumps can
// overlap (a library's mapping followed by /dev/ashmem regions inside its span); Breakpad keeps
// every module but shortens a lower one so that it ends where the next one begins, and frames
// and stack scans see that shortened map. Immutable after construction; thread-safe to read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "minidump/minidump.h"

namespace bw::stackwalk {

class ModuleMap {
 public:
  explicit ModuleMap(const minidump::Minidump& dump);
  // Index into dump.modules() of the module whose (shortened) range holds the address.
  std::optional<size_t> find(uint64_t address) const;

 private:
  struct Range {
    uint64_t base;
    uint64_t end;  // exclusive
    size_t index;
  };
  std::vector<Range> ranges_;  // sorted by base, non-overlapping
};

}  // namespace bw::stackwalk
