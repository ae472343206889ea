-- The consumer side of one service; applied inside that service's schema.
-- `consumer` names a subscription (e.g. 'notifier.tickets'), so one schema can hold several.

-- Dedupe: an event is applied at most once per consumer.
CREATE TABLE inbox_processed (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Order: the position of the last event applied, per stream.
CREATE TABLE inbox_streams (
    consumer    text   NOT NULL,
    stream_name text   NOT NULL,
    position    bigint NOT NULL,
    PRIMARY KEY (consumer, stream_name)
);

-- Early arrivals, waiting for their predecessors.
CREATE TABLE inbox_parked (
    consumer        text        NOT NULL,
    stream_name     text        NOT NULL,
    stream_position bigint      NOT NULL,
    envelope        jsonb       NOT NULL,
    parked_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, stream_name, stream_position)
);
CREATE INDEX inbox_parked_age ON inbox_parked (consumer, parked_at);
