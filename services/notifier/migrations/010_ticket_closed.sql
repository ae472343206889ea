-- Whether a ticket is closed (approved, closed or merged: final): an incident's updates are
-- mailed to the customers of the linked tickets that are still open (issue 13). Tickets closed
-- before this migration read as open (a closed ticket takes no more events to correct it).
ALTER TABLE tickets ADD COLUMN closed boolean NOT NULL DEFAULT false;
