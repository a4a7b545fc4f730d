-- Ticket numbers: each tenant's tickets are numbered 1, 2, 3, ... in
-- creation order. Existing tickets are numbered here, per tenant by
-- (create_time, id). New ones take the next value of their tenant's
-- sequence (ticket_number_<hash of the tenant>), which the store creates
-- on the tenant's first create after this, starting past the tenant's
-- highest number. nextval is not transactional: concurrent creates do not
-- wait for each other, and a create that rolls back leaves a gap.
ALTER TABLE tickets ADD COLUMN number bigint;
UPDATE tickets SET number = n.number
FROM (SELECT tenant, id, row_number() OVER (PARTITION BY tenant ORDER BY create_time, id) AS number FROM tickets) n
WHERE tickets.tenant = n.tenant AND tickets.id = n.id;
ALTER TABLE tickets ALTER COLUMN number SET NOT NULL;
CREATE UNIQUE INDEX tickets_number ON tickets (tenant, number);

-- The requester's contact (the channel service's), '' when unknown, and
-- the `contact` filter's index.
ALTER TABLE tickets ADD COLUMN requester_contact_id text NOT NULL DEFAULT '';
CREATE INDEX tickets_requester_contact ON tickets (tenant, requester_contact_id, id);

-- The files of a ticket's description (comment_id '') and of its
-- comments. The bytes are blobs named by sha256, kept apart (the blob
-- store); a row is written in the transaction of its ticket or comment
-- and never changes.
CREATE TABLE attachments (
    tenant       text    NOT NULL,
    id           text    COLLATE "C" NOT NULL,
    ticket_id    text    COLLATE "C" NOT NULL,
    comment_id   text    COLLATE "C" NOT NULL, -- '' for the description's
    position     integer NOT NULL,             -- order within its ticket or comment
    filename     text    NOT NULL,
    content_type text    NOT NULL,
    size         bigint  NOT NULL,
    sha256       text    NOT NULL,
    inline       boolean NOT NULL,
    content_id   text    NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
);

CREATE INDEX attachments_owner ON attachments (tenant, ticket_id, comment_id, position);
