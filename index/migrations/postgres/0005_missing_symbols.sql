-- Modules whose symbols crashes needed and did not find: one row per (module, crash), as in the
-- SQLite schema (index/migrations/sqlite/0005_missing_symbols.sql). Not partitioned: the rows are
-- few (crashes that miss symbols, a handful of modules each) and retention deletes them by date.
CREATE TABLE missing_symbols(
  debug_file text COLLATE "C" NOT NULL,
  debug_id text COLLATE "C" NOT NULL,
  uuid text COLLATE "C" NOT NULL,
  date bigint NOT NULL,
  code_file text COLLATE "C" NOT NULL,
  code_id text COLLATE "C" NOT NULL,
  PRIMARY KEY(debug_file, debug_id, uuid));
CREATE INDEX missing_symbols_by_uuid ON missing_symbols(uuid);
CREATE INDEX missing_symbols_by_date ON missing_symbols(date);
