-- The documents' words as plain text (Markdown read, every language), kept for the search's
-- snippets: made once when a document is saved, not at every search.
ALTER TABLE documents ADD COLUMN body_text text NOT NULL DEFAULT '';
