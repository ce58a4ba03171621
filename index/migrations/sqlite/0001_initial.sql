-- The crash index, SQLite (index/sqlite_crash_index.h). Columns of `crashes` are the catalogue's
-- indexed fields (index/fields.cc); every other field lives in `doc` (compact JSON).
CREATE TABLE crashes(
  rid INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  date INTEGER NOT NULL,              -- date_processed, microseconds since the epoch (UTC)
  product TEXT,
  version TEXT,
  release_channel TEXT,
  build_id INTEGER,
  platform TEXT,
  platform_version TEXT,
  cpu_arch TEXT,
  cpu_count INTEGER,
  process_type TEXT,
  signature TEXT,
  reason TEXT,
  address TEXT,
  crashing_thread INTEGER,
  uptime INTEGER,
  install_age INTEGER,
  success INTEGER,
  has_missing_symbols INTEGER,
  doc TEXT NOT NULL
);
-- Date ranges, sorting by date, facets and "contains" over a date range (covering signature).
CREATE INDEX crashes_by_date ON crashes(date, signature);
-- One signature over a date range.
CREATE INDEX crashes_by_signature ON crashes(signature, date);
-- Product (+ version) over a date range, sorted by date.
CREATE INDEX crashes_by_product ON crashes(product, version, date);

-- Top Crashers rollups: crashes per day and key, kept current by upsert, remove and retention.
CREATE TABLE topcrash_daily(
  product TEXT NOT NULL, version TEXT NOT NULL, day INTEGER NOT NULL, process_type TEXT NOT NULL,
  platform TEXT NOT NULL, signature TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY(product, version, day, process_type, platform, signature)) WITHOUT ROWID;
-- The same without the version, for "every version" (far fewer rows to add up).
CREATE TABLE topcrash_daily_all(
  product TEXT NOT NULL, day INTEGER NOT NULL, process_type TEXT NOT NULL,
  platform TEXT NOT NULL, signature TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY(product, day, process_type, platform, signature)) WITHOUT ROWID;
-- First day (and build) any crash had a signature; never lowered by deletes (history).
CREATE TABLE signature_first_seen(
  signature TEXT PRIMARY KEY, first_day INTEGER NOT NULL, first_build TEXT NOT NULL) WITHOUT ROWID;
