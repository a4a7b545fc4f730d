-- Each consumer's position in each tenant's ticket event stream: several
-- followers (the SLA relay, routing, reporting...) keep positions of their
-- own. The cursor is the ticket service's opaque event cursor. The SLA
-- relay's rows move here under its consumer name, "sla".
CREATE TABLE consumer_cursors (
    consumer    text        NOT NULL,
    tenant      text        NOT NULL,
    cursor      text        NOT NULL,
    update_time timestamptz NOT NULL,
    PRIMARY KEY (consumer, tenant)
);

INSERT INTO consumer_cursors (consumer, tenant, cursor, update_time)
SELECT 'sla', tenant, cursor, update_time FROM sla_relay_cursors;

DROP TABLE sla_relay_cursors;
