-- Two fewer indexes on every partition (docs/benchmarks.md: the five took ~450 of the ~1,460 bytes
-- a crash took on disk at 1,000,000 crashes).
--
-- One product index instead of two: (product, date, version, signature) serves a product alone
-- (newest first, and its signature facet, from the index alone) as crashes_by_product_date did,
-- and a product with versions by testing the version inside the index entries of the product's
-- date range instead of jumping to them.
--
-- No uuid index: every lookup of a crash by id first reads its date from crash_keys (the key it
-- was indexed under), and (date, signature) finds a row by its date to the microsecond; a search
-- filtering uuid does the same (index/postgres_crash_index.cc, uuid_dates_condition).
CREATE INDEX crashes_by_product_date_version ON crashes(product, date, version, signature);
DROP INDEX crashes_by_product_signature;
DROP INDEX crashes_by_product_date;
DROP INDEX crashes_by_uuid;
