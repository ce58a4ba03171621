// Schema migrations embedded in the binary (index/embed_migrations.cmake turns
// index/migrations/<backend>/NNNN_name.sql into a table at build time). A backend applies, in
// order and each in one transaction, every migration whose version is above the one recorded in
// its `schema_version` table.
#pragma once

#include <string_view>
#include <vector>

namespace bw::index {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// index/migrations/sqlite/*.sql, by version.
const std::vector<Migration>& sqlite_migrations();
// index/migrations/postgres/*.sql, by version.
const std::vector<Migration>& postgres_migrations();

}  // namespace bw::index
