-- The delivery log: one row per (event, recipient), written in the same transaction that marks
-- the event processed, so a redelivered event never produces a second mail. A row holds what to
-- render (template, language, context), not the rendered mail: links carry tokens derived from
-- the context's nonces at send time, so no usable token is ever stored.
CREATE TABLE mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL,
    recipient       text        NOT NULL,
    template        text        NOT NULL,
    language        text        NOT NULL,
    context         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    last_error      text,
    UNIQUE (event_id, recipient)
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';

-- Who can be mailed, in which language: a projection of identity's events.
CREATE TABLE contacts (
    user_id    uuid PRIMARY KEY,
    email      text    NOT NULL,
    name       text    NOT NULL,
    language   text    NOT NULL,
    company_id uuid,
    is_group   boolean NOT NULL DEFAULT false
);
CREATE INDEX contacts_email ON contacts (lower(email));
