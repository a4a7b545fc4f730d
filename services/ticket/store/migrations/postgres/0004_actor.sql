-- Who wrote a comment, from the caller's credential (ticket.Actor). Rows
-- written before kubedesk authenticated callers have none: ''.
ALTER TABLE comments
    ADD COLUMN author_id   text NOT NULL DEFAULT '',
    ADD COLUMN author_kind text NOT NULL DEFAULT '',
    ADD COLUMN author_name text NOT NULL DEFAULT '';

-- A customer lists the tickets it requested, its email compared
-- case-insensitively (ticket.Scope). lower() under the "C" collation folds
-- ASCII letters only, as SQLite's lower() and the server's FoldEmail do.
CREATE INDEX tickets_requester_email_folded ON tickets (tenant, lower(requester_email COLLATE "C"), id);
