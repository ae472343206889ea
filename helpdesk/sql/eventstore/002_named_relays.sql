-- A service may run several relays over its log (e.g. sla: its events, and the billing contract
-- on another exchange): one checkpoint per relay name. The first relay is called "events".
CREATE TABLE relay_checkpoints (
    name       text PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO relay_checkpoints (name, position) SELECT 'events', position FROM relay_checkpoint;
DROP TABLE relay_checkpoint;
