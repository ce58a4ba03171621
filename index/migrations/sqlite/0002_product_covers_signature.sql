-- Product (+ version) over a date range, sorted by date, with the signature facet every search
-- computes by default: the index covers signature, so counting the signatures of a product's
-- crashes reads the index alone instead of one table row per crash.
CREATE INDEX crashes_by_product_signature ON crashes(product, version, date, signature);
DROP INDEX crashes_by_product;
