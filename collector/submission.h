// One crash submission's body, parsed as it streams in: optional gzip → multipart → annotations
// (text parts, or one application/json part) and dumps (every other part, written to staging files
// with their SHA-256 as they arrive). Independent of HTTP so it can be tested and fuzzed alone.
//
// Errors: every way a submission can be refused is a `Discard` carrying the HTTP status and the
// docs/design.md §3 reason ("malformed_bad_gzip", "too_large", ...); a local disk failure is a Discard with
// status 500 and an empty reason. After a Discard the parser must not be fed again.
// Ownership: staging files belong to the StagedDump objects (removed when they are destroyed),
// so a submission that ends anyhow leaves nothing behind. Thread safety: one per request.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/gzip_stream.h"
#include "http/multipart.h"

namespace bw::collector {

using http::MultipartParser;
using http::MultipartSink;
using http::PartHeaders;
using http::MultipartError;
using http::MultipartLimits;
using http::parse_media_type;

struct Discard : std::runtime_error {
  Discard(int s, std::string r) : std::runtime_error(r.empty() ? "storage failure" : r), status(s), reason(std::move(r)) {}
  int status;
  std::string reason;  // "malformed_no_boundary", "too_large", ...; "" for a 500
};

// A dump being (or having been) written to the staging folder.
class StagedDump {
 public:
  StagedDump(std::string name, const std::filesystem::path& staging_dir);  // throws Discard(500)
  ~StagedDump();
  StagedDump(const StagedDump&) = delete;
  StagedDump& operator=(const StagedDump&) = delete;

  void write(std::string_view data);  // throws Discard(500) on a disk error
  void close();                       // flushes the file and computes the digest
  const std::string& name() const { return name_; }
  const std::filesystem::path& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }  // lowercase hex, after close()
  uint64_t size() const { return size_; }

 private:
  std::string name_;
  std::filesystem::path path_;
  int fd_ = -1;
  void* sha_ctx_ = nullptr;  // EVP_MD_CTX
  std::string sha256_;
  uint64_t size_ = 0;
};

struct SubmissionLimits {
  uint64_t max_decompressed_size = 250ull << 20;
  uint64_t max_annotations_size = 4ull << 20;
  size_t max_parts = 1000;
};

struct ParsedSubmission {
  nlohmann::json annotations = nlohmann::json::object();
  std::vector<std::unique_ptr<StagedDump>> dumps;
  std::vector<std::string> notes;
  bool json_payload = false;
};

// True for [A-Za-z0-9_]{1,30} and not one of the names the crash's own records use.
bool is_acceptable_dump_name(std::string_view name);
// `text` with every invalid UTF-8 sequence replaced by U+FFFD (annotations must be valid JSON).
std::string to_valid_utf8(std::string_view text, bool* changed = nullptr);

class SubmissionParser : private MultipartSink {
 public:
  // Validates the head: Content-Type (multipart/form-data or multipart/mixed with a boundary) and
  // Content-Encoding (none or gzip). Throws Discard for the docs/design.md §3 head errors.
  SubmissionParser(const std::string* content_type, const std::string* content_encoding, SubmissionLimits limits,
                   std::filesystem::path staging_dir);

  void feed(std::string_view body_piece);
  // The body ended: checks it was complete and gathers the annotations.
  ParsedSubmission finish();
  bool compressed() const { return gzip_.has_value(); }
  uint64_t received() const { return received_; }

 private:
  enum class PartKind { kAnnotation, kJson, kDump, kSkip };
  void on_part_begin(const PartHeaders& headers) override;
  void on_part_data(std::string_view data) override;
  void on_part_end() override;
  void feed_multipart(std::string_view data);
  void count_annotation_bytes(size_t n);

  SubmissionLimits limits_;
  std::filesystem::path staging_dir_;
  std::optional<GzipInflater> gzip_;
  std::optional<MultipartParser> multipart_;
  uint64_t received_ = 0;
  uint64_t annotation_bytes_ = 0;

  PartKind kind_ = PartKind::kSkip;
  std::string part_name_;
  std::string text_;
  std::unique_ptr<StagedDump> dump_;

  ParsedSubmission out_;
  nlohmann::json text_annotations_ = nlohmann::json::object();
  std::optional<nlohmann::json> json_annotations_;
};

}  // namespace bw::collector
