-- The SLA relay's position in each tenant's ticket event stream. The
-- cursor is the ticket service's opaque event cursor.
CREATE TABLE sla_relay_cursors (
    tenant      text        NOT NULL PRIMARY KEY,
    cursor      text        NOT NULL,
    update_time timestamptz NOT NULL
);
