package email

import (
	"context"

	"github.com/kubedesk/kubedesk/services/channel/store"
)

// Store records mail by Message-ID, per tenant: the channel store on
// SQLite or PostgreSQL.
type Store interface {
	// MailByID returns the mail of a tenant with that Message-ID; ok is
	// false when there is none.
	MailByID(ctx context.Context, tenant, messageID string) (m store.Mail, ok bool, err error)
	// MailTicket returns the ticket of the first of ids that the tenant
	// has a mail of; ok is false when none.
	MailTicket(ctx context.Context, tenant string, ids []string) (ticketID string, ok bool, err error)
	// RecordMail stores m; a mail with the same tenant and Message-ID
	// already there is left as it is (created false).
	RecordMail(ctx context.Context, m store.Mail) (created bool, err error)
	// SetMailTicket sets the ticket of a mail; DeleteMail removes a
	// mail's record (one whose ticket could not be created).
	SetMailTicket(ctx context.Context, tenant, messageID, ticketID string) error
	DeleteMail(ctx context.Context, tenant, messageID string) error
	// SetMailStatus sets the status and detail of a mail.
	SetMailStatus(ctx context.Context, tenant, messageID, status, detail string) error
	// MailThread lists a ticket's mail, oldest first, at most limit.
	MailThread(ctx context.Context, tenant, ticketID string, limit int) ([]store.Mail, error)
	// GetContact returns a contact (store.ErrNotFound when there is
	// none): the locale of the requester chooses the language of mail.
	GetContact(ctx context.Context, tenant, id string) (store.Contact, error)
}
