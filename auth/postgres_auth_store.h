// AuthStore in PostgreSQL: the crash index's database when index.url is a postgresql:// URL
// (accounts live next to the index, as with SQLite). Same promises as every store (auth_store.h);
// auth/auth_store_test.cc runs the one suite against this and the SQLite store.
//
// Tables auth_users, auth_tokens, auth_sessions, auth_signin_links, auth_groups and
// auth_group_members (auth/migrations/postgres/), created and migrated at open with the index's
// mechanism: embedded versioned files, each applied in one transaction under an advisory lock (so
// several processes may open a fresh database at once), the versions applied in
// `auth_schema_version` (the index keeps its own in `schema_version`).
//
// Connection: one libpq connection, opened at construction and reused, serialized by a mutex
// (account operations are short; the crash index's pool is private to it and built for long
// searches). Every value is a bound parameter of a statement prepared once per connection.
// Password hashing (Argon2id) runs before the mutex is taken, never while holding the connection.
//
// Failures: when the connection turns out lost (server restart, network), it is dropped and the
// operation runs once more on a new one; when that fails too, or the server cannot be reached,
// AuthUnavailable (the next call connects again). A write whose
// commit was in doubt may thus run twice: a second user or group of the same name is refused
// ("already exists"), a second token or session is an orphan whose secret nobody was shown, a
// sign-in link redeemed twice is refused the second time (the safe side). Statements running
// longer than 10 s are cancelled (AuthUnavailable).
#pragma once

#include <memory>
#include <string>

#include "auth/auth_store.h"

namespace bw::auth {

// Connects and creates or migrates the tables. `url`: postgresql://user:password@host:port/db
// (or anything libpq takes). Throws AuthUnavailable when the server cannot be reached or the
// schema cannot be brought up to date.
std::unique_ptr<AuthStore> open_postgres_auth_store(const std::string& url);

}  // namespace bw::auth
