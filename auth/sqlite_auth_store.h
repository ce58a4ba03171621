// AuthStore in a SQLite file (the crash index's: accounts live in the same database as the index).
// Tables auth_users, auth_tokens, auth_sessions, auth_signin_links, auth_groups and
// auth_group_members, created when missing (an older file gains the group tables when opened);
// WAL, one connection serialized by a mutex (account operations are rare and short); a read
// followed by a write (grant, create_token, add_member, redeeming a link...) is one BEGIN
// IMMEDIATE transaction, so several processes on one file cannot interleave them. Password
// hashing runs before the mutex is taken. See auth_store.h for the promises; the PostgreSQL
// store (postgres_auth_store.h) keeps the same ones and auth/auth_store_test.cc runs one suite
// against both.
#pragma once

#include <filesystem>
#include <memory>

#include "auth/auth_store.h"

namespace bw::auth {

// Opens (creating the file, its folder and the tables when missing). Throws AuthUnavailable.
std::unique_ptr<AuthStore> open_sqlite_auth_store(const std::filesystem::path& path);

}  // namespace bw::auth
