// The pattern lists that steer signature generation (docs/signatures.md):
//   irrelevant — frames skipped by the walk (abort, raise, assertion and panic helpers, allocator
//                internals, crash-reporter machinery);
//   prefix     — frames the walk keeps and goes past (memcpy, malloc, objc_msgSend, drivers…);
//   sentinels  — a frame that, when present, is where the walk starts (frames above it are the
//                runtime's handling of the error, e.g. `_purecall`);
//   oom        — frames that mean the process ran out of memory (`OOM | unknown | …`).
//
// List file format: one RE2 regular expression per line, matched against the *whole* normalized
// frame text (a pattern that wants a prefix match ends in `.*`); blank lines and lines whose first
// non-blank character is `#` are ignored; surrounding whitespace is trimmed. The shipped lists
// live in signature/lists/ and are compiled into the library; config can replace any of them
// (section [signature], see signature_generator.h).
//
// RE2 matches in time linear in the frame text, so hostile symbol names cannot make matching
// slow. Errors: a pattern that does not compile, or a file that cannot be read, throws
// SignatureListError naming the file and line. Thread safety: a built PatternList is immutable and
// may be matched from any thread.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <re2/set.h>

namespace bw::signature {

class SignatureListError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PatternList {
 public:
  struct Entry {
    std::string pattern;
    std::string source;  // file name (or "builtin:<list>.txt")
    int line = 0;
  };

  PatternList() = default;
  // Parses list text; `source` names it in errors and in match explanations.
  static PatternList parse(std::string_view text, const std::string& source);
  static PatternList load_file(const std::filesystem::path& path);

  // The first entry (in file order) that matches the whole of `text`, if any.
  const Entry* first_match(std::string_view text) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  // All entries in one automaton (one pass per frame), and each alone for when the set's DFA runs
  // out of memory. RE2 objects are thread-safe for matching.
  std::shared_ptr<const re2::RE2::Set> set_;
  std::vector<std::shared_ptr<const re2::RE2>> compiled_;
};

struct SignatureLists {
  PatternList irrelevant;
  PatternList prefix;
  PatternList sentinels;
  PatternList oom;

  // The lists shipped in signature/lists/, as compiled into the library.
  static SignatureLists builtin();
  // Each list from its own file when the path is non-empty, else from `dir/<name>.txt` when `dir`
  // is non-empty, else the built-in copy.
  struct Paths {
    std::filesystem::path dir, irrelevant, prefix, sentinels, oom;
  };
  static SignatureLists load(const Paths& paths);
};

// The text of a shipped list ("irrelevant", "prefix", "sentinels", "oom"); empty for other names.
std::string_view builtin_list_text(std::string_view name);

}  // namespace bw::signature
