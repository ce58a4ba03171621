// The wire protocol between the processor and its stack-walking worker processes.
//
// A stream of frames, each a 4-byte little-endian payload length followed by the payload, a JSON
// object. Parent → worker: one hello {"symbols": {...}, "test_hooks": bool}, then requests
// {"dump": path, "test_hook": text}. Worker → parent: {"ready": true} after the hello, then one
// result per request {"status", "json_dump", "notes", "symbol_hits", "symbol_misses"}.
//
// The parent treats everything a worker sends as untrusted (the worker parsed a hostile dump and
// may be corrupted): frames longer than the limit, JSON nested deeper than kMaxJsonDepth, JSON
// that does not parse and messages with missing or mistyped members are errors with a reason,
// never exceptions or undefined behaviour. fuzz/processor_protocol exercises these decoders.
// Thread safety: FrameDecoder is a plain value (one per stream); the functions are pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "processor/dump_walker.h"
#include "symbols/symbol_supplier.h"

namespace bw::processor {

inline constexpr size_t kMaxFrameBytes = size_t{256} << 20;
inline constexpr size_t kMaxJsonDepth = 256;

// The length prefix and the payload.
std::string encode_frame(std::string_view payload);

// Splits a byte stream into frames.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame = kMaxFrameBytes) : max_frame_(max_frame) {}
  // Appends bytes. Returns false once the stream is broken (a frame over the limit); error() says why.
  bool feed(std::string_view bytes);
  // The next complete frame's payload, if one has arrived.
  std::optional<std::string> next();
  bool broken() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // Bytes received but not yet returned as frames.
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  size_t max_frame_;
  std::string buffer_;
  size_t start_ = 0;
  std::string error_;
};

// True when `text` nests arrays and objects at most `max_depth` deep (strings skipped), so that
// parsing it cannot exhaust the stack.
bool json_depth_within(std::string_view text, size_t max_depth);

struct WorkerHello {
  symbols::SymbolOptions symbols;
  bool test_hooks = false;
};

std::string encode_hello(const WorkerHello& hello);
std::optional<WorkerHello> decode_hello(std::string_view payload, std::string* why);
std::string encode_request(const WalkRequest& request);
std::optional<WalkRequest> decode_request(std::string_view payload, std::string* why);
std::string encode_result(const WalkResult& result);
std::optional<WalkResult> decode_result(std::string_view payload, std::string* why);
std::string encode_ready();
bool decode_ready(std::string_view payload, std::string* why);

// Blocking I/O on socket or pipe ends. write_all retries short writes and EINTR; false on any
// error (EPIPE when the other end is gone; on sockets without raising SIGPIPE).
bool write_all(int fd, std::string_view bytes);
enum class ReadStatus { kFrame, kEof, kTimeout, kError, kBadFrame };
// Reads until the decoder yields a frame (into *frame), the deadline passes (nullopt: none), the
// stream ends, or fails. kBadFrame: the decoder broke (error() says why).
ReadStatus read_frame(int fd, FrameDecoder& decoder, std::optional<std::chrono::steady_clock::time_point> deadline,
                      std::string* frame);

}  // namespace bw::processor
