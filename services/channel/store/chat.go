package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The states of a chat (channel_chat_conversations.state).
const (
	ChatWaiting  = "waiting"   // no agent of its group online yet
	ChatOffered  = "offered"   // an agent of its group is online
	ChatAnswered = "answered"  // an agent has replied
	ChatAskEmail = "ask_email" // nobody came within the wait: the visitor is asked for an address
	ChatEmail    = "email"     // the visitor left an address: replies go by e-mail
	ChatClosed   = "closed"    // the ticket is closed
)

// The authors of chat messages.
const (
	ChatByVisitor = "visitor"
	ChatByAgent   = "agent"
	ChatBySystem  = "system"
)

// ChatVisitor is a browser holding a signed visitor ID.
type ChatVisitor struct {
	Tenant, ID string
	ContactID  string
	// TicketID is the visitor's current chat; "" before its first message.
	TicketID               string
	Locale                 string
	CreateTime, UpdateTime time.Time
}

// ChatConversation is one chat: a ticket on channel chat.
type ChatConversation struct {
	Tenant, TicketID, VisitorID, ContactID string
	Group                                  string
	State                                  string
	Email                                  string
	// Opener is the visitor's ID of the message that opened the chat.
	Opener string
	// LastSeq is the seq of its last message; VisitorRead and AgentRead
	// the read receipts.
	LastSeq, VisitorRead, AgentRead int64
	StartTime                       time.Time
	// OnlineTime is when an agent of its group was last seen online; the
	// start until one is.
	OnlineTime time.Time
	UpdateTime time.Time
}

// Awaiting reports whether the chat waits for an agent.
func (c ChatConversation) Awaiting() bool { return c.State == ChatWaiting || c.State == ChatOffered }

// ChatMessage is one message of a chat.
type ChatMessage struct {
	Tenant, TicketID string
	Seq              int64
	// SourceID is the comment's ID, or the ticket's for its description.
	SourceID   string
	ClientID   string
	Author     string
	AuthorName string
	Body       string
	CreateTime time.Time
}

// ChatPresence is an agent online for the chats of some groups.
type ChatPresence struct {
	Tenant, AgentID, AgentName string
	// Groups are the groups it takes chats of; none: the chats of no
	// group.
	Groups []string
	Expire time.Time
}

const (
	chatVisitorColumns = `tenant, visitor_id, contact_id, ticket_id, locale, create_time, update_time`
	chatColumns        = `tenant, ticket_id, visitor_id, contact_id, grp, state, email, opener, last_seq, visitor_read,
		agent_read, start_time, online_time, update_time`
	chatMessageColumns = `tenant, ticket_id, seq, source_id, client_id, author, author_name, body, create_time`
	getChat            = `SELECT ` + chatColumns + ` FROM channel_chat_conversations WHERE tenant = ? AND ticket_id = ?`
)

func scanChatVisitor(r scanner) (ChatVisitor, error) {
	var (
		v                ChatVisitor
		created, updated dbTime
	)
	if err := r.Scan(&v.Tenant, &v.ID, &v.ContactID, &v.TicketID, &v.Locale, &created, &updated); err != nil {
		return ChatVisitor{}, err
	}
	v.CreateTime, v.UpdateTime = created.t, updated.t
	return v, nil
}

func scanChat(r scanner) (ChatConversation, error) {
	var (
		c                       ChatConversation
		started, online, update dbTime
	)
	if err := r.Scan(&c.Tenant, &c.TicketID, &c.VisitorID, &c.ContactID, &c.Group, &c.State, &c.Email, &c.Opener,
		&c.LastSeq, &c.VisitorRead, &c.AgentRead, &started, &online, &update); err != nil {
		return ChatConversation{}, err
	}
	c.StartTime, c.OnlineTime, c.UpdateTime = started.t, online.t, update.t
	return c, nil
}

func scanChatMessage(r scanner) (ChatMessage, error) {
	var (
		m  ChatMessage
		at dbTime
	)
	if err := r.Scan(&m.Tenant, &m.TicketID, &m.Seq, &m.SourceID, &m.ClientID, &m.Author, &m.AuthorName, &m.Body, &at); err != nil {
		return ChatMessage{}, err
	}
	m.CreateTime = at.t
	return m, nil
}

// ChatVisitor implements Store.
func (e *engine) ChatVisitor(ctx context.Context, tenant, id string) (ChatVisitor, bool, error) {
	v, err := scanChatVisitor(e.d.read.queryRow(ctx, `SELECT `+chatVisitorColumns+` FROM channel_chat_visitors
		WHERE tenant = ? AND visitor_id = ?`, tenant, id))
	if e.d.noRows(err) {
		return ChatVisitor{}, false, nil
	}
	if err != nil {
		return ChatVisitor{}, false, fmt.Errorf("chat visitor %s: %w", id, err)
	}
	return v, true, nil
}

// SaveChatVisitor implements Store.
func (e *engine) SaveChatVisitor(ctx context.Context, v ChatVisitor) (ChatVisitor, error) {
	if err := checkText(text{"tenant", v.Tenant}, text{"visitor id", v.ID}, text{"contact id", v.ContactID},
		text{"ticket id", v.TicketID}, text{"locale", v.Locale}); err != nil {
		return ChatVisitor{}, fmt.Errorf("save chat visitor: %w", err)
	}
	at := now()
	v.UpdateTime = at
	if v.CreateTime.IsZero() {
		v.CreateTime = at
	}
	_, err := e.d.write(ctx, `INSERT INTO channel_chat_visitors (`+chatVisitorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, visitor_id) DO UPDATE SET contact_id = excluded.contact_id, ticket_id = excluded.ticket_id,
		locale = excluded.locale, update_time = excluded.update_time`,
		v.Tenant, v.ID, v.ContactID, v.TicketID, v.Locale, e.d.ts(v.CreateTime), e.d.ts(v.UpdateTime))
	if err != nil {
		return ChatVisitor{}, fmt.Errorf("save chat visitor %s: %w", v.ID, err)
	}
	return v, nil
}

// OpenChat implements Store.
func (e *engine) OpenChat(ctx context.Context, c ChatConversation) (ChatConversation, error) {
	if err := checkText(text{"tenant", c.Tenant}, text{"ticket id", c.TicketID}, text{"visitor id", c.VisitorID},
		text{"contact id", c.ContactID}, text{"group", c.Group}, text{"opener", c.Opener}); err != nil {
		return ChatConversation{}, fmt.Errorf("open chat: %w", err)
	}
	at := now()
	c.State, c.LastSeq, c.VisitorRead, c.AgentRead = ChatWaiting, 0, 0, 0
	c.StartTime, c.OnlineTime, c.UpdateTime = at, at, at
	err := e.d.tx(ctx, func(q queryer) error {
		n, err := q.exec(ctx, `UPDATE channel_chat_visitors SET ticket_id = ?, contact_id = ?, update_time = ? WHERE tenant = ? AND visitor_id = ?`,
			c.TicketID, c.ContactID, e.d.ts(at), c.Tenant, c.VisitorID)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("visitor %s: %w", c.VisitorID, ErrNotFound)
		}
		_, err = q.exec(ctx, `INSERT INTO channel_chat_conversations (`+chatColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Tenant, c.TicketID, c.VisitorID, c.ContactID, c.Group, c.State, c.Email, c.Opener, c.LastSeq, c.VisitorRead,
			c.AgentRead, e.d.ts(c.StartTime), e.d.ts(c.OnlineTime), e.d.ts(c.UpdateTime))
		return err
	})
	if err != nil {
		return ChatConversation{}, fmt.Errorf("open chat %s: %w", c.TicketID, err)
	}
	return c, nil
}

// ChatConversation implements Store.
func (e *engine) ChatConversation(ctx context.Context, tenant, ticketID string) (ChatConversation, bool, error) {
	c, err := scanChat(e.d.read.queryRow(ctx, getChat, tenant, ticketID))
	if e.d.noRows(err) {
		return ChatConversation{}, false, nil
	}
	if err != nil {
		return ChatConversation{}, false, fmt.Errorf("chat %s: %w", ticketID, err)
	}
	return c, true, nil
}

// UpdateChat implements Store.
func (e *engine) UpdateChat(ctx context.Context, tenant, ticketID string, mutate func(*ChatConversation) (bool, error)) (ChatConversation, bool, error) {
	var (
		out     ChatConversation
		changed bool
	)
	err := e.d.tx(ctx, func(q queryer) error {
		cur, err := scanChat(q.queryRow(ctx, getChat+e.d.forUpdate, tenant, ticketID))
		if err != nil {
			return e.notFound(err)
		}
		next := cur
		ok, err := mutate(&next)
		if err != nil {
			return errMutate{err}
		}
		if !ok {
			out = cur
			return nil
		}
		if err := checkText(text{"email", next.Email}, text{"state", next.State}); err != nil {
			return err
		}
		next.Tenant, next.TicketID, next.VisitorID, next.StartTime, next.LastSeq = cur.Tenant, cur.TicketID, cur.VisitorID, cur.StartTime, cur.LastSeq
		next.UpdateTime = now()
		_, err = q.exec(ctx, `UPDATE channel_chat_conversations SET contact_id = ?, grp = ?, state = ?, email = ?, visitor_read = ?,
			agent_read = ?, online_time = ?, update_time = ? WHERE tenant = ? AND ticket_id = ?`,
			next.ContactID, next.Group, next.State, next.Email, next.VisitorRead, next.AgentRead, e.d.ts(next.OnlineTime),
			e.d.ts(next.UpdateTime), tenant, ticketID)
		if err != nil {
			return err
		}
		out, changed = next, true
		return nil
	})
	if m, ok := errors.AsType[errMutate](err); ok {
		return ChatConversation{}, false, m.err
	}
	if err != nil {
		return ChatConversation{}, false, fmt.Errorf("update chat %s: %w", ticketID, err)
	}
	return out, changed, nil
}

// AppendChatMessage implements Store.
func (e *engine) AppendChatMessage(ctx context.Context, m ChatMessage) (ChatMessage, ChatConversation, bool, error) {
	if err := checkText(text{"tenant", m.Tenant}, text{"ticket id", m.TicketID}, text{"source id", m.SourceID},
		text{"client id", m.ClientID}, text{"author", m.Author}, text{"author name", m.AuthorName}, text{"body", m.Body}); err != nil {
		return ChatMessage{}, ChatConversation{}, false, fmt.Errorf("append chat message: %w", err)
	}
	var (
		out     ChatMessage
		conv    ChatConversation
		created bool
	)
	err := e.d.tx(ctx, func(q queryer) error {
		// The chat's row is locked first: appends to one chat take their
		// seqs one after the other.
		cur, err := scanChat(q.queryRow(ctx, getChat+e.d.forUpdate, m.Tenant, m.TicketID))
		if err != nil {
			return e.notFound(err)
		}
		conv = cur
		had, err := scanChatMessage(q.queryRow(ctx, `SELECT `+chatMessageColumns+` FROM channel_chat_messages
			WHERE tenant = ? AND source_id = ?`, m.Tenant, m.SourceID))
		switch {
		case err == nil:
			if had.ClientID == "" && m.ClientID != "" {
				// Seen first in the event stream; the sender's ID comes
				// with its answer.
				if _, err := q.exec(ctx, `UPDATE channel_chat_messages SET client_id = ? WHERE tenant = ? AND source_id = ?`,
					m.ClientID, m.Tenant, m.SourceID); err != nil {
					return err
				}
				had.ClientID = m.ClientID
			}
			out = had
			return nil
		case !e.d.noRows(err):
			return err
		}
		if m.CreateTime.IsZero() {
			m.CreateTime = now()
		}
		m.CreateTime = m.CreateTime.UTC().Truncate(time.Microsecond)
		m.Seq = cur.LastSeq + 1
		if _, err := q.exec(ctx, `INSERT INTO channel_chat_messages (`+chatMessageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Tenant, m.TicketID, m.Seq, m.SourceID, m.ClientID, m.Author, m.AuthorName, m.Body, e.d.ts(m.CreateTime)); err != nil {
			return err
		}
		conv.LastSeq = m.Seq
		if m.Author == ChatByAgent && (cur.Awaiting() || cur.State == ChatAskEmail) {
			conv.State = ChatAnswered
		}
		conv.UpdateTime = now()
		if _, err := q.exec(ctx, `UPDATE channel_chat_conversations SET last_seq = ?, state = ?, update_time = ? WHERE tenant = ? AND ticket_id = ?`,
			conv.LastSeq, conv.State, e.d.ts(conv.UpdateTime), m.Tenant, m.TicketID); err != nil {
			return err
		}
		out, created = m, true
		return nil
	})
	if err != nil {
		return ChatMessage{}, ChatConversation{}, false, fmt.Errorf("append chat message %s to %s: %w", m.SourceID, m.TicketID, err)
	}
	return out, conv, created, nil
}

// ChatMessages implements Store.
func (e *engine) ChatMessages(ctx context.Context, tenant, ticketID string, afterSeq int64, limit int) ([]ChatMessage, error) {
	if err := checkLimit("chat messages", limit); err != nil {
		return nil, err
	}
	out, err := list(ctx, e.d.read, scanChatMessage, `SELECT `+chatMessageColumns+` FROM channel_chat_messages
		WHERE tenant = ? AND ticket_id = ? AND seq > ? ORDER BY seq LIMIT ?`, []any{tenant, ticketID, afterSeq, limit})
	if err != nil {
		return nil, fmt.Errorf("chat messages of %s: %w", ticketID, err)
	}
	return out, nil
}

// AwaitingChats implements Store.
func (e *engine) AwaitingChats(ctx context.Context, limit int) ([]ChatConversation, error) {
	if err := checkLimit("awaiting chats", limit); err != nil {
		return nil, err
	}
	out, err := list(ctx, e.d.read, scanChat, `SELECT `+chatColumns+` FROM channel_chat_conversations
		WHERE state IN ('waiting', 'offered') ORDER BY start_time, tenant, ticket_id LIMIT ?`, []any{limit})
	if err != nil {
		return nil, fmt.Errorf("awaiting chats: %w", err)
	}
	return out, nil
}

// ChatOffers implements Store.
func (e *engine) ChatOffers(ctx context.Context, tenant string, groups []string, limit int) ([]ChatConversation, error) {
	if err := checkLimit("chat offers", limit); err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return []ChatConversation{}, nil
	}
	args := []any{tenant}
	in := make([]string, 0, len(groups))
	for _, g := range groups {
		in = append(in, "?")
		args = append(args, g)
	}
	args = append(args, limit)
	out, err := list(ctx, e.d.read, scanChat, `SELECT `+chatColumns+` FROM channel_chat_conversations
		WHERE tenant = ? AND state IN ('waiting', 'offered') AND grp IN (`+strings.Join(in, ", ")+`)
		ORDER BY start_time, ticket_id LIMIT ?`, args)
	if err != nil {
		return nil, fmt.Errorf("chat offers: %w", err)
	}
	return out, nil
}

// ReportChatPresence implements Store.
func (e *engine) ReportChatPresence(ctx context.Context, p ChatPresence) error {
	texts := []text{{"tenant", p.Tenant}, {"agent id", p.AgentID}, {"agent name", p.AgentName}}
	for _, g := range p.Groups {
		texts = append(texts, text{"group", g})
	}
	if err := checkText(texts...); err != nil {
		return fmt.Errorf("report chat presence: %w", err)
	}
	groups := p.Groups
	if len(groups) == 0 {
		groups = []string{""}
	}
	at := now()
	err := e.d.tx(ctx, func(q queryer) error {
		if _, err := q.exec(ctx, `DELETE FROM channel_chat_presence WHERE tenant = ? AND agent_id = ?`, p.Tenant, p.AgentID); err != nil {
			return err
		}
		if !p.Expire.After(at) {
			return nil // away
		}
		for _, g := range groups {
			if _, err := q.exec(ctx, `INSERT INTO channel_chat_presence (tenant, agent_id, grp, agent_name, expire_time) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (tenant, agent_id, grp) DO NOTHING`, p.Tenant, p.AgentID, g, p.AgentName, e.d.ts(p.Expire)); err != nil {
				return err
			}
		}
		// Presence long gone is of no use to anyone.
		_, err := q.exec(ctx, `DELETE FROM channel_chat_presence WHERE expire_time < ?`, e.d.ts(at.Add(-time.Hour)))
		return err
	})
	if err != nil {
		return fmt.Errorf("report chat presence of %s: %w", p.AgentID, err)
	}
	return nil
}

// ChatGroupsOnline implements Store.
func (e *engine) ChatGroupsOnline(ctx context.Context, at time.Time) (map[string][]string, error) {
	rs, err := e.d.read.query(ctx, `SELECT DISTINCT tenant, grp FROM channel_chat_presence WHERE expire_time > ? ORDER BY tenant, grp`, e.d.ts(at))
	if err != nil {
		return nil, fmt.Errorf("chat groups online: %w", err)
	}
	defer rs.Close()
	out := map[string][]string{}
	for rs.Next() {
		var t, g string
		if err := rs.Scan(&t, &g); err != nil {
			return nil, fmt.Errorf("chat groups online: %w", err)
		}
		out[t] = append(out[t], g)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("chat groups online: %w", err)
	}
	return out, nil
}

// ChatByEmail implements Store.
func (e *engine) ChatByEmail(ctx context.Context, tenant, ticketID string) (bool, error) {
	c, ok, err := e.ChatConversation(ctx, tenant, ticketID)
	return ok && c.State == ChatEmail, err
}
