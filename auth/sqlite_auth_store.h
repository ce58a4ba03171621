// AuthStore in a SQLite file (the crash index's: accounts live in the same database as the index).
// Tables auth_users, auth_tokens, auth_sessions and auth_signin_links, created when missing; WAL, one connection serialized by a
// mutex (account operations are rare and short). See auth_store.h for the promises.
#pragma once

#include <filesystem>
#include <memory>

#include "auth/auth_store.h"

namespace bw::auth {

// Opens (creating the file, its folder and the tables when missing). Throws AuthUnavailable.
std::unique_ptr<AuthStore> open_sqlite_auth_store(const std::filesystem::path& path);

}  // namespace bw::auth
