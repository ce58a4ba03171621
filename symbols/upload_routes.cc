// Symbol uploads over HTTP: Tecken's zip upload, symupload v1's form and symupload v2's three calls.
#include "symbols/upload_routes.h"

#include <sys/stat.h>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/fs_util.h"
#include "core/log.h"
#include "core/random.h"
#include "http/multipart.h"

namespace bw::symbols {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kUploadPath = "/symbols/upload";
constexpr std::string_view kV2Base = "/symbols/upload/v2/v1/";
constexpr std::string_view kCheckStatus = ":checkStatus";
constexpr std::string_view kComplete = ":complete";
constexpr size_t kMaxField = 4096;
constexpr uint64_t kMaxCompleteBody = 64 * 1024;
constexpr size_t kKeyBytes = 16;

// A JSON answer that no cache keeps (it answers one uploader).
http::Response json_answer(int status, std::string body) { return http::Response::api_json(status, std::move(body), "no-store"); }

http::Response json_error(int status, std::string_view message) {
  return json_answer(status, nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// {"<key>": "<value>"} with ": " between them, the shape symupload's regexes read.
std::string spaced_json(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string out = "{";
  for (const auto& [key, value] : fields) {
    if (out.size() > 1) out += ", ";
    out += nlohmann::json(key).dump() + ": " + nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return out + "}";
}

std::string random_key() {
  unsigned char bytes[kKeyBytes];
  random_bytes(bytes, sizeof bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  for (unsigned char b : bytes) {
    key += kHex[b >> 4];
    key += kHex[b & 15];
  }
  return key;
}

bool is_key(std::string_view key) {
  if (key.size() != kKeyBytes * 2) return false;
  for (char c : key) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// What a file's first bytes say it is.
enum class Kind { kZip, kSym, kOther };
Kind sniff(std::string_view head) {
  if (head.starts_with("PK\x03\x04") || head.starts_with("PK\x05\x06") || head.starts_with("PK\x07\x08")) {
    return Kind::kZip;
  }
  if (head.starts_with("MODULE ")) return Kind::kSym;
  return Kind::kOther;
}

struct Site {
  const SymbolStore& store;
  UploadRouteOptions options;
  fs::path scratch;
  std::shared_ptr<spdlog::logger> log;

  // The scratch folder, created by the first upload (a site that never takes one has none).
  void ensure_scratch() const { bw::fs::create_directories_durably(scratch); }

  fs::path owner_file(std::string_view key) const { return scratch / ("v2-" + std::string(key) + ".owner"); }
  fs::path pending_sym(std::string_view key) const { return scratch / ("v2-" + std::string(key) + ".sym"); }

  // The v2 upload `key` is open (created less than pending_ttl ago): its owner, else nullopt.
  std::optional<std::string> pending_owner(std::string_view key) const {
    struct stat st {};
    const fs::path file = owner_file(key);
    if (::stat(file.c_str(), &st) != 0) return std::nullopt;
    if (std::time(nullptr) - st.st_mtime > options.pending_ttl.count()) return std::nullopt;
    try {
      return bw::fs::read_file(file);
    } catch (const std::system_error&) {
      return std::nullopt;
    }
  }

  // Drops v2 uploads older than pending_ttl (never completed).
  void drop_stale_pending() const {
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    for (fs::directory_iterator it(scratch, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.starts_with("v2-")) continue;
      std::error_code time_ec;
      auto written = fs::last_write_time(it->path(), time_ec);
      if (!time_ec && now - written > options.pending_ttl + std::chrono::minutes(1)) {
        std::error_code ignored;
        fs::remove(it->path(), ignored);
      }
    }
  }

  void log_upload(std::string_view user, std::string_view protocol, const UploadSummary& summary) const {
    log_fields(*log, spdlog::level::info, "symbols uploaded",
               {{"user", std::string(user)},
                {"protocol", std::string(protocol)},
                {"added", std::to_string(summary.count(StoreOutcome::kAdded))},
                {"replaced", std::to_string(summary.count(StoreOutcome::kReplaced))},
                {"skipped", std::to_string(summary.count(StoreOutcome::kSkipped))},
                {"refused", std::to_string(summary.count(StoreOutcome::kRefused))}});
  }
};

// POST /symbols/upload: a zip or a .sym, as the whole body or the file of a multipart form.
class UploadBody final : public http::BodyHandler, private http::MultipartSink {
 public:
  UploadBody(const Site& site, std::string user, std::optional<std::string> boundary)
      : site_(site), user_(std::move(user)) {
    if (boundary) {
      multipart_.emplace(*boundary, static_cast<http::MultipartSink&>(*this));
    } else {
      file_.emplace(site_.scratch, "upload");
    }
  }

  std::optional<http::Response> on_body(std::string_view piece) override {
    if (!multipart_) {
      keep_head(piece);
      file_->write(piece);
      return std::nullopt;
    }
    try {
      multipart_->feed(piece);
    } catch (const http::MultipartError& e) {
      return json_error(400, std::string("the upload is not a valid multipart form: ") + e.what());
    }
    return std::nullopt;
  }

  http::Response on_complete() override {
    if (multipart_) {
      try {
        multipart_->finish();
      } catch (const http::MultipartError& e) {
        return json_error(400, std::string("the upload is not a valid multipart form: ") + e.what());
      }
    }
    if (!file_ || (multipart_ && !file_field_)) return json_error(400, "the upload holds no file");
    file_->close();
    try {
      if (is_symupload_v1()) return symupload_v1();
      return tecken_upload();
    } catch (const ZipError& e) {
      return json_error(400, e.what());
    }
  }

  http::Response on_too_large() override {
    return json_error(413, "the upload is larger than this server takes (" +
                               std::to_string(site_.options.max_upload_bytes) + " bytes; symbols.max_upload_size)");
  }

 private:
  void on_part_begin(const http::PartHeaders& headers) override {
    in_file_ = headers.filename.has_value();
    if (in_file_) {
      if (file_field_) throw http::MultipartError("more than one file in one upload");
      file_field_ = headers.name;
      file_.emplace(site_.scratch, "upload");
      return;
    }
    field_name_ = headers.name;
    field_value_.clear();
  }
  void on_part_data(std::string_view data) override {
    if (in_file_) {
      keep_head(data);
      file_->write(data);
      return;
    }
    if (field_value_.size() + data.size() > kMaxField) {
      throw http::MultipartError("form field '" + field_name_.substr(0, 64) + "' is longer than 4 KiB");
    }
    field_value_.append(data);
  }
  void on_part_end() override {
    if (!in_file_) fields_.emplace_back(std::move(field_name_), std::move(field_value_));
    in_file_ = false;
  }

  void keep_head(std::string_view data) {
    if (head_.size() < 8) head_.append(data.substr(0, 8 - head_.size()));
  }

  const std::string* field(std::string_view name) const {
    for (const auto& [key, value] : fields_) {
      if (key == name) return &value;
    }
    return nullptr;
  }

  bool is_symupload_v1() const {
    return (file_field_ && *file_field_ == "symbol_file") || field("debug_identifier") != nullptr;
  }

  // symupload v1: the form's debug_file and debug_identifier say where the file belongs.
  http::Response symupload_v1() {
    UploadSummary summary;
    std::string claimed;
    const std::string* debug_file = field("debug_file");
    const std::string* debug_id = field("debug_identifier");
    const std::string name = debug_file ? *debug_file : std::string("symbol_file");
    if (debug_file && debug_id) {
      std::string why;
      claimed = store_path(*debug_file, *debug_id, &why);
      if (claimed.empty()) {
        UploadedFile refused{name, {}};
        refused.result.reason = "debug_file and debug_identifier do not name a symbol file: " + why;
        summary.files.push_back(std::move(refused));
      }
    }
    if (summary.files.empty()) {
      if (sniff(head_) != Kind::kSym) {
        return json_error(400, "symbol_file is not a Breakpad .sym file (it must start with a MODULE record)");
      }
      summary.files.push_back(add_uploaded_sym(site_.store, file_->path(), name, claimed, site_.options.on_stored));
    }
    site_.log_upload(user_, "symupload-v1", summary);
    return json_answer(summary.any_taken() ? 200 : 400, summary.to_json());
  }

  // Tecken: a zip (or one .sym) whose entry names are the store paths.
  http::Response tecken_upload() {
    UploadSummary summary;
    switch (sniff(head_)) {
      case Kind::kZip:
        summary = add_zip(site_.store, file_->path(), site_.scratch, site_.options.zip, site_.options.on_stored);
        break;
      case Kind::kSym:
        summary.files.push_back(
            add_uploaded_sym(site_.store, file_->path(), file_field_.value_or("body"), "", site_.options.on_stored));
        break;
      case Kind::kOther:
        return json_error(400, "the upload is neither a zip of .sym files nor a .sym file");
    }
    site_.log_upload(user_, "zip", summary);
    if (summary.files.empty()) return json_error(400, "the zip holds no files");
    return json_answer(summary.any_taken() ? 201 : 400, summary.to_json());
  }

  const Site& site_;
  std::string user_;
  std::optional<http::MultipartParser> multipart_;
  std::optional<bw::fs::ScratchFile> file_;
  std::optional<std::string> file_field_;
  std::string head_;
  bool in_file_ = false;
  std::string field_name_, field_value_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

// PUT /symbols/upload/v2/v1/uploads/<key>: the .sym of a pending v2 upload.
class PendingBody final : public http::BodyHandler {
 public:
  PendingBody(const Site& site, std::string key) : site_(site), key_(std::move(key)), file_(site.scratch, "v2-put") {}
  std::optional<http::Response> on_body(std::string_view piece) override {
    file_.write(piece);
    return std::nullopt;
  }
  http::Response on_complete() override {
    file_.close();
    std::error_code ec;
    fs::rename(file_.path(), site_.pending_sym(key_), ec);
    if (ec) throw std::system_error(ec, "rename " + file_.path().string());
    return http::Response::text(200, "");
  }
  http::Response on_too_large() override { return json_error(413, "the symbol file is larger than this server takes"); }

 private:
  const Site& site_;
  std::string key_;
  bw::fs::ScratchFile file_;
};

// POST /symbols/upload/v2/v1/uploads/<key>:complete: stores the pending .sym.
class CompleteBody final : public http::BodyHandler {
 public:
  CompleteBody(const Site& site, std::string user, std::string key) : site_(site), user_(std::move(user)), key_(std::move(key)) {}
  std::optional<http::Response> on_body(std::string_view piece) override {
    body_.append(piece);
    return std::nullopt;
  }
  http::Response on_complete() override {
    auto owner = site_.pending_owner(key_);
    if (!owner) return json_error(404, "no pending upload with this key (it expired, or was completed)");
    if (*owner != user_) return json_error(403, "this upload key belongs to another uploader");
    const fs::path sym = site_.pending_sym(key_);
    if (!fs::exists(sym)) return json_error(400, "nothing was sent to the upload URL yet");
    auto type = symupload_json_string(body_, "symbol_upload_type");
    if (type && *type != "BREAKPAD") return json_error(400, "only BREAKPAD symbol files are taken, not " + type->substr(0, 64));
    auto debug_file = symupload_json_string(body_, "debug_file");
    auto debug_id = symupload_json_string(body_, "debug_id");
    if (!debug_file || !debug_id) return json_error(400, "the request names no symbol_id.debug_file and debug_id");
    std::string why;
    std::string claimed = store_path(*debug_file, *debug_id, &why);
    if (claimed.empty()) return json_error(400, "debug_file and debug_id do not name a symbol file: " + why);
    UploadSummary summary;
    summary.files.push_back(add_uploaded_sym(site_.store, sym, *debug_file, claimed, site_.options.on_stored));
    std::error_code ignored;
    fs::remove(sym, ignored);
    fs::remove(site_.owner_file(key_), ignored);
    site_.log_upload(user_, "symupload-v2", summary);
    const StoreResult& result = summary.files.front().result;
    switch (result.outcome) {
      case StoreOutcome::kSkipped: return json_answer(200, spaced_json({{"result", "DUPLICATE_DATA"}}));
      case StoreOutcome::kRefused: return json_error(400, result.reason);
      default: return json_answer(200, spaced_json({{"result", "OK"}}));
    }
  }
  http::Response on_too_large() override { return json_error(413, "the completion request is too large"); }

 private:
  const Site& site_;
  std::string user_, key_;
  std::string body_;
};

// "<scheme>://<host>" of the request, as the client reached this site; nullopt when the Host
// header is not a plain host[:port].
std::optional<std::string> site_origin(const http::Request& req) {
  const std::string* host = req.header("Host");
  if (!host || host->empty() || host->size() > 255) return std::nullopt;
  for (char c : *host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return std::nullopt;
  }
  const std::string* proto = req.header("X-Forwarded-Proto");
  return std::string(proto && *proto == "https" ? "https" : "http") + "://" + *host;
}

}  // namespace

std::optional<std::string> symupload_json_string(std::string_view body, std::string_view key) {
  size_t from = 0;
  while ((from = body.find(key, from)) != std::string_view::npos) {
    size_t at = from + key.size();
    from = at;
    if (at < body.size() && body[at] == '"') ++at;
    while (at < body.size() && (body[at] == ' ' || body[at] == '\t' || body[at] == '\n' || body[at] == '\r')) ++at;
    if (at >= body.size() || body[at] != ':') continue;
    ++at;
    while (at < body.size() && (body[at] == ' ' || body[at] == '\t' || body[at] == '\n' || body[at] == '\r')) ++at;
    if (at >= body.size() || body[at] != '"') return std::nullopt;
    const size_t end = body.find('"', at + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view value = body.substr(at + 1, end - at - 1);
    if (value.find('\\') != std::string_view::npos) return std::nullopt;
    return std::string(value);
  }
  return std::nullopt;
}

UploadRouteOptions UploadRouteOptions::from_config(const Config& config) {
  UploadRouteOptions o;
  o.max_upload_bytes = config.get_size("symbols", "max_upload_size");
  o.upload_timeout = std::chrono::duration_cast<std::chrono::seconds>(config.get_duration("symbols", "upload_timeout"));
  o.zip.max_entries = static_cast<uint64_t>(config.get_int("symbols", "max_zip_entries"));
  o.zip.max_entry_bytes = config.get_size("symbols", "max_inflated_size");
  return o;
}

void add_symbol_upload_routes(http::Server& server, const SymbolStore& store, UploadAuthorizer authorize,
                              UploadRouteOptions options) {
  auto site = std::make_shared<Site>(Site{store, std::move(options), {}, logger("symbols")});
  site->scratch = site->options.scratch_dir.empty() ? store.dir() / ".incoming" : site->options.scratch_dir;
  auto auth = std::make_shared<UploadAuthorizer>(std::move(authorize));

  auto upload = [site, auth](const http::Request& req) -> http::Reply {
    auto who = (*auth)(req);
    if (auto* refused = std::get_if<http::Response>(&who)) return std::move(*refused);
    std::optional<std::string> boundary;
    if (const std::string* type = req.header("Content-Type")) {
      auto media = http::parse_media_type(*type);
      if (media.type == "multipart/form-data") {
        boundary = media.param("boundary");
        if (!boundary || boundary->empty() || boundary->size() > 200) {
          return json_error(400, "a multipart/form-data upload needs a boundary");
        }
      } else if (media.type != "application/zip" && media.type != "application/x-zip-compressed" &&
                 media.type != "application/octet-stream" && media.type != "text/plain" && !media.type.empty()) {
        return json_error(415, "send a zip (application/zip), a .sym, or a multipart/form-data form holding one");
      }
    }
    if (!req.has_body()) return json_error(400, "the upload is empty");
    site->ensure_scratch();
    return std::make_unique<UploadBody>(*site, std::get<std::string>(std::move(who)), boundary);
  };
  for (std::string path : {std::string(kUploadPath), std::string(kUploadPath) + "/"}) {
    http::Route route{"POST", path, site->options.max_upload_bytes, upload};
    route.request_timeout = site->options.upload_timeout;
    server.route(http::Access::requires_permission("upload_symbols"), std::move(route));
  }

  // v2: GET .../symbols/<debug_file>/<debug_id>:checkStatus
  server.route(http::Access::requires_permission("upload_symbols"), {"GET", std::string(kV2Base) + "symbols/", 1024, [site, auth](const http::Request& req) -> http::Reply {
                  auto who = (*auth)(req);
                  if (auto* refused = std::get_if<http::Response>(&who)) return std::move(*refused);
                  std::string_view rest = std::string_view(req.path).substr(kV2Base.size() + 8);
                  const size_t slash = rest.find('/');
                  if (!rest.ends_with(kCheckStatus) || slash == std::string_view::npos) {
                    return json_error(404, "not a sym-upload-v2 call");
                  }
                  std::string debug_file = http::percent_decode(rest.substr(0, slash), false);
                  std::string debug_id =
                      http::percent_decode(rest.substr(slash + 1, rest.size() - slash - 1 - kCheckStatus.size()), false);
                  return http::deferred([site, debug_file, debug_id] {
                    std::string invalid;
                    auto found = site->store.find(debug_file, debug_id, &invalid);
                    if (!invalid.empty()) return json_error(400, invalid);
                    return json_answer(200, spaced_json({{"status", found ? "FOUND" : "MISSING"}}));
                  });
                },
                true});

  // v2: POST .../uploads:create and .../uploads/<key>:complete
  http::Route v2_post{"POST", std::string(kV2Base) + "uploads", kMaxCompleteBody, [site, auth](const http::Request& req) -> http::Reply {
                  auto who = (*auth)(req);
                  if (auto* refused = std::get_if<http::Response>(&who)) return std::move(*refused);
                  std::string user = std::get<std::string>(std::move(who));
                  std::string_view rest = std::string_view(req.path).substr(kV2Base.size() + 7);
                  if (rest == ":create") {
                    auto origin = site_origin(req);
                    if (!origin) return json_error(400, "the request's Host header is not a host name");
                    return http::deferred([site, user, origin = *origin] {
                      site->ensure_scratch();
                      site->drop_stale_pending();
                      const std::string key = random_key();
                      bw::fs::write_file_synced(site->owner_file(key), user);
                      return json_answer(200, spaced_json({{"uploadUrl", origin + std::string(kV2Base) + "uploads/" + key},
                                                           {"uploadKey", key}}));
                    });
                  }
                  if (rest.starts_with("/") && rest.ends_with(kComplete)) {
                    std::string key(rest.substr(1, rest.size() - 1 - kComplete.size()));
                    if (!is_key(key)) return json_error(404, "no pending upload with this key");
                    return std::make_unique<CompleteBody>(*site, std::move(user), std::move(key));
                  }
                  return json_error(404, "not a sym-upload-v2 call");
                },
                true};
  v2_post.secret_in_path = true;  // upload keys stay out of the access log
  server.route(http::Access::requires_permission("upload_symbols"), std::move(v2_post));

  // v2: PUT .../uploads/<key>: the upload URL handed out by :create.
  http::Route put{"PUT", std::string(kV2Base) + "uploads/", site->options.max_upload_bytes,
                  [site](const http::Request& req) -> http::Reply {
                    std::string key = req.path.substr(kV2Base.size() + 8);
                    if (!is_key(key) || !site->pending_owner(key)) return json_error(404, "no pending upload with this key");
                    return std::make_unique<PendingBody>(*site, std::move(key));
                  },
                  true};
  put.request_timeout = site->options.upload_timeout;
  put.secret_in_path = true;
  // The key handed out by uploads:create to a holder of upload_symbols is the credential.
  server.route(http::Access::requires_permission("upload_symbols"), std::move(put));
}

}  // namespace bw::symbols
