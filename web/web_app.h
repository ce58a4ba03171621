// The web reporter and its JSON API (docs/design.md §12): the pages and endpoints that need only
// crash storage and the priority queue. Index-backed pages (home, search, top crashers, signature)
// are added beside these by their own classes, on the same http::Server, with web/layout.h and
// web/html.h (docs/web.md).
//
// Routes (all GET; HEAD too):
//   /report/index/<id>       the crash report page. "bp-<id>" → 301 to the bare id; a malformed
//                            id → 400 page; unknown → 404 page; stored but not processed →
//                            pending page (200) and a priority-queue request (web/priority_requests.h);
//                            corrupt stored data → 500 page; storage unavailable → 503 page.
//   /report/status/<id>      {"crash_id": id, "state": "pending"|"processed"} (200) for pending.js;
//                            asks for priority processing too while pending; 400/404 JSON errors.
//   /api/ProcessedCrash/?crash_id=<id>        the processed crash: public fields only, every field
//                            for a caller holding view_pii.
//   /api/RawCrash/?crash_id=<id>[&format=meta] the raw crash: public annotations only, every
//                            annotation for a caller holding view_pii.
//   /api/RawCrash/?crash_id=<id>&format=raw&name=<dump>  the dump's bytes for a caller holding
//                            view_rawdump (application/octet-stream, Content-Disposition:
//                            attachment; filename="<id>-<name>.dmp"; name defaults to
//                            upload_file_minidump; a name the crash lacks → 404 JSON), else 403.
//      API errors as crash-stats answers them: 400 {"errors": {"crash_id": [...]}} for a missing or
//      malformed id, 404 {"error": ...} for an unknown crash. A "bp-" prefix is accepted.
//      Callers: every /api/ route takes an Auth-Token header (web/caller_auth.h: checked first on the
//      worker pool, 403 JSON when not valid, Cache-Control: private, no-store on answers to it).
//   /api/SuperSearch/, /api/SuperSearchUnredacted/, /api/SuperSearchFields/, /api/TopCrashers/
//                            with an index only: the JSON API over it (web/search_api.h).
//   POST /api/Reprocessing/, POST /api/PriorityJob/   crash_ids to the reprocessing or priority
//                            queue, for a token holding reprocess_crashes (web/reprocessing_api.h).
//   /login/, /login/once/<secret>, POST /logout/, /profile/, POST /profile/tokens/[revoke/]
//                            signing in and the user's own tokens (web/sign_in_pages.h).
//   /login/oidc/, /login/oidc/callback   signing in with OpenID Connect, only when oidc.issuer
//                            is set (web/oidc.h).
//   /static/<name>.<hash>.<ext>   the embedded stylesheet and scripts (web/static_assets.h),
//                            cached for a year.
//   /                        with an index: the home page (web/home_page.h; exact path only).
//   / and below              any other GET path: the site's 404 page. Exact routes (health,
//                            /submit) and longer prefixes registered by others still win: the
//                            symbols service's /symbols/ (web/symbols_service.h), the pages of
//                            search, top crashers, signature and status (their own headers), /api/.
//
// Protected data (web/public_data.h): pages know their caller by the session cookie only (they
// ignore Auth-Token). The report page shows protected fields and annotations to a signed-in
// caller holding view_pii and links the dump for view_rawdump; every other page shows public data
// to everyone. The API shows protected data only to a caller (token or session) holding the
// permission (web/caller_auth.h).
//
// Ownership and threads: borrows `storage` and `queue`, which must outlive the WebApp; the
// http::Server it adds routes to must be stopped before the WebApp is destroyed. Route handlers
// run on the server's worker pool (storage reads and rendering never block the I/O threads) and
// may run concurrently; everything here is thread-safe. One background thread publishes priority
// requests (so a queue outage never holds a page).
// Errors: storage failures become 500/503 answers (logged); the constructor throws ConfigError
// for bad web.* settings.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "http/server.h"
#include "index/crash_index.h"
#include "queue/crash_queue.h"
#include "storage/crash_storage.h"
#include "web/caller_auth.h"
#include "web/oidc.h"
#include "web/priority_requests.h"
#include "web/public_data.h"
#include "web/sign_in_pages.h"
#include "web/storage_usage.h"

namespace bw::web {

struct WebOptions {
  std::vector<std::string> public_annotations;  // web.public_annotations: added to the default allowlist
  PriorityRequests::Options priority;           // once a minute per crash, 10,000 crashes remembered
  SignInOptions sign_in;                        // web.session_lifetime, web.secure_cookies, ...
  RateLimits rate_limits;                       // none unless configured (serve: web.*_per_minute)
  OidcOptions oidc{};                           // [oidc]; off unless oidc.issuer is set
  // Storage use for /status/ (web/storage_usage.h): these folders and the index, measured every
  // interval once the routes are added; 0 (the default here): not measured.
  std::vector<StorageArea> storage_areas;       // serve and web: storage_folder_areas(config)
  std::chrono::milliseconds storage_usage_interval{0};  // web.storage_usage_interval

  static WebOptions from_config(const Config& config);
};

class WebApp {
 public:
  // `index`: the crash index behind search, top crashers and the other index-backed pages and
  // APIs; borrowed like storage and queue. Null only in tests of the storage-backed routes.
  // `accounts`: where the API's Auth-Tokens are checked (its store borrowed); none by default.
  WebApp(WebOptions options, storage::CrashStorage& storage, queue::CrashQueue& queue,
         index::CrashIndex* index = nullptr, Accounts accounts = {});
  WebApp(const Config& config, storage::CrashStorage& storage, queue::CrashQueue& queue,
         index::CrashIndex* index = nullptr, Accounts accounts = {});
  ~WebApp();
  WebApp(const WebApp&) = delete;
  WebApp& operator=(const WebApp&) = delete;

  // Adds the routes above to `server` (before server.start()).
  void add_routes(http::Server& server);

  // For /__heartbeat__: the priority queue failing, as sentences; empty when healthy.
  std::vector<std::string> health_problems() const;

  // The allowlist in force (for pages added beside these).
  const PublicData& public_data() const;
  // The priority requests (tests wait on publishes_done()).
  PriorityRequests& priority_requests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bw::web
