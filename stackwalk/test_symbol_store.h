// Test fixture: a symbol supplier over local symbol-store folders
// (<debug_file>/<DEBUG_ID>/<debug_file without .pdb>.sym), parsing each file once. The tests use
// it so they exercise the walker against the real corpus symbols independently of the supplier
// implementations in symbols/ (which have their own tests).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "symbols/module_symbols.h"
#include "symbols/symbol_supplier.h"

namespace bw::stackwalk {

class TestSymbolStore final : public symbols::SymbolSupplier {
 public:
  explicit TestSymbolStore(std::vector<std::filesystem::path> roots) : roots_(std::move(roots)) {}

  symbols::SymbolResult get(const symbols::ModuleKey& key) override {
    std::string file = key.debug_file;
    size_t slash = file.find_last_of("/\\");
    if (slash != std::string::npos) file = file.substr(slash + 1);
    std::string name = file;
    if (name.size() > 4) {
      std::string ext = name.substr(name.size() - 4);
      for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (ext == ".pdb") name.resize(name.size() - 4);
    }
    std::string id = file + "/" + key.debug_id;
    auto cached = cache_.find(id);
    if (cached != cache_.end()) return cached->second;
    symbols::SymbolResult result;
    for (const auto& root : roots_) {
      std::filesystem::path path = root / file / key.debug_id / (name + ".sym");
      if (!std::filesystem::exists(path)) continue;
      std::string error;
      result.symbols = symbols::ModuleSymbols::parse_file(path, &error);
      if (!result.symbols) {
        result.status = symbols::SymbolStatus::kFetchError;
        result.detail = error;
      } else {
        result.status = result.symbols->is_corrupt() ? symbols::SymbolStatus::kCorrupt : symbols::SymbolStatus::kFound;
      }
      break;
    }
    cache_[id] = result;
    return result;
  }

 private:
  std::vector<std::filesystem::path> roots_;
  std::map<std::string, symbols::SymbolResult> cache_;
};

}  // namespace bw::stackwalk
