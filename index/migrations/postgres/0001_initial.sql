-- The crash index, PostgreSQL (index/postgres_crash_index.h). Columns of `crashes` are the
-- catalogue's indexed fields (index/fields.cc), as in the SQLite schema; every other field lives
-- in `doc`. Text is COLLATE "C" so sorting, ranges and prefix matches are bytewise, as SQLite's
-- BINARY collation (both backends must return the same order), whatever the database's locale.
--
-- `crashes` is partitioned by week on `date` (microseconds since the epoch, UTC, as in SQLite):
-- partitions `crashes_wYYYYMMDD` (the Monday the week starts) are created by the index when a
-- crash of a new week arrives, and retention drops whole partitions.
CREATE TABLE crashes(
  uuid text COLLATE "C" NOT NULL,
  date bigint NOT NULL,
  product text COLLATE "C",
  version text COLLATE "C",
  release_channel text COLLATE "C",
  build_id bigint,
  platform text COLLATE "C",
  platform_version text COLLATE "C",
  cpu_arch text COLLATE "C",
  cpu_count bigint,
  process_type text COLLATE "C",
  signature text COLLATE "C",
  reason text COLLATE "C",
  address text COLLATE "C",
  crashing_thread bigint,
  uptime bigint,
  install_age bigint,
  success boolean,
  has_missing_symbols boolean,
  doc jsonb NOT NULL
) PARTITION BY RANGE (date);
-- Date ranges, sorting by date, facets and "contains" over a date range (covering signature).
CREATE INDEX crashes_by_date ON crashes(date, signature);
-- One signature over a date range.
CREATE INDEX crashes_by_signature ON crashes(signature, date);
-- Product (+ version) over a date range, sorted by date.
CREATE INDEX crashes_by_product ON crashes(product, version, date);
-- get() and reprocessing find a row by uuid within the partition crash_keys names.
CREATE INDEX crashes_by_uuid ON crashes(uuid);

-- One row per indexed crash: a partitioned table cannot have a unique uuid, so this table holds
-- the uniqueness (a crash is indexed exactly once) and where its row is (its date, so its week).
CREATE TABLE crash_keys(
  uuid text COLLATE "C" PRIMARY KEY,
  date bigint NOT NULL);
CREATE INDEX crash_keys_by_date ON crash_keys(date);

-- Top Crashers rollups: crashes per day and key, kept current by upsert, remove and retention.
CREATE TABLE topcrash_daily(
  product text COLLATE "C" NOT NULL, version text COLLATE "C" NOT NULL, day bigint NOT NULL,
  process_type text COLLATE "C" NOT NULL, platform text COLLATE "C" NOT NULL,
  signature text COLLATE "C" NOT NULL, count bigint NOT NULL,
  PRIMARY KEY(product, version, day, process_type, platform, signature));
-- The same without the version, for "every version" (far fewer rows to add up).
CREATE TABLE topcrash_daily_all(
  product text COLLATE "C" NOT NULL, day bigint NOT NULL, process_type text COLLATE "C" NOT NULL,
  platform text COLLATE "C" NOT NULL, signature text COLLATE "C" NOT NULL, count bigint NOT NULL,
  PRIMARY KEY(product, day, process_type, platform, signature));
-- First day (and build) any crash had a signature; never lowered by deletes (history).
CREATE TABLE signature_first_seen(
  signature text COLLATE "C" PRIMARY KEY, first_day bigint NOT NULL, first_build text NOT NULL);
