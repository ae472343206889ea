-- Each ticket's SLA clocks (services/sla/clocks.py state), with the moments the staff views and
-- the alert timer need as columns.
CREATE TABLE clocks (
    ticket_id             uuid PRIMARY KEY,
    state                 jsonb       NOT NULL,
    version               bigint      NOT NULL,   -- last ticket stream position applied
    first_response_due_at timestamptz,
    resolution_due_at     timestamptz,
    next_alert_at         timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clocks_next_alert ON clocks (next_alert_at) WHERE next_alert_at IS NOT NULL;

-- Each ticket's 24-hour support usage episode (services/sla/usage.py state).
CREATE TABLE usage_episodes (
    ticket_id uuid PRIMARY KEY,
    state     jsonb NOT NULL
);
