-- The channel service's tables, named channel_* so they never meet another
-- service's in a shared database. IDs are UUIDv7 strings compared bytewise
-- (COLLATE "C"): ordering by id is ordering by creation time. Enums are
-- their kubedesk.channel.v1 / kubedesk.iam.v1 numbers. Identities, domains
-- and custom fields are JSON text in the owner's row (what reads return,
-- the same text as on SQLite); channel_identities and channel_org_domains
-- hold one row per identity or domain, for uniqueness in the tenant and
-- for lookups.

CREATE TABLE channel_contacts (
    tenant          text        NOT NULL,
    id              text        COLLATE "C" NOT NULL,
    display_name    text        NOT NULL,
    name_fold       text        COLLATE "C" NOT NULL, -- lower-cased by the store
    identities      text        NOT NULL, -- JSON array of {type, value, primary}
    organization_id text        NOT NULL, -- '' for none
    tier            text        NOT NULL,
    locale          text        NOT NULL,
    time_zone       text        NOT NULL,
    custom_fields   text        NOT NULL, -- JSON object of strings
    merged_into     text        NOT NULL, -- '' unless merged
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE INDEX channel_contacts_org ON channel_contacts (tenant, organization_id, id);

-- One row per identity of an unmerged contact.
CREATE TABLE channel_identities (
    tenant     text    NOT NULL,
    type       integer NOT NULL, -- channelv1.IdentityType
    value      text    COLLATE "C" NOT NULL, -- normalised
    contact_id text    COLLATE "C" NOT NULL,
    UNIQUE (tenant, type, value)
);

CREATE INDEX channel_identities_contact ON channel_identities (tenant, contact_id);

CREATE TABLE channel_organizations (
    tenant        text        NOT NULL,
    id            text        COLLATE "C" NOT NULL,
    name          text        NOT NULL,
    name_fold     text        COLLATE "C" NOT NULL,
    region        text        NOT NULL,
    industry      text        NOT NULL,
    size          integer     NOT NULL, -- channelv1.OrganizationSize
    domains       text        NOT NULL, -- JSON array of lower-cased names
    tier          text        NOT NULL,
    custom_fields text        NOT NULL,
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL,
    version       bigint      NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE channel_org_domains (
    tenant          text NOT NULL,
    domain          text COLLATE "C" NOT NULL,
    organization_id text COLLATE "C" NOT NULL,
    UNIQUE (tenant, domain)
);

CREATE INDEX channel_org_domains_org ON channel_org_domains (tenant, organization_id);

CREATE TABLE channel_contact_audit (
    tenant           text        NOT NULL,
    id               text        COLLATE "C" NOT NULL,
    contact_id       text        COLLATE "C" NOT NULL,
    type             integer     NOT NULL, -- channelv1.ContactAuditEventType
    other_contact_id text        NOT NULL,
    identities       text        NOT NULL, -- JSON array, those that moved
    tickets_moved    integer     NOT NULL,
    actor_id         text        NOT NULL,
    actor_kind       integer     NOT NULL, -- iamv1.PrincipalKind
    actor_name       text        NOT NULL,
    create_time      timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE INDEX channel_contact_audit_contact ON channel_contact_audit (tenant, contact_id, id);
