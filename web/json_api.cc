#include "web/json_api.h"

#include <optional>
#include <utility>

#include "web/html.h"

namespace bw::web {
namespace {

using nlohmann::json;

constexpr size_t kMaxParameterBytes = 100;

}  // namespace

std::string dump_json(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

http::Response json_answer(int status, const json& body) {
  return http::Response::api_json(status, dump_json(body), "no-cache");
}

http::Response json_error(int status, std::string message) { return json_answer(status, json{{"error", std::move(message)}}); }

http::Response json_field_error(std::string_view parameter, std::string message) {
  std::string name(html::utf8_prefix(parameter, kMaxParameterBytes));
  return json_answer(400, json{{"errors", {{std::move(name), json::array({std::move(message)})}}}});
}

http::Response json_unavailable(std::string message) {
  http::Response r = json_error(503, std::move(message));
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

}  // namespace bw::web
