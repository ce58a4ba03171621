// GET/HEAD /symbols/...: the site's symbol store as a symbol server.
#include "symbols/symbol_routes.h"

#include <zlib.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/ascii.h"
#include "core/fs_util.h"
#include "core/log.h"
#include "symbols/symbol_supplier.h"

namespace bw::symbols {

namespace {

constexpr std::string_view kPrefix = "/symbols/";
constexpr size_t kMaxPath = 2048;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `each` with every comma-separated element of a header value, trimmed, empty ones skipped.
void for_each_element(std::string_view value, const std::function<void(std::string_view)>& each) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view element = trim(value.substr(0, comma));
    if (!element.empty()) each(element);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// RFC 9110 §12.5.3: gzip is acceptable when listed (gzip, x-gzip) with a non-zero q, or, when not
// listed, when "*" is with a non-zero q.
bool accepts_gzip(const std::string* header) {
  if (!header) return false;
  std::optional<bool> gzip, star;
  for_each_element(*header, [&](std::string_view element) {
    size_t semi = element.find(';');
    std::string_view coding = trim(element.substr(0, semi));
    bool acceptable = true;
    while (semi != std::string_view::npos) {
      element.remove_prefix(semi + 1);
      semi = element.find(';');
      std::string_view param = trim(element.substr(0, semi));
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        std::string_view q = param.substr(2);
        // q=0, q=0., q=0.000: not acceptable. Anything else (malformed included) counts as yes.
        acceptable = !(q.size() >= 1 && q[0] == '0' && q.find_first_not_of("0.", 1) == std::string_view::npos &&
                       q.find('.', 2) == std::string_view::npos);
      }
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip = gzip.value_or(false) || acceptable;
    } else if (coding == "*") {
      star = star.value_or(false) || acceptable;
    }
  });
  return gzip ? *gzip : star.value_or(false);
}

// If-None-Match (weak comparison, RFC 9110 §13.1.2): true when it lists `etag` or is "*".
bool none_match_hits(const std::string* header, const std::string& etag) {
  if (!header) return false;
  bool hit = false;
  for_each_element(*header, [&](std::string_view tag) {
    if (tag == "*") hit = true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) hit = true;
  });
  return hit;
}

http::Response plain(int status, std::string body, std::chrono::seconds max_age = std::chrono::seconds(0)) {
  http::Response r = http::Response::text(status, std::move(body));
  r.headers.emplace_back("Cache-Control", max_age.count() > 0 ? "public, max-age=" + std::to_string(max_age.count())
                                                              : std::string("no-store"));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

// The whole inflated content of a gzip file; nullopt (with *why) when it is damaged.
std::optional<std::string> inflate_file(const std::filesystem::path& file, std::string* why) {
  gzFile gz = gzopen(file.c_str(), "rb");
  if (!gz) {
    *why = "cannot open";
    return std::nullopt;
  }
  gzbuffer(gz, 1 << 20);
  std::string out;
  constexpr size_t kPiece = size_t{1} << 20;
  for (;;) {
    size_t at = out.size();
    out.resize(at + kPiece);
    int n = gzread(gz, out.data() + at, static_cast<unsigned>(kPiece));
    out.resize(at + static_cast<size_t>(std::max(n, 0)));
    int err = Z_OK;
    const char* msg = gzerror(gz, &err);
    if (n < 0 || (n == 0 && err != Z_OK) || (n > 0 && gzdirect(gz))) {
      *why = n > 0 ? "not gzip data" : err == Z_BUF_ERROR ? "truncated gzip data" : msg;
      gzclose(gz);
      return std::nullopt;
    }
    if (n == 0) break;
  }
  gzclose(gz);
  return out;
}

class SymbolRoutes {
 public:
  SymbolRoutes(const SymbolStore& store, SymbolRouteOptions options)
      : store_(store), options_(options), log_(logger("symbols")) {}

  http::Reply handle(const http::Request& req) const {
    if (req.path.size() > kMaxPath) return plain(400, "symbol path too long\n");
    std::string_view rest = std::string_view(req.path).substr(kPrefix.size());
    std::string parts[3];
    for (int i = 0; i < 3; ++i) {
      size_t slash = rest.find('/');
      if ((i < 2) == (slash == std::string_view::npos) || rest.substr(0, slash).empty()) {
        return plain(400, "expected /symbols/<debug_file>/<debug_id>/<file>.sym or /symbols/<code_file>/<code_id>/<code_file>\n");
      }
      parts[i] = http::percent_decode(rest.substr(0, slash), false);
      if (slash != std::string_view::npos) rest.remove_prefix(slash + 1);
    }
    // Checked here, on the I/O thread, with the store's own rules: nothing unusable reaches a path.
    std::string why;
    if (store_path(parts[0], parts[1], &why).empty()) return bad_path(why);
    if (parts[2] == sym_file_name(parts[0])) {
      return http::deferred([this, file = parts[0], id = parts[1], gzip = accepts_gzip(req.header("Accept-Encoding")),
                                         inm = optional_header(req, "If-None-Match")] {
        return symbol_file(file, id, gzip, inm ? &*inm : nullptr);
      });
    }
    if (parts[2] == parts[0]) {
      return http::deferred([this, file = parts[0], id = parts[1]] { return code_lookup(file, id); });
    }
    return not_found();
  }

 private:
  static std::optional<std::string> optional_header(const http::Request& req, std::string_view name) {
    const std::string* h = req.header(name);
    return h ? std::optional<std::string>(*h) : std::nullopt;
  }

  http::Response not_found() const { return plain(404, "symbols not found\n", options_.not_found_max_age); }

  // The reason may quote the path: cut, so an answer never echoes much of a request.
  static http::Response bad_path(const std::string& why) {
    constexpr size_t kMaxEcho = 160;
    return plain(400, "bad symbol path: " + (why.size() > kMaxEcho ? why.substr(0, kMaxEcho) + "..." : why) + "\n");
  }

  void cache_headers(http::Response& r, const std::string& etag) const {
    r.headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(options_.max_age.count()));
    if (!etag.empty()) r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Vary", "Accept-Encoding");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  }

  http::Response symbol_file(const std::string& file, const std::string& id, bool gzip,
                             const std::string* if_none_match) const {
    std::string invalid;
    auto stored = store_.find(file, id, &invalid);
    if (!invalid.empty()) return bad_path(invalid);
    if (!stored) return not_found();
    std::string etag = stored->sha256.empty() ? "" : "\"" + stored->sha256 + (gzip ? "-gzip" : "") + "\"";

    http::Response r;
    r.content_type = "text/plain";
    if (gzip) r.headers.emplace_back("Content-Encoding", "gzip");
    cache_headers(r, etag);
    if (!etag.empty() && none_match_hits(if_none_match, etag)) {
      r.status = 304;
      return r;
    }
    try {
      if (gzip) {
        r.body = bw::fs::read_file(stored->file);
      } else {
        std::string why;
        auto text = inflate_file(stored->file, &why);
        if (!text) {
          log_fields(*log_, spdlog::level::err, "stored symbols unreadable", {{"file", stored->file.string()}, {"error", why}});
          return plain(500, "stored symbols are damaged\n");
        }
        r.body = std::move(*text);
      }
    } catch (const std::system_error& e) {
      if (e.code() == std::errc::no_such_file_or_directory) return not_found();  // removed meanwhile
      log_fields(*log_, spdlog::level::err, "stored symbols unreadable", {{"file", stored->file.string()}, {"error", e.what()}});
      return plain(500, "stored symbols cannot be read\n");
    }
    return r;
  }

  http::Response code_lookup(const std::string& code_file, const std::string& code_id) const {
    std::string invalid;
    auto path = store_.find_code(code_file, code_id, &invalid);
    if (!invalid.empty()) return bad_path(invalid);
    if (!path) return not_found();
    std::string location = std::string(kPrefix) + percent_encode_path(*path);
    http::Response r = plain(302, location + "\n", options_.max_age);
    r.headers.emplace_back("Location", location);
    return r;
  }

  const SymbolStore& store_;
  SymbolRouteOptions options_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

void add_symbol_routes(http::Server& server, const SymbolStore& store, SymbolRouteOptions options) {
  auto routes = std::make_shared<SymbolRoutes>(store, options);
  // A GET has no body; a small limit keeps one from holding a worker.
  server.route(http::Access::open(), {"GET", std::string(kPrefix), 1024,
                [routes](const http::Request& req) -> http::Reply { return routes->handle(req); }, true});
}

}  // namespace bw::symbols
