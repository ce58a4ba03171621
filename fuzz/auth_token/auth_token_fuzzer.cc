// The Auth-Token header path on hostile bytes: whatever a client puts in the header goes, as the
// web app passes it, through CallerAuth::check (web/caller_auth.h) to AuthStore::check_token on a real
// SQLite account store in a temporary folder, which holds a valid token, a revoked one, an
// expired one and one of a disabled user. Every input must be answered without a crash or an
// escaping exception: accepted only when it is exactly a valid token (with that token's
// permissions), refused as malformed whenever it is not "bwt_" + 64 lowercase hex digits, and
// refused with a 403 JSON answer that is exactly {"error": reason}, the reason depending on the
// outcome alone (so nothing of the input is ever echoed).
//
// The first byte picks how the rest is used:
//   0 (and anything else): the header value itself;
//   1: edits of the valid token: each (position, byte) pair overwrites one of its characters, a
//      last odd byte is appended;
//   2: the valid token followed by the rest (a label suffix, a second value...);
//   3: one of the stored tokens (valid, revoked, expired, disabled owner) chosen by the second
//      byte, its characters upper-cased where the rest's bits say so.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "auth/auth_store.h"
#include "auth/secrets.h"
#include "auth/sqlite_auth_store.h"
#include "core/log.h"
#include "core/temp_dir.h"
#include "web/caller_auth.h"

namespace {

using Clock = std::chrono::system_clock;

struct Harness {
  Harness() {
    bw::init_logging("off", bw::LogFormat::kPlain);
    store = bw::auth::open_sqlite_auth_store(dir.path() / "index" / "crashes.sqlite");
    auto now = Clock::now();
    store->add_user("fuzz", "correct horse battery", {"view_pii", "view_rawdump"});
    store->add_user("gone", "correct horse battery", {"view_pii"});
    valid = store->create_token("fuzz", "valid", {"view_pii"}, 90, now).secret;
    auto r = store->create_token("fuzz", "revoked", {}, 90, now);
    revoked = r.secret;
    store->revoke_token(r.info.id);
    expired = store->create_token("fuzz", "expired", {}, 1, now - std::chrono::hours(48)).secret;
    disabled = store->create_token("gone", "disabled", {}, 90, now).secret;
    store->set_disabled("gone", true);
    auth = std::make_unique<bw::web::CallerAuth>(bw::web::Accounts{store.get(), "no store"});
  }

  bw::test_support::TempDir dir;
  std::unique_ptr<bw::auth::AuthStore> store;
  std::string valid, revoked, expired, disabled;
  std::unique_ptr<bw::web::CallerAuth> auth;
};

Harness& harness() {
  static Harness h;
  return h;
}

std::string value_from(const Harness& h, const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 1: {
      std::string v = h.valid;
      size_t i = 0;
      for (; i + 1 < rest.size(); i += 2) v[static_cast<uint8_t>(rest[i]) % v.size()] = rest[i + 1];
      if (i < rest.size()) v += rest[i];
      return v;
    }
    case 2: return h.valid + std::string(rest);
    case 3: {
      if (rest.empty()) return h.valid;
      const std::string* stored[] = {&h.valid, &h.revoked, &h.expired, &h.disabled};
      std::string v = *stored[static_cast<uint8_t>(rest[0]) % 4];
      for (size_t i = 0; i < v.size() && 1 + i / 8 < rest.size(); ++i) {
        bool upper = (static_cast<uint8_t>(rest[1 + i / 8]) >> (i % 8)) & 1;
        if (upper && v[i] >= 'a' && v[i] <= 'z') v[i] = static_cast<char>(v[i] - 'a' + 'A');
      }
      return v;
    }
    default: return std::string(rest);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using bw::auth::TokenCheck;
  if (size == 0) return 0;
  Harness& h = harness();
  std::string value = value_from(h, data, size);
  auto now = Clock::now();

  TokenCheck check = h.store->check_token(value, now);
  bool well_formed = bw::auth::is_well_formed_token(value);
  // Accepted only for the valid token, with its permissions; every other input refused.
  if ((check.result == TokenCheck::Result::kValid) != (value == h.valid)) std::abort();
  if (check.result == TokenCheck::Result::kValid && check.permissions != bw::auth::PermissionSet{"view_pii"}) std::abort();
  if (!well_formed && check.result != TokenCheck::Result::kMalformed) std::abort();
  if (well_formed && check.result == TokenCheck::Result::kMalformed) std::abort();
  if (value == h.revoked && check.result != TokenCheck::Result::kRevoked) std::abort();
  if (value == h.expired && check.result != TokenCheck::Result::kExpired) std::abort();
  if (value == h.disabled && check.result != TokenCheck::Result::kUserDisabled) std::abort();
  if (check.reason().empty()) std::abort();

  // The same value through the web app's header path.
  bw::web::TokenHeader header;
  header.count = 1;
  header.value = value;
  auto answer = h.auth->check(header);
  if (const auto* caller = std::get_if<bw::web::Caller>(&answer)) {
    if (check.result != TokenCheck::Result::kValid || caller->permissions != check.permissions || !caller->has_token) {
      std::abort();
    }
  } else {
    const auto& r = std::get<bw::http::Response>(answer);
    if (r.status != 403 || check.result == TokenCheck::Result::kValid) std::abort();
    // The answer is exactly {"error": reason}, and the reason depends on the outcome alone: nothing
    // of the input (the would-be secret) can reach it.
    TokenCheck outcome_only;
    outcome_only.result = check.result;
    if (check.reason() != outcome_only.reason()) std::abort();
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (body != nlohmann::json{{"error", outcome_only.reason()}}) std::abort();
  }
  return 0;
}
