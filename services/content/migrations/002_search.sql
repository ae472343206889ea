-- Full-text search of the documents (services/content/search.py): their words in Spanish and in
-- English, titles weighing more, accents folded before (no extension needed). Written by save().
ALTER TABLE documents ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector;
CREATE INDEX documents_search ON documents USING gin (search);
