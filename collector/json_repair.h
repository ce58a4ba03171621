// Repairs the few things in a client's JSON annotations part (Firefox's `extra`) that a strict
// parser refuses although the crash itself is fine, so that a careless client does not lose its
// crash over one value (hardening issue, finding 7). Each repair adds a collector note:
// - invalid UTF-8 bytes become U+FFFD;
// - a `\uD800`–`\uDFFF` escape that is not half of a surrogate pair becomes `\uFFFD`;
// - a number too large for a double (`1e999999`) is kept as its text, a JSON string;
// - a key given twice in one object is noted (the parser keeps the last, as before).
// Anything else that is not JSON stays as it is and fails to parse, as before (a 400).
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bw::collector {

// The repaired text; a note per repair kind and key is appended to `notes`.
std::string repair_json_text(std::string_view text, std::vector<std::string>& notes);

}  // namespace bw::collector
