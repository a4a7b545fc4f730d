-- The channel service's tables, named channel_* so they never meet another
-- service's in a shared database. IDs are UUIDv7 strings: ordering by id
-- is ordering by creation time. Times are Unix microseconds (UTC). Enums
-- are their kubedesk.channel.v1 / kubedesk.iam.v1 numbers. Identities,
-- domains and custom fields are JSON in the owner's row (what reads
-- return); channel_identities and channel_org_domains hold one row per
-- identity or domain, for uniqueness in the tenant and for lookups.

CREATE TABLE channel_contacts (
    tenant          TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    name_fold       TEXT    NOT NULL, -- display_name lower-cased by the store, for name filters
    identities      TEXT    NOT NULL, -- JSON array of {type, value, primary}
    organization_id TEXT    NOT NULL, -- '' for none
    tier            TEXT    NOT NULL,
    locale          TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL,
    custom_fields   TEXT    NOT NULL, -- JSON object of strings
    merged_into     TEXT    NOT NULL, -- '' unless merged
    create_time     INTEGER NOT NULL,
    update_time     INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

CREATE INDEX channel_contacts_org ON channel_contacts (tenant, organization_id, id);

-- One row per identity of an unmerged contact.
CREATE TABLE channel_identities (
    tenant     TEXT    NOT NULL,
    type       INTEGER NOT NULL, -- channelv1.IdentityType
    value      TEXT    NOT NULL, -- normalised
    contact_id TEXT    NOT NULL,
    UNIQUE (tenant, type, value)
) STRICT;

CREATE INDEX channel_identities_contact ON channel_identities (tenant, contact_id);

CREATE TABLE channel_organizations (
    tenant        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    name_fold     TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    industry      TEXT    NOT NULL,
    size          INTEGER NOT NULL, -- channelv1.OrganizationSize
    domains       TEXT    NOT NULL, -- JSON array of lower-cased names
    tier          TEXT    NOT NULL,
    custom_fields TEXT    NOT NULL,
    create_time   INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

CREATE TABLE channel_org_domains (
    tenant          TEXT NOT NULL,
    domain          TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    UNIQUE (tenant, domain)
) STRICT;

CREATE INDEX channel_org_domains_org ON channel_org_domains (tenant, organization_id);

CREATE TABLE channel_contact_audit (
    tenant           TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    contact_id       TEXT    NOT NULL,
    type             INTEGER NOT NULL, -- channelv1.ContactAuditEventType
    other_contact_id TEXT    NOT NULL,
    identities       TEXT    NOT NULL, -- JSON array, those that moved
    tickets_moved    INTEGER NOT NULL,
    actor_id         TEXT    NOT NULL,
    actor_kind       INTEGER NOT NULL, -- iamv1.PrincipalKind
    actor_name       TEXT    NOT NULL,
    create_time      INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

CREATE INDEX channel_contact_audit_contact ON channel_contact_audit (tenant, contact_id, id);
