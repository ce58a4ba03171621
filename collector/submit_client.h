// Posts a crash the way Breakpad and Crashpad clients do (libcurl): multipart/form-data with
// annotations as text parts (or one application/json part named "extra", as Firefox does) and
// dumps as file parts, optionally gzip'd (Content-Encoding: gzip, as Crashpad does) and sent with
// Transfer-Encoding: chunked (no Content-Length, as Crashpad does).
// Used by `breakwater submit`, the tests and the load generator.
//
// Errors: std::runtime_error for unreadable dump files and transport failures (connection refused,
// timeout); any HTTP status is a result, not an error. Thread safety: calls are independent.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bw::collector {

struct SubmitRequest {
  std::string url;  // http://host:port/submit[?product=...]
  std::vector<std::pair<std::string, std::filesystem::path>> dumps;  // field name → file
  nlohmann::json annotations = nlohmann::json::object();
  bool json_extra = false;
  bool gzip = false;
  bool chunked = false;
  std::chrono::seconds timeout{300};
  std::string user_agent = "breakwater-submit";
};

struct SubmitResult {
  long status = 0;
  std::string body;
};

// The multipart body for `annotations` and in-memory dumps (name → bytes). Non-string annotation
// values become their JSON text in text parts; with json_extra they stay as they are.
std::string build_multipart_body(const std::string& boundary, const nlohmann::json& annotations, bool json_extra,
                                 const std::vector<std::pair<std::string, std::string>>& dumps);
// A boundary that does not occur in typical data ("------------------------<32 hex>").
std::string random_boundary();

SubmitResult submit_crash(const SubmitRequest& request);

}  // namespace bw::collector
