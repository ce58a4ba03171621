-- The list fields (catalogue fields with is_list) move out of the JSON document into columns of
-- their own, each holding the field's JSON array as text. A facet or filter on one of them then
-- reads a short array instead of parsing every matching crash's whole document, and the search
-- that counts several facets in one scan counts them there too. PostgreSQL keeps them in its
-- jsonb document, which it does not re-parse per row.
ALTER TABLE crashes ADD COLUMN missing_symbols TEXT;
ALTER TABLE crashes ADD COLUMN modules_in_stack TEXT;
ALTER TABLE crashes ADD COLUMN topmost_filenames TEXT;
ALTER TABLE crashes ADD COLUMN processor_notes TEXT;
UPDATE crashes SET
  missing_symbols = json_extract(doc, '$."missing_symbols"'),
  modules_in_stack = json_extract(doc, '$."modules_in_stack"'),
  topmost_filenames = json_extract(doc, '$."topmost_filenames"'),
  processor_notes = json_extract(doc, '$."processor_notes"'),
  doc = json_remove(doc, '$."missing_symbols"', '$."modules_in_stack"', '$."topmost_filenames"', '$."processor_notes"')
WHERE json_type(doc, '$."missing_symbols"') IS NOT NULL OR json_type(doc, '$."modules_in_stack"') IS NOT NULL
   OR json_type(doc, '$."topmost_filenames"') IS NOT NULL OR json_type(doc, '$."processor_notes"') IS NOT NULL;
