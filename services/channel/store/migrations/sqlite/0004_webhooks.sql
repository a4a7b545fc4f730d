-- Outgoing webhooks: a tenant's receivers of ticket events. Each follows
-- the tenant's event stream from a cursor of its own (saved here, under
-- the webhook's generation: a replay starts a new generation, and a
-- cursor saved under an older one is ignored). Events committed before
-- start_time are passed over (a new webhook gets what happens from its
-- creation on; a replay from a time, what happened since).
-- request_id is the Idempotency-Key of the create ('' without one).
CREATE TABLE channel_webhooks (
    tenant                      TEXT    NOT NULL,
    id                          TEXT    NOT NULL,
    url                         TEXT    NOT NULL,
    events                      TEXT    NOT NULL, -- JSON list of event names
    description                 TEXT    NOT NULL,
    secret_update_time          INTEGER NOT NULL,
    previous_secret_expire_time INTEGER,          -- NULL: no previous secret signs any more
    request_id                  TEXT    NOT NULL,
    request_hash                TEXT    NOT NULL,
    cursor                      TEXT    NOT NULL,
    generation                  INTEGER NOT NULL,
    generation_time             INTEGER NOT NULL,
    start_time                  INTEGER,          -- NULL: every event after cursor
    create_time                 INTEGER NOT NULL,
    update_time                 INTEGER NOT NULL,
    version                     INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

CREATE UNIQUE INDEX channel_webhooks_request ON channel_webhooks (tenant, request_id) WHERE request_id <> '';

-- The secrets deliveries are signed with. The current one has no
-- expire_time; setting a new one gives the one it replaces an expire_time
-- (the rotation window), until which deliveries carry a signature with
-- each.
CREATE TABLE channel_webhook_secrets (
    tenant      TEXT    NOT NULL,
    webhook_id  TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    expire_time INTEGER,
    PRIMARY KEY (tenant, webhook_id, create_time)
) STRICT;

-- The delivery log: one row per event, webhook and generation, written at
-- the first attempt and updated at each later one. It is what makes an
-- event handled again (after a restart) not delivered again once it
-- succeeded or was dead-lettered.
CREATE TABLE channel_webhook_deliveries (
    tenant            TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    webhook_id        TEXT    NOT NULL,
    generation        INTEGER NOT NULL,
    replay            INTEGER NOT NULL, -- 0 or 1
    event_id          TEXT    NOT NULL, -- the event's cursor
    event_type        TEXT    NOT NULL,
    ticket_id         TEXT    NOT NULL,
    event_time        INTEGER NOT NULL,
    state             TEXT    NOT NULL, -- pending, succeeded, dead_lettered
    attempts          INTEGER NOT NULL,
    response_code     INTEGER NOT NULL,
    latency_us        INTEGER NOT NULL,
    error             TEXT    NOT NULL,
    create_time       INTEGER NOT NULL,
    update_time       INTEGER NOT NULL,
    next_attempt_time INTEGER,
    PRIMARY KEY (tenant, id)
) STRICT;

CREATE UNIQUE INDEX channel_webhook_deliveries_event ON channel_webhook_deliveries (tenant, webhook_id, generation, event_id);
CREATE INDEX channel_webhook_deliveries_list ON channel_webhook_deliveries (tenant, webhook_id, id);
CREATE INDEX channel_webhook_deliveries_age ON channel_webhook_deliveries (update_time);

-- Who delivers: one process at a time (a lease it renews), so that
-- replicas of the channel service do not each deliver every event.
CREATE TABLE channel_webhook_lease (
    name        TEXT    NOT NULL, -- 'deliveries'
    holder      TEXT    NOT NULL,
    expire_time INTEGER NOT NULL,
    PRIMARY KEY (name)
) STRICT;
