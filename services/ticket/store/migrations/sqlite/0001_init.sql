-- The ticket service's tables. Every row belongs to a tenant and every
-- query names one, so each key and index starts with tenant. IDs are
-- caller-made UUIDv7 strings: ordering by id is ordering by creation time.
-- Times are Unix microseconds (UTC); tags and custom_fields are JSON.

CREATE TABLE tickets (
    tenant             TEXT    NOT NULL,
    id                 TEXT    NOT NULL,
    subject            TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    impact             INTEGER NOT NULL,
    urgency            INTEGER NOT NULL,
    priority           INTEGER NOT NULL,
    channel            TEXT    NOT NULL,
    requester_name     TEXT    NOT NULL,
    requester_email    TEXT    NOT NULL,
    requester_identity TEXT    NOT NULL,
    group_name         TEXT    NOT NULL,
    assignee           TEXT    NOT NULL,
    tags               TEXT    NOT NULL, -- JSON array, in the ticket's order
    custom_fields      TEXT    NOT NULL, -- JSON object
    create_time        INTEGER NOT NULL,
    update_time        INTEGER NOT NULL,
    solve_time         INTEGER,          -- NULL while unsolved
    version            INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

-- One index per list filter, each ending in id so a filtered page is read
-- in id order without a sort.
CREATE INDEX tickets_status ON tickets (tenant, status, id);
CREATE INDEX tickets_assignee ON tickets (tenant, assignee, id);
CREATE INDEX tickets_group ON tickets (tenant, group_name, id);
CREATE INDEX tickets_requester_email ON tickets (tenant, requester_email, id);
CREATE INDEX tickets_requester_identity ON tickets (tenant, requester_identity, id);

-- ticket_tags indexes tickets.tags for the tag filter.
CREATE TABLE ticket_tags (
    tenant    TEXT NOT NULL,
    tag       TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    PRIMARY KEY (tenant, tag, ticket_id),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE comments (
    tenant      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    ticket_id   TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    author_type TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    visibility  TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
) STRICT;

CREATE INDEX comments_ticket ON comments (tenant, ticket_id, id);

-- The outbox. Writers are serialised (one write connection, BEGIN
-- IMMEDIATE across processes), so AUTOINCREMENT ids are handed out in
-- commit order, never reused, and a reader resuming after id n misses
-- nothing: the id is the cursor.
CREATE TABLE ticket_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL,
    ticket_id   TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    payload     TEXT    NOT NULL, -- JSON: the ticket after the change, comment, changes
    create_time INTEGER NOT NULL
) STRICT;

CREATE INDEX ticket_events_stream ON ticket_events (tenant, id);

-- A retried create finds the resource its key made the first time.
CREATE TABLE idempotency_keys (
    tenant        TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    resource_kind TEXT    NOT NULL, -- 'ticket' or 'comment'
    resource_id   TEXT    NOT NULL,
    create_time   INTEGER NOT NULL,
    PRIMARY KEY (tenant, key)
) STRICT, WITHOUT ROWID;
