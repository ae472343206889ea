-- The files of recommended downloads, out of the events (which every consumer receives and no
-- one can erase): described by DownloadFileAttached, kept here in pieces of DOWNLOAD_PIECE_BYTES
-- (helpdesk/contracts.py), one per row, so that storing or serving one never holds it whole.
-- A file is `complete` once its pieces add up to its size and its checksum is computed; the
-- pieces of an upload never finished are pruned (services/content/handlers.py, prune_uploads).
CREATE TABLE files (
    file_id      uuid        PRIMARY KEY,
    download_id  uuid        NOT NULL,
    name         text        NOT NULL,
    size         bigint      NOT NULL,   -- announced when the upload starts
    content_type text,
    sha256       text,
    complete     boolean     NOT NULL DEFAULT false,
    started_at   timestamptz NOT NULL
);
CREATE INDEX files_incomplete ON files (started_at) WHERE NOT complete;
CREATE TABLE file_pieces (
    file_id uuid    NOT NULL REFERENCES files ON DELETE CASCADE,
    piece   integer NOT NULL,
    data    bytea   NOT NULL,
    PRIMARY KEY (file_id, piece)
);
-- Most downloads are compressed already: PostgreSQL need not try again (TOAST out of line, as is).
ALTER TABLE file_pieces ALTER COLUMN data SET STORAGE EXTERNAL;
-- How often each download was fetched: a tally, not a fact of the log (like a web server's
-- counter), so it is not in `documents` and a rebuild leaves it as it is.
CREATE TABLE download_counts (
    download_id uuid   PRIMARY KEY,
    count       bigint NOT NULL DEFAULT 0
);
