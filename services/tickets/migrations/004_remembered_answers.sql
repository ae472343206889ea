-- Idempotency-Key: the first answer to a ticket command, replayed to a repeat of it (same user,
-- same key, same request fingerprint) for helpdesk.idempotency.RETENTION_HOURS. Written in the
-- transaction of the command's append, so an answer is remembered if and only if it was done.
CREATE TABLE remembered_answers (
    user_id         text        NOT NULL,
    idempotency_key text        NOT NULL,
    fingerprint     text        NOT NULL,
    answer          jsonb       NOT NULL,
    remembered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX remembered_answers_age ON remembered_answers (remembered_at);
