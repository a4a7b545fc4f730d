-- The live web chat. A visitor is a browser holding a signed visitor ID;
-- ticket_id is its current chat (empty before its first message).
CREATE TABLE channel_chat_visitors (
    tenant      TEXT COLLATE "C" NOT NULL,
    visitor_id  TEXT COLLATE "C" NOT NULL,
    contact_id  TEXT COLLATE "C" NOT NULL,
    ticket_id   TEXT COLLATE "C" NOT NULL,
    locale      TEXT             NOT NULL,
    create_time TIMESTAMPTZ      NOT NULL,
    update_time TIMESTAMPTZ      NOT NULL,
    PRIMARY KEY (tenant, visitor_id)
);

-- One chat per ticket: its state (waiting, offered, answered, ask_email,
-- email, closed), the group it is offered to, when an agent of that group
-- was last seen online (the start until one is), the visitor's and the
-- agents' read receipts, and last_seq, the seq of its last message.
-- opener is the visitor's ID of the message that opened it, so that a
-- retried first message creates the ticket idempotently.
CREATE TABLE channel_chat_conversations (
    tenant       TEXT COLLATE "C" NOT NULL,
    ticket_id    TEXT COLLATE "C" NOT NULL,
    visitor_id   TEXT COLLATE "C" NOT NULL,
    contact_id   TEXT COLLATE "C" NOT NULL,
    grp          TEXT COLLATE "C" NOT NULL,
    state        TEXT             NOT NULL,
    email        TEXT             NOT NULL,
    opener       TEXT             NOT NULL,
    last_seq     BIGINT           NOT NULL,
    visitor_read BIGINT           NOT NULL,
    agent_read   BIGINT           NOT NULL,
    start_time   TIMESTAMPTZ      NOT NULL,
    online_time  TIMESTAMPTZ      NOT NULL,
    update_time  TIMESTAMPTZ      NOT NULL,
    PRIMARY KEY (tenant, ticket_id)
);

CREATE INDEX channel_chat_conversations_awaiting ON channel_chat_conversations (start_time) WHERE state IN ('waiting', 'offered');

-- A chat's messages, numbered per chat: the ticket's description (source
-- the ticket's ID) and its public comments (source the comment's ID), in
-- the order the channel saw them. The ticket service keeps the comments;
-- this is the index a visitor's stream resumes from.
CREATE TABLE channel_chat_messages (
    tenant      TEXT COLLATE "C" NOT NULL,
    ticket_id   TEXT COLLATE "C" NOT NULL,
    seq         BIGINT           NOT NULL,
    source_id   TEXT COLLATE "C" NOT NULL,
    client_id   TEXT             NOT NULL,
    author      TEXT             NOT NULL, -- visitor, agent, system
    author_name TEXT             NOT NULL,
    body        TEXT             NOT NULL,
    create_time TIMESTAMPTZ      NOT NULL,
    PRIMARY KEY (tenant, ticket_id, seq),
    UNIQUE (tenant, source_id)
);

-- Agents online for chats, one row per group they take ('' for none),
-- until expire_time unless they report again.
CREATE TABLE channel_chat_presence (
    tenant      TEXT COLLATE "C" NOT NULL,
    agent_id    TEXT COLLATE "C" NOT NULL,
    grp         TEXT COLLATE "C" NOT NULL,
    agent_name  TEXT             NOT NULL,
    expire_time TIMESTAMPTZ      NOT NULL,
    PRIMARY KEY (tenant, agent_id, grp)
);

CREATE INDEX channel_chat_presence_expiry ON channel_chat_presence (expire_time);
