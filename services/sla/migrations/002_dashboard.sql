-- The supervisors' dashboard (services/sla/dashboard.py): what the ticket events, the breaches
-- and the usage records added to each day (in DEFAULT_TIME_ZONE) and department, only ever added
-- to in the transactions that apply or append those events; rebuilt from the logs by
-- `python -m helpdesk.projections sla` (services/sla/projection.py).
CREATE TABLE dashboard (
    day                           date          NOT NULL,
    department                    text          NOT NULL,   -- '': not placed in one yet (ITIL, before routing)
    opened                        integer       NOT NULL DEFAULT 0,
    resolved                      integer       NOT NULL DEFAULT 0,
    first_responses               integer       NOT NULL DEFAULT 0,
    first_response_seconds        numeric(16,3) NOT NULL DEFAULT 0,   -- business seconds, summed
    first_responses_targeted      integer       NOT NULL DEFAULT 0,   -- of them, with a target
    first_responses_within_target integer       NOT NULL DEFAULT 0,
    resolution_seconds            numeric(16,3) NOT NULL DEFAULT 0,   -- of the `resolved`, summed
    resolutions_targeted          integer       NOT NULL DEFAULT 0,
    resolutions_within_target     integer       NOT NULL DEFAULT 0,
    response_breaches             integer       NOT NULL DEFAULT 0,   -- SlaBreached, first response
    resolution_breaches           integer       NOT NULL DEFAULT 0,   -- SlaBreached, resolution
    usage_billable                integer       NOT NULL DEFAULT 0,   -- 24-hour support usage records
    usage_billable_minutes        numeric(14,2) NOT NULL DEFAULT 0,   -- (business minutes)
    usage_not_billable            integer       NOT NULL DEFAULT 0,
    usage_not_billable_minutes    numeric(14,2) NOT NULL DEFAULT 0,
    PRIMARY KEY (day, department)
);
