-- The bytes of attachments, outside the events (which carry only id, name, size, type, sha256):
-- events are published everywhere and never erased; a file must be readable only by those who
-- may see its ticket.
CREATE TABLE attachments (
    attachment_id uuid PRIMARY KEY,
    ticket_id     uuid        NOT NULL,
    filename      text        NOT NULL,
    content_type  text        NOT NULL,
    size          integer     NOT NULL CHECK (size <= 2097152),   -- attachments.MAX_BYTES
    sha256        text        NOT NULL,
    content       bytea       NOT NULL CHECK (octet_length(content) = size),
    internal      boolean     NOT NULL DEFAULT false,              -- on a staff note: never for customers
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_ticket ON attachments (ticket_id);
