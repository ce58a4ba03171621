// The account store's PostgreSQL migrations, auth/migrations/postgres/NNNN_name.sql, embedded at
// build time by index/embed_migrations.cmake (the crash index's mechanism, index/migrations.h).
// The store applies, in order and each in one transaction, those above the version recorded in
// its own `auth_schema_version` table.
#pragma once

#include <vector>

#include "index/migrations.h"

namespace bw::auth {

using index::Migration;

// auth/migrations/postgres/*.sql, by version.
const std::vector<Migration>& postgres_migrations();

}  // namespace bw::auth
