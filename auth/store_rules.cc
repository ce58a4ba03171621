#include "auth/store_rules.h"

#include <set>

#include "auth/secrets.h"

namespace bw::auth::rules {

int64_t to_ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Clock::time_point from_ms(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

std::string join(const PermissionSet& names) {
  std::string out;
  for (const auto& p : names) out += (out.empty() ? "" : " ") + p;
  return out;
}

PermissionSet split(std::string_view text) {
  PermissionSet out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    if (end > at) out.emplace(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void check_user_name(std::string_view name) {
  if (!is_valid_name(name)) throw AuthError("a user name is 1-64 characters of A-Z a-z 0-9 . _ @ -");
}

void check_group_name(std::string_view name) {
  if (!is_valid_name(name)) throw AuthError("a group name is 1-64 characters of A-Z a-z 0-9 . _ @ -");
}

void check_password_text(std::string_view password) {
  if (password.size() < 8 || password.size() > 1024) throw AuthError("a password is 8 to 1024 bytes long");
}

void check_label(std::string_view label) {
  bool ok = label.size() <= 200;
  for (char c : label) ok = ok && c >= 0x20 && c < 0x7f;
  if (!ok) throw AuthError("a token label is at most 200 printable ASCII characters");
}

void check_token_days(int days) {
  if (days < 1 || days > 3650) throw AuthError("a token lasts 1 to 3650 days");
}

void check_session_lifetime(std::chrono::minutes lifetime) {
  if (lifetime < std::chrono::minutes(1) || lifetime > std::chrono::hours(24 * 365)) {
    throw AuthError("a session lasts 1 minute to 365 days");
  }
}

void check_link_lifetime(std::chrono::minutes lifetime) {
  if (lifetime < std::chrono::minutes(1) || lifetime > std::chrono::hours(24 * 30)) {
    throw AuthError("a sign-in link lasts 1 minute to 30 days");
  }
}

User make_user(std::string name, bool disabled, std::string_view own, Clock::time_point created,
               std::string_view group_names, std::string_view group_permissions) {
  User u;
  u.name = std::move(name);
  u.disabled = disabled;
  u.own_permissions = split(own);
  u.permissions = u.own_permissions;
  u.permissions.merge(split(group_permissions));
  u.created = created;
  for (auto& g : split(group_names)) u.groups.push_back(g);  // a set: sorted, once each
  return u;
}

PermissionSet token_permissions(const User& owner, const PermissionSet& requested) {
  if (owner.disabled) throw AuthError("user " + owner.name + " is disabled");
  if (requested.empty()) return owner.permissions;
  std::string extra;
  for (const auto& p : requested) {
    if (!owner.permissions.count(p)) extra += (extra.empty() ? "" : ", ") + p;
  }
  if (!extra.empty()) throw AuthError("user " + owner.name + " does not hold " + extra);
  return requested;
}

CreatedToken new_token_record(const User& owner, std::string_view label, const PermissionSet& requested, int days,
                              Clock::time_point now) {
  CreatedToken out;
  auto& t = out.info;
  t.permissions = token_permissions(owner, requested);
  out.secret = new_token();
  t.user = owner.name;
  t.label = std::string(label);
  t.created = from_ms(to_ms(now));
  t.expires = from_ms(to_ms(now + std::chrono::hours(24) * days));
  t.shown_prefix = out.secret.substr(0, 8);
  return out;
}

std::optional<User> password_verdict(std::optional<User> user, std::string_view hash, std::string_view password) {
  bool ok = verify_password(hash.empty() ? decoy_password_hash() : hash, password);
  if (!user || hash.empty() || !ok || user->disabled) return std::nullopt;
  return user;
}

const User& active_user(const std::optional<User>& found, std::string_view name) {
  if (!found) throw_no_user(name);
  if (found->disabled) throw AuthError("user " + found->name + " is disabled");
  return *found;
}

TokenCheck token_verdict(const TokenInfo& token, bool owner_disabled, const PermissionSet& owner_now,
                         Clock::time_point now) {
  TokenCheck check;
  check.user = token.user;
  if (token.revoked) {
    check.result = TokenCheck::Result::kRevoked;
  } else if (now >= token.expires) {
    check.result = TokenCheck::Result::kExpired;
  } else if (owner_disabled) {
    check.result = TokenCheck::Result::kUserDisabled;
  } else {
    check.result = TokenCheck::Result::kValid;
    for (const auto& p : token.permissions) {
      if (owner_now.count(p)) check.permissions.insert(p);
    }
  }
  return check;
}

void throw_no_user(std::string_view name) { throw AuthError("no user named " + std::string(name)); }

void throw_no_group(std::string_view name) { throw AuthError("no group named " + std::string(name)); }

}  // namespace bw::auth::rules
