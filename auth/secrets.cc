#include "auth/secrets.h"

#include <sodium.h>

#include <stdexcept>

#include "auth/auth_store.h"

namespace bw::auth {
namespace {

void init_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw AuthUnavailable("libsodium could not be initialised");
}

std::string to_hex(const unsigned char* bytes, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, size);
  out.pop_back();
  return out;
}

}  // namespace

std::string hash_password(std::string_view password) {
  init_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw AuthUnavailable("cannot hash a password now (out of memory)");
  }
  return out;
}

bool verify_password(std::string_view hash, std::string_view password) {
  init_sodium();
  // crypto_pwhash_str_verify wants a NUL-terminated string of at most STRBYTES.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

const std::string& decoy_password_hash() {
  static const std::string hash = [] {
    unsigned char random[32];
    init_sodium();
    randombytes_buf(random, sizeof random);
    return hash_password(to_hex(random, sizeof random));
  }();
  return hash;
}

std::string random_hex32() {
  init_sodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return to_hex(bytes, sizeof bytes);
}

std::string new_secret(std::string_view prefix) { return std::string(prefix) + random_hex32(); }

bool is_well_formed_secret(std::string_view text, std::string_view prefix) {
  if (text.size() != prefix.size() + 64 || !text.starts_with(prefix)) return false;
  for (char c : text.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool secrets_equal(std::string_view a, std::string_view b) {
  init_sodium();
  if (a.size() != b.size() || a.empty()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string new_token() { return new_secret(kTokenPrefix); }

bool is_well_formed_token(std::string_view text) { return is_well_formed_secret(text, kTokenPrefix); }

std::string token_hash(std::string_view token) {
  init_sodium();
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                     nullptr, 0);
  return to_hex(digest, sizeof digest);
}

}  // namespace bw::auth
