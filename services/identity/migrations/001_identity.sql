-- Projections of the identity events (rebuildable from `events`), updated in the append's
-- transaction so lookups by email see every committed registration.
CREATE TABLE users (
    user_id              uuid PRIMARY KEY,
    email                text        NOT NULL,
    name                 text        NOT NULL,
    phone                text,
    language             text        NOT NULL,
    role                 text        NOT NULL,
    company_id           uuid,
    is_group             boolean     NOT NULL,
    company_admin        boolean     NOT NULL,
    departments          text[]      NOT NULL,
    verified             boolean     NOT NULL,
    must_change_password boolean     NOT NULL,
    registered_at        timestamptz NOT NULL,
    version              bigint      NOT NULL
);
-- One account per address, whatever its case: also the backstop for concurrent registrations.
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_company ON users (company_id);

CREATE TABLE companies (
    company_id    uuid PRIMARY KEY,
    name          text        NOT NULL,
    registered_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX companies_name ON companies (lower(name));

-- Private state: secrets, never in events. Hashes and digests only.
CREATE TABLE credentials (
    user_id       uuid PRIMARY KEY,
    password_hash text        NOT NULL,   -- argon2id, PHC string
    changed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE link_tokens (
    token_digest text PRIMARY KEY,         -- sha256 of the mailed token
    user_id      uuid        NOT NULL,
    purpose      text        NOT NULL,
    email        text        NOT NULL,     -- the address the link was sent to
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX link_tokens_user ON link_tokens (user_id, purpose) WHERE used_at IS NULL;

CREATE TABLE sessions (
    token_digest text PRIMARY KEY,         -- sha256 of the bearer token
    user_id      uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    ip           text,
    user_agent   text
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- Brute-force and abuse throttling: one row per counted attempt, keyed by what is throttled.
CREATE TABLE throttle (
    key text        NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX throttle_key_at ON throttle (key, at);
