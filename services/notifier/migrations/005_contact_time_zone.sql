-- Every time in a mail is written in its recipient's zone (IANA name, from identity's profile).
-- NULL: the account has none in its events (registered before profiles had a zone), so the
-- renderer uses the configured DEFAULT_TIME_ZONE, as for copied addresses with no account.
ALTER TABLE contacts ADD COLUMN time_zone text;
