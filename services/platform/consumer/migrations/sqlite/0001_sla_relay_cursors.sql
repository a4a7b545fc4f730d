-- The SLA relay's cursors, as the relay created them (migration scope
-- "sla") before the consumer package kept them: a database of that
-- version has this table already, a new one gets it empty, and 0002 moves
-- its rows. update_time is Unix microseconds (UTC).
CREATE TABLE IF NOT EXISTS sla_relay_cursors (
    tenant      TEXT    NOT NULL PRIMARY KEY,
    cursor      TEXT    NOT NULL,
    update_time INTEGER NOT NULL
) STRICT;
