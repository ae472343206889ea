-- A row now holds what to render (template, language, context), not the rendered mail: links
-- carry tokens derived from the context's nonces at send time, so no usable token is stored.
-- Rows written before this change cannot be rendered again; unsent ones are marked failed.
ALTER TABLE mail_outbox
    ADD COLUMN template text  NOT NULL DEFAULT 'legacy',
    ADD COLUMN language text  NOT NULL DEFAULT 'es',
    ADD COLUMN context  jsonb NOT NULL DEFAULT '{}';
UPDATE mail_outbox SET status = 'failed', last_error = 'written before migration 002; not sent'
    WHERE status = 'pending';
ALTER TABLE mail_outbox
    ALTER COLUMN template DROP DEFAULT,
    ALTER COLUMN language DROP DEFAULT,
    ALTER COLUMN context DROP DEFAULT,
    DROP COLUMN message;

-- Who can be mailed, in which language: a projection of identity's events.
CREATE TABLE contacts (
    user_id    uuid PRIMARY KEY,
    email      text    NOT NULL,
    name       text    NOT NULL,
    language   text    NOT NULL,
    company_id uuid,
    is_group   boolean NOT NULL DEFAULT false
);
CREATE INDEX contacts_email ON contacts (lower(email));
