-- Accounts can be deactivated by an admin (and reactivated); nothing is deleted.
ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;
