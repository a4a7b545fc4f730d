-- The routing decisions applied to tickets (AssignTicket), by the
-- routing service's decision ID: a decision sent again finds its row and
-- writes nothing, however late it comes. Unlike idempotency keys these
-- rows are never swept: a decision must not apply twice.
CREATE TABLE ticket_routing_applied (
    tenant      TEXT    NOT NULL,
    decision_id TEXT    NOT NULL,
    ticket_id   TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (tenant, decision_id)
) STRICT, WITHOUT ROWID;
