// Every configuration key Breakwater knows. Each part reads its own section; adding a key here is
// how a part gets a setting. Defaults are written as they would be in an environment variable.
#include "core/config.h"

namespace bw {

const std::vector<ConfigKeySpec>& config_schema() {
  using T = ConfigType;
  static const std::vector<ConfigKeySpec> schema = {
      // [server]: shared by every role.
      {"server", "listen", T::kString, "127.0.0.1:8000", "HOST:PORT the HTTP listener binds"},
      {"server", "data", T::kString, "./var", "folder under which every file-system root lives"},

      // [log]
      {"log", "level", T::kString, "info", "trace, debug, info, warn, error, critical or off"},
      {"log", "format", T::kString, "plain", "plain (human lines) or json (one object per line)"},

      // [storage]: empty roots mean a folder under server.data.
      {"storage", "collector_root", T::kString, "", "collector buffer (FileSystemRawCrashStorage); default <data>/collector"},
      {"storage", "standard_root", T::kString, "", "crashes to process; default <data>/crashes/standard"},
      {"storage", "deferred_root", T::kString, "", "stored, processed on demand; default <data>/crashes/deferred"},
      {"storage", "processed_root", T::kString, "", "processed crashes; default <data>/crashes/processed"},
      // Retention (docs/storage.md "Retention"): ages in whole UTC days by the crash id's date; 0 keeps forever.
      {"storage", "raw_crashes_retention_days", T::kInt, "0", "raw crashes (with their dumps) in the standard and deferred roots are removed, a whole day at a time, once their day is older than this many days; 0 = keep forever; the collector buffer is never expired"},
      {"storage", "raw_dumps_retention_days", T::kInt, "0", "dumps of raw crashes older than this many days are removed, raw_crash.json is kept; 0 = keep as long as the raw crash"},
      {"storage", "processed_retention_days", T::kInt, "0", "processed crashes older than this many days are removed, a whole day at a time; 0 = keep forever"},

      // [queue]
      {"queue", "url", T::kString, "", "amqp://user:pass@host:port/vhost selects RabbitMQ; empty: embedded queue"},
      {"queue", "embedded_path", T::kString, "", "embedded queue's SQLite file; default <data>/queue/crash-queue.sqlite"},
      {"queue", "standard_name", T::kString, "breakwater.standard", "queue of new accepted crashes"},
      {"queue", "priority_name", T::kString, "breakwater.priority", "queue of crashes someone is waiting for"},
      {"queue", "reprocessing_name", T::kString, "breakwater.reprocessing", "queue of crashes to process again"},
      {"queue", "dead_letter_suffix", T::kString, ".dead", "added to a queue's name to name its dead-letter queue"},
      {"queue", "prefetch", T::kInt, "10", "RabbitMQ: unacked deliveries per consumer and queue"},
      {"queue", "max_deliveries", T::kInt, "5", "deliveries of one message before it is dead-lettered"},
      {"queue", "lease", T::kDuration, "5m", "embedded queue: a delivery not acked within this is delivered again"},
      {"queue", "quorum", T::kBool, "false", "RabbitMQ: declare quorum queues (needs a cluster that allows them)"},
      {"queue", "reprocessing_share", T::kInt, "6", "reprocessing gets 1 delivery in N while standard has work (N >= 2)"},
      {"queue", "publish_timeout", T::kDuration, "30s", "how long a publish retries through an outage before failing"},
      {"queue", "heartbeat", T::kDuration, "0", "RabbitMQ heartbeat interval; 0 = off"},

      // [crashmover]: moving crashes from collector buffers to primary storage and the queue.
      {"crashmover", "backoff_initial", T::kDuration, "1s", "first wait after storage or queue failed"},
      {"crashmover", "backoff_max", T::kDuration, "60s", "the wait doubles up to this"},
      {"crashmover", "claim_lease", T::kDuration, "5m", "a claimed crash not confirmed within this is offered again"},
      {"crashmover", "idle_wait", T::kDuration, "100ms", "pause when the collector buffer is empty (a listing of its newest date folder each time)"},

      // [index]
      {"index", "url", T::kString, "", "postgresql://... selects PostgreSQL; empty: SQLite in the data folder"},
      {"index", "sqlite_path", T::kString, "", "SQLite index file; default <data>/index/crashes.sqlite"},
      {"index", "readers", T::kInt, "4", "SQLite index: read connections (searches running at once), 1-64"},
      {"index", "sqlite_cache_size", T::kSize, "64MiB", "SQLite index: page cache of the writer connection; each reader gets half"},
      {"index", "annotations", T::kStringList, "", "raw-crash annotations made searchable, each Name:type or Name:type:public (docs/search.md)"},
      {"index", "retention_days", T::kInt, "0", "index rows whose date (the submission time) is more than this many days old are dropped; 0 = keep forever"},

      // [web]: the web reporter and its API (web/, docs/web.md).
      {"web", "public_annotations", T::kStringList, "", "annotations anyone may see, added to the built-in allowlist (docs/web.md); every other annotation is protected"},
      {"web", "session_lifetime", T::kDuration, "14d", "how long a sign-in lasts (the session cookie), 1 minute to 365 days"},
      {"web", "secure_cookies", T::kBool, "false", "mark cookies Secure (set it when the site is served over https; a proxy's X-Forwarded-Proto: https does it per request)"},
      {"web", "api_requests_per_minute", T::kInt, "3000", "JSON API calls and pages answered per minute for one client address without a token (429 with Retry-After beyond; bursts of a sixth); 0 = no limit"},
      {"web", "token_requests_per_minute", T::kInt, "30000", "JSON API calls per minute for one Auth-Token (429 with Retry-After beyond); 0 = no limit"},
      {"web", "signin_attempts_per_minute", T::kInt, "10", "sign-in attempts allowed per client address and per user name, per minute (429 beyond)"},
      {"web", "storage_usage_interval", T::kDuration, "10m", "how often the space of each storage root, the symbol folders and the index is measured for /status/ and bw_storage_* (a walk of every file), 10 s to 1 day; 0 = not measured"},

      // [oidc]: signing in with OpenID Connect (web/oidc.h, docs/security.md "Signing in with OpenID Connect").
      {"oidc", "issuer", T::kString, "", "the identity provider's issuer URL (https://, or http:// on loopback); empty: OpenID Connect sign-in is off"},
      {"oidc", "client_id", T::kString, "", "this site's client id at the identity provider"},
      {"oidc", "client_secret", T::kString, "", "the client secret (or set client_secret_file; never both)"},
      {"oidc", "client_secret_file", T::kString, "", "a file holding the client secret (surrounding whitespace ignored)"},
      {"oidc", "redirect_url", T::kString, "", "the site's public callback URL as registered at the provider, ending in /login/oidc/callback"},
      {"oidc", "scopes", T::kString, "openid email profile", "scopes asked for, separated by spaces (must include openid)"},
      {"oidc", "user_claim", T::kString, "email", "the id_token claim naming the local user: email, preferred_username or sub"},
      {"oidc", "allow_new_users", T::kBool, "false", "sign in someone the provider vouches for who has no local account by creating one without permissions; false: local users only"},
      {"oidc", "label", T::kString, "SSO", "the words after \"Sign in with\" on the sign-in form's button"},

      // [http]: the HTTP server layer shared by the collector and the web app (http/server.h).
      {"http", "io_threads", T::kInt, "0", "threads reading and writing sockets; 0 = one per core"},
      {"http", "worker_threads", T::kInt, "32", "threads finishing requests (durable saves, fsync)"},
      {"http", "max_connections", T::kInt, "1024", "at this many open connections a new one takes the place of an idle or too-slow one; when none can give way it gets 503"},
      {"http", "max_header_size", T::kSize, "32KiB", "request line and headers; larger gets 431"},
      {"http", "header_timeout", T::kDuration, "20s", "a request head (or the next one on a kept-alive connection) must arrive within this"},
      {"http", "read_timeout", T::kDuration, "30s", "longest silence while a request body is being received"},
      {"http", "request_timeout", T::kDuration, "10m", "longest time to receive one whole request"},
      {"http", "min_body_rate", T::kSize, "1KiB", "a request body must average at least this many bytes per second after body_rate_grace (408 otherwise); 0 = no minimum"},
      {"http", "body_rate_grace", T::kDuration, "10s", "how long a body may arrive below min_body_rate before it is rated"},
      {"http", "shutdown_timeout", T::kDuration, "30s", "graceful shutdown waits this long for in-flight requests"},
      {"http", "access_log", T::kBool, "true", "log one line per request"},

      // [collector]: POST /submit (collector/collector.h, docs/collector.md).
      {"collector", "max_body_size", T::kSize, "25MiB", "request body as received (compressed); larger gets 413"},
      {"collector", "max_decompressed_size", T::kSize, "250MiB", "body after gzip inflation; larger gets 413"},
      {"collector", "max_annotations_size", T::kSize, "4MiB", "all annotation text and the JSON part together; larger gets 413"},
      {"collector", "max_parts", T::kInt, "1000", "multipart parts in one submission; more is a malformed payload"},
      {"collector", "staging_dir", T::kString, "", "where dumps stream while they arrive; must be on the collector root's file system; default <collector root>-staging"},
      {"collector", "product_keys", T::kStringList, "", "PRODUCT=KEY pairs: a crash of that product must carry ?key=KEY on the submit URL (403 otherwise); keys 16-256 characters"},
      {"collector", "require_product_key", T::kBool, "false", "refuse crashes of products without a key in product_keys (403)"},
      {"collector", "removed_fields", T::kStringList, "Email,TelemetryClientId,TelemetryServerURL,TelemetrySessionId", "annotations dropped before saving (noted in metadata.collector_notes)"},
      {"collector", "throttle_rules", T::kTableArray, "", "ordered [[collector.throttle_rules]] tables; see docs/collector.md"},
      {"collector", "throttle_default", T::kString, "ACCEPT", "result when no rule matches: ACCEPT, DEFER, REJECT or FAKEACCEPT"},
      {"collector", "throttle_accept_user_submitted", T::kBool, "true", "before the configured rules, accept crashes with Throttleable=0 or a comment"},
      {"collector", "heartbeat_min_free", T::kSize, "512MiB", "/__heartbeat__ fails when the collector root's file system has less free"},

      // [symbols]
      {"symbols", "store_dir", T::kString, "", "the site's own symbol store (breakwater symbols add; served at /symbols/; read first by processors); default <data>/symbols"},
      {"symbols", "paths", T::kStringList, "", "local symbol stores (<debug_file>/<debug_id>/<file>.sym)"},
      {"symbols", "urls", T::kStringList, "", "HTTP symbol servers (Tecken layout)"},
      {"symbols", "cache_dir", T::kString, "", "on-disk cache for downloaded symbols; default <data>/symbols-cache"},
      {"symbols", "lru_size", T::kSize, "1GiB", "memory for parsed symbol modules kept between crashes (LRU)"},
      {"symbols", "connect_timeout", T::kDuration, "5s", "connect timeout for symbol servers"},
      {"symbols", "timeout", T::kDuration, "120s", "total time allowed for one symbol download"},
      {"symbols", "negative_ttl", T::kDuration, "1h", "how long a 404 from every symbol server is remembered"},
      {"symbols", "max_upload_size", T::kSize, "4GiB", "largest symbol upload taken over HTTP (one request's body; 413 above)"},
      {"symbols", "upload_timeout", T::kDuration, "4h", "time one symbol upload request may take, start to end (408 after)"},
      {"symbols", "max_zip_entries", T::kInt, "100000", "most entries an uploaded zip may claim (refused whole above)"},
      {"symbols", "max_inflated_size", T::kSize, "4GiB", "largest .sym a zip entry may inflate to (refused as a zip bomb above)"},

      // [processor]: breakwater processor and the processor inside serve (processor/, docs/processor.md).
      {"processor", "workers", T::kInt, "0", "crash-processing threads consuming the queues; 0 = one per core"},
      {"processor", "worker_processes", T::kInt, "0", "long-lived stack-walking worker processes; 0 = as many as workers"},
      {"processor", "ruleset", T::kStringList, "cleanup,annotations,stackwalk,derived,truncate,dates,signature", "rules of the default ruleset, in order (bookkeeping always runs last)"},
      {"processor", "stackwalk_timeout", T::kDuration, "120s", "hard limit for walking one dump; the worker is killed and the crash recorded as failed"},
      {"processor", "worker_memory_limit", T::kSize, "4GiB", "address-space limit (RLIMIT_AS) of each stack-walking worker; 0 = none"},
      {"processor", "max_frames", T::kInt, "500", "threads with more frames keep the first and last half of this many"},
      {"processor", "consume_wait", T::kDuration, "1s", "how long an idle consumer waits for a message before checking for shutdown"},
      {"processor", "test_hooks", T::kBool, "false", "tests only: honour the BreakwaterTestHook annotation (make a stack-walking worker hang, crash or run out of memory)"},

      // [signature]: list files replace the built-in copies of signature/lists/*.txt.
      {"signature", "lists_dir", T::kString, "", "folder with irrelevant.txt, prefix.txt, sentinels.txt, oom.txt; empty: built-in lists"},
      {"signature", "irrelevant_list", T::kString, "", "file replacing the irrelevant-frames list"},
      {"signature", "prefix_list", T::kString, "", "file replacing the prefix-frames list"},
      {"signature", "sentinels_list", T::kString, "", "file replacing the sentinel-frames list"},
      {"signature", "oom_list", T::kString, "", "file replacing the out-of-memory-frames list"},
      {"signature", "oom_small_limit", T::kSize, "256KiB", "OOMAllocationSize at or below this gives \"OOM | small\""},
      {"signature", "max_frames", T::kInt, "40", "crashing-thread frames considered (after inline expansion), 1 to 1000"},
  };
  return schema;
}

const std::vector<RenamedConfigKey>& renamed_config_keys() {
  // The crash mover's keys lived in [queue] as mover_* until they got their own section.
  static const std::vector<RenamedConfigKey> renamed = {
      {"queue", "mover_backoff_initial", "crashmover", "backoff_initial"},
      {"queue", "mover_backoff_max", "crashmover", "backoff_max"},
      {"queue", "mover_claim_lease", "crashmover", "claim_lease"},
      {"queue", "mover_idle_wait", "crashmover", "idle_wait"},
  };
  return renamed;
}

}  // namespace bw
