-- The SLA relay's cursors, as the relay created them (migration scope
-- "sla") before the consumer package kept them: a database of that
-- version has this table already, a new one gets it empty, and 0002 moves
-- its rows.
CREATE TABLE IF NOT EXISTS sla_relay_cursors (
    tenant      text        NOT NULL PRIMARY KEY,
    cursor      text        NOT NULL,
    update_time timestamptz NOT NULL
);
