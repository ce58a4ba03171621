-- A version per product × day of topcrash_signature_daily, changed in the same transaction as
-- any of that day's rows. Top Crashers keeps each day's rows in memory with the version it read
-- them at and, in its snapshot, re-reads only the days whose version moved: past days rarely
-- change, so a ranking sums cached days instead of re-aggregating ~80,000 rows in SQL (70 ms
-- at 1,000,000 crashes, docs/benchmarks.md). Versions come from one sequence, so a version is
-- never given twice, even to a day whose rows were all deleted and written again.
CREATE SEQUENCE topcrash_day_version_seq;
CREATE TABLE topcrash_day_versions(
  product text COLLATE "C" NOT NULL, day bigint NOT NULL, version bigint NOT NULL,
  PRIMARY KEY(product, day));
INSERT INTO topcrash_day_versions(product, day, version)
  SELECT product, day, nextval('topcrash_day_version_seq') FROM (SELECT DISTINCT product, day FROM topcrash_signature_daily) AS d;
