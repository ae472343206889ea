-- The event store of one service; applied inside that service's schema (search_path).
CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_name     text        NOT NULL,
    category        text        GENERATED ALWAYS AS (split_part(stream_name, '-', 1)) STORED,
    stream_position bigint      NOT NULL CHECK (stream_position >= 0),
    type            text        NOT NULL,
    schema_version  smallint    NOT NULL DEFAULT 1,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (stream_name, stream_position)
);
CREATE INDEX events_category_position ON events (category, global_position);

-- Events are facts: never updated, never deleted.
CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();

-- The relay's checkpoint: the global position of the last event whose publication was confirmed.
CREATE TABLE relay_checkpoint (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position   bigint  NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO relay_checkpoint (position) VALUES (0);
