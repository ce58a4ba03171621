-- Crashes per product × version × UTC day: the home page's charts read a few thousand rows of it
-- instead of every crash of the period. Kept by the same deltas as topcrash_daily; filled here
-- from topcrash_daily, which counts every indexed crash (as in
-- index/migrations/sqlite/0006_product_version_daily.sql).
CREATE TABLE product_version_daily(
  product text COLLATE "C" NOT NULL, version text COLLATE "C" NOT NULL, day bigint NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY(product, version, day));
CREATE INDEX product_version_daily_by_day ON product_version_daily(day);
INSERT INTO product_version_daily(product, version, day, count)
  SELECT product, version, day, SUM(count) FROM topcrash_daily GROUP BY product, version, day;
