-- The routing service's tables, named routing_* so they never meet another
-- service's in a shared database. Times are timestamptz, NULL where the
-- domain's zero time means "none". Lists and maps are JSON text in their
-- owner's row (the same text as on SQLite). Columns that pages and queues
-- are ordered by compare bytewise (COLLATE "C"), as on SQLite.

CREATE TABLE routing_groups (
    tenant            text        COLLATE "C" NOT NULL,
    id                text        COLLATE "C" NOT NULL,
    display_name      text        NOT NULL,
    strategy          text        NOT NULL,
    members           text        NOT NULL, -- JSON array of user IDs, in round-robin order
    calendar          text        NOT NULL, -- JSON of v1alpha1.BusinessCalendar
    overflow_group    text,                 -- NULL: no overflow
    overflow_after_ns bigint,               -- NULL with overflow_group
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL,
    version           bigint      NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- An agent's routing side: a row from its first profile, presence or
-- assignment on. version counts profile writes only (0: never written).
CREATE TABLE routing_agents (
    tenant           text        COLLATE "C" NOT NULL,
    id               text        COLLATE "C" NOT NULL,
    skills           text        NOT NULL, -- JSON array of {name, level}
    capacity         text        NOT NULL, -- JSON object: channel -> tickets
    presence         text        NOT NULL, -- online, away, offline
    presence_time    timestamptz,
    presence_expire  timestamptz,          -- NULL: never lapses
    last_assign_time timestamptz,
    version          bigint      NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE INDEX routing_agents_online ON routing_agents (tenant, presence_expire) WHERE presence = 'online';

-- The load ledger: one row per ticket an agent holds; the primary key is
-- what makes a ticket held by one agent at most.
CREATE TABLE routing_assignments (
    tenant      text        COLLATE "C" NOT NULL,
    ticket_id   text        COLLATE "C" NOT NULL,
    agent       text        COLLATE "C" NOT NULL,
    group_id    text        NOT NULL,
    channel     text        NOT NULL,
    answered    boolean     NOT NULL,
    assign_time timestamptz NOT NULL,
    decision_id text        NOT NULL,
    PRIMARY KEY (tenant, ticket_id)
);

CREATE INDEX routing_assignments_agent ON routing_assignments (tenant, agent, channel);

-- The queues: one row per waiting ticket, in the group it waits in.
CREATE TABLE routing_queue (
    tenant             text        COLLATE "C" NOT NULL,
    ticket_id          text        COLLATE "C" NOT NULL,
    group_id           text        COLLATE "C" NOT NULL,
    channel            text        NOT NULL,
    priority           integer     NOT NULL, -- 1 (P1) to 5
    skills             text        NOT NULL, -- JSON array of {name, minLevel}
    ticket_create_time timestamptz NOT NULL,
    enqueue_time       timestamptz NOT NULL,
    PRIMARY KEY (tenant, ticket_id)
);

CREATE INDEX routing_queue_order ON routing_queue (tenant, priority, ticket_create_time, ticket_id);
CREATE INDEX routing_queue_group ON routing_queue (tenant, group_id, priority, ticket_create_time, ticket_id);

-- The agent round robin picked last in each group.
CREATE TABLE routing_round_robin (
    tenant     text NOT NULL,
    group_id   text NOT NULL,
    last_agent text NOT NULL,
    PRIMARY KEY (tenant, group_id)
);

-- Every decision with what explains it. dedup_key is '' or unique in the
-- tenant (a redelivered event is not routed twice).
CREATE TABLE routing_decisions (
    tenant        text        COLLATE "C" NOT NULL,
    id            text        COLLATE "C" NOT NULL, -- UUIDv7, given by the service
    ticket_id     text        NOT NULL,
    dedup_key     text        NOT NULL,
    trigger_kind  text        NOT NULL,
    outcome       text        NOT NULL,
    group_id      text        NOT NULL,
    agent         text        NOT NULL,
    strategy      text        NOT NULL,
    rules         text        NOT NULL, -- JSON array of RuleMatch
    candidates    text        NOT NULL, -- JSON array of Candidate
    notes         text        NOT NULL, -- JSON array of Reason
    actions       text        NOT NULL, -- JSON object of Actions
    actor_id      text        NOT NULL,
    actor_name    text        NOT NULL,
    create_time   timestamptz NOT NULL,
    applied       boolean     NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE UNIQUE INDEX routing_decisions_key ON routing_decisions (tenant, dedup_key) WHERE dedup_key <> '';
CREATE INDEX routing_decisions_ticket ON routing_decisions (tenant, ticket_id, create_time, id);
CREATE INDEX routing_decisions_unapplied ON routing_decisions (tenant, create_time, id) WHERE NOT applied;

-- Jobs that one routing process at a time runs, each under a lease its
-- holder renews before it runs out.
CREATE TABLE routing_leases (
    name        text        PRIMARY KEY,
    holder      text        NOT NULL,
    expire_time timestamptz NOT NULL
);
