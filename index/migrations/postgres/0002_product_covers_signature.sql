-- Product (+ version) over a date range, sorted by date, with the signature facet every search
-- computes by default: the index covers signature, so counting the signatures of a product's
-- crashes can be an index-only scan instead of one heap fetch per crash. (On the partitioned
-- table: created on every partition, and on each new one.)
CREATE INDEX crashes_by_product_signature ON crashes(product, version, date, signature);
DROP INDEX crashes_by_product;
