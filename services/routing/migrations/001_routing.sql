-- Routing's own view of the world, built from ticket and identity events.
CREATE TABLE agents (
    user_id     text PRIMARY KEY,
    email       text    NOT NULL,
    name        text    NOT NULL,
    departments text[]  NOT NULL,
    active      boolean NOT NULL DEFAULT true
);

CREATE TABLE tickets (
    ticket_id   uuid PRIMARY KEY,
    facts       jsonb   NOT NULL,   -- what routing rules read: department, itil, urgency
    department  text,
    assignee_id text,
    open        boolean NOT NULL DEFAULT true,
    arrival     bigint  NOT NULL    -- queue order
);
CREATE INDEX tickets_waiting ON tickets (arrival) WHERE open AND assignee_id IS NULL;
CREATE INDEX tickets_load ON tickets (assignee_id) WHERE open;

-- Round robin: who took the last ticket of each department.
CREATE TABLE last_assigned (
    department text PRIMARY KEY,
    agent_id   text NOT NULL
);
