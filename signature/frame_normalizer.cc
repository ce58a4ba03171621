#include "signature/frame_normalizer.h"

#include <array>
#include <cstdio>

namespace bw::signature {
namespace {

// Qualified Rust paths nest (`<<A as B>::C as D>`); deeper than this they collapse to `<T>`.
constexpr int kMaxRustNesting = 16;

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// Index just past the `>` matching the `<` at `open`, or s.size() if it is never closed. The `>`
// of `->` (Rust `fn() -> T`, C++ `decltype(a->b)`) does not close anything.
size_t skip_angle(std::string_view s, size_t open, bool* closed = nullptr) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '<') {
      ++depth;
    } else if (s[i] == '>' && !(i > 0 && s[i - 1] == '-')) {
      if (--depth == 0) {
        if (closed) *closed = true;
        return i + 1;
      }
    }
  }
  if (closed) *closed = false;
  return s.size();
}

// Index just past the bracket matching the one at `open`, or s.size().
size_t skip_group(std::string_view s, size_t open, char opener, char closer) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == opener) {
      ++depth;
    } else if (s[i] == closer) {
      if (--depth == 0) return i + 1;
    }
  }
  return s.size();
}

std::string collapse_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Drops suffixes compilers add to clones of a function: `.llvm.1234`, `.cold`, `.part.0`,
// `.isra.0`, `.constprop.0`, `.lto_priv.0` (and chains of them).
std::string_view strip_clone_suffixes(std::string_view s) {
  static constexpr std::array<std::string_view, 6> kWords = {".llvm", ".cold", ".part", ".isra", ".constprop", ".lto_priv"};
  for (;;) {
    std::string_view t = s;
    size_t digits = 0;
    while (digits < t.size() && is_digit(t[t.size() - 1 - digits])) ++digits;
    if (digits > 0 && digits < t.size() && t[t.size() - 1 - digits] == '.') t.remove_suffix(digits + 1);
    bool stripped = false;
    for (std::string_view w : kWords) {
      if (t.size() > w.size() && ends_with(t, w)) {
        s = t.substr(0, t.size() - w.size());
        stripped = true;
        break;
      }
    }
    if (!stripped) return s;
  }
}

// `` `anonymous namespace' `` (MSVC) → `(anonymous namespace)` (GCC, Clang).
std::string unify_anonymous_namespace(std::string_view s) {
  static constexpr std::array<std::string_view, 2> kMsvc = {"`anonymous namespace'", "`anonymous-namespace'"};
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    bool replaced = false;
    if (s[i] == '`') {
      for (std::string_view m : kMsvc) {
        if (s.substr(i, m.size()) == m) {
          out += "(anonymous namespace)";
          i += m.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

// Copies the operator after the keyword `operator` (already written to `out`) and returns the
// index after it. Conversion operators (`operator bool`) get a space and leave their type to the
// caller's loop, which collapses templates in it and stops at the argument list.
size_t copy_operator_token(std::string_view s, size_t i, std::string& out) {
  static constexpr std::array<std::string_view, 40> kOps = {
      "<=>", "->*", "<<=", ">>=", "()", "[]", "->", "++", "--", "<<", ">>", "<=", ">=", "==",
      "!=",  "&&",  "||",  "+=",  "-=", "*=", "/=", "%=", "&=", "|=", "^=", "+",  "-",  "*",
      "/",   "%",   "^",   "&",   "|",  "~",  "!",  "=",  "<",  ">",  ",",  "\"\""};
  size_t j = i;
  while (j < s.size() && is_space(s[j])) ++j;
  std::string_view rest = s.substr(j);
  for (std::string_view word : {std::string_view("new"), std::string_view("delete"), std::string_view("co_await")}) {
    if (rest.substr(0, word.size()) == word && (rest.size() == word.size() || !is_ident_char(rest[word.size()]))) {
      out += ' ';
      out += word;
      j += word.size();
      size_t k = j;
      while (k < s.size() && is_space(s[k])) ++k;
      if (word != "co_await" && s.substr(k, 2) == "[]") {
        out += "[]";
        j = k + 2;
      }
      return j;
    }
  }
  // `operator ()` and `operator [ ]` are written with spaces by some demanglers.
  if (!rest.empty() && (rest[0] == '(' || rest[0] == '[')) {
    char closer = rest[0] == '(' ? ')' : ']';
    size_t k = 1;
    while (k < rest.size() && is_space(rest[k])) ++k;
    if (k < rest.size() && rest[k] == closer) {
      out += rest[0];
      out += closer;
      return j + k + 1;
    }
  }
  for (std::string_view op : kOps) {
    if (rest.substr(0, op.size()) == op) {
      out += op;
      j += op.size();
      if (op == "\"\"") {  // user-defined literal: operator""_kb
        while (j < s.size() && is_space(s[j])) ++j;
        while (j < s.size() && is_ident_char(s[j])) out += s[j++];
      }
      return j;
    }
  }
  // Conversion operator: `operator bool`, `operator char const*`; the type starts with a name.
  if (j < s.size() && is_ident_char(s[j])) out += ' ';
  return j;
}

// After an argument list: if only qualifiers (const, volatile, &, &&, noexcept(...), throw(),
// override, final, __ptr64, [clone .cold], [abi:cxx11]) come before a `::`, the function is the
// scope of a local entity (`Foo::Run()::$_0::operator()`): returns the index of that `::`.
// Otherwise returns npos: the rest is dropped.
size_t scope_after_arguments(std::string_view s, size_t i) {
  static constexpr std::array<std::string_view, 11> kQualifiers = {
      "const", "volatile", "noexcept", "throw", "override", "final", "__ptr64", "__restrict", "restrict", "mutable", "__unaligned"};
  while (i < s.size()) {
    char c = s[i];
    if (is_space(c) || c == '&') {
      ++i;
    } else if (c == ':' && i + 1 < s.size() && s[i + 1] == ':') {
      return i;
    } else if (c == '[') {
      i = skip_group(s, i, '[', ']');
    } else if (is_ident_char(c)) {
      size_t end = i;
      while (end < s.size() && is_ident_char(s[end])) ++end;
      std::string_view word = s.substr(i, end - i);
      bool known = false;
      for (std::string_view q : kQualifiers) known = known || word == q;
      if (!known) return std::string_view::npos;
      i = end;
      while (i < s.size() && is_space(s[i])) ++i;
      if (i < s.size() && s[i] == '(' && (word == "noexcept" || word == "throw")) i = skip_group(s, i, '(', ')');
    } else {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

bool at_segment_start(const std::string& out) { return out.empty() || ends_with(out, "::"); }

bool is_operator_keyword_at(std::string_view s, size_t i) {
  constexpr std::string_view kw = "operator";
  return s.substr(i, kw.size()) == kw && (i == 0 || !is_ident_char(s[i - 1])) &&
         (i + kw.size() == s.size() || !is_ident_char(s[i + kw.size()]));
}

// Phase one for C++: collapse templates, drop argument lists and what follows them, keep
// operators and `(anonymous namespace)`, normalize whitespace.
std::string collapse_cpp(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == 'o' && is_operator_keyword_at(s, i)) {
      out += "operator";
      i = copy_operator_token(s, i + 8, out);
    } else if (c == '<') {
      // `Foo <T>` loses the space, but `operator< <T>` keeps it: `operator<<T>` would read as `<<`.
      if (out.size() >= 2 && out.back() == ' ' && out[out.size() - 2] != '<' && out[out.size() - 2] != '>') out.pop_back();
      // MSVC `<lambda_1f2e...>` (and its normalized form `<lambda>`).
      bool lambda = at_segment_start(out) && (s.substr(i + 1, 7) == "lambda_" || s.substr(i + 1, 7) == "lambda>");
      out += lambda ? "<lambda>" : "<T>";
      i = skip_angle(s, i);
    } else if (c == '(') {
      constexpr std::string_view kAnon = "(anonymous namespace)";
      if (s.substr(i, kAnon.size()) == kAnon) {
        out += kAnon;
        i += kAnon.size();
        continue;
      }
      size_t scope = scope_after_arguments(s, skip_group(s, i, '(', ')'));
      if (scope == std::string_view::npos) break;
      i = scope;
    } else if (c == '[') {
      std::string_view rest = s.substr(i);
      if (rest.substr(0, 8) == "[thunk]:" && (out.empty() || out.back() == ' ')) {  // MSVC adjustor thunks
        i += 8;
      } else if ((rest.substr(0, 6) == "[clone" && rest.size() > 6 && is_space(rest[6])) || rest.substr(0, 5) == "[abi:") {
        i = skip_group(s, i, '[', ']');
      } else {
        out += c;
        ++i;
      }
    } else if (c == '{') {
      // Local entities: `{lambda(int)#1}`, `{unnamed type#2}`: kept whole, whitespace normalized.
      size_t end = skip_group(s, i, '{', '}');
      out += collapse_whitespace(s.substr(i, end - i));
      i = end;
    } else if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Phase two for C++: what remains is "<return type and specifiers> <name>"; keep the name. A name
// contains spaces only from its `operator` on (`operator new`, `operator char const*`,
// `operator< <T>`), so it starts at the first word holding the keyword, else at the last word.
std::string strip_return_type(std::string_view s) {
  size_t last_word = 0;
  size_t operator_word = std::string_view::npos;
  int parens = 0, braces = 0, brackets = 0, quotes = 0;
  auto check_word = [&](size_t start, size_t end) {
    if (operator_word != std::string_view::npos) return;
    std::string_view word = s.substr(start, end - start);
    for (size_t k = word.find("operator"); k != std::string_view::npos; k = word.find("operator", k + 1)) {
      if (is_operator_keyword_at(s, start + k)) {
        operator_word = start;
        return;
      }
    }
  };
  for (size_t i = 0; i < s.size(); ++i) {
    switch (s[i]) {
      case '(': ++parens; break;
      case ')': parens -= parens > 0; break;
      case '{': ++braces; break;
      case '}': braces -= braces > 0; break;
      case '[': ++brackets; break;
      case ']': brackets -= brackets > 0; break;
      case '`': ++quotes; break;
      case '\'': quotes -= quotes > 0; break;
      case ' ':
        if (parens == 0 && braces == 0 && brackets == 0 && quotes == 0) {
          check_word(last_word, i);
          last_word = i + 1;
        }
        break;
      default: break;
    }
  }
  check_word(last_word, s.size());
  size_t start = operator_word != std::string_view::npos ? operator_word : last_word;
  std::string_view name = s.substr(start);
  while (!name.empty() && (name.front() == '*' || name.front() == '&')) name.remove_prefix(1);
  return std::string(name);
}

// Rust: generics after a path segment become `<T>`; turbofish generics (`::<u8>`) go away;
// qualified paths (`<Vec<u8> as Drop>`, `<impl Trait for X>`) keep their structure.
std::string collapse_rust(std::string_view s, int depth) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c != '<') {
      if (is_space(c)) {
        if (!out.empty() && out.back() != ' ') out += ' ';
      } else {
        out += c;
      }
      ++i;
      continue;
    }
    bool closed = false;
    size_t end = skip_angle(s, i, &closed);
    std::string_view inner = s.substr(i + 1, (closed ? end - 1 : end) - (i + 1));
    bool turbofish = ends_with(out, "::");
    bool impl_block = inner.substr(0, 5) == "impl ";
    if (turbofish && (!impl_block || depth >= kMaxRustNesting)) {
      out.resize(out.size() - 2);
    } else if (at_segment_start(out) && depth < kMaxRustNesting) {
      out += '<';
      out += collapse_rust(inner, depth + 1);
      if (closed) out += '>';  // a truncated name stays truncated
    } else {
      out += "<T>";
    }
    i = end;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// `::h` + 16 hex digits: the legacy Rust mangling hash.
std::string_view strip_rust_hash(std::string_view s) {
  if (s.size() >= 19 && s.substr(s.size() - 19, 3) == "::h") {
    std::string_view h = s.substr(s.size() - 16);
    bool all_hex = true;
    for (char c : h) all_hex = all_hex && is_hex(c);
    if (all_hex) s.remove_suffix(19);
  }
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Clone suffixes and hashes can also surface at the end once argument lists and generics are
// gone (`f(int).cold` → `f.cold`): strip them again so normalizing is idempotent.
std::string strip_trailing_noise(std::string s, bool rust) {
  for (;;) {
    std::string_view t = strip_clone_suffixes(s);
    if (rust) t = strip_rust_hash(t);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (t.size() == s.size()) return s;
    s.resize(t.size());
  }
}

}  // namespace

std::string normalize_cpp_function(std::string_view name) {
  std::string_view s = trim(name);
  // Objective-C methods (`-[NSView display]`) have no templates or argument lists to drop.
  if (s.size() >= 2 && (s[0] == '-' || s[0] == '+') && s[1] == '[') return collapse_whitespace(s);
  std::string unified = unify_anonymous_namespace(strip_clone_suffixes(s));
  // Unified again after whitespace is collapsed (`` `anonymous  namespace' `` with two spaces).
  return strip_trailing_noise(strip_return_type(unify_anonymous_namespace(collapse_cpp(unified))), false);
}

std::string normalize_rust_function(std::string_view name) {
  std::string_view s = strip_clone_suffixes(trim(name));
  s = strip_rust_hash(s);
  return strip_trailing_noise(collapse_rust(s, 0), true);
}

bool is_rust_function(std::string_view function, std::string_view file) {
  std::string source = source_file_name(file);
  if (ends_with(source, ".rs")) return true;
  std::string_view f = trim(function);
  if (strip_rust_hash(f).size() != f.size()) return true;
  if (f.find("{closure") != std::string_view::npos || f.find("{shim:") != std::string_view::npos) return true;
  if (f.find("<impl ") != std::string_view::npos) return true;
  return !f.empty() && f.front() == '<' && f.find(" as ") != std::string_view::npos;
}

std::string source_file_name(std::string_view path) {
  std::string_view p = trim(path);
  // VCS-qualified paths: `hg:<repo>:<path>:<revision>`, `git:<repo>:<path>:<revision>`.
  if (p.substr(0, 3) == "hg:" || p.substr(0, 4) == "git:") {
    size_t first = p.find(':');
    size_t second = p.find(':', first + 1);
    if (second != std::string_view::npos) {
      size_t third = p.find(':', second + 1);
      p = p.substr(second + 1, third == std::string_view::npos ? std::string_view::npos : third - second - 1);
    }
  }
  while (!p.empty() && (p.back() == '/' || p.back() == '\\')) p.remove_suffix(1);
  size_t slash = p.find_last_of("/\\");
  if (slash != std::string_view::npos) p.remove_prefix(slash + 1);
  return std::string(p);
}

std::string hex_offset(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

NormalizedFrame normalize_frame(const Frame& frame) {
  if (!trim(frame.function).empty()) {
    std::string text = is_rust_function(frame.function, frame.file) ? normalize_rust_function(frame.function)
                                                                    : normalize_cpp_function(frame.function);
    if (!text.empty()) return {std::move(text), FrameKind::kFunction, {}};
  }
  std::string file = source_file_name(frame.file);
  if (!file.empty() && frame.line) {
    return {collapse_whitespace(file) + "#" + std::to_string(*frame.line), FrameKind::kFileLine, {}};
  }
  std::string module = collapse_whitespace(source_file_name(frame.module));
  if (!module.empty()) {
    std::optional<uint64_t> where = frame.module_offset;
    std::string text = where ? module + "@" + hex_offset(*where) : module;
    return {std::move(text), FrameKind::kModule, std::move(module)};
  }
  if (frame.offset) return {"@" + hex_offset(*frame.offset), FrameKind::kAddress, {}};
  return {"??", FrameKind::kUnknown, {}};
}

}  // namespace bw::signature
