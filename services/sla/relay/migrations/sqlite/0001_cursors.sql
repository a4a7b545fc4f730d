-- The SLA relay's position in each tenant's ticket event stream. The
-- cursor is the ticket service's opaque event cursor; update_time is Unix
-- microseconds (UTC).
CREATE TABLE sla_relay_cursors (
    tenant      TEXT    NOT NULL PRIMARY KEY,
    cursor      TEXT    NOT NULL,
    update_time INTEGER NOT NULL
) STRICT;
