-- Staff mails (SLA warnings and breaches) go to supervisors: the directory knows roles.
ALTER TABLE contacts ADD COLUMN role text NOT NULL DEFAULT 'customer';
CREATE INDEX contacts_role ON contacts (role);
