-- Top Crashers for every version and process type (the default view) ranks signatures from a
-- narrow rollup: crashes per product × day × signature × platform, the signature as an integer
-- id. A week of it is a few hundred pages where topcrash_daily_all (process type too, the
-- signature as text) was thousands: the long tail of signatures makes a rollup almost as many
-- rows as crashes. Ids are never reused or deleted.
CREATE TABLE signature_ids(
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  signature text COLLATE "C" NOT NULL UNIQUE);
CREATE TABLE topcrash_signature_daily(
  product text COLLATE "C" NOT NULL, day bigint NOT NULL, sig integer NOT NULL,
  platform text COLLATE "C" NOT NULL, count bigint NOT NULL,
  PRIMARY KEY(product, day, sig, platform));
INSERT INTO signature_ids(signature) SELECT DISTINCT signature FROM topcrash_daily_all;
INSERT INTO topcrash_signature_daily(product, day, sig, platform, count)
  SELECT t.product, t.day, s.id, t.platform, SUM(t.count)
  FROM topcrash_daily_all AS t JOIN signature_ids AS s ON s.signature = t.signature
  GROUP BY t.product, t.day, s.id, t.platform;
