-- Who wrote a comment, from the caller's credential (ticket.Actor). Rows
-- written before kubedesk authenticated callers have none: ''.
ALTER TABLE comments ADD COLUMN author_id TEXT NOT NULL DEFAULT '';
ALTER TABLE comments ADD COLUMN author_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE comments ADD COLUMN author_name TEXT NOT NULL DEFAULT '';

-- A customer lists the tickets it requested, its email compared
-- case-insensitively (ticket.Scope): lower() folds ASCII letters only,
-- as the server's FoldEmail does.
CREATE INDEX tickets_requester_email_folded ON tickets (tenant, lower(requester_email), id);
