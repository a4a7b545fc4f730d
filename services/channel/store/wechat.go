package store

import (
	"context"
	"fmt"
	"time"
)

// The states of a WeChat inbox message.
const (
	WeChatPending = "pending" // stored, not yet a ticket or comment
	WeChatDone    = "done"    // made its ticket or comment, or needed none
	WeChatFailed  = "failed"  // refused for good (see Detail)
)

// WeChatMessage is one message or event WeChat posted to a tenant's
// callback, as stored before the callback was answered.
type WeChatMessage struct {
	Tenant string
	// DedupKey is the message's MsgId, or for an event its sender, time
	// and event (wechat.Message.DedupKey): a retried callback has the
	// same key.
	DedupKey string
	OpenID   string
	MsgType  string
	// Payload is the message's XML, decrypted.
	Payload   []byte
	Status    string
	TicketID  string
	CommentID string
	Detail    string
	// Attempts counts the worker's failed tries.
	Attempts                 int
	ReceivedTime, UpdateTime time.Time
}

const (
	wechatColumns = `tenant, dedup_key, openid, msg_type, payload, status, ticket_id, comment_id, detail, attempts,
		received_time, update_time`
	insertWeChat = `INSERT INTO channel_wechat_inbox (` + wechatColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, dedup_key) DO NOTHING`
)

func scanWeChat(r scanner) (WeChatMessage, error) {
	var (
		m                 WeChatMessage
		received, updated dbTime
	)
	if err := r.Scan(&m.Tenant, &m.DedupKey, &m.OpenID, &m.MsgType, &m.Payload, &m.Status, &m.TicketID, &m.CommentID,
		&m.Detail, &m.Attempts, &received, &updated); err != nil {
		return WeChatMessage{}, err
	}
	m.ReceivedTime, m.UpdateTime = received.t, updated.t
	return m, nil
}

// RecordWeChat implements Store.
func (e *engine) RecordWeChat(ctx context.Context, m WeChatMessage) (bool, error) {
	if err := checkText(text{"tenant", m.Tenant}, text{"dedup key", m.DedupKey}, text{"openid", m.OpenID}, text{"msg type", m.MsgType}); err != nil {
		return false, fmt.Errorf("record wechat message: %w", err)
	}
	if m.ReceivedTime.IsZero() {
		m.ReceivedTime = now()
	}
	n, err := e.d.write(ctx, insertWeChat, m.Tenant, m.DedupKey, m.OpenID, m.MsgType, nonNil(m.Payload), WeChatPending,
		"", "", "", 0, e.d.ts(m.ReceivedTime), e.d.ts(now()))
	if err != nil {
		return false, fmt.Errorf("record wechat message %s: %w", m.DedupKey, err)
	}
	return n == 1, nil
}

// PendingWeChat implements Store.
func (e *engine) PendingWeChat(ctx context.Context, limit int) ([]WeChatMessage, error) {
	if err := checkLimit("pending wechat messages", limit); err != nil {
		return nil, err
	}
	out, err := list(ctx, e.d.read, scanWeChat, `SELECT `+wechatColumns+` FROM channel_wechat_inbox
		WHERE status = 'pending' ORDER BY received_time, tenant, dedup_key LIMIT ?`, []any{limit})
	if err != nil {
		return nil, fmt.Errorf("pending wechat messages: %w", err)
	}
	return out, nil
}

// SettleWeChat implements Store.
func (e *engine) SettleWeChat(ctx context.Context, m WeChatMessage) error {
	if err := checkText(text{"detail", m.Detail}, text{"ticket id", m.TicketID}, text{"comment id", m.CommentID}); err != nil {
		return fmt.Errorf("settle wechat message: %w", err)
	}
	n, err := e.d.write(ctx, `UPDATE channel_wechat_inbox SET status = ?, ticket_id = ?, comment_id = ?, detail = ?,
		attempts = ?, update_time = ? WHERE tenant = ? AND dedup_key = ?`,
		m.Status, m.TicketID, m.CommentID, m.Detail, m.Attempts, e.d.ts(now()), m.Tenant, m.DedupKey)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("settle wechat message %s: %w", m.DedupKey, err)
	}
	return nil
}

// LastWeChat implements Store.
func (e *engine) LastWeChat(ctx context.Context, tenant, openid string) (time.Time, bool, error) {
	var at dbTime
	err := e.d.read.queryRow(ctx, `SELECT received_time FROM channel_wechat_inbox WHERE tenant = ? AND openid = ?
		ORDER BY received_time DESC LIMIT 1`, tenant, openid).Scan(&at)
	if e.d.noRows(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("last wechat message of %s: %w", openid, err)
	}
	return at.t, true, nil
}

// The states of a reply to a WeChat user.
const (
	ReplySent   = "sent"
	ReplyHeld   = "held"   // outside the 48-hour window: sent when the user writes again
	ReplyFailed = "failed" // refused for good (see Detail)
)

// WeChatReply is an agent's public reply to a WeChat user, by comment.
type WeChatReply struct {
	Tenant, CommentID, TicketID, OpenID string
	Body                                string
	Status, Detail                      string
	CreateTime, UpdateTime              time.Time
}

const replyColumns = `tenant, comment_id, ticket_id, openid, body, status, detail, create_time, update_time`

func scanReply(r scanner) (WeChatReply, error) {
	var (
		m                WeChatReply
		created, updated dbTime
	)
	if err := r.Scan(&m.Tenant, &m.CommentID, &m.TicketID, &m.OpenID, &m.Body, &m.Status, &m.Detail, &created, &updated); err != nil {
		return WeChatReply{}, err
	}
	m.CreateTime, m.UpdateTime = created.t, updated.t
	return m, nil
}

// WeChatReplyByComment implements Store.
func (e *engine) WeChatReplyByComment(ctx context.Context, tenant, commentID string) (WeChatReply, bool, error) {
	r, err := scanReply(e.d.read.queryRow(ctx, `SELECT `+replyColumns+` FROM channel_wechat_outbox WHERE tenant = ? AND comment_id = ?`, tenant, commentID))
	if e.d.noRows(err) {
		return WeChatReply{}, false, nil
	}
	if err != nil {
		return WeChatReply{}, false, fmt.Errorf("wechat reply %s: %w", commentID, err)
	}
	return r, true, nil
}

// SaveWeChatReply implements Store.
func (e *engine) SaveWeChatReply(ctx context.Context, r WeChatReply) error {
	if err := checkText(text{"comment id", r.CommentID}, text{"body", r.Body}, text{"detail", r.Detail}); err != nil {
		return fmt.Errorf("save wechat reply: %w", err)
	}
	at := e.d.ts(now())
	_, err := e.d.write(ctx, `INSERT INTO channel_wechat_outbox (`+replyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, comment_id) DO UPDATE SET status = excluded.status, detail = excluded.detail, update_time = excluded.update_time`,
		r.Tenant, r.CommentID, r.TicketID, r.OpenID, r.Body, r.Status, r.Detail, at, at)
	if err != nil {
		return fmt.Errorf("save wechat reply %s: %w", r.CommentID, err)
	}
	return nil
}

// HeldWeChatReplies implements Store.
func (e *engine) HeldWeChatReplies(ctx context.Context, tenant, openid string, limit int) ([]WeChatReply, error) {
	if err := checkLimit("held wechat replies", limit); err != nil {
		return nil, err
	}
	out, err := list(ctx, e.d.read, scanReply, `SELECT `+replyColumns+` FROM channel_wechat_outbox
		WHERE tenant = ? AND openid = ? AND status = 'held' ORDER BY create_time, comment_id LIMIT ?`, []any{tenant, openid, limit})
	if err != nil {
		return nil, fmt.Errorf("held wechat replies of %s: %w", openid, err)
	}
	return out, nil
}
