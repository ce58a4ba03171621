-- Crashes per product × version × UTC day: the home page's charts (products by crash count, each
-- product's crashes per day by version) read a few thousand rows of it instead of every crash of
-- the period. Kept by the same deltas as topcrash_daily (upsert, reprocessing, remove,
-- retention); filled here from topcrash_daily, which counts every indexed crash.
CREATE TABLE product_version_daily(
  product TEXT NOT NULL, version TEXT NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY(product, version, day)) WITHOUT ROWID;
-- The home page asks for every product from a first day on.
CREATE INDEX product_version_daily_by_day ON product_version_daily(day);
INSERT INTO product_version_daily(product, version, day, count)
  SELECT product, version, day, SUM(count) FROM topcrash_daily GROUP BY product, version, day;
