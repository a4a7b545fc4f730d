package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MailDirection says whether kubedesk received a mail or sent it.
type MailDirection string

// The directions of a mail.
const (
	MailIn  MailDirection = "in"
	MailOut MailDirection = "out"
)

// The states of a mail.
const (
	MailReceived = "received" // an inbound mail, stored
	MailSending  = "sending"  // outbound, not yet accepted by the relay
	MailSent     = "sent"     // the relay accepted it
	MailFailed   = "failed"   // the relay refused it for good
	MailHeld     = "held"     // not sent: the tenant has no relay
)

// Mail is one mail by its Message-ID: what threads later mail into the
// ticket, and what the comment's text leaves out.
type Mail struct {
	Tenant    string
	MessageID string // without <>
	TicketID  string
	CommentID string // "" for the mail that opened the ticket
	Direction MailDirection
	// Sender is the From address (inbound) or the recipient (outbound).
	Sender  string
	Subject string
	// Folded is the quoted history and signature the comment leaves out;
	// HTML the sanitised HTML body.
	Folded string
	HTML   string
	// Raw is the whole message (inbound) when it is small; a larger one is
	// in the ticket service's blob store under RawSHA256. Reads leave Raw
	// out (see MailRaw).
	Raw       []byte
	RawSHA256 string
	Status    string
	// Detail says why a mail failed or is held, or the last error of a
	// send that is retried.
	Detail                 string
	CreateTime, UpdateTime time.Time
}

const (
	mailColumns = `tenant, message_id, ticket_id, comment_id, direction, sender, subject, folded, html,
		raw_sha256, status, detail, create_time, update_time`
	insertMail = `INSERT INTO channel_mail (` + mailColumns + `, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, message_id) DO NOTHING`
)

func scanMail(r scanner) (Mail, error) {
	var m Mail
	var dir string
	var created, updated dbTime
	err := r.Scan(&m.Tenant, &m.MessageID, &m.TicketID, &m.CommentID, &dir, &m.Sender, &m.Subject, &m.Folded, &m.HTML,
		&m.RawSHA256, &m.Status, &m.Detail, &created, &updated)
	m.Direction, m.CreateTime, m.UpdateTime = MailDirection(dir), created.t, updated.t
	return m, err
}

// MailByID returns the mail of a tenant with that Message-ID; ok is false
// when there is none.
func (e *engine) MailByID(ctx context.Context, tenant, messageID string) (Mail, bool, error) {
	m, err := scanMail(e.d.read.queryRow(ctx, `SELECT `+mailColumns+` FROM channel_mail WHERE tenant = ? AND message_id = ?`, tenant, messageID))
	if e.d.noRows(err) {
		return Mail{}, false, nil
	}
	return m, err == nil, err
}

// MailRaw returns the whole message of a tenant's mail as it was
// received, when it is kept here (see Mail.Raw); ErrNotFound when there is
// no such mail.
func (e *engine) MailRaw(ctx context.Context, tenant, messageID string) ([]byte, error) {
	var raw []byte
	err := e.d.read.queryRow(ctx, `SELECT raw FROM channel_mail WHERE tenant = ? AND message_id = ?`, tenant, messageID).Scan(&raw)
	return raw, e.notFound(err)
}

// MailTicket returns the ticket of the first of ids that the tenant has a
// mail of; ok is false when none.
func (e *engine) MailTicket(ctx context.Context, tenant string, ids []string) (string, bool, error) {
	if len(ids) > maxThreadIDs {
		ids = ids[:maxThreadIDs]
	}
	if len(ids) == 0 {
		return "", false, nil
	}
	args := []any{tenant}
	for _, id := range ids {
		args = append(args, id)
	}
	found, err := list(ctx, e.d.read, func(r scanner) ([2]string, error) {
		var v [2]string
		return v, r.Scan(&v[0], &v[1])
	}, `SELECT message_id, ticket_id FROM channel_mail WHERE tenant = ? AND message_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args)
	if err != nil {
		return "", false, err
	}
	for _, id := range ids {
		for _, f := range found {
			if f[0] == id {
				return f[1], true, nil
			}
		}
	}
	return "", false, nil
}

// maxThreadIDs bounds the Message-IDs one mail is threaded by: References
// of a long thread are many, and the newest are first in line.
const maxThreadIDs = 50

// RecordMail stores m; a mail of the tenant with the same Message-ID is
// left as it is (created false).
func (e *engine) RecordMail(ctx context.Context, m Mail) (bool, error) {
	if err := checkText(text{"message_id", m.MessageID}, text{"subject", m.Subject}, text{"sender", m.Sender},
		text{"folded", m.Folded}, text{"html", m.HTML}, text{"detail", m.Detail}); err != nil {
		return false, err
	}
	at := now()
	n, err := e.d.write(ctx, insertMail, m.Tenant, m.MessageID, m.TicketID, m.CommentID, string(m.Direction), m.Sender,
		m.Subject, m.Folded, m.HTML, m.RawSHA256, m.Status, m.Detail, e.d.ts(at), e.d.ts(at), nonNil(m.Raw))
	return n == 1, err
}

// SetMailStatus sets a mail's status and detail.
func (e *engine) SetMailStatus(ctx context.Context, tenant, messageID, status, detail string) error {
	if err := checkText(text{"detail", detail}); err != nil {
		return err
	}
	n, err := e.d.write(ctx, `UPDATE channel_mail SET status = ?, detail = ?, update_time = ? WHERE tenant = ? AND message_id = ?`,
		status, detail, e.d.ts(now()), tenant, messageID)
	if err == nil && n == 0 {
		return fmt.Errorf("mail %s: %w", messageID, ErrNotFound)
	}
	return err
}

// SetMailTicket sets the ticket of a mail.
func (e *engine) SetMailTicket(ctx context.Context, tenant, messageID, ticketID string) error {
	n, err := e.d.write(ctx, `UPDATE channel_mail SET ticket_id = ?, update_time = ? WHERE tenant = ? AND message_id = ?`,
		ticketID, e.d.ts(now()), tenant, messageID)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set the ticket of mail %s: %w", messageID, err)
	}
	return nil
}

// DeleteMail removes a mail's record; none is not an error.
func (e *engine) DeleteMail(ctx context.Context, tenant, messageID string) error {
	if _, err := e.d.write(ctx, `DELETE FROM channel_mail WHERE tenant = ? AND message_id = ?`, tenant, messageID); err != nil {
		return fmt.Errorf("delete mail %s: %w", messageID, err)
	}
	return nil
}

// MailThread lists a ticket's mail, oldest first, at most limit.
func (e *engine) MailThread(ctx context.Context, tenant, ticketID string, limit int) ([]Mail, error) {
	return list(ctx, e.d.read, scanMail, `SELECT `+mailColumns+` FROM channel_mail WHERE tenant = ? AND ticket_id = ?
		ORDER BY create_time, message_id LIMIT ?`, []any{tenant, ticketID, limit})
}

// nonNil is b, or an empty slice for nil: the column is NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
