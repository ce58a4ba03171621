#include "processor/dump_walker.h"

#include <system_error>

#include "minidump/minidump.h"
#include "stackwalk/output.h"
#include "stackwalk/process.h"

namespace bw::processor {

WalkResult failed_walk(const std::string& status, std::string note) {
  WalkResult r;
  r.status = status;
  r.json_dump = nlohmann::json{{"status", status}};
  r.notes.push_back(std::move(note));
  return r;
}

WalkResult walk_dump_file(const std::filesystem::path& dump, symbols::SymbolSupplier* supplier) {
  std::error_code ec;
  auto size = std::filesystem::file_size(dump, ec);
  if (ec) return failed_walk(kStatusInvalid, "cannot read dump file: " + ec.message());
  if (size == 0) return failed_walk(kStatusEmpty, "the dump is empty");
  auto opened = minidump::Minidump::open(dump);
  if (!opened) return failed_walk(kStatusInvalid, "not a readable minidump: " + opened.error().reason);
  stackwalk::ProcessState state = stackwalk::process_minidump(*opened, supplier);
  WalkResult r;
  r.status = state.status;
  r.json_dump = stackwalk::to_json(state);
  r.notes = std::move(state.notes);
  return r;
}

InProcessDumpWalker::InProcessDumpWalker(const symbols::SymbolOptions& options)
    : supplier_(symbols::make_symbol_supplier(options)) {}

WalkResult InProcessDumpWalker::walk(const WalkRequest& request) {
  uint64_t hits = supplier_->hits(), misses = supplier_->misses();
  WalkResult r = walk_dump_file(request.dump, supplier_.get());
  r.symbol_hits = supplier_->hits() - hits;
  r.symbol_misses = supplier_->misses() - misses;
  return r;
}

}  // namespace bw::processor
