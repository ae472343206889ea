-- Copied addresses that asked, through the List-Unsubscribe link of a ticket's mail (RFC 8058
-- one-click), to get no more mail about that ticket. The notifier plans no mail to them for it.
CREATE TABLE mail_opt_outs (
    ticket_id     uuid        NOT NULL,
    address       text        NOT NULL,   -- lower case
    opted_out_at  timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, address)
);
