#include "collector/submission.h"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>

#include "collector/json_repair.h"
#include "core/fs_util.h"
#include "storage/records.h"

namespace bw::collector {
namespace {

constexpr size_t kMaxJsonDepth = 64;

Discard disk_failure() { return Discard(500, ""); }

// Deepest nesting of arrays/objects in JSON text (strings skipped), so values nested deeper than
// anything real are refused before they reach recursive code (serialization) further on.
size_t json_depth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

bool is_acceptable_dump_name(std::string_view name) {
  if (name.empty() || name.size() > 30) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  // Names the crash's own records use in storage (raw_crash.json, dump_names.json, the object
  // store's v1/<kind>/ prefixes): a dump may not take them.
  static const char* const kReserved[] = {"raw_crash", "dump_names", "processed_crash", "metadata"};
  for (const char* r : kReserved) {
    if (name == r) return false;
  }
  return true;
}

std::string to_valid_utf8(std::string_view s, bool* changed) {
  std::string out;
  out.reserve(s.size());
  bool replaced = false;
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      // Overlong forms, surrogates and values past U+10FFFF are invalid too.
      static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) ok = false;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      replaced = true;
      ++i;
    }
  }
  if (changed) *changed = replaced;
  return out;
}

StagedDump::StagedDump(std::string name, const std::filesystem::path& staging_dir) : name_(std::move(name)) {
  path_ = staging_dir / ("upload-" + fs::unique_temp_name() + "-" + name_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw disk_failure();
  auto* ctx = EVP_MD_CTX_new();
  sha_ctx_ = ctx;
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) throw disk_failure();
}

StagedDump::~StagedDump() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(sha_ctx_));
}

void StagedDump::write(std::string_view data) {
  if (fd_ < 0) throw disk_failure();
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(sha_ctx_), data.data(), data.size());
  size_ += data.size();
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw disk_failure();
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void StagedDump::close() {
  if (fd_ < 0) return;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(sha_ctx_), digest, &len);
  static const char* hex = "0123456789abcdef";
  sha256_.clear();
  for (unsigned i = 0; i < len; ++i) {
    sha256_ += hex[digest[i] >> 4];
    sha256_ += hex[digest[i] & 15];
  }
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw disk_failure();
}

SubmissionParser::SubmissionParser(const std::string* content_type, const std::string* content_encoding,
                                   SubmissionLimits limits, std::filesystem::path staging_dir)
    : limits_(limits), staging_dir_(std::move(staging_dir)) {
  if (!content_type || content_type->empty()) throw Discard(400, "malformed_no_content_type");
  auto media = parse_media_type(*content_type);
  if (media.type != "multipart/form-data" && media.type != "multipart/mixed") {
    throw Discard(400, "malformed_wrong_content_type");
  }
  auto boundary = media.param("boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) throw Discard(400, "malformed_no_boundary");
  if (content_encoding && !content_encoding->empty()) {
    auto enc = parse_media_type(*content_encoding).type;
    if (enc == "gzip" || enc == "x-gzip") {
      gzip_.emplace(limits_.max_decompressed_size, [this](std::string_view out) { feed_multipart(out); });
    } else if (enc != "identity") {
      throw Discard(400, "malformed_bad_content_encoding");
    }
  }
  MultipartLimits ml;
  ml.max_parts = limits_.max_parts;
  multipart_.emplace(*boundary, static_cast<MultipartSink&>(*this), ml);
}

void SubmissionParser::feed(std::string_view piece) {
  received_ += piece.size();
  if (!gzip_) {
    if (received_ > limits_.max_decompressed_size) throw Discard(413, "too_large");
    return feed_multipart(piece);
  }
  try {
    gzip_->feed(piece);
  } catch (const GzipError&) {
    throw Discard(400, "malformed_bad_gzip");
  } catch (const GzipTooLarge&) {
    throw Discard(413, "too_large");
  }
}

void SubmissionParser::feed_multipart(std::string_view data) {
  try {
    multipart_->feed(data);
  } catch (const MultipartError&) {
    throw Discard(400, "malformed_invalid_payload_structure");
  }
}

void SubmissionParser::count_annotation_bytes(size_t n) {
  annotation_bytes_ += n;
  if (annotation_bytes_ > limits_.max_annotations_size) throw Discard(413, "too_large");
}

void SubmissionParser::on_part_begin(const PartHeaders& h) {
  part_name_ = h.name;
  text_.clear();
  const std::string& ct = h.content_type;
  if (!h.content_encoding.empty() && h.content_encoding != "binary" && h.content_encoding != "8bit" &&
      h.content_encoding != "7bit") {
    out_.notes.push_back("part '" + to_valid_utf8(h.name) + "': content encoding '" + to_valid_utf8(h.content_encoding) +
                         "' kept as sent, not decoded");
  }
  if (ct == "application/json") {
    kind_ = PartKind::kJson;
  } else if (h.filename || (!ct.empty() && ct.rfind("text/", 0) != 0)) {
    if (!is_acceptable_dump_name(h.name)) throw Discard(400, "malformed_invalid_dump_name");
    // Storage keeps at most kMaxDumps per crash: refuse for good here rather than fail the save
    // (a 500 tells the client to send it again, forever).
    if (out_.dumps.size() >= storage::records::kMaxDumps) throw Discard(400, "too_many_dumps");
    for (const auto& d : out_.dumps) {
      if (d->name() == h.name) {
        out_.notes.push_back("dump '" + h.name + "' sent twice; the first kept");
        kind_ = PartKind::kSkip;
        return;
      }
    }
    if (!ct.empty() && ct != "application/octet-stream" && ct != "application/x-dmp" && ct != "application/x-minidump") {
      out_.notes.push_back("dump '" + h.name + "' has content type '" + to_valid_utf8(ct) + "'; stored as a dump");
    }
    dump_ = std::make_unique<StagedDump>(h.name, staging_dir_);
    kind_ = PartKind::kDump;
  } else if (h.name.empty()) {
    out_.notes.push_back("a text part without a name was ignored");
    kind_ = PartKind::kSkip;
  } else {
    count_annotation_bytes(h.name.size());
    kind_ = PartKind::kAnnotation;
  }
}

void SubmissionParser::on_part_data(std::string_view data) {
  switch (kind_) {
    case PartKind::kAnnotation:
    case PartKind::kJson:
      count_annotation_bytes(data.size());
      text_.append(data);
      break;
    case PartKind::kDump:
      dump_->write(data);
      break;
    case PartKind::kSkip:
      break;
  }
}

void SubmissionParser::on_part_end() {
  switch (kind_) {
    case PartKind::kAnnotation: {
      bool bad_key = false, bad_value = false;
      std::string key = to_valid_utf8(part_name_, &bad_key);
      std::string value = to_valid_utf8(text_, &bad_value);
      if (bad_key || bad_value) out_.notes.push_back("annotation '" + key + "' had invalid UTF-8, replaced by U+FFFD");
      if (text_annotations_.contains(key)) out_.notes.push_back("annotation '" + key + "' sent twice; the last kept");
      text_annotations_[key] = std::move(value);
      break;
    }
    case PartKind::kJson: {
      if (json_depth(text_) > kMaxJsonDepth) throw Discard(400, "malformed_invalid_json");
      auto j = nlohmann::json::parse(repair_json_text(text_, out_.notes), nullptr, false);
      if (j.is_discarded()) throw Discard(400, "malformed_invalid_json");
      if (!j.is_object()) throw Discard(400, "malformed_invalid_json_value");
      if (json_annotations_) {
        out_.notes.push_back("more than one JSON part; merged, later ones win");
        json_annotations_->update(j);
      } else {
        json_annotations_ = std::move(j);
      }
      break;
    }
    case PartKind::kDump:
      dump_->close();
      out_.dumps.push_back(std::move(dump_));
      break;
    case PartKind::kSkip:
      break;
  }
  kind_ = PartKind::kSkip;
  text_.clear();
}

ParsedSubmission SubmissionParser::finish() {
  if (received_ == 0) throw Discard(400, "malformed_no_content_length");
  if (gzip_) {
    try {
      gzip_->finish();
    } catch (const GzipError&) {
      throw Discard(400, "malformed_bad_gzip");
    }
  }
  try {
    multipart_->finish();
  } catch (const MultipartError&) {
    throw Discard(400, "malformed_invalid_payload_structure");
  }
  if (json_annotations_) {
    out_.json_payload = true;
    out_.annotations = std::move(*json_annotations_);
  }
  for (auto& [k, v] : text_annotations_.items()) {
    if (out_.annotations.contains(k)) {
      out_.notes.push_back("annotation '" + k + "' sent in the JSON part and as a text part; the text part kept");
    }
    out_.annotations[k] = std::move(v);
  }
  return std::move(out_);
}

}  // namespace bw::collector
