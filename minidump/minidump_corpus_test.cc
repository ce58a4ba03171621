// Every dump of the shared corpus is read and compared with what Breakpad's minidump_stackwalk
// (expected/breakpad/*.machine.txt and *.txt) and rust-minidump (expected/rust-minidump/*.json)
// say about it: OS and CPU lines, crash reason and address, crashing thread, thread count, and
// every module's file, version, debug file, debug id, range and code id.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "core/fs_util.h"
#include "fmt/format.h"
#include "minidump/minidump.h"
#include "nlohmann/json.hpp"

namespace bw::minidump {
namespace {

namespace fs = std::filesystem;

const fs::path kData = BW_TESTDATA_DIR;

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> corpus_names_with_breakpad_output() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kData / "expected/breakpad")) {
    std::string f = e.path().filename().string();
    const std::string suffix = ".machine.txt";
    if (f.size() > suffix.size() && f.ends_with(suffix)) names.push_back(f.substr(0, f.size() - suffix.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The thread index Breakpad reports: threads in dump order, without the thread that wrote the dump.
std::vector<const Thread*> breakpad_threads(const Minidump& d) {
  std::vector<const Thread*> out;
  std::optional<uint32_t> dump_thread;
  if (d.breakpad_info()) dump_thread = d.breakpad_info()->dump_thread_id;
  for (const auto& t : d.threads()) {
    if (dump_thread && t.id == *dump_thread) continue;
    out.push_back(&t);
  }
  return out;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& param) {
  std::string n = param.param;
  for (auto& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

class BreakpadCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(BreakpadCorpus, MatchesBreakpadOutput) {
  const std::string name = GetParam();
  auto dump = Minidump::open(kData / "minidumps" / (name + ".dmp"));
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  const Minidump& d = *dump;
  ASSERT_TRUE(d.system_info().has_value());
  const SystemInfo& si = *d.system_info();

  std::istringstream machine(bw::fs::read_file(kData / "expected/breakpad" / (name + ".machine.txt")));
  std::string line;
  // Breakpad lists modules by address.
  std::vector<const Module*> by_address;
  for (const auto& m : d.modules()) by_address.push_back(&m);
  std::stable_sort(by_address.begin(), by_address.end(), [](const Module* a, const Module* b) { return a->base < b->base; });
  size_t module_index = 0;
  size_t modules_checked = 0;
  std::set<std::string> seen_thread_indices;
  while (std::getline(machine, line)) {
    auto f = split(line, '|');
    if (f[0] == "OS") {
      ASSERT_EQ(f.size(), 3U);
      EXPECT_EQ(si.os_name(), f[1]);
      EXPECT_EQ(si.os_version(), f[2]);
    } else if (f[0] == "CPU") {
      ASSERT_EQ(f.size(), 4U);
      EXPECT_EQ(cpu_name(d.cpu()), f[1]);
      EXPECT_EQ(d.cpu_info(), f[2]);
      EXPECT_EQ(std::to_string(si.cpu_count()), f[3]);
    } else if (f[0] == "Crash") {
      ASSERT_EQ(f.size(), 4U);
      if (f[1] == "No crash") {
        EXPECT_FALSE(d.exception().has_value());
        continue;
      }
      ASSERT_TRUE(d.exception().has_value());
      EXPECT_EQ(d.crash_reason(), f[1]);
      ASSERT_TRUE(d.crash_address().has_value());
      EXPECT_EQ(fmt::format("0x{:x}", *d.crash_address()), f[2]);
      auto threads = breakpad_threads(d);
      size_t crashed = std::stoul(f[3]);
      ASSERT_LT(crashed, threads.size());
      EXPECT_EQ(threads[crashed]->id, d.exception()->thread_id);
    } else if (f[0] == "Module") {
      ASSERT_EQ(f.size(), 8U);
      ASSERT_LT(module_index, d.modules().size()) << "more modules in Breakpad's output than in the dump";
      const Module& m = *by_address[module_index++];
      EXPECT_EQ(path_basename(m.code_file), f[1]);
      EXPECT_EQ(m.version, f[2]) << m.code_file;
      EXPECT_EQ(path_basename(m.debug_file), f[3]) << m.code_file;
      // Breakpad prints the PDB age in lowercase hex; we print it uppercase like rust-minidump and
      // symbol servers do, so compare without case.
      EXPECT_EQ(upper(m.debug_id), upper(f[4])) << m.code_file;
      EXPECT_EQ(fmt::format("0x{:08x}", m.base), f[5]) << m.code_file;
      EXPECT_EQ(fmt::format("0x{:08x}", m.base + m.size - 1), f[6]) << m.code_file;
      EXPECT_EQ(f[7] == "1", &m == d.main_module()) << m.code_file;
      ++modules_checked;
    } else if (f.size() >= 2 && !f[0].empty() && std::isdigit(static_cast<unsigned char>(f[0][0]))) {
      seen_thread_indices.insert(f[0]);
    }
  }
  EXPECT_EQ(modules_checked, d.modules().size()) << "Breakpad listed fewer modules than the dump has";

  // Thread count from the human format ("Thread N" headers).
  std::istringstream human(bw::fs::read_file(kData / "expected/breakpad" / (name + ".txt")));
  size_t human_threads = 0;
  while (std::getline(human, line)) {
    if (line.starts_with("Thread ")) ++human_threads;
  }
  EXPECT_EQ(human_threads, breakpad_threads(d).size());
  EXPECT_LE(seen_thread_indices.size(), human_threads);

  // Every thread has a context and its stack pointer lies in its stack memory (or no stack).
  for (const auto& t : d.threads()) {
    ASSERT_TRUE(t.context.has_value()) << "thread " << t.id;
    EXPECT_EQ(t.context->cpu(), d.cpu());
    EXPECT_TRUE(t.context->all_valid());
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, BreakpadCorpus, ::testing::ValuesIn(corpus_names_with_breakpad_output()),
                         test_name);

class RustCorpus : public ::testing::TestWithParam<std::string> {};

std::string json_string(const nlohmann::json& j) { return j.is_null() ? std::string() : j.get<std::string>(); }

TEST_P(RustCorpus, MatchesRustMinidumpJson) {
  const std::string name = GetParam();
  auto dump = Minidump::open(kData / "minidumps" / (name + ".dmp"));
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  const Minidump& d = *dump;
  auto j = nlohmann::json::parse(bw::fs::read_file(kData / "expected/rust-minidump" / (name + ".json")));
  const unsigned width = (d.cpu() == Cpu::kX86 || d.cpu() == Cpu::kArm) ? 8 : 16;

  const auto& sys = j["system_info"];
  ASSERT_TRUE(d.system_info().has_value());
  EXPECT_EQ(d.system_info()->os_name(), sys["os"].get<std::string>());
  EXPECT_EQ(d.system_info()->os_version_rust(), sys["os_ver"].get<std::string>());
  EXPECT_EQ(cpu_name(d.cpu()), sys["cpu_arch"].get<std::string>());
  EXPECT_EQ(d.system_info()->cpu_count(), sys["cpu_count"].get<unsigned>());
  EXPECT_EQ(d.cpu_info(), sys["cpu_info"].get<std::string>());
  if (!j["pid"].is_null()) {
    EXPECT_EQ(d.process_id(), j["pid"].get<uint32_t>());
  }
  EXPECT_EQ(d.threads().size(), j["thread_count"].get<size_t>());
  EXPECT_EQ(fmt::format("0x{:0{}x}", *d.crash_address(), width), j["crash_info"]["address"].get<std::string>());
  EXPECT_EQ(d.threads()[j["crash_info"]["crashing_thread"].get<size_t>()].id, d.exception()->thread_id);

  ASSERT_EQ(d.modules().size(), j["modules"].size());
  for (size_t i = 0; i < d.modules().size(); ++i) {
    const Module& m = d.modules()[i];
    const auto& jm = j["modules"][i];
    EXPECT_EQ(fmt::format("0x{:0{}x}", m.base, width), jm["base_addr"].get<std::string>());
    EXPECT_EQ(fmt::format("0x{:0{}x}", m.end(), width), jm["end_addr"].get<std::string>());
    EXPECT_EQ(m.code_id, json_string(jm["code_id"])) << m.code_file;
    EXPECT_EQ(m.debug_file, json_string(jm["debug_file"])) << m.code_file;
    EXPECT_EQ(m.debug_id, json_string(jm["debug_id"])) << m.code_file;
    EXPECT_EQ(path_basename(m.code_file), jm["filename"].get<std::string>());
    EXPECT_EQ(m.version, json_string(jm["version"])) << m.code_file;
  }
  for (size_t i = 0; i < d.threads().size(); ++i) {
    EXPECT_EQ(d.threads()[i].name, json_string(j["threads"][i]["thread_name"])) << "thread " << i;
  }
  if (!j["lsb_release"].is_null()) {
    auto lsb = d.linux_streams().lsb();
    ASSERT_TRUE(lsb.has_value());
    EXPECT_EQ(lsb->id, j["lsb_release"]["id"].get<std::string>());
    EXPECT_EQ(lsb->release, j["lsb_release"]["release"].get<std::string>());
    EXPECT_EQ(lsb->codename, j["lsb_release"]["codename"].get<std::string>());
    EXPECT_EQ(lsb->description, j["lsb_release"]["description"].get<std::string>());
  }
  if (!j["linux_memory_map_count"].is_null()) {
    ASSERT_TRUE(d.linux_streams().maps.has_value());
    EXPECT_EQ(d.linux_streams().maps->size(), j["linux_memory_map_count"].get<size_t>());
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, RustCorpus, ::testing::Values("test", "linux-mini", "pipeline-inlines-macos-segv"),
                         test_name);

// Fuzzer finds from rust-minidump: the header is fine, every stream is out of range or garbage.
TEST(HostileCorpus, InvalidRangeGivesStreamErrors) {
  auto dump = Minidump::open(kData / "minidumps/invalid-range.dmp");
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  EXPECT_TRUE(dump->threads().empty());
  EXPECT_TRUE(dump->modules().empty());
  EXPECT_FALSE(dump->system_info().has_value());
  ASSERT_GE(dump->stream_errors().size(), 3U);
  EXPECT_NE(dump->stream_errors()[0].second.find("outside the file"), std::string::npos);
  EXPECT_FALSE(debug_dump(*dump).empty());
}

TEST(HostileCorpus, InvalidRecordCountGivesStreamErrors) {
  auto dump = Minidump::open(kData / "minidumps/invalid-record-count.dmp");
  ASSERT_TRUE(dump.ok()) << dump.error().reason;
  EXPECT_TRUE(dump->threads().empty());
  EXPECT_FALSE(dump->has_thread_list());
  EXPECT_FALSE(dump->exception().has_value());
  bool out_of_range = false, duplicate = false;
  for (const auto& [type, reason] : dump->stream_errors()) {
    out_of_range |= reason.find("outside the file") != std::string::npos;
    duplicate |= reason.find("more than once") != std::string::npos;
  }
  EXPECT_TRUE(out_of_range);
  EXPECT_TRUE(duplicate);
}

// Facts checked by hand against the files, for streams the stack walker and processor rely on.
TEST(CorpusFacts, ThreadNames) {
  auto dump = Minidump::open(kData / "minidumps/thread_name_list.dmp");
  ASSERT_TRUE(dump.ok());
  size_t named = 0;
  for (const auto& t : dump->threads()) named += t.name.empty() ? 0 : 1;
  EXPECT_GT(named, 0U);
  EXPECT_NE(debug_dump(*dump).find("name \""), std::string::npos);
}

TEST(CorpusFacts, CetXsaveContextIsOversizedAmd64) {
  auto dump = Minidump::open(kData / "minidumps/tiny-exe-with-cet-xsave.dmp");
  ASSERT_TRUE(dump.ok());
  ASSERT_FALSE(dump->threads().empty());
  for (const auto& t : dump->threads()) {
    ASSERT_TRUE(t.context.has_value());
    EXPECT_EQ(t.context->cpu(), Cpu::kAmd64);
    EXPECT_EQ(t.context->layout(), CpuContext::Layout::kAmd64);
    // The instruction pointer of a live thread lies inside a module.
    EXPECT_NE(dump->module_at(t.context->instruction_pointer()), nullptr) << std::hex << t.context->instruction_pointer();
  }
  ASSERT_TRUE(dump->misc_info().has_value());
  EXPECT_EQ(dump->misc_info()->version(), 5);
  ASSERT_TRUE(dump->misc_info()->xstate.has_value());
  EXPECT_GT(dump->misc_info()->xstate->context_size, CpuContext::layout_size(CpuContext::Layout::kAmd64));
  ASSERT_TRUE(dump->handles().has_value());
  EXPECT_FALSE(dump->handles()->empty());
  ASSERT_TRUE(dump->memory_info().has_value());
  EXPECT_FALSE(dump->memory_info()->empty());
}

TEST(CorpusFacts, WindowsUnloadedModulesAndMemoryInfo) {
  auto dump = Minidump::open(kData / "minidumps/firefox-windows-x86_64.dmp");
  ASSERT_TRUE(dump.ok());
  EXPECT_FALSE(dump->unloaded_modules().empty());
  for (const auto& m : dump->unloaded_modules()) EXPECT_FALSE(m.code_file.empty());
  ASSERT_TRUE(dump->memory_info().has_value());
  // Every module's first page is described by the memory info list.
  const Module* main = dump->main_module();
  ASSERT_NE(main, nullptr);
  EXPECT_NE(dump->memory_info_at(main->base), nullptr);
  EXPECT_TRUE(dump->stream_errors().empty()) << dump->stream_errors().front().second;
}

TEST(CorpusFacts, CrashpadInfo) {
  // linux_inline.dmp was written by Crashpad: ids, no annotations (read from the file by hand).
  auto dump = Minidump::open(kData / "minidumps/linux_inline.dmp");
  ASSERT_TRUE(dump.ok());
  ASSERT_TRUE(dump->crashpad_info().has_value());
  const auto& cp = *dump->crashpad_info();
  EXPECT_EQ(cp.version, 1U);
  EXPECT_EQ(cp.report_id, "83e6ce16-f67b-456c-ad43-22cb77180419");
  EXPECT_EQ(cp.client_id, "ce727023-e35c-4883-a418-747f93336c5c");
  EXPECT_TRUE(cp.simple_annotations.empty());
  EXPECT_TRUE(cp.modules.empty());
  ASSERT_TRUE(dump->misc_info().has_value());
  EXPECT_EQ(dump->misc_info()->version(), 4);
  EXPECT_EQ(dump->process_id(), 2146002U);
  ASSERT_TRUE(dump->misc_info()->build_string.has_value());
  EXPECT_TRUE(dump->misc_info()->build_string->starts_with("Linux 5.10.28-1rodete2-amd64"));
  EXPECT_TRUE(dump->stream_errors().empty()) << dump->stream_errors().front().second;
}

TEST(CorpusFacts, LinuxStreams) {
  auto dump = Minidump::open(kData / "minidumps/firefox-linux-x86_64.dmp");
  ASSERT_TRUE(dump.ok());
  const auto& l = dump->linux_streams();
  ASSERT_TRUE(l.cpu_info.has_value());
  EXPECT_NE(l.cpu_info->find("processor"), std::string::npos);
  ASSERT_TRUE(l.proc_status.has_value());
  EXPECT_TRUE(l.pid().has_value());
  EXPECT_EQ(dump->process_id(), l.pid());
  ASSERT_TRUE(l.cmdline.has_value());
  ASSERT_FALSE(l.cmdline->empty());
  EXPECT_NE(l.cmdline->front().find("firefox"), std::string::npos);
  ASSERT_TRUE(l.environ.has_value());
  ASSERT_TRUE(l.auxv.has_value());
  EXPECT_FALSE(l.auxv->empty());
  ASSERT_TRUE(l.maps.has_value());
  // Every module's base is the start of some mapping.
  size_t mapped = 0;
  for (const auto& m : dump->modules()) {
    for (const auto& map : *l.maps) mapped += map.start == m.base ? 1 : 0;
  }
  EXPECT_GT(mapped, dump->modules().size() / 2);
  ASSERT_TRUE(l.dso_debug.has_value());
  EXPECT_FALSE(l.dso_debug->link_map.empty());
  EXPECT_TRUE(dump->stream_errors().empty()) << dump->stream_errors().front().second;
}

TEST(CorpusFacts, FullMemoryDumpStacksComeFromTheMemoryList) {
  // 96 of the 103 thread stack descriptors in this dump have RVA 0.
  auto dump = Minidump::open(kData / "minidumps/firefox-windows-x86_64.dmp");
  ASSERT_TRUE(dump.ok());
  const auto file = dump->file_bytes();
  for (const auto& t : dump->threads()) {
    ASSERT_GT(t.stack.size(), 0U) << "thread " << t.id;
    EXPECT_NE(t.stack.bytes().data(), file.data()) << "thread " << t.id << " reads the file header as its stack";
    ASSERT_TRUE(t.context.has_value());
    EXPECT_TRUE(t.stack.contains(t.context->stack_pointer(), 8)) << "thread " << t.id;
    const MemoryRegion* r = dump->memory_at(t.stack.base());
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(t.stack.read_u64(t.stack.base()), r->read_u64(t.stack.base()));
  }
}

TEST(CorpusFacts, ThreadStacksAreReadable) {
  auto dump = Minidump::open(kData / "minidumps/linux-mini.dmp");
  ASSERT_TRUE(dump.ok());
  const Thread& t = dump->threads().front();
  ASSERT_TRUE(t.context.has_value());
  uint64_t sp = t.context->stack_pointer();
  EXPECT_TRUE(t.stack.contains(sp, 8));
  ASSERT_NE(dump->memory_at(sp), nullptr);
  EXPECT_EQ(dump->memory().read_u64(sp), t.stack.read_u64(sp));
}

}  // namespace
}  // namespace bw::minidump
