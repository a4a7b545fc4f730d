package email

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/blobs"
	"github.com/kubedesk/kubedesk/services/channel/mail"
	"github.com/kubedesk/kubedesk/services/channel/smtpin"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/text"
)

// Contacts resolves a sender to the tenant's contact holding that e-mail
// address, creating the contact when there is none.
type Contacts interface {
	ResolveEmail(ctx context.Context, tenant, address, name string) (contactID string, err error)
}

// Inbound turns received mail into tickets and comments: it is the SMTP
// server's Backend. Every field is required but Log.
type Inbound struct {
	Directory *Directory
	Store     Store
	Contacts  Contacts
	Tickets   ticketv1.TicketServiceClient
	Blobs     ticketv1.TicketBlobServiceClient
	// Limits bound the parser's work on one message.
	Limits mail.Limits
	// PerSender caps the mail one sender address may open or add to per
	// tenant; over it the server answers 451 and the sender retries later.
	PerSender *auth.Limiter
	Log       *slog.Logger

	outcomes metric.Int64Counter
}

// Outcome of one message for one tenant, as logged and counted.
const (
	outcomeTicket    = "ticket"
	outcomeComment   = "comment"
	outcomeDuplicate = "duplicate"
	outcomeDropped   = "dropped"
)

// InboundAddressField is the custom field of a ticket opened by e-mail
// that holds the inbound address the message came to (as configured,
// lower-case, without a "+suffix"), so that routing rules can match it.
const InboundAddressField = "inbound_address"

// Recipient implements smtpin.Backend: only inbound addresses of the
// directory receive mail.
func (in *Inbound) Recipient(_ context.Context, addr string) error {
	if _, ok := in.Directory.Lookup(addr); !ok {
		return smtpin.ErrUnknownRecipient
	}
	return nil
}

// Deliver implements smtpin.Backend. It returns only once every tenant the
// mail is addressed to has it stored; an error leaves the sender to retry,
// and a retry writes nothing twice.
func (in *Inbound) Deliver(ctx context.Context, env smtpin.Envelope, data []byte) error {
	msg, err := mail.Parse(bytes.NewReader(data), in.Limits)
	if err == nil {
		stripNUL(msg)
	}
	if err != nil {
		var pe *mail.ParseError
		if errors.As(err, &pe) {
			in.count(ctx, "refused")
			return &smtpin.Reply{Code: 550, Enhanced: [3]int{5, 6, 0}, Message: "message refused: " + pe.Error()}
		}
		return fmt.Errorf("parse: %w", err)
	}
	if _, err := store.NormalizeEmail(msg.From.Email); err != nil {
		in.count(ctx, "refused")
		return &smtpin.Reply{Code: 550, Enhanced: [3]int{5, 1, 7}, Message: fmt.Sprintf("message refused: From: %q is not an address kubedesk can answer", msg.From.Email)}
	}
	if msg.MessageID == "" {
		// A Message-ID of its own, from the content, so that a retry of
		// this very message is still recognised.
		sum := sha256.Sum256(data)
		msg.MessageID = "kd-" + hex.EncodeToString(sum[:16]) + "@no-message-id"
	}
	var boxes []Mailbox
	for _, rcpt := range env.To {
		b, ok := in.Directory.Lookup(rcpt)
		if ok && !slices.ContainsFunc(boxes, func(x Mailbox) bool { return x.Tenant == b.Tenant }) {
			boxes = append(boxes, b)
		}
	}
	var up *uploads
	for _, box := range boxes {
		if msg.Kind != mail.KindNormal {
			in.log().Info("mail dropped", "tenant", box.Tenant, "message_id", msg.MessageID, "from", msg.From.Email, "kind", msg.Kind.String(), "reason", msg.KindReason)
			in.count(ctx, outcomeDropped)
			continue
		}
		// The attachments (and a large message itself) go to the blob
		// store once for every tenant, while the sender is looked up; a
		// duplicate stores nothing.
		start := func() *uploads {
			if up == nil {
				up = in.upload(ctx, box.Tenant, msg, data)
			}
			return up
		}
		outcome, ticketID, err := in.deliver(ctx, box, msg, data, start)
		if status.Code(err) == codes.InvalidArgument {
			// The ticket service refuses what the message holds: a retry
			// cannot do better.
			in.count(ctx, "refused")
			return &smtpin.Reply{Code: 550, Enhanced: [3]int{5, 6, 0}, Message: "message refused: " + status.Convert(err).Message()}
		}
		if err != nil {
			return err
		}
		in.count(ctx, outcome)
		in.log().Info("mail received", "tenant", box.Tenant, "message_id", msg.MessageID, "from", msg.From.Email, "ticket", ticketID, "outcome", outcome, "attachments", len(msg.Attachments), "bytes", len(data))
	}
	return nil
}

// deliver stores msg for one tenant and says what it became.
func (in *Inbound) deliver(ctx context.Context, box Mailbox, msg *mail.Message, data []byte, start func() *uploads) (outcome, ticketID string, err error) {
	ctx = tenant.Outgoing(ctx, box.Tenant)
	// The ticket it answers and the sender's contact are looked up while
	// the duplicate check runs: reads, in the common case (a sender seen
	// before), so a duplicate still writes nothing.
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	lookups, lctx := errgroup.WithContext(lctx)
	var (
		t         *ticketv1.Ticket
		contactID string
	)
	lookups.Go(func() (err error) {
		t, err = in.thread(lctx, box, msg)
		return err
	})
	lookups.Go(func() (err error) {
		if contactID, err = in.Contacts.ResolveEmail(lctx, box.Tenant, msg.From.Email, msg.From.Name); err != nil {
			return fmt.Errorf("resolve sender %s: %w", msg.From.Email, err)
		}
		return nil
	})
	ad, err := in.admit(ctx, box, msg)
	if err != nil || ad.duplicate {
		stop()
		_ = lookups.Wait()
		if err != nil {
			return "", "", err
		}
		return outcomeDuplicate, ad.ticketID, nil
	}
	up := start()
	if err := lookups.Wait(); err != nil {
		return "", "", err
	}
	raw, atts, err := up.wait(ctx)
	if err != nil {
		return "", "", err
	}
	// What people read; the rest (quotes, signature) is kept with the
	// record of the message.
	body := cmp.Or(strings.TrimSpace(msg.Visible), strings.TrimSpace(msg.Text), "(no text)")
	key := idempotencyKey(box.Tenant, msg.MessageID)
	rec := store.Mail{
		Tenant: box.Tenant, MessageID: msg.MessageID, Direction: store.MailIn, Sender: msg.From.Email,
		Subject: msg.Subject, Folded: msg.Folded, HTML: msg.HTML, RawSHA256: raw, Status: store.MailReceived,
	}
	if raw == "" {
		rec.Raw = data
	}
	if t != nil && ad.ticketID == "" {
		c, err := in.Tickets.AddComment(ctx, &ticketv1.AddCommentRequest{
			TicketId:  t.GetId(),
			RequestId: key,
			Comment: &ticketv1.Comment{
				Author:      authorName(msg.From),
				AuthorType:  ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER,
				Body:        text.Truncate(body, maxBody),
				Visibility:  ticketv1.Visibility_VISIBILITY_PUBLIC,
				Attachments: atts,
			},
		})
		if err != nil {
			return "", "", fmt.Errorf("add the comment to ticket %s: %w", t.GetId(), err)
		}
		rec.TicketID, rec.CommentID = t.GetId(), c.GetComment().GetId()
		if _, err := in.Store.RecordMail(ctx, rec); err != nil {
			return "", "", fmt.Errorf("record message %s: %w", msg.MessageID, err)
		}
		return outcomeComment, rec.TicketID, nil
	}
	// A new ticket: its ID is chosen here, so that the record of the
	// message (which names it) and the ticket are written at once, two
	// commits in parallel rather than one after the other. When the
	// create fails the record is removed again; should that fail too, the
	// sender's retry finds the record without its ticket, and admit
	// resumes with the recorded ID.
	rec.TicketID = cmp.Or(ad.ticketID, uuid.Must(uuid.NewV7()).String())
	var (
		created           *ticketv1.CreateTicketResponse
		recorded          bool
		recordErr, create error
		wg                sync.WaitGroup
	)
	wg.Go(func() { recorded, recordErr = in.Store.RecordMail(ctx, rec) })
	created, create = in.Tickets.CreateTicket(ctx, &ticketv1.CreateTicketRequest{
		RequestId: key,
		TicketId:  rec.TicketID,
		Ticket: &ticketv1.Ticket{
			Subject:     text.Truncate(cmp.Or(strings.TrimSpace(msg.Subject), "(no subject)"), maxSubject),
			Description: text.Truncate(body, maxDescription),
			Channel:     ticketv1.Channel_CHANNEL_EMAIL,
			Group:       box.Group,
			// Which of the tenant's addresses the customer wrote to, for
			// the routing rules that tell billing@ from support@.
			CustomFields: map[string]string{InboundAddressField: box.Address},
			Requester: &ticketv1.Requester{
				Name:      text.Truncate(msg.From.Name, 200),
				Email:     msg.From.Email,
				ContactId: contactID,
			},
			Attachments: atts,
		},
	})
	wg.Wait()
	if create != nil {
		// Nothing half-written: the record goes too (if that fails, the
		// retry resumes with it).
		if recorded {
			if err := in.Store.DeleteMail(context.WithoutCancel(ctx), box.Tenant, msg.MessageID); err != nil {
				in.log().Warn("removing the record of a mail whose ticket failed", "tenant", box.Tenant, "message_id", msg.MessageID, "err", err)
			}
		}
		return "", "", fmt.Errorf("create the ticket: %w", create)
	}
	if recordErr != nil {
		return "", "", fmt.Errorf("record message %s: %w", msg.MessageID, recordErr)
	}
	if id := created.GetTicket().GetId(); id != rec.TicketID {
		// The idempotency key found the ticket an earlier delivery of
		// this message made, under the ID that delivery chose.
		if err := in.Store.SetMailTicket(ctx, box.Tenant, msg.MessageID, id); err != nil {
			return "", "", fmt.Errorf("record message %s: %w", msg.MessageID, err)
		}
		rec.TicketID = id
	}
	return outcomeTicket, rec.TicketID, nil
}

// admission is what admit found.
type admission struct {
	// duplicate: the message is recorded with its ticket or comment;
	// ticketID is the ticket its first delivery made.
	duplicate bool
	// ticketID, when not a duplicate, is the ticket a first delivery
	// recorded but did not create (it failed after the record): the
	// ticket is created under that ID.
	ticketID string
}

// admit checks that msg is new (else it returns dup and the ticket the
// message's first delivery made) and that its sender is within the
// per-sender rate (else a 451 reply).
func (in *Inbound) admit(ctx context.Context, box Mailbox, msg *mail.Message) (admission, error) {
	r, ok, err := in.Store.MailByID(ctx, box.Tenant, msg.MessageID)
	if err != nil {
		return admission{}, err
	}
	if ok {
		if r.CommentID != "" || r.Direction != store.MailIn {
			return admission{duplicate: true, ticketID: r.TicketID}, nil
		}
		// The record of a message that opens a ticket is written with
		// the ticket, not after it: check that the ticket came.
		_, err := in.Tickets.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: r.TicketID})
		switch status.Code(err) {
		case codes.OK:
			return admission{duplicate: true, ticketID: r.TicketID}, nil
		case codes.NotFound:
			return admission{ticketID: r.TicketID}, nil
		}
		return admission{}, fmt.Errorf("read ticket %s: %w", r.TicketID, err)
	}
	if in.PerSender != nil {
		if d := in.PerSender.Allow(box.Tenant+"\x00"+msg.From.Email, time.Now()); !d.Allowed {
			return admission{}, &smtpin.Reply{Code: 451, Enhanced: [3]int{4, 7, 1},
				Message: fmt.Sprintf("too many messages from %s; try again in %s", msg.From.Email, d.RetryAfter.Round(time.Second))}
		}
	}
	return admission{}, nil
}

// thread finds the ticket msg answers: by In-Reply-To and References
// against the tenant's recorded mail, then by the [#number] token of the
// subject; nil for a new ticket. A closed ticket takes no more mail: the
// answer opens a new one.
func (in *Inbound) thread(ctx context.Context, box Mailbox, msg *mail.Message) (*ticketv1.Ticket, error) {
	ids := slices.Concat(msg.InReplyTo, reversed(msg.References))
	if len(ids) > 0 {
		id, ok, err := in.Store.MailTicket(ctx, box.Tenant, ids)
		if err != nil {
			return nil, err
		}
		if ok {
			return in.open(ctx, id)
		}
	}
	n, ok := mail.SubjectToken(msg.Subject)
	if !ok {
		return nil, nil
	}
	res, err := in.Tickets.ListTickets(ctx, &ticketv1.ListTicketsRequest{Filter: fmt.Sprintf("number = %d", n), PageSize: 1})
	if err != nil {
		return nil, fmt.Errorf("find ticket #%d: %w", n, err)
	}
	if len(res.GetTickets()) == 0 {
		return nil, nil
	}
	return in.open(ctx, res.GetTickets()[0].GetId())
}

// open returns the ticket unless it is closed (or gone).
func (in *Inbound) open(ctx context.Context, id string) (*ticketv1.Ticket, error) {
	res, err := in.Tickets.GetTicket(ctx, &ticketv1.GetTicketRequest{Id: id})
	if status.Code(err) == codes.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ticket %s: %w", id, err)
	}
	if res.GetTicket().GetStatus() == ticketv1.Status_STATUS_CLOSED {
		return nil, nil
	}
	return res.GetTicket(), nil
}

// uploads is the storing of a message's attachments, and of the message
// itself when it is too large to keep with its record, in the ticket
// service's blob store; wait returns what it stored.
type uploads struct {
	done chan struct{}
	raw  string // the message's digest; "" when it is kept with its record
	atts []*ticketv1.Attachment
	err  error
}

func (u *uploads) wait(ctx context.Context) (string, []*ticketv1.Attachment, error) {
	select {
	case <-u.done:
		return u.raw, u.atts, u.err
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
}

// upload starts storing msg's attachments (and data, above inlineRawMax),
// a few at a time.
func (in *Inbound) upload(ctx context.Context, tenantID string, msg *mail.Message, data []byte) *uploads {
	parts := msg.Attachments
	if len(parts) > maxAttachments {
		in.log().Warn("attachments left out", "tenant", tenantID, "message_id", msg.MessageID, "count", len(parts)-maxAttachments)
		parts = parts[:maxAttachments]
	}
	up := &uploads{done: make(chan struct{}), atts: make([]*ticketv1.Attachment, len(parts))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	if len(data) > inlineRawMax {
		g.Go(func() (err error) {
			if up.raw, err = blobs.Put(gctx, in.Blobs, tenantID, data); err != nil {
				return fmt.Errorf("store the message: %w", err)
			}
			return nil
		})
	}
	for i, a := range parts {
		g.Go(func() error {
			digest, err := blobs.Put(gctx, in.Blobs, tenantID, a.Data)
			if err != nil {
				return fmt.Errorf("store attachment %q: %w", a.Filename, err)
			}
			up.atts[i] = &ticketv1.Attachment{
				Filename:    text.Truncate(a.Filename, 255),
				ContentType: text.Truncate(a.ContentType, 255),
				Sha256:      digest,
				Inline:      a.Inline,
				ContentId:   text.Truncate(a.ContentID, 255),
			}
			return nil
		})
	}
	go func() {
		up.err = g.Wait()
		close(up.done)
	}()
	return up
}

func (in *Inbound) count(ctx context.Context, outcome string) {
	if in.outcomes == nil {
		in.outcomes, _ = otel.Meter(meterName).Int64Counter("kubedesk_mail_inbound_total",
			metric.WithDescription("Inbound mail by outcome: ticket, comment, duplicate, dropped (auto-reply, bulk, bounce), refused (unreadable)."))
	}
	if in.outcomes != nil {
		in.outcomes.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
	}
}

func (in *Inbound) log() *slog.Logger {
	if in.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return in.Log
}

const (
	meterName = "kubedesk/channel/email"
	// inlineRawMax is the largest message kept whole with its record in
	// the channel's own database; a larger one goes to the blob store.
	// Most mail is below it, and so costs no blob write.
	inlineRawMax   = 256 << 10
	maxAttachments = 100
	maxSubject     = 500
	maxDescription = 65536
	maxBody        = 262144
)

// stripNUL removes NUL characters from the texts of msg: no store keeps
// them, and in mail they are never meant.
func stripNUL(msg *mail.Message) {
	for _, s := range []*string{&msg.Subject, &msg.Text, &msg.Visible, &msg.Folded, &msg.HTML, &msg.From.Name, &msg.MessageID} {
		*s = strings.ReplaceAll(*s, "\x00", "")
	}
	for i := range msg.Attachments {
		a := &msg.Attachments[i]
		a.Filename, a.ContentID = strings.ReplaceAll(a.Filename, "\x00", ""), strings.ReplaceAll(a.ContentID, "\x00", "")
	}
}

// idempotencyKey is the request ID of the ticket or comment a message
// becomes: a retried delivery finds the first one.
func idempotencyKey(tenantID, messageID string) string {
	sum := sha256.Sum256([]byte(tenantID + "\x00" + messageID))
	return "mail-" + hex.EncodeToString(sum[:])
}

// authorName is how a sender appears as a comment's author.
func authorName(a mail.Address) string {
	if a.Name != "" {
		return text.Truncate(a.Name+" <"+a.Email+">", 200)
	}
	return text.Truncate(a.Email, 200)
}

// truncate cuts s to at most n bytes without splitting a character.
func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
