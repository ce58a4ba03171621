#include "collector/collector.h"

#include <unistd.h>

#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "collector/submission.h"
#include "core/ascii.h"
#include "core/crash_id.h"
#include "core/fs_util.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timestamp.h"
#include "storage/factory.h"

namespace bw::collector {
namespace {

// The raw crash schema version the collector writes (Antenna's is 2; ours follows its layout).
constexpr int kRawCrashVersion = 2;
// Keys the collector sets itself: a client annotation with one of these names is kept under
// "client_<name>" so that nothing the client sent is silently lost.
const char* const kCollectorKeys[] = {"uuid", "submitted_timestamp", "version", "metadata"};

http::Response discarded(int status, const std::string& reason) {
  return http::Response::text(status, reason.empty() ? "" : "Discarded=" + reason);
}

}  // namespace

CollectorOptions CollectorOptions::from_config(const Config& config) {
  CollectorOptions o;
  o.max_body_size = config.get_size("collector", "max_body_size");
  o.max_decompressed_size = config.get_size("collector", "max_decompressed_size");
  o.max_annotations_size = config.get_size("collector", "max_annotations_size");
  auto parts = config.get_int("collector", "max_parts");
  if (parts < 1) throw ConfigError("config key 'collector.max_parts' must be at least 1");
  o.max_parts = static_cast<size_t>(parts);
  o.storage_root = storage::storage_roots(config).collector;
  std::string staging = config.get_string("collector", "staging_dir");
  o.staging_dir = staging.empty() ? o.storage_root.parent_path() / (o.storage_root.filename().string() + "-staging")
                                  : std::filesystem::path(staging);
  o.heartbeat_min_free = config.get_size("collector", "heartbeat_min_free");
  o.removed_fields = config.get_string_list("collector", "removed_fields");
  for (const auto& entry : config.get_string_list("collector", "product_keys")) {
    auto eq = entry.find('=');
    std::string product = eq == std::string::npos ? "" : entry.substr(0, eq);
    std::string key = eq == std::string::npos ? "" : entry.substr(eq + 1);
    if (product.empty() || key.size() < 16 || key.size() > 256) {
      throw ConfigError("config key 'collector.product_keys': each entry is PRODUCT=KEY with a key of 16 to 256 characters");
    }
    if (!o.product_keys.emplace(product, key).second) {
      throw ConfigError("config key 'collector.product_keys': " + product + " is given twice");
    }
  }
  o.require_product_key = config.get_bool("collector", "require_product_key");
  try {
    o.throttle_rules.clear();
    if (config.get_bool("collector", "throttle_accept_user_submitted")) o.throttle_rules = Throttler::user_submitted_rules();
    for (const auto& table : config.get_table_array("collector", "throttle_rules")) {
      o.throttle_rules.push_back(ThrottleRule::from_toml(table));
    }
    o.throttle_default = parse_throttle_action(config.get_string("collector", "throttle_default"));
    if (o.throttle_default == ThrottleAction::kContinue) throw ThrottleConfigError("the default cannot be CONTINUE");
  } catch (const ThrottleConfigError& e) {
    throw ConfigError(std::string("config key 'collector.throttle_rules' / 'collector.throttle_default': ") + e.what());
  }
  return o;
}

struct Collector::Impl {
  Impl(CollectorOptions o, storage::CrashStorage& s)
      : options(std::move(o)), storage(s), throttler(options.throttle_rules, options.throttle_default) {}

  http::Response store(ParsedSubmission parsed, const http::Request& req, const SubmissionParser& parser);
  void count_discard(const std::string& reason) {
    metrics::Registry::global()
        .counter("bw_collector_malformed_total", "submissions refused as malformed or too large, by reason",
                 {{"reason", reason.empty() ? "storage_failure" : reason}})
        .inc();
  }
  // The submission carries its product's key, or its product needs none.
  bool has_product_key(const nlohmann::json& raw, const std::map<std::string, std::string>& query) const {
    if (options.product_keys.empty() && !options.require_product_key) return true;
    const auto* product = raw.contains("ProductName") && raw["ProductName"].is_string()
                              ? raw["ProductName"].get_ptr<const std::string*>()
                              : nullptr;
    auto wanted = product ? options.product_keys.find(*product) : options.product_keys.end();
    if (wanted == options.product_keys.end()) return !options.require_product_key;
    auto given = query.find("key");
    return given != query.end() && given->second.size() == wanted->second.size() &&
           sodium_memcmp(given->second.data(), wanted->second.data(), wanted->second.size()) == 0;
  }

  void count_throttle(ThrottleAction a) {
    std::string label = ascii_lowered(to_string(a));
    metrics::Registry::global()
        .counter("bw_collector_throttle_results_total", "submissions by throttle result", {{"result", label}})
        .inc();
  }

  CollectorOptions options;
  storage::CrashStorage& storage;
  Throttler throttler;
  Throttler::Random random;
  std::shared_ptr<spdlog::logger> log = bw::logger("collector");
  metrics::Registry& reg = metrics::Registry::global();
  metrics::Counter& received = reg.counter("bw_collector_received_total", "well-formed crash submissions received (before throttling)");
  metrics::Counter& stored = reg.counter("bw_collector_stored_total", "crashes durably stored");
  metrics::Counter& storage_failures = reg.counter("bw_collector_storage_failures_total", "saves that failed (answered 500)");
  metrics::Counter& bytes = reg.counter("bw_collector_received_bytes_total", "request body bytes received on /submit");
  metrics::Gauge& in_flight = reg.gauge("bw_collector_in_flight_requests", "submissions being received or stored");
  metrics::Histogram& latency = reg.histogram("bw_collector_request_duration_seconds",
                                              "time from a submission's head to its answer", metrics::default_latency_buckets());
};

namespace {

// One POST /submit: streams the body into a SubmissionParser, then stores.
class SubmitHandler : public http::BodyHandler {
 public:
  SubmitHandler(Collector::Impl& c, http::Request req, std::unique_ptr<SubmissionParser> parser)
      : c_(c), req_(std::move(req)), parser_(std::move(parser)), started_(std::chrono::steady_clock::now()) {
    c_.in_flight.inc();
  }
  ~SubmitHandler() override {
    c_.in_flight.dec();
    c_.latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
  }

  std::optional<http::Response> on_body(std::string_view piece) override {
    c_.bytes.inc(static_cast<double>(piece.size()));
    try {
      parser_->feed(piece);
    } catch (const Discard& d) {
      return refuse(d);
    }
    return std::nullopt;
  }

  http::Response on_complete() override {
    ParsedSubmission parsed;
    try {
      parsed = parser_->finish();
    } catch (const Discard& d) {
      return refuse(d);
    }
    return c_.store(std::move(parsed), req_, *parser_);
  }

  http::Response on_too_large() override { return refuse(Discard(413, "too_large")); }

 private:
  http::Response refuse(const Discard& d) {
    c_.count_discard(d.reason);
    log_fields(*c_.log, d.status >= 500 ? spdlog::level::err : spdlog::level::info, "submission refused",
               {{"reason", d.reason.empty() ? "local disk failure" : d.reason},
                {"status", std::to_string(d.status)},
                {"received", std::to_string(parser_ ? parser_->received() : 0)}});
    parser_.reset();  // removes staging files now rather than when the connection ends
    return discarded(d.status, d.reason);
  }

  Collector::Impl& c_;
  http::Request req_;
  std::unique_ptr<SubmissionParser> parser_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

http::Response Collector::Impl::store(ParsedSubmission parsed, const http::Request& req, const SubmissionParser& parser) {
  nlohmann::json& raw = parsed.annotations;
  std::vector<std::string>& notes = parsed.notes;
  // Crashpad puts the product, version and client id in the query string.
  auto query = http::parse_query(req.query);
  const std::pair<const char*, const char*> from_query[] = {{"product", "ProductName"}, {"version", "Version"}, {"guid", "guid"}};
  for (const auto& [param, key] : from_query) {
    auto it = query.find(param);
    if (it == query.end() || it->second.empty()) continue;
    if (raw.contains(key)) continue;
    bool replaced = false;
    raw[key] = to_valid_utf8(it->second, &replaced);
    if (replaced) notes.push_back(std::string("query parameter '") + param + "' had invalid UTF-8, replaced by U+FFFD");
  }
  if (raw.empty()) {
    count_discard("malformed_no_annotations");
    return discarded(400, "malformed_no_annotations");
  }
  for (const char* key : kCollectorKeys) {
    if (raw.contains(key)) {
      raw[std::string("client_") + key] = std::move(raw[key]);
      raw.erase(key);
      notes.push_back(std::string("annotation '") + key + "' is a collector field; the client's value is under 'client_" + key + "'");
    }
  }
  for (const auto& field : options.removed_fields) {
    if (raw.contains(field)) {
      raw.erase(field);
      notes.push_back("removed " + field + " from raw crash");
    }
  }

  if (!has_product_key(raw, query)) {
    count_discard("bad_product_key");
    log_fields(*log, spdlog::level::info, "crash refused: product key missing or wrong", {});
    return discarded(403, "bad_product_key");
  }

  ThrottleDecision decision = throttler.decide(raw, random);
  count_throttle(decision.action);
  received.inc();
  if (decision.action == ThrottleAction::kReject) {
    log_fields(*log, spdlog::level::info, "crash rejected", {{"rule", decision.rule}});
    return http::Response::text(200, "Discarded=rule_" + decision.rule);
  }
  auto now = std::chrono::system_clock::now();
  auto id = CrashId::generate(decision.action == ThrottleAction::kDefer ? ThrottleResult::kDefer : ThrottleResult::kAccept, now);
  if (decision.action == ThrottleAction::kFakeAccept) {
    log_fields(*log, spdlog::level::info, "crash fake-accepted", {{"rule", decision.rule}, {"crash_id", id.str()}});
    return http::Response::text(200, "CrashID=" + id.with_prefix() + "\n");
  }

  nlohmann::json checksums = nlohmann::json::object();
  std::vector<storage::DumpInput> dumps;
  for (const auto& d : parsed.dumps) {
    checksums[d->name()] = d->sha256();
    dumps.push_back({d->name(), d->path()});
  }
  const std::string* ua = req.header("User-Agent");
  raw["uuid"] = id.str();
  raw["submitted_timestamp"] = iso_timestamp(now);
  raw["version"] = kRawCrashVersion;
  raw["metadata"] = {
      {"payload", parsed.json_payload ? "json" : "multipart"},
      {"payload_compressed", parser.compressed() ? "1" : "0"},
      {"payload_size", parser.received()},
      {"user_agent", ua ? to_valid_utf8(*ua) : ""},
      {"dump_checksums", checksums},
      {"throttle_rule", decision.rule},
      {"collector_notes", notes},
  };
  try {
    storage.save_raw_crash(id, raw, dumps);
  } catch (const std::invalid_argument& e) {
    // Storage refused this crash for what it is, not for a disk problem: sending it again would
    // fail again, so the client is told it is refused for good (every such limit is also checked
    // while parsing; this is the backstop).
    count_discard("refused_by_storage");
    log_fields(*log, spdlog::level::err, "storage refused crash", {{"crash_id", id.str()}, {"error", e.what()}});
    return discarded(400, "refused_by_storage");
  } catch (const std::exception& e) {
    storage_failures.inc();
    count_discard("");
    log_fields(*log, spdlog::level::err, "could not store crash", {{"crash_id", id.str()}, {"error", e.what()}});
    return http::Response::text(500, "");
  }
  stored.inc();
  log_fields(*log, spdlog::level::info, "crash stored",
             {{"crash_id", id.str()}, {"rule", decision.rule}, {"dumps", std::to_string(dumps.size())},
              {"bytes", std::to_string(parser.received())}});
  return http::Response::text(200, "CrashID=" + id.with_prefix() + "\n");
}

Collector::Collector(CollectorOptions options, storage::CrashStorage& storage)
    : impl_(std::make_unique<Impl>(std::move(options), storage)) {
  fs::create_directories_durably(impl_->options.staging_dir);
  // The storage creates its root on the first save; the heartbeat checks it before that.
  if (!impl_->options.storage_root.empty()) fs::create_directories_durably(impl_->options.storage_root);
  // Staging files left by a collector that was killed mid-upload belong to no request any more.
  std::error_code ec;
  auto cutoff = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& entry : std::filesystem::directory_iterator(impl_->options.staging_dir, ec)) {
    if (entry.path().filename().string().rfind("upload-", 0) == 0 && entry.last_write_time(ec) < cutoff) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
}

Collector::~Collector() = default;

void Collector::set_random(Throttler::Random random) { impl_->random = std::move(random); }

void Collector::add_routes(http::Server& server) {
  Impl* c = impl_.get();
  server.route(http::Access::open(), {"POST", "/submit", c->options.max_body_size, [c](const http::Request& req) -> http::Reply {
                  SubmissionLimits limits;
                  limits.max_decompressed_size = c->options.max_decompressed_size;
                  limits.max_annotations_size = c->options.max_annotations_size;
                  limits.max_parts = c->options.max_parts;
                  try {
                    if (!req.has_body()) throw Discard(400, "malformed_no_content_length");
                    auto parser = std::make_unique<SubmissionParser>(req.header("Content-Type"), req.header("Content-Encoding"),
                                                                     limits, c->options.staging_dir);
                    return std::make_unique<SubmitHandler>(*c, req, std::move(parser));
                  } catch (const Discard& d) {
                    c->count_discard(d.reason);
                    return discarded(d.status, d.reason);
                  }
                }});
}

std::vector<std::string> Collector::health_problems() const {
  std::vector<std::string> problems;
  const auto& o = impl_->options;
  // Writable: create and remove a small file where dumps are staged.
  auto probe = o.staging_dir / (".heartbeat-" + fs::unique_temp_name());
  {
    std::ofstream f(probe);
    f << "ok";
    if (!f.good()) problems.push_back("staging folder " + o.staging_dir.string() + " is not writable");
  }
  std::error_code ec;
  std::filesystem::remove(probe, ec);
  if (::access(o.storage_root.c_str(), W_OK) != 0) {
    problems.push_back("collector storage root " + o.storage_root.string() + " is not writable");
  } else {
    try {
      uint64_t free = fs::free_bytes(o.storage_root);
      if (free < o.heartbeat_min_free) {
        problems.push_back(fmt::format("only {} MiB free on the collector storage file system (floor {} MiB)", free >> 20,
                                       o.heartbeat_min_free >> 20));
      }
    } catch (const std::exception& e) {
      problems.push_back(std::string("cannot read free space: ") + e.what());
    }
  }
  return problems;
}

}  // namespace bw::collector
