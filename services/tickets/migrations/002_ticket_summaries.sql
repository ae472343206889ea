-- Human ticket numbers (#000042), drawn when a ticket is opened.
CREATE SEQUENCE ticket_numbers;

-- The read model for lists, queues and search: one row per ticket, its state after its last event.
-- Rebuilt from the event log by `python -m services.tickets.rebuild`.
CREATE TABLE ticket_summaries (
    ticket_id       uuid PRIMARY KEY,
    reference       text        NOT NULL,
    title           text        NOT NULL,
    description     text        NOT NULL,
    status          text        NOT NULL,
    department      text,
    urgency         text,
    itil_type       text,
    itil_service    text,
    itil_category   text,
    requester_id    text        NOT NULL,
    requester_email text        NOT NULL,
    company_id      text,
    assignee_id     text,
    cc              text[]      NOT NULL DEFAULT '{}',   -- lower-cased addresses
    channel         text        NOT NULL,
    provider_fault  boolean     NOT NULL DEFAULT false,
    opened_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    arrival         bigint      NOT NULL UNIQUE,         -- global position of TicketOpened: queue order
    version         bigint      NOT NULL
);
CREATE INDEX ticket_summaries_requester ON ticket_summaries (requester_id, arrival);
CREATE INDEX ticket_summaries_company ON ticket_summaries (company_id, arrival);
CREATE INDEX ticket_summaries_queue ON ticket_summaries (department, status, arrival);
CREATE INDEX ticket_summaries_cc ON ticket_summaries USING gin (cc);
