#include "processor/worker_protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

namespace bw::processor {
namespace {

using nlohmann::json;

// Parses an object payload, refusing deep nesting and bad JSON.
std::optional<json> parse_object(std::string_view payload, std::string* why) {
  if (!json_depth_within(payload, kMaxJsonDepth)) {
    if (why) *why = "message nested too deeply";
    return std::nullopt;
  }
  json j = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    if (why) *why = "message is not valid JSON";
    return std::nullopt;
  }
  if (!j.is_object()) {
    if (why) *why = "message is not a JSON object";
    return std::nullopt;
  }
  return j;
}

bool fail(std::string* why, const std::string& reason) {
  if (why) *why = reason;
  return false;
}

const json* get(const json& j, const char* key, json::value_t type) {
  auto it = j.find(key);
  if (it == j.end()) return nullptr;
  if (it->type() == type) return &*it;
  // Non-negative integers parse as unsigned.
  if (type == json::value_t::number_unsigned && it->is_number_integer() && it->get<int64_t>() >= 0) return &*it;
  return nullptr;
}

std::optional<std::vector<std::string>> string_list(const json& j, const char* key) {
  const json* a = get(j, key, json::value_t::array);
  if (!a) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *a) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

std::string encode_frame(std::string_view payload) {
  uint32_t n = static_cast<uint32_t>(payload.size());
  std::string out;
  out.reserve(4 + payload.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(payload);
  return out;
}

bool FrameDecoder::feed(std::string_view bytes) {
  if (broken()) return false;
  // Drop consumed bytes before growing, so the buffer stays about one frame long.
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
  if (buffered() >= 4) {
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(buffer_[start_ + static_cast<size_t>(i)])) << (8 * i);
    if (n > max_frame_) {
      error_ = "frame of " + std::to_string(n) + " bytes is over the limit of " + std::to_string(max_frame_);
      return false;
    }
  }
  return true;
}

std::optional<std::string> FrameDecoder::next() {
  if (broken() || buffered() < 4) return std::nullopt;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(buffer_[start_ + static_cast<size_t>(i)])) << (8 * i);
  if (n > max_frame_) {
    error_ = "frame of " + std::to_string(n) + " bytes is over the limit of " + std::to_string(max_frame_);
    return std::nullopt;
  }
  if (buffered() - 4 < n) return std::nullopt;
  std::string frame = buffer_.substr(start_ + 4, n);
  start_ += 4 + n;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return frame;
}

bool json_depth_within(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::string encode_hello(const WorkerHello& hello) {
  json paths = json::array();
  for (const auto& p : hello.symbols.paths) paths.push_back(p.string());
  json j = {{"symbols",
             {{"store_dir", hello.symbols.store_dir.string()},
              {"paths", paths},
              {"urls", hello.symbols.urls},
              {"cache_dir", hello.symbols.cache_dir.string()},
              {"lru_bytes", hello.symbols.lru_bytes},
              {"connect_timeout_ms", hello.symbols.connect_timeout.count()},
              {"total_timeout_ms", hello.symbols.total_timeout.count()},
              {"negative_ttl_s", hello.symbols.negative_ttl.count()}}},
            {"test_hooks", hello.test_hooks}};
  return j.dump();
}

std::optional<WorkerHello> decode_hello(std::string_view payload, std::string* why) {
  auto j = parse_object(payload, why);
  if (!j) return std::nullopt;
  const json* s = get(*j, "symbols", json::value_t::object);
  const json* hooks = get(*j, "test_hooks", json::value_t::boolean);
  if (!s || !hooks) {
    fail(why, "hello lacks symbols or test_hooks");
    return std::nullopt;
  }
  const json* store = get(*s, "store_dir", json::value_t::string);
  auto paths = string_list(*s, "paths");
  auto urls = string_list(*s, "urls");
  const json* cache = get(*s, "cache_dir", json::value_t::string);
  const json* lru = get(*s, "lru_bytes", json::value_t::number_unsigned);
  const json* connect = get(*s, "connect_timeout_ms", json::value_t::number_unsigned);
  const json* total = get(*s, "total_timeout_ms", json::value_t::number_unsigned);
  const json* ttl = get(*s, "negative_ttl_s", json::value_t::number_unsigned);
  if (!store || !paths || !urls || !cache || !lru || !connect || !total || !ttl) {
    fail(why, "hello has a missing or mistyped symbols member");
    return std::nullopt;
  }
  WorkerHello h;
  h.symbols.store_dir = store->get<std::string>();
  for (const auto& p : *paths) h.symbols.paths.emplace_back(p);
  h.symbols.urls = *urls;
  h.symbols.cache_dir = cache->get<std::string>();
  h.symbols.lru_bytes = lru->get<uint64_t>();
  h.symbols.connect_timeout = std::chrono::milliseconds(connect->get<int64_t>());
  h.symbols.total_timeout = std::chrono::milliseconds(total->get<int64_t>());
  h.symbols.negative_ttl = std::chrono::seconds(ttl->get<int64_t>());
  h.test_hooks = hooks->get<bool>();
  return h;
}

std::string encode_request(const WalkRequest& request) {
  return json{{"dump", request.dump.string()}, {"test_hook", request.test_hook}}.dump();
}

std::optional<WalkRequest> decode_request(std::string_view payload, std::string* why) {
  auto j = parse_object(payload, why);
  if (!j) return std::nullopt;
  const json* dump = get(*j, "dump", json::value_t::string);
  const json* hook = get(*j, "test_hook", json::value_t::string);
  if (!dump || !hook || dump->get_ref<const std::string&>().empty()) {
    fail(why, "request lacks dump or test_hook");
    return std::nullopt;
  }
  return WalkRequest{dump->get<std::string>(), hook->get<std::string>()};
}

std::string encode_result(const WalkResult& result) {
  // Replace invalid UTF-8 (names from a hostile dump) rather than fail to encode.
  return json{{"status", result.status},
              {"json_dump", result.json_dump},
              {"notes", result.notes},
              {"symbol_hits", result.symbol_hits},
              {"symbol_misses", result.symbol_misses}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<WalkResult> decode_result(std::string_view payload, std::string* why) {
  auto j = parse_object(payload, why);
  if (!j) return std::nullopt;
  const json* status = get(*j, "status", json::value_t::string);
  const json* dump = get(*j, "json_dump", json::value_t::object);
  auto notes = string_list(*j, "notes");
  const json* hits = get(*j, "symbol_hits", json::value_t::number_unsigned);
  const json* misses = get(*j, "symbol_misses", json::value_t::number_unsigned);
  if (!status || !dump || !notes || !hits || !misses) {
    fail(why, "result has a missing or mistyped member");
    return std::nullopt;
  }
  const std::string& s = status->get_ref<const std::string&>();
  if (s.empty() || s.size() > 64 ||
      s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != std::string::npos) {
    fail(why, "result status is not a status name");
    return std::nullopt;
  }
  WalkResult r;
  r.status = s;
  r.json_dump = std::move((*j)["json_dump"]);
  r.notes = std::move(*notes);
  r.symbol_hits = hits->get<uint64_t>();
  r.symbol_misses = misses->get<uint64_t>();
  return r;
}

std::string encode_ready() { return json{{"ready", true}}.dump(); }

bool decode_ready(std::string_view payload, std::string* why) {
  auto j = parse_object(payload, why);
  if (!j) return false;
  const json* r = get(*j, "ready", json::value_t::boolean);
  if (!r || !r->get<bool>()) return fail(why, "worker did not say it is ready");
  return true;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    // On a socket, MSG_NOSIGNAL turns a vanished peer into EPIPE instead of a SIGPIPE that would
    // kill a process that did not ignore it; on anything else, a plain write.
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

ReadStatus read_frame(int fd, FrameDecoder& decoder, std::optional<std::chrono::steady_clock::time_point> deadline,
                      std::string* frame) {
  char buf[64 * 1024];
  while (true) {
    if (auto f = decoder.next()) {
      *frame = std::move(*f);
      return ReadStatus::kFrame;
    }
    if (decoder.broken()) return ReadStatus::kBadFrame;
    int wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return ReadStatus::kTimeout;
      wait_ms = static_cast<int>(std::min<int64_t>(left.count() + 1, 60'000));
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ReadStatus::kError;
    }
    if (r == 0) continue;  // re-check the deadline
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ReadStatus::kError;
    }
    if (n == 0) return ReadStatus::kEof;
    if (!decoder.feed(std::string_view(buf, static_cast<size_t>(n)))) return ReadStatus::kBadFrame;
  }
}

}  // namespace bw::processor
