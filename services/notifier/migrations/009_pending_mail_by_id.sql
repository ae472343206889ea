-- The sender claims the oldest pending mail's event (ORDER BY id): without an index on id among
-- pending mail, that walked the primary key past every mail ever sent, slower with each one
-- (issue 11: 0.7 ms per claim after a few thousand mails).
CREATE INDEX mail_outbox_pending_by_id ON mail_outbox (id) WHERE status = 'pending';
