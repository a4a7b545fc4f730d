-- The ticket service's tables. Every row belongs to a tenant and every
-- query names one, so each key and index starts with tenant. IDs are
-- caller-made UUIDv7 strings compared bytewise (COLLATE "C", whatever the
-- database's collation): ordering by id is ordering by creation time.

CREATE TABLE tickets (
    tenant             text        NOT NULL,
    id                 text        COLLATE "C" NOT NULL,
    subject            text        NOT NULL,
    description        text        NOT NULL,
    status             text        NOT NULL,
    impact             smallint    NOT NULL,
    urgency            smallint    NOT NULL,
    priority           smallint    NOT NULL,
    channel            text        NOT NULL,
    requester_name     text        NOT NULL,
    requester_email    text        NOT NULL,
    requester_identity text        NOT NULL,
    group_name         text        NOT NULL,
    assignee           text        NOT NULL,
    tags               text[]      NOT NULL,
    custom_fields      json        NOT NULL,
    create_time        timestamptz NOT NULL,
    update_time        timestamptz NOT NULL,
    solve_time         timestamptz,          -- NULL while unsolved
    version            bigint      NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- One index per list filter, each ending in id so a filtered page is read
-- in id order without a sort; tags use GIN for `tags && $1`.
CREATE INDEX tickets_status ON tickets (tenant, status, id);
CREATE INDEX tickets_assignee ON tickets (tenant, assignee, id);
CREATE INDEX tickets_group ON tickets (tenant, group_name, id);
CREATE INDEX tickets_requester_email ON tickets (tenant, requester_email, id);
CREATE INDEX tickets_requester_identity ON tickets (tenant, requester_identity, id);
CREATE INDEX tickets_tags ON tickets USING gin (tags);

CREATE TABLE comments (
    tenant      text        NOT NULL,
    id          text        COLLATE "C" NOT NULL,
    ticket_id   text        COLLATE "C" NOT NULL,
    author      text        NOT NULL,
    author_type text        NOT NULL,
    body        text        NOT NULL,
    visibility  text        NOT NULL,
    create_time timestamptz NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id)
);

CREATE INDEX comments_ticket ON comments (tenant, ticket_id, id);

-- The outbox. A sequence value is not commit order (id 11 may commit while
-- 10 is still open), so each row also records its transaction id, and
-- readers (PgQ-style) return only rows whose transaction is older than
-- every running one, ordered by (xid, id): once such a row is visible, no
-- row sorting before it can appear later.
CREATE TABLE ticket_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
    tenant      text        NOT NULL,
    ticket_id   text        COLLATE "C" NOT NULL,
    type        text        NOT NULL,
    payload     json        NOT NULL, -- the ticket after the change, comment, changes
    create_time timestamptz NOT NULL
);

CREATE INDEX ticket_events_stream ON ticket_events (tenant, xid, id);

-- A retried create finds the resource its key made the first time; the
-- primary key makes a concurrent twin wait for the first to commit.
CREATE TABLE idempotency_keys (
    tenant        text        NOT NULL,
    key           text        NOT NULL,
    request_hash  text        NOT NULL,
    resource_kind text        NOT NULL, -- 'ticket' or 'comment'
    resource_id   text        NOT NULL,
    create_time   timestamptz NOT NULL,
    PRIMARY KEY (tenant, key)
);
