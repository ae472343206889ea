-- Lists show who opened each ticket (a group user sees the company's tickets, 000 §3.1).
-- Rows of existing databases start empty until `python -m helpdesk.projections tickets`.
ALTER TABLE tickets.ticket_summaries ADD COLUMN requester_name text NOT NULL DEFAULT '';
