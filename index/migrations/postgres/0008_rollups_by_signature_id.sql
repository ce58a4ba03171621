-- Smaller Top Crashers rollups (docs/benchmarks.md: they held ~310 of the ~1,600 bytes a crash
-- took on disk at 1,000,000 crashes, the signature's text in every row and in every key).
--
-- topcrash_signature_daily gains the process type and replaces topcrash_daily_all: both had a
-- row per product × day × signature × platform (× process type), and Top Crashers without a
-- version now ranks from this one, held in memory per day (index/topcrash_day_cache.h), for any
-- process type. topcrash_daily keeps its key with the signature as its id in signature_ids.
-- Fixed-width columns come first so rows carry no alignment padding.
CREATE TABLE topcrash_signature_daily_by_process(
  day bigint NOT NULL, count bigint NOT NULL, sig integer NOT NULL,
  product text COLLATE "C" NOT NULL, platform text COLLATE "C" NOT NULL,
  process_type text COLLATE "C" NOT NULL,
  CONSTRAINT topcrash_signature_daily_by_process_pkey PRIMARY KEY(product, day, sig, platform, process_type));
INSERT INTO signature_ids(signature) SELECT DISTINCT signature FROM topcrash_daily_all
  ON CONFLICT (signature) DO NOTHING;
INSERT INTO topcrash_signature_daily_by_process(day, count, sig, product, platform, process_type)
  SELECT t.day, t.count, s.id, t.product, t.platform, t.process_type
  FROM topcrash_daily_all AS t JOIN signature_ids AS s ON s.signature = t.signature;
DROP TABLE topcrash_signature_daily;
DROP TABLE topcrash_daily_all;
ALTER TABLE topcrash_signature_daily_by_process RENAME TO topcrash_signature_daily;
ALTER TABLE topcrash_signature_daily RENAME CONSTRAINT topcrash_signature_daily_by_process_pkey
  TO topcrash_signature_daily_pkey;

CREATE TABLE topcrash_daily_by_id(
  day bigint NOT NULL, count bigint NOT NULL, sig integer NOT NULL,
  product text COLLATE "C" NOT NULL, version text COLLATE "C" NOT NULL,
  process_type text COLLATE "C" NOT NULL, platform text COLLATE "C" NOT NULL,
  CONSTRAINT topcrash_daily_by_id_pkey PRIMARY KEY(product, version, day, process_type, platform, sig));
INSERT INTO signature_ids(signature) SELECT DISTINCT signature FROM topcrash_daily
  ON CONFLICT (signature) DO NOTHING;
INSERT INTO topcrash_daily_by_id(day, count, sig, product, version, process_type, platform)
  SELECT t.day, t.count, s.id, t.product, t.version, t.process_type, t.platform
  FROM topcrash_daily AS t JOIN signature_ids AS s ON s.signature = t.signature;
DROP TABLE topcrash_daily;
ALTER TABLE topcrash_daily_by_id RENAME TO topcrash_daily;
ALTER TABLE topcrash_daily RENAME CONSTRAINT topcrash_daily_by_id_pkey TO topcrash_daily_pkey;

-- Every day's rows changed shape: cached days are read again.
UPDATE topcrash_day_versions SET version = nextval('topcrash_day_version_seq');
