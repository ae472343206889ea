-- The read model of the content events (rebuildable from `events`: python -m helpdesk.projections
-- content): every announcement, incident and maintenance window as its folded state, updated in
-- the append's transaction. The columns besides `state` are what the lists filter and sort by.
CREATE TABLE documents (
    kind        text        NOT NULL,          -- announcement | incident | maintenance
    id          uuid        PRIMARY KEY,
    status      text        NOT NULL,
    pinned      boolean     NOT NULL DEFAULT false,
    shown_from  timestamptz,                   -- announcements: publish_at; incidents: started_at; windows: starts_at
    shown_until timestamptz,                   -- incidents: ended_at; windows: ends_at
    state       jsonb       NOT NULL,
    version     bigint      NOT NULL
);
CREATE INDEX documents_listing ON documents (kind, status, shown_from DESC);
