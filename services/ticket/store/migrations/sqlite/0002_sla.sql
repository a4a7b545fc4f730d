-- The ticket's SLA clocks as the SLA worker last computed them
-- (SetTicketSLA). Only that write touches these columns: ticket updates
-- and comments leave them as they are, and version and update_time do not
-- move with them.

-- sla is the JSON of the clocks and the policy (NULL: no SLA policy covers
-- the ticket). The other columns are copies the list reads without parsing
-- it: sla_state is the most urgent clock state ('' without clocks, which is
-- what the filter `sla = none` matches), sla_next_due the earliest due time
-- of a running clock (NULL when none runs), sla_update_time when the worker
-- computed the clocks (a write computed earlier is ignored). Times are Unix
-- microseconds (UTC), as in 0001.
ALTER TABLE tickets ADD COLUMN sla TEXT;
ALTER TABLE tickets ADD COLUMN sla_state TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN sla_next_due INTEGER;
ALTER TABLE tickets ADD COLUMN sla_update_time INTEGER;

-- The `sla` filter, read in id order like the other filters; and the
-- `sla_next_due` order, read as two range scans: the tickets with a due
-- time by (sla_next_due, id), then those without (NULL) by id.
CREATE INDEX tickets_sla_state ON tickets (tenant, sla_state, id);
CREATE INDEX tickets_sla_next_due ON tickets (tenant, sla_next_due, id);
