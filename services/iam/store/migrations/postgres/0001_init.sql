-- The iam service's tables, named iam_* so they never meet another
-- service's in a shared database. IDs are caller-made UUIDv7 strings
-- compared bytewise (COLLATE "C", whatever the database's collation):
-- ordering by id is ordering by creation time. Emails are compared
-- bytewise too, so ListUsers pages in the same order as on SQLite. Roles,
-- principal kinds and audit event types are their kubedesk.iam.v1 enum
-- numbers, which the proto keeps stable (its names may be renamed).

CREATE TABLE iam_users (
    tenant        text        NOT NULL,
    id            text        COLLATE "C" NOT NULL,
    email         text        COLLATE "C" NOT NULL, -- lower-cased by the store
    display_name  text        NOT NULL,
    locale        text        NOT NULL,
    time_zone     text        NOT NULL,
    roles         integer[]   NOT NULL, -- iamv1.Role numbers
    group_names   text[]      NOT NULL,
    active        boolean     NOT NULL,
    password_hash text        NOT NULL, -- PHC string; '' for none
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL,
    version       bigint      NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Sign-in finds a user by email; ListUsers pages by it.
CREATE UNIQUE INDEX iam_users_email ON iam_users (tenant, email);

-- API keys and sessions are keyed by id alone: the touch batches name only
-- ids. The (tenant, ...) indexes serve the tenant's lists.
CREATE TABLE iam_api_keys (
    id             text        COLLATE "C" NOT NULL PRIMARY KEY,
    tenant         text        NOT NULL,
    display_name   text        NOT NULL,
    role           integer     NOT NULL, -- iamv1.Role
    digest         text        NOT NULL, -- hex SHA-256 of the secret
    prefix         text        NOT NULL,
    tenants        text[]      NOT NULL, -- other tenants ("*": all)
    creator_id     text        NOT NULL,
    creator_kind   integer     NOT NULL, -- iamv1.PrincipalKind
    creator_name   text        NOT NULL,
    create_time    timestamptz NOT NULL,
    expire_time    timestamptz,          -- NULL: never
    last_used_time timestamptz,          -- NULL: never used
    revoke_time    timestamptz           -- NULL: not revoked
);

-- Authentication finds a key by digest, whatever its tenant.
CREATE UNIQUE INDEX iam_api_keys_digest ON iam_api_keys (digest);
CREATE INDEX iam_api_keys_tenant ON iam_api_keys (tenant, id);

CREATE TABLE iam_sessions (
    id             text        COLLATE "C" NOT NULL PRIMARY KEY,
    tenant         text        NOT NULL,
    user_id        text        NOT NULL,
    digest         text        NOT NULL, -- hex SHA-256 of the token
    client_ip      text        NOT NULL,
    user_agent     text        NOT NULL,
    create_time    timestamptz NOT NULL,
    last_seen_time timestamptz,
    expire_time    timestamptz NOT NULL, -- the absolute limit
    revoke_time    timestamptz           -- NULL: not revoked
);

CREATE UNIQUE INDEX iam_sessions_digest ON iam_sessions (digest);
-- A user's sessions, newest first (ListSessions, RevokeUserSessions).
CREATE INDEX iam_sessions_user ON iam_sessions (tenant, user_id, id);
-- The janitor deletes expired and revoked sessions in small batches.
CREATE INDEX iam_sessions_expire_time ON iam_sessions (expire_time);
CREATE INDEX iam_sessions_revoke_time ON iam_sessions (revoke_time) WHERE revoke_time IS NOT NULL;

CREATE TABLE iam_audit_events (
    tenant      text        NOT NULL,
    id          text        COLLATE "C" NOT NULL,
    type        integer     NOT NULL, -- iamv1.AuditEventType
    actor_id    text        NOT NULL,
    actor_kind  integer     NOT NULL, -- iamv1.PrincipalKind
    actor_name  text        NOT NULL,
    subject     text        NOT NULL,
    client_ip   text        NOT NULL,
    detail      text        NOT NULL,
    trace_id    text        NOT NULL,
    create_time timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Retention deletes the oldest events in small batches.
CREATE INDEX iam_audit_events_create_time ON iam_audit_events (create_time);
