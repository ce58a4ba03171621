#include "auth/auth_store.h"

#include <algorithm>

#include "auth/postgres_auth_store.h"
#include "auth/sqlite_auth_store.h"
#include "core/config.h"

namespace bw::auth {

const std::vector<std::string>& all_permissions() {
  static const std::vector<std::string> names = {"view_pii",        "view_rawdump",     "reprocess_crashes",
                                                 "upload_symbols",  "run_long_queries", "admin"};
  return names;
}

bool is_permission(std::string_view name) {
  const auto& all = all_permissions();
  return std::find(all.begin(), all.end(), name) != all.end();
}

void check_permissions(const PermissionSet& permissions) {
  for (const auto& p : permissions) {
    if (!is_permission(p)) {
      std::string known;
      for (const auto& n : all_permissions()) known += (known.empty() ? "" : ", ") + n;
      throw AuthError("'" + p.substr(0, 64) + "' is not a permission (there are " + known + ")");
    }
  }
}

namespace {

void add_all(PermissionSet& to, const PermissionSet& permissions) { to.insert(permissions.begin(), permissions.end()); }

void remove_all(PermissionSet& from, const PermissionSet& permissions) {
  for (const auto& p : permissions) from.erase(p);
}

}  // namespace

PermissionSet AuthStore::grant(std::string_view name, const PermissionSet& permissions) {
  check_permissions(permissions);
  return edit_user_permissions(name, [&](PermissionSet& p) { add_all(p, permissions); });
}

PermissionSet AuthStore::revoke(std::string_view name, const PermissionSet& permissions) {
  check_permissions(permissions);
  return edit_user_permissions(name, [&](PermissionSet& p) { remove_all(p, permissions); });
}

PermissionSet AuthStore::grant_group(std::string_view name, const PermissionSet& permissions) {
  check_permissions(permissions);
  return edit_group_permissions(name, [&](PermissionSet& p) { add_all(p, permissions); });
}

PermissionSet AuthStore::revoke_group(std::string_view name, const PermissionSet& permissions) {
  check_permissions(permissions);
  return edit_group_permissions(name, [&](PermissionSet& p) { remove_all(p, permissions); });
}

std::string TokenCheck::reason() const {
  switch (result) {
    case Result::kValid: return "the token is valid";
    case Result::kMalformed: return "the Auth-Token is not a Breakwater token (bwt_ and 64 hex digits)";
    case Result::kUnknown: return "the Auth-Token is unknown";
    case Result::kExpired: return "the Auth-Token has expired";
    case Result::kRevoked: return "the Auth-Token has been revoked";
    case Result::kUserDisabled: return "the Auth-Token's user is disabled";
  }
  return "the Auth-Token is refused";
}

std::unique_ptr<AuthStore> open_auth_store(const Config& config) {
  const std::string url = config.get_string("index", "url");
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return open_postgres_auth_store(url);
  // The URL is not echoed: it may hold a password.
  if (!url.empty()) throw ConfigError("index.url is neither empty (SQLite) nor a postgresql:// URL");
  return open_sqlite_auth_store(config.data_path(config.get_string("index", "sqlite_path"), "index/crashes.sqlite"));
}

}  // namespace bw::auth
