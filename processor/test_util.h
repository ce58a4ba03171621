// Helpers shared by the processor's tests (not part of the library).
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/fs_util.h"
#include "processor/dump_walker.h"

namespace bw::processor::testing {

inline const std::filesystem::path kTestdata = BW_TESTDATA_DIR;

inline nlohmann::json read_annotations(const std::string& name) {
  return nlohmann::json::parse(bw::fs::read_file(kTestdata / "annotations" / (name + ".json")));
}

inline symbols::SymbolOptions corpus_symbols() {
  symbols::SymbolOptions o;
  o.paths = {kTestdata / "symbols"};
  return o;
}

// A walker that answers from a table keyed by dump name (matched against the file name, which
// every storage ends with "<dump name>.dump"), recording requests.
class FakeDumpWalker final : public DumpWalker {
 public:
  WalkResult walk(const WalkRequest& request) override {
    std::lock_guard lock(mu_);
    requests.push_back(request);
    std::string file = request.dump.filename().string();
    for (const auto& [name, result] : results) {
      if (file == name + ".dump" || file.ends_with("-" + name + ".dump")) return result;
    }
    WalkResult r;
    r.json_dump = {{"status", "OK"}, {"threads", nlohmann::json::array()}};
    return r;
  }
  std::map<std::string, WalkResult> results;
  std::vector<WalkRequest> requests;

 private:
  std::mutex mu_;
};

}  // namespace bw::processor::testing
