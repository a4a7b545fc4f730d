-- Ticket numbers: each tenant's tickets are numbered 1, 2, 3, ... in
-- creation order. Existing tickets are numbered here, per tenant by
-- (create_time, id); ticket_numbers holds each tenant's last number,
-- which a create takes and bumps in its transaction (writers are serial
-- anyway).
ALTER TABLE tickets ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET number = n.number
FROM (SELECT tenant, id, row_number() OVER (PARTITION BY tenant ORDER BY create_time, id) AS number FROM tickets) AS n
WHERE tickets.tenant = n.tenant AND tickets.id = n.id;
CREATE UNIQUE INDEX tickets_number ON tickets (tenant, number);

CREATE TABLE ticket_numbers (
    tenant TEXT    NOT NULL PRIMARY KEY,
    last   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO ticket_numbers (tenant, last) SELECT tenant, max(number) FROM tickets GROUP BY tenant;

-- The requester's contact (the channel service's), '' when unknown, and
-- the `contact` filter's index.
ALTER TABLE tickets ADD COLUMN requester_contact_id TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_requester_contact ON tickets (tenant, requester_contact_id, id);

-- The files of a ticket's description (comment_id '') and of its
-- comments. The bytes are blobs named by sha256, kept apart (the blob
-- store); a row is written in the transaction of its ticket or comment
-- and never changes.
CREATE TABLE attachments (
    tenant       TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    ticket_id    TEXT    NOT NULL,
    comment_id   TEXT    NOT NULL, -- '' for the description's
    position     INTEGER NOT NULL, -- order within its ticket or comment
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    inline       INTEGER NOT NULL, -- 0 or 1
    content_id   TEXT    NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
) STRICT;

CREATE INDEX attachments_owner ON attachments (tenant, ticket_id, comment_id, position);
