// The secrets of accounts: password hashes and API tokens (libsodium). auth_store.h says why each
// is made the way it is. Thread safety: pure functions (libsodium is initialised once, here).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bw::auth {

inline constexpr std::string_view kTokenPrefix = "bwt_";
inline constexpr size_t kTokenLength = 4 + 64;  // prefix + 32 bytes in hex

// An Argon2id hash string (crypto_pwhash_str, interactive limits). Throws AuthUnavailable when
// libsodium cannot hash (out of memory).
std::string hash_password(std::string_view password);
// True when `password` matches `hash` (a string hash_password made). False for a bad hash string.
bool verify_password(std::string_view hash, std::string_view password);
// The hash of a password nobody has: verified against for unknown users, so that failing for an
// unknown name costs the same as for a wrong password.
const std::string& decoy_password_hash();

// A new token: "bwt_" + 64 lowercase hex digits from 32 random bytes.
std::string new_token();
// True for exactly "bwt_" + 64 lowercase hex digits: anything else is refused before a lookup.
bool is_well_formed_token(std::string_view text);
// Session cookies and one-time sign-in links are made the same way with their own prefixes, so
// that one kind can never be taken for another.
inline constexpr std::string_view kSessionPrefix = "bws_";
inline constexpr std::string_view kSignInLinkPrefix = "bwl_";
// `prefix` + 64 lowercase hex digits from 32 random bytes.
std::string new_secret(std::string_view prefix);
// True for exactly `prefix` + 64 lowercase hex digits.
bool is_well_formed_secret(std::string_view text, std::string_view prefix);
// 32 random bytes as 64 lowercase hex digits (CSRF tokens).
std::string random_hex32();

// Constant-time equality of two secrets (CSRF tokens): the time depends on the lengths only.
bool secrets_equal(std::string_view a, std::string_view b);

// The stored form of a token: BLAKE2b-256 of its text, as 64 lowercase hex digits.
std::string token_hash(std::string_view token);

}  // namespace bw::auth
