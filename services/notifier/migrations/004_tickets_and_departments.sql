-- What the notifier must know of a ticket to mail about it (a projection of ticket events), and
-- which departments each agent works (from identity events), for "new ticket in your queue".
CREATE TABLE tickets (
    ticket_id       uuid PRIMARY KEY,
    reference       text   NOT NULL,
    title           text   NOT NULL,
    requester_id    text,
    requester_email text   NOT NULL,
    company_id      text,
    cc              text[] NOT NULL DEFAULT '{}',
    department      text,
    assignee_id     text,
    status          text   NOT NULL
);

ALTER TABLE contacts ADD COLUMN departments text[] NOT NULL DEFAULT '{}';
