-- Queues show who took each ticket (the staff console), not only an id.
-- Rows of existing databases start empty until `python -m helpdesk.projections tickets`.
ALTER TABLE tickets.ticket_summaries ADD COLUMN assignee_name text;
