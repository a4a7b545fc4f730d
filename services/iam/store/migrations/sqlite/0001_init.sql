-- The iam service's tables, named iam_* so they never meet another
-- service's in a shared database. IDs are caller-made UUIDv7 strings:
-- ordering by id is ordering by creation time. Times are Unix microseconds
-- (UTC), NULL for none. Roles, principal kinds and audit event types are
-- their kubedesk.iam.v1 enum numbers, which the proto keeps stable (its
-- names may be renamed). Lists are JSON arrays.

CREATE TABLE iam_users (
    tenant        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    email         TEXT    NOT NULL, -- lower-cased by the store
    display_name  TEXT    NOT NULL,
    locale        TEXT    NOT NULL,
    time_zone     TEXT    NOT NULL,
    roles         TEXT    NOT NULL, -- JSON array of iamv1.Role numbers
    group_names   TEXT    NOT NULL, -- JSON array of strings
    active        INTEGER NOT NULL, -- 0 or 1
    password_hash TEXT    NOT NULL, -- PHC string; '' for none
    create_time   INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

-- Sign-in finds a user by email; ListUsers pages by it.
CREATE UNIQUE INDEX iam_users_email ON iam_users (tenant, email);

-- API keys and sessions are keyed by id alone: the touch batches name only
-- ids. The (tenant, ...) indexes serve the tenant's lists.
CREATE TABLE iam_api_keys (
    id             TEXT    NOT NULL PRIMARY KEY,
    tenant         TEXT    NOT NULL,
    display_name   TEXT    NOT NULL,
    role           INTEGER NOT NULL, -- iamv1.Role
    digest         TEXT    NOT NULL, -- hex SHA-256 of the secret
    prefix         TEXT    NOT NULL,
    tenants        TEXT    NOT NULL, -- JSON array of other tenants ("*": all)
    creator_id     TEXT    NOT NULL,
    creator_kind   INTEGER NOT NULL, -- iamv1.PrincipalKind
    creator_name   TEXT    NOT NULL,
    create_time    INTEGER NOT NULL,
    expire_time    INTEGER,          -- NULL: never
    last_used_time INTEGER,          -- NULL: never used
    revoke_time    INTEGER           -- NULL: not revoked
) STRICT;

-- Authentication finds a key by digest, whatever its tenant.
CREATE UNIQUE INDEX iam_api_keys_digest ON iam_api_keys (digest);
CREATE INDEX iam_api_keys_tenant ON iam_api_keys (tenant, id);

CREATE TABLE iam_sessions (
    id             TEXT    NOT NULL PRIMARY KEY,
    tenant         TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    digest         TEXT    NOT NULL, -- hex SHA-256 of the token
    client_ip      TEXT    NOT NULL,
    user_agent     TEXT    NOT NULL,
    create_time    INTEGER NOT NULL,
    last_seen_time INTEGER,
    expire_time    INTEGER NOT NULL, -- the absolute limit
    revoke_time    INTEGER           -- NULL: not revoked
) STRICT;

CREATE UNIQUE INDEX iam_sessions_digest ON iam_sessions (digest);
-- A user's sessions, newest first (ListSessions, RevokeUserSessions).
CREATE INDEX iam_sessions_user ON iam_sessions (tenant, user_id, id);
-- The janitor deletes expired and revoked sessions in small batches.
CREATE INDEX iam_sessions_expire_time ON iam_sessions (expire_time);
CREATE INDEX iam_sessions_revoke_time ON iam_sessions (revoke_time) WHERE revoke_time IS NOT NULL;

CREATE TABLE iam_audit_events (
    tenant      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    type        INTEGER NOT NULL, -- iamv1.AuditEventType
    actor_id    TEXT    NOT NULL,
    actor_kind  INTEGER NOT NULL, -- iamv1.PrincipalKind
    actor_name  TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    client_ip   TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    trace_id    TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

-- Retention deletes the oldest events in small batches.
CREATE INDEX iam_audit_events_create_time ON iam_audit_events (create_time);
