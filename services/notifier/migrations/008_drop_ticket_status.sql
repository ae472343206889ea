-- notifier.tickets.status was written 'new' at the opening and never again, and nothing reads
-- it: a column that is wrong for every ticket past its first event is worse than none. Mail
-- planning needs who is on a ticket and where it is, not its status (issue 11, review).
ALTER TABLE tickets DROP COLUMN status;
