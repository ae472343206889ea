-- A deactivated account gets no ticket mail: not the queue and SLA mails of an agent who left,
-- not the updates of a customer account that was closed (UserDeactivated / UserReactivated).
ALTER TABLE contacts ADD COLUMN active boolean NOT NULL DEFAULT true;
