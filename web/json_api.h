// What every JSON endpoint of the web app shares: answers with crash-stats' shapes and headers,
// and running a handler's work on the server's worker pool.
//
// Every answer here is `application/json` with `X-Content-Type-Options: nosniff` and
// `Cache-Control: no-cache` (crash-stats does not cache its API answers either). Invalid UTF-8 in
// a value becomes U+FFFD instead of failing the answer.
//
// Thread safety: free functions without state.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/server.h"

namespace bw::web {

// http::deferred: storage reads, index queries and rendering run on the worker pool.
using http::deferred;

// `body` serialized compactly (invalid UTF-8 replaced).
std::string dump_json(const nlohmann::json& body);

// A JSON answer with the headers above.
http::Response json_answer(int status, const nlohmann::json& body);
// {"error": message}: crash-stats' shape for 403, 404 and server errors.
http::Response json_error(int status, std::string message);
// 400 {"errors": {parameter: [message]}}: crash-stats' form-error shape. A parameter name longer
// than 100 bytes is cut (on a character boundary), so an answer never echoes a huge key.
http::Response json_field_error(std::string_view parameter, std::string message);
// 503 {"error": message} with `Retry-After: 5`.
http::Response json_unavailable(std::string message);

}  // namespace bw::web
