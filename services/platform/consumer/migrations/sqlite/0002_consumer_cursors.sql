-- Each consumer's position in each tenant's ticket event stream: several
-- followers (the SLA relay, routing, reporting...) keep positions of their
-- own. The cursor is the ticket service's opaque event cursor;
-- update_time is Unix microseconds (UTC). The SLA relay's rows move here
-- under its consumer name, "sla".
CREATE TABLE consumer_cursors (
    consumer    TEXT    NOT NULL,
    tenant      TEXT    NOT NULL,
    cursor      TEXT    NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (consumer, tenant)
) STRICT;

INSERT INTO consumer_cursors (consumer, tenant, cursor, update_time)
SELECT 'sla', tenant, cursor, update_time FROM sla_relay_cursors;

DROP TABLE sla_relay_cursors;
