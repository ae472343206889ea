-- The services a customer has contracted (catalog.yaml codes), as UserRegistered and
-- CustomerServicesChanged say: the admins' listing shows them. Accounts registered before
-- customers had services have none, as a rebuild from the events finds.
ALTER TABLE users ADD COLUMN services text[] NOT NULL DEFAULT '{}';
