// The files of web/static (stylesheet, scripts), embedded into the binary at build time
// (web/embed_static.cmake) and served at a URL that holds a hash of their content, with a
// one-year cache lifetime: a new build with a changed file serves it under a new URL.
// Thread safety: immutable data, safe from any thread.
#pragma once

#include <string_view>
#include <vector>

namespace bw::web {

struct StaticAsset {
  std::string_view name;          // file name in web/static: "style.css"
  std::string_view path;          // URL path: "/static/style.0123456789abcdef.css"
  std::string_view content_type;  // "text/css; charset=utf-8"
  std::string_view body;
};

// Every embedded file, by name.
const std::vector<StaticAsset>& static_assets();
// The file named `name`; throws std::logic_error when web/static has no such file.
const StaticAsset& static_asset(std::string_view name);

}  // namespace bw::web
