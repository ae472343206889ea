-- Commands routing decided, written in the transaction that decided them and sent to the tickets
-- service after it committed (never during it); a row goes once tickets has answered. A command
-- sent twice (a crash before the row went) is done once: its id is the Idempotency-Key.
CREATE TABLE outgoing_commands (
    position    bigserial PRIMARY KEY,   -- sending order
    command_id  uuid  NOT NULL UNIQUE,
    ticket_id   uuid  NOT NULL,
    action      text  NOT NULL,
    command     jsonb NOT NULL,
    cause       jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
