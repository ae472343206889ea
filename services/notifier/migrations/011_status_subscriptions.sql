-- Customers who asked to be mailed the network status's changes of some services (issue 13):
-- one row per address, its services; the notifier's own preference, like mail_opt_outs. Each
-- such mail carries a signed one-click link that deletes the row.
CREATE TABLE status_subscriptions (
    address      text        PRIMARY KEY,          -- lower case
    user_id      uuid        NOT NULL,
    services     text[]      NOT NULL,
    subscribed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_subscriptions_user ON status_subscriptions (user_id);
