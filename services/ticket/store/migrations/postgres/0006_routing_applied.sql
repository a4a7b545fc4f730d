-- The routing decisions applied to tickets (AssignTicket), by the
-- routing service's decision ID: a decision sent again finds its row and
-- writes nothing, however late it comes. Unlike idempotency keys these
-- rows are never swept: a decision must not apply twice.
CREATE TABLE ticket_routing_applied (
    tenant      text        NOT NULL,
    decision_id text        NOT NULL,
    ticket_id   text        NOT NULL,
    create_time timestamptz NOT NULL,
    PRIMARY KEY (tenant, decision_id)
);
