-- Customers sign in with a one-time code mailed by the channel service.
-- A customer's session names its contact (the channel service's) instead
-- of a user, and keeps the e-mail address, name and locale its principal
-- shows: iam holds no record of contacts. user_id is '' for them, and
-- the four columns are '' for users' sessions.
ALTER TABLE iam_sessions ADD COLUMN contact_id   text NOT NULL DEFAULT '';
ALTER TABLE iam_sessions ADD COLUMN email        text NOT NULL DEFAULT '';
ALTER TABLE iam_sessions ADD COLUMN display_name text NOT NULL DEFAULT '';
ALTER TABLE iam_sessions ADD COLUMN locale       text NOT NULL DEFAULT '';

-- A contact's sessions: its own list, and a merge moving them.
CREATE INDEX iam_sessions_contact ON iam_sessions (tenant, contact_id, id) WHERE contact_id <> '';

-- One-time sign-in codes, one per address at most (a new one replaces
-- it). Only a salted SHA-256 digest of the code is kept.
CREATE TABLE iam_sign_in_codes (
    id            text        COLLATE "C" NOT NULL PRIMARY KEY,
    tenant        text        NOT NULL,
    email         text        NOT NULL, -- lower-cased by the store
    contact_id    text        NOT NULL,
    display_name  text        NOT NULL,
    locale        text        NOT NULL,
    digest        text        NOT NULL, -- hex SHA-256 of the salted code; never the code
    attempts_left integer     NOT NULL, -- wrong codes that may still be tried
    create_time   timestamptz NOT NULL,
    expire_time   timestamptz NOT NULL,
    used_time     timestamptz           -- NULL: not used
);

CREATE UNIQUE INDEX iam_sign_in_codes_address ON iam_sign_in_codes (tenant, email);
CREATE INDEX iam_sign_in_codes_contact ON iam_sign_in_codes (tenant, contact_id);
-- The janitor deletes expired codes in small batches.
CREATE INDEX iam_sign_in_codes_expire_time ON iam_sign_in_codes (expire_time);
