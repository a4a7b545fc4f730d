-- Messages and events WeChat posted to a tenant's callback URL, stored
-- before the callback is answered: WeChat retries an unanswered callback
-- (three times within 15 s), so the key (MsgId, or sender + time + event
-- for events) makes a retry a no-op, and a worker turns pending rows into
-- tickets and comments after the answer. received_time of a user's last
-- message opens WeChat's 48-hour reply window.
CREATE TABLE channel_wechat_inbox (
    tenant        TEXT    NOT NULL,
    dedup_key     TEXT    NOT NULL,
    openid        TEXT    NOT NULL,
    msg_type      TEXT    NOT NULL,
    payload       BLOB    NOT NULL, -- the message's XML, decrypted
    status        TEXT    NOT NULL, -- pending, done, failed
    ticket_id     TEXT    NOT NULL,
    comment_id    TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    attempts      INTEGER NOT NULL,
    received_time INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
    PRIMARY KEY (tenant, dedup_key)
) STRICT;

CREATE INDEX channel_wechat_inbox_pending ON channel_wechat_inbox (received_time, tenant, dedup_key) WHERE status = 'pending';
CREATE INDEX channel_wechat_inbox_user ON channel_wechat_inbox (tenant, openid, received_time);

-- Agents' public replies to WeChat users, by comment: what makes a reply
-- sent once although ticket events may come twice, and what holds a reply
-- outside WeChat's 48-hour window until the user writes again.
CREATE TABLE channel_wechat_outbox (
    tenant      TEXT    NOT NULL,
    comment_id  TEXT    NOT NULL,
    ticket_id   TEXT    NOT NULL,
    openid      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    status      TEXT    NOT NULL, -- sent, held, failed
    detail      TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (tenant, comment_id)
) STRICT;

CREATE INDEX channel_wechat_outbox_held ON channel_wechat_outbox (tenant, openid, create_time) WHERE status = 'held';
