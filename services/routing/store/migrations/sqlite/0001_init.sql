-- The routing service's tables, named routing_* so they never meet another
-- service's in a shared database. Times are Unix microseconds (UTC), NULL
-- where the domain's zero time means "none". Lists and maps are JSON text
-- in their owner's row.

CREATE TABLE routing_groups (
    tenant            TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    display_name      TEXT    NOT NULL,
    strategy          TEXT    NOT NULL,
    members           TEXT    NOT NULL, -- JSON array of user IDs, in round-robin order
    calendar          TEXT    NOT NULL, -- JSON of v1alpha1.BusinessCalendar
    overflow_group    TEXT,             -- NULL: no overflow
    overflow_after_ns INTEGER,          -- NULL with overflow_group
    create_time       INTEGER NOT NULL,
    update_time       INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

-- An agent's routing side: a row from its first profile, presence or
-- assignment on. version counts profile writes only (0: never written).
CREATE TABLE routing_agents (
    tenant           TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    skills           TEXT    NOT NULL, -- JSON array of {name, level}
    capacity         TEXT    NOT NULL, -- JSON object: channel -> tickets
    presence         TEXT    NOT NULL, -- online, away, offline
    presence_time    INTEGER,
    presence_expire  INTEGER,          -- NULL: never lapses
    last_assign_time INTEGER,
    version          INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

CREATE INDEX routing_agents_online ON routing_agents (tenant, presence_expire) WHERE presence = 'online';

-- The load ledger: one row per ticket an agent holds; the primary key is
-- what makes a ticket held by one agent at most.
CREATE TABLE routing_assignments (
    tenant      TEXT    NOT NULL,
    ticket_id   TEXT    NOT NULL,
    agent       TEXT    NOT NULL,
    group_id    TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    answered    INTEGER NOT NULL, -- 0 or 1
    assign_time INTEGER NOT NULL,
    decision_id TEXT    NOT NULL,
    PRIMARY KEY (tenant, ticket_id)
) STRICT;

CREATE INDEX routing_assignments_agent ON routing_assignments (tenant, agent, channel);

-- The queues: one row per waiting ticket, in the group it waits in.
CREATE TABLE routing_queue (
    tenant             TEXT    NOT NULL,
    ticket_id          TEXT    NOT NULL,
    group_id           TEXT    NOT NULL,
    channel            TEXT    NOT NULL,
    priority           INTEGER NOT NULL, -- 1 (P1) to 5
    skills             TEXT    NOT NULL, -- JSON array of {name, minLevel}
    ticket_create_time INTEGER NOT NULL,
    enqueue_time       INTEGER NOT NULL,
    PRIMARY KEY (tenant, ticket_id)
) STRICT;

CREATE INDEX routing_queue_order ON routing_queue (tenant, priority, ticket_create_time, ticket_id);
CREATE INDEX routing_queue_group ON routing_queue (tenant, group_id, priority, ticket_create_time, ticket_id);

-- The agent round robin picked last in each group.
CREATE TABLE routing_round_robin (
    tenant     TEXT NOT NULL,
    group_id   TEXT NOT NULL,
    last_agent TEXT NOT NULL,
    PRIMARY KEY (tenant, group_id)
) STRICT;

-- Every decision with what explains it. dedup_key is '' or unique in the
-- tenant (a redelivered event is not routed twice).
CREATE TABLE routing_decisions (
    tenant        TEXT    NOT NULL,
    id            TEXT    NOT NULL, -- UUIDv7, given by the service
    ticket_id     TEXT    NOT NULL,
    dedup_key     TEXT    NOT NULL,
    trigger_kind  TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    group_id      TEXT    NOT NULL,
    agent         TEXT    NOT NULL,
    strategy      TEXT    NOT NULL,
    rules         TEXT    NOT NULL, -- JSON array of RuleMatch
    candidates    TEXT    NOT NULL, -- JSON array of Candidate
    notes         TEXT    NOT NULL, -- JSON array of Reason
    actions       TEXT    NOT NULL, -- JSON object of Actions
    actor_id      TEXT    NOT NULL,
    actor_name    TEXT    NOT NULL,
    create_time   INTEGER NOT NULL,
    applied       INTEGER NOT NULL, -- 0 or 1
    PRIMARY KEY (tenant, id)
) STRICT;

CREATE UNIQUE INDEX routing_decisions_key ON routing_decisions (tenant, dedup_key) WHERE dedup_key <> '';
CREATE INDEX routing_decisions_ticket ON routing_decisions (tenant, ticket_id, create_time, id);
CREATE INDEX routing_decisions_unapplied ON routing_decisions (tenant, create_time, id) WHERE NOT applied;

-- Jobs that one routing process at a time runs, each under a lease its
-- holder renews before it runs out.
CREATE TABLE routing_leases (
    name        TEXT    NOT NULL PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expire_time INTEGER NOT NULL
) STRICT;
