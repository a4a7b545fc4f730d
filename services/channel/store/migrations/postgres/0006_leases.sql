-- One table of leases for every job that one channel process at a time
-- runs (the webhook deliveries, the WeChat inbox): a row per job, held by
-- the process that renews it before it runs out.
ALTER TABLE channel_webhook_lease RENAME TO channel_lease;
