// A streaming multipart parser (RFC 2046 / RFC 7578): multipart/form-data and multipart/mixed.
//
// Bytes are fed in pieces of any size; parts are reported to a Sink as they are found: a begin
// with the part's headers, its data in pieces (never buffered whole), an end. Memory held is the
// part headers (bounded by Limits::max_header_bytes) plus a tail shorter than the delimiter.
//
// Errors: a malformed body (no opening boundary, part headers too long or not "Name: value",
// too many parts, a body that ends before the closing boundary) throws
// MultipartError with a short reason. Exceptions thrown by the Sink pass through unchanged.
// After any exception the parser must not be fed again.
// Thread safety: one parser per request; no shared state.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bw::http {

class MultipartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PartHeaders {
  std::string name;                     // Content-Disposition name parameter ("" if none)
  std::optional<std::string> filename;  // Content-Disposition filename parameter
  std::string content_type;             // media type, lowercased, parameters removed ("" if none)
  std::string content_encoding;         // Content-Transfer-Encoding / Content-Encoding, lowercased
};

class MultipartSink {
 public:
  virtual ~MultipartSink() = default;
  virtual void on_part_begin(const PartHeaders& headers) = 0;
  virtual void on_part_data(std::string_view data) = 0;
  virtual void on_part_end() = 0;
};

struct MultipartLimits {
  size_t max_header_bytes = 16 * 1024;  // one part's header block
  size_t max_parts = 1000;
};

class MultipartParser {
 public:
  // `boundary` as given in the Content-Type parameter (1..200 characters).
  MultipartParser(std::string boundary, MultipartSink& sink, MultipartLimits limits = {});

  void feed(std::string_view data);
  // End of the body: throws MultipartError unless the closing boundary was seen.
  void finish();
  bool done() const { return state_ == State::kEpilogue; }
  size_t parts() const { return parts_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue };
  void parse_headers(std::string_view block);
  // Parses as far as `input` allows; returns how many bytes were used up.
  size_t consume(std::string_view input);

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartSink& sink_;
  MultipartLimits limits_;
  State state_ = State::kPreamble;
  std::string pending_;  // bytes not yet consumed (a possible delimiter start, or header block)
  size_t parts_ = 0;
};

// Splits a Content-Type value: media type (lowercased) and its parameters (names lowercased,
// quoted values unquoted). "multipart/form-data; boundary="a b"" → {"multipart/form-data",
// {{"boundary","a b"}}}. Malformed parameters are skipped.
struct MediaType {
  std::string type;
  std::vector<std::pair<std::string, std::string>> params;
  std::optional<std::string> param(std::string_view name) const;
};
MediaType parse_media_type(std::string_view value);

}  // namespace bw::http
