-- Top Crashers for every version and process type (the default view) ranks signatures from a
-- narrow rollup: crashes per product × day × signature × platform, the signature as an integer
-- id. Summing a week of it costs an integer lookup per row where topcrash_daily_all (process
-- type too, the signature as text) cost a string hash: the long tail of signatures makes a
-- rollup almost as many rows as crashes. Ids are never reused or deleted.
CREATE TABLE signature_ids(id INTEGER PRIMARY KEY, signature TEXT NOT NULL UNIQUE);
CREATE TABLE topcrash_signature_daily(
  product TEXT NOT NULL, day INTEGER NOT NULL, sig INTEGER NOT NULL, platform TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY(product, day, sig, platform)) WITHOUT ROWID;
INSERT INTO signature_ids(signature) SELECT signature FROM topcrash_daily_all GROUP BY signature;
INSERT INTO topcrash_signature_daily(product, day, sig, platform, count)
  SELECT t.product, t.day, s.id, t.platform, SUM(t.count)
  FROM topcrash_daily_all AS t JOIN signature_ids AS s ON s.signature = t.signature
  GROUP BY t.product, t.day, s.id, t.platform;
