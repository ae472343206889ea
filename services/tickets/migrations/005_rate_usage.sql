-- Rate limits (services/tickets/limits.py): the distinct items (a ticket opened, a comment, an
-- address copied) counted under each key (limit and account or company), written in the
-- command's own transaction, so a refused command leaves nothing here either. Rows older than a
-- limit's window are deleted when that key is next used.
CREATE TABLE rate_usage (
    key  text        NOT NULL,
    item text        NOT NULL,
    at   timestamptz NOT NULL,
    PRIMARY KEY (key, item, at)
);
CREATE INDEX rate_usage_recent ON rate_usage (key, at);
