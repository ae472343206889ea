-- Failed logins, one row each, by account (digest of the address tried, known or not) and client
-- address: an account's failures slow only the clients that failed on it, an address's failures
-- on any accounts are limited separately, and a client's successful login deletes its own rows.
CREATE TABLE login_failures (
    account text        NOT NULL,
    client  text        NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX login_failures_account ON login_failures (account, at);
CREATE INDEX login_failures_client ON login_failures (client, at);
-- The old lock-out counters of logins, kept in `throttle`, mean nothing now.
DELETE FROM throttle WHERE key LIKE 'login-%';
