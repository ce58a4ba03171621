#include "stackwalk/process.h"

#include <memory>

namespace bw::stackwalk {

namespace {

// Fetches each module's symbols once, on first use, and records the outcome.
class SupplierSymbols final : public SymbolSource {
 public:
  SupplierSymbols(const minidump::Minidump& dump, symbols::SymbolSupplier* supplier,
                  std::vector<ModuleSymbolState>& states)
      : dump_(dump), supplier_(supplier), states_(states), loaded_(dump.modules().size()) {}

  const symbols::ModuleSymbols* symbols_for(size_t module_index) override {
    if (module_index >= states_.size()) return nullptr;
    ModuleSymbolState& state = states_[module_index];
    if (!state.looked_up) {
      state.looked_up = true;
      const minidump::Module& m = dump_.modules()[module_index];
      if (supplier_ == nullptr) {
        state.status = symbols::SymbolStatus::kNotFound;
        state.detail = "no symbol supplier";
      } else if (m.debug_file.empty() || m.debug_id.empty()) {
        state.status = symbols::SymbolStatus::kNotFound;
        state.detail = "module has no debug identifier";
      } else {
        symbols::ModuleKey key{m.debug_file, m.debug_id, m.code_file, m.code_id};
        symbols::SymbolResult r = supplier_->get(key);
        state.status = r.status;
        state.detail = r.detail;
        loaded_[module_index] = std::move(r.symbols);
        if (!loaded_[module_index] && state.status != symbols::SymbolStatus::kFetchError) {
          state.status = symbols::SymbolStatus::kNotFound;
        }
      }
    }
    return loaded_[module_index].get();
  }

 private:
  const minidump::Minidump& dump_;
  symbols::SymbolSupplier* supplier_;
  std::vector<ModuleSymbolState>& states_;
  std::vector<std::shared_ptr<const symbols::ModuleSymbols>> loaded_;
};

// The memory the walker reads for a thread: its stack descriptor's bytes, or, when the descriptor
// has no bytes of its own (full-memory dumps record RVA 0 and keep the stack in the Memory64
// list), the saved region that contains the stack.
const minidump::MemoryRegion* thread_stack(const minidump::Minidump& dump, const minidump::Thread& t,
                                           const minidump::CpuContext& context) {
  bool at_file_start = t.stack.size() > 0 && t.stack.bytes().data() == dump.file_bytes().data();
  if (t.stack.size() > 0 && !at_file_start) return &t.stack;
  if (const minidump::MemoryRegion* r = dump.memory_at(t.stack.base()); r != nullptr && t.stack.size() > 0) return r;
  return dump.memory_at(context.stack_pointer());
}

}  // namespace

ProcessState process_minidump(const minidump::Minidump& dump, symbols::SymbolSupplier* supplier,
                              const ProcessOptions& options) {
  ProcessState state;
  state.dump = &dump;
  state.module_symbols.resize(dump.modules().size());
  SupplierSymbols source(dump, supplier, state.module_symbols);
  ModuleMap modules(dump);

  const auto& exception = dump.exception();
  std::optional<uint32_t> dump_thread;
  std::optional<uint32_t> requesting;
  if (const auto& bi = dump.breakpad_info()) {
    dump_thread = bi->dump_thread_id;
    requesting = bi->requesting_thread_id;
  }

  for (const auto& [type, reason] : dump.stream_errors()) {
    state.notes.push_back("stream 0x" + [](uint32_t t) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%x", t);
      return std::string(buf);
    }(type) + ": " + reason);
  }

  if (!dump.has_thread_list()) {
    state.status = "ERROR_NO_THREAD_LIST";
    state.notes.push_back("the dump has no readable thread list");
  }

  const auto& threads = dump.threads();
  for (size_t i = 0; i < threads.size(); ++i) {
    const minidump::Thread& t = threads[i];
    ThreadState ts;
    ts.stack.thread_id = t.id;
    ts.stack.thread_name = t.name;
    ts.is_dump_thread = dump_thread && *dump_thread == t.id;
    if (exception && exception->thread_id == t.id && !state.crashing_thread) {
      state.crashing_thread = i;
    }
    if (requesting && *requesting == t.id && !state.requesting_thread) state.requesting_thread = i;
    if (!ts.is_dump_thread) {
      const minidump::CpuContext* context = nullptr;
      if (exception && exception->thread_id == t.id && exception->context) {
        context = &*exception->context;
        ts.used_exception_context = true;
      } else if (t.context) {
        context = &*t.context;
      }
      if (context == nullptr) {
        ts.stack.note = "thread has no context";
      } else {
        const minidump::MemoryRegion* stack = thread_stack(dump, t, *context);
        if (stack == nullptr) ts.stack.note = "thread has no stack memory";
        ts.stack.frames = walk_stack(dump, modules, *context, stack, source, options.limits);
        for (const auto& f : ts.stack.frames) {
          if (f.module_index) state.module_symbols[*f.module_index].in_frames = true;
        }
      }
    }
    state.threads.push_back(std::move(ts));
  }
  if (state.crashing_thread) state.requesting_thread = state.crashing_thread;
  return state;
}

}  // namespace bw::stackwalk
