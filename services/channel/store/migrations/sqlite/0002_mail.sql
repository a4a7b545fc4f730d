-- Mail the e-mail channel received or sent, by Message-ID: what threads a
-- later mail into its ticket, what makes a duplicate a no-op and a sent
-- reply not sent twice, and what the comment's text left out (the quoted
-- history, the sanitised HTML, the raw message itself or its blob).
CREATE TABLE channel_mail (
    tenant      TEXT    NOT NULL,
    message_id  TEXT    NOT NULL, -- without <>
    ticket_id   TEXT    NOT NULL,
    comment_id  TEXT    NOT NULL, -- '' for the mail that opened the ticket
    direction   TEXT    NOT NULL, -- in, out
    sender      TEXT    NOT NULL, -- From (in) or the recipient (out)
    subject     TEXT    NOT NULL,
    folded      TEXT    NOT NULL,
    html        TEXT    NOT NULL,
    raw         BLOB    NOT NULL, -- the whole message, when small (inline_raw_max)
    raw_sha256  TEXT    NOT NULL, -- else the whole message in the ticket service's blob store
    status      TEXT    NOT NULL, -- received, sending, sent, failed, held
    detail      TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (tenant, message_id)
) STRICT;

CREATE INDEX channel_mail_ticket ON channel_mail (tenant, ticket_id, create_time);
