#include "signature/signature_lists.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace bw::signature {
namespace {

// List files are small; anything bigger is a mistake (a binary file, a wrong path).
constexpr std::uintmax_t kMaxListFileBytes = 4 * 1024 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

re2::RE2::Options list_options() {
  re2::RE2::Options options;
  options.set_log_errors(false);
  return options;
}

}  // namespace

PatternList PatternList::parse(std::string_view text, const std::string& source) {
  PatternList list;
  auto set = std::make_shared<re2::RE2::Set>(list_options(), re2::RE2::ANCHOR_BOTH);
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto re = std::make_shared<re2::RE2>(re2::StringPiece(line.data(), line.size()), list_options());
    if (!re->ok()) {
      throw SignatureListError(source + ":" + std::to_string(line_no) + ": bad pattern \"" + std::string(line) +
                               "\": " + re->error());
    }
    std::string error;
    if (set->Add(re2::StringPiece(line.data(), line.size()), &error) < 0) {
      throw SignatureListError(source + ":" + std::to_string(line_no) + ": bad pattern \"" + std::string(line) +
                               "\": " + error);
    }
    list.entries_.push_back({std::string(line), source, line_no});
    list.compiled_.push_back(std::move(re));
  }
  if (!list.entries_.empty()) {
    if (!set->Compile()) throw SignatureListError(source + ": the patterns do not fit in memory together");
    list.set_ = std::move(set);
  }
  return list;
}

PatternList PatternList::load_file(const std::filesystem::path& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) throw SignatureListError(path.string() + ": cannot read signature list: " + ec.message());
  if (size > kMaxListFileBytes) throw SignatureListError(path.string() + ": signature list is larger than 4 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SignatureListError(path.string() + ": cannot open signature list");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw SignatureListError(path.string() + ": error reading signature list");
  return parse(text.str(), path.string());
}

const PatternList::Entry* PatternList::first_match(std::string_view text) const {
  if (entries_.empty()) return nullptr;
  re2::StringPiece piece(text.data(), text.size());
  std::vector<int> hits;
  re2::RE2::Set::ErrorInfo info{};
  if (set_->Match(piece, &hits, &info)) {
    return &entries_[static_cast<size_t>(*std::min_element(hits.begin(), hits.end()))];
  }
  if (info.kind == re2::RE2::Set::kNoError) return nullptr;
  // The set's DFA gave up (memory budget): ask each pattern in turn.
  for (size_t i = 0; i < compiled_.size(); ++i) {
    if (re2::RE2::FullMatch(piece, *compiled_[i])) return &entries_[i];
  }
  return nullptr;
}

SignatureLists SignatureLists::builtin() {
  SignatureLists lists;
  lists.irrelevant = PatternList::parse(builtin_list_text("irrelevant"), "builtin:irrelevant.txt");
  lists.prefix = PatternList::parse(builtin_list_text("prefix"), "builtin:prefix.txt");
  lists.sentinels = PatternList::parse(builtin_list_text("sentinels"), "builtin:sentinels.txt");
  lists.oom = PatternList::parse(builtin_list_text("oom"), "builtin:oom.txt");
  return lists;
}

SignatureLists SignatureLists::load(const Paths& paths) {
  auto one = [&](const std::filesystem::path& own, const char* name) {
    if (!own.empty()) return PatternList::load_file(own);
    if (!paths.dir.empty()) return PatternList::load_file(paths.dir / (std::string(name) + ".txt"));
    return PatternList::parse(builtin_list_text(name), std::string("builtin:") + name + ".txt");
  };
  SignatureLists lists;
  lists.irrelevant = one(paths.irrelevant, "irrelevant");
  lists.prefix = one(paths.prefix, "prefix");
  lists.sentinels = one(paths.sentinels, "sentinels");
  lists.oom = one(paths.oom, "oom");
  return lists;
}

}  // namespace bw::signature
