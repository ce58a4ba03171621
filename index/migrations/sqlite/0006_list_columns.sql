-- Each list field also in a column of its own, so that a facet scan (the signature page counts
-- modules_in_stack with a dozen other facets in one pass) splits a short text instead of parsing
-- the row's JSON document. Each element is written as "<byte length>:<bytes>" and concatenated;
-- NULL when the field has no value, '' for an empty list. The document keeps its copy: filters
-- and hits read it. Upsert writes both; crashes indexed before this migration are filled here.
ALTER TABLE crashes ADD COLUMN list_missing_symbols TEXT;
ALTER TABLE crashes ADD COLUMN list_modules_in_stack TEXT;
ALTER TABLE crashes ADD COLUMN list_topmost_filenames TEXT;
ALTER TABLE crashes ADD COLUMN list_processor_notes TEXT;
UPDATE crashes SET
  list_missing_symbols = CASE WHEN json_type(doc, '$."missing_symbols"') = 'array' THEN
    coalesce((SELECT group_concat(length(CAST(value AS BLOB)) || ':' || value, '')
              FROM json_each(doc, '$."missing_symbols"') WHERE type = 'text'), '') END,
  list_modules_in_stack = CASE WHEN json_type(doc, '$."modules_in_stack"') = 'array' THEN
    coalesce((SELECT group_concat(length(CAST(value AS BLOB)) || ':' || value, '')
              FROM json_each(doc, '$."modules_in_stack"') WHERE type = 'text'), '') END,
  list_topmost_filenames = CASE WHEN json_type(doc, '$."topmost_filenames"') = 'array' THEN
    coalesce((SELECT group_concat(length(CAST(value AS BLOB)) || ':' || value, '')
              FROM json_each(doc, '$."topmost_filenames"') WHERE type = 'text'), '') END,
  list_processor_notes = CASE WHEN json_type(doc, '$."processor_notes"') = 'array' THEN
    coalesce((SELECT group_concat(length(CAST(value AS BLOB)) || ':' || value, '')
              FROM json_each(doc, '$."processor_notes"') WHERE type = 'text'), '') END;
