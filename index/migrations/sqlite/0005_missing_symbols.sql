-- Modules whose symbols crashes needed and did not find: one row per (module, crash), written by
-- upsert from the processed crash's json_dump.modules[] (missing_symbols true) and removed with
-- the crash (reprocessing replaces its rows, remove and retention delete them). Serves
-- /api/MissingSymbols/ (grouped by module over a date range) and healing (the crashes of one
-- module). Crashes indexed before this migration have no rows until `admin index rebuild`.
CREATE TABLE missing_symbols(
  debug_file TEXT NOT NULL,
  debug_id TEXT NOT NULL,            -- upper-case
  uuid TEXT NOT NULL,
  date INTEGER NOT NULL,             -- the crash's date, microseconds since the epoch (UTC)
  code_file TEXT NOT NULL,
  code_id TEXT NOT NULL,
  PRIMARY KEY(debug_file, debug_id, uuid)) WITHOUT ROWID;
CREATE INDEX missing_symbols_by_uuid ON missing_symbols(uuid);
CREATE INDEX missing_symbols_by_date ON missing_symbols(date);
