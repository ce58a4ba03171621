// What the SQLite and PostgreSQL account stores share (auth_store.h's promises in one place): the
// rules for names, passwords, labels and lifetimes, the stored form of permission sets and times,
// and how permissions are answered (own ∪ groups'; a token's narrowed to its owner's). Internal to
// bw_auth. Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/auth_store.h"

namespace bw::auth::rules {

using Clock = std::chrono::system_clock;

// Times are stored as milliseconds since the epoch.
int64_t to_ms(Clock::time_point t);
Clock::time_point from_ms(int64_t ms);

// Permission sets (and lists of group names) are stored as names separated by single spaces;
// neither names nor permissions can hold a space.
std::string join(const PermissionSet& names);
PermissionSet split(std::string_view text);

// 1-64 characters of [A-Za-z0-9._@-]: user and group names.
bool is_valid_name(std::string_view name);
// AuthError unless is_valid_name: "a user name is ..." / "a group name is ...".
void check_user_name(std::string_view name);
void check_group_name(std::string_view name);
void check_password_text(std::string_view password);
void check_label(std::string_view label);
void check_token_days(int days);
void check_session_lifetime(std::chrono::minutes lifetime);
void check_link_lifetime(std::chrono::minutes lifetime);

// A user from its stored columns: `group_names` and `group_permissions` are the space-joined
// names and permission sets of the groups the user is in (empty when none), as the stores' user
// queries aggregate them.
User make_user(std::string name, bool disabled, std::string_view own, Clock::time_point created,
               std::string_view group_names, std::string_view group_permissions);

// The permissions a new token carries: `requested`, or all of the owner's effective ones when
// empty. AuthError when the owner is disabled or `requested` holds one the owner does not.
PermissionSet token_permissions(const User& owner, const PermissionSet& requested);

// A new token of `owner` before it is stored (id unset): a fresh secret, permissions as
// token_permissions, created now and expiring after `days`, both at millisecond precision as
// stored, and the secret's first 8 characters as the prefix shown in lists.
CreatedToken new_token_record(const User& owner, std::string_view label, const PermissionSet& requested, int days,
                              Clock::time_point now);

// check_token's answer for a stored token whose owner is `owner_disabled` and holds `owner_now`
// (effective) at `now`.
TokenCheck token_verdict(const TokenInfo& token, bool owner_disabled, const PermissionSet& owner_now,
                         Clock::time_point now);

// check_password's answer from the stored user (nullopt when the name is unknown) and its password
// hash (empty when it has none): the user when the password matches and the user is enabled.
// Unknown users and users without a password cost a hash too (against a decoy), so the time does
// not tell which names exist.
std::optional<User> password_verdict(std::optional<User> user, std::string_view hash, std::string_view password);

// The user a session or sign-in link is made for: AuthError when it is missing or disabled.
const User& active_user(const std::optional<User>& found, std::string_view name);

// AuthError "no user named X" / "no group named X" (callers check the name first: it is shown).
[[noreturn]] void throw_no_user(std::string_view name);
[[noreturn]] void throw_no_group(std::string_view name);

}  // namespace bw::auth::rules
