-- Idempotency keys are kept for a while (the ticket service's
-- idempotencyKeyTTL, 24 h by default), then a janitor deletes the oldest in
-- small batches: this index finds them without reading the whole table.
CREATE INDEX idempotency_keys_create_time ON idempotency_keys (create_time);
