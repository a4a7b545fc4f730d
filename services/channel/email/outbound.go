package email

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/kubedesk/kubedesk/operator/api/mailtemplate"
	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/smtpout"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// ConsumerName is the outbound mail's name in the consumer cursors.
const ConsumerName = "channel-mail-out"

// OutboundEvents are the ticket events Outbound acts on.
var OutboundEvents = []ticketv1.EventType{ticketv1.EventType_EVENT_TYPE_TICKET_CREATED, ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED}

// Relay sends composed mail; *smtpout.Sender is one.
type Relay interface {
	Send(ctx context.Context, from string, rcpts []string, msg []byte) error
}

// Outbound sends the mail that ticket events call for: the
// acknowledgement of a new e-mail ticket and agents' public replies on
// tickets that came by e-mail. It is a consumer.Handler: delivery is at
// least once, and the Message-ID of each mail derives from the event's
// ticket or comment, so a mail is recorded, and sent, once.
type Outbound struct {
	Directory *Directory
	Store     Store
	Tickets   ticketv1.TicketServiceClient
	// Relay is nil when no relay is configured: the mail is held and the
	// ticket says so.
	Relay Relay
	// MaxAttachmentBytes bounds the attachments of one mail (0: 25 MiB);
	// what is over is linked instead of attached.
	MaxAttachmentBytes int64
	// HandedOff reports whether another channel handed a ticket on to
	// e-mail (a web chat whose visitor left an address, and no agent was
	// there): agents' replies on it go by e-mail too. Nil: none does.
	HandedOff func(ctx context.Context, tenant, ticketID string) (bool, error)
	Log       *slog.Logger

	sent metric.Int64Counter
}

var _ consumer.Handler = (*Outbound)(nil)

// Handle implements consumer.Handler.
func (o *Outbound) Handle(ctx context.Context, ev *ticketv1.Event) error {
	t := ev.GetTicket()
	from, ok := o.Directory.Sender(t.GetTenant())
	if !ok || t.GetRequester().GetEmail() == "" {
		return nil
	}
	ctx = tenant.Outgoing(ctx, t.GetTenant())
	switch ev.GetType() {
	case ticketv1.EventType_EVENT_TYPE_TICKET_CREATED:
		if t.GetChannel() != ticketv1.Channel_CHANNEL_EMAIL || !from.AutoAcknowledge {
			return nil
		}
		if err := o.awaitInbound(ctx, ev); err != nil {
			return err
		}
		return o.send(ctx, from, t, nil)
	case ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED:
		c := ev.GetComment()
		if c.GetVisibility() == ticketv1.Visibility_VISIBILITY_INTERNAL || c.GetAuthorType() != ticketv1.AuthorType_AUTHOR_TYPE_AGENT {
			return nil
		}
		byMail, err := o.byMail(ctx, t)
		if err != nil || !byMail {
			return err
		}
		return o.send(ctx, from, t, c)
	}
	return nil
}

// awaitInbound waits for the record of the mail that opened a ticket the
// channel created: the inbound side records it just after the ticket is
// committed, and the acknowledgement answers it (In-Reply-To). A ticket
// created otherwise (through the API, with channel e-mail) has no such
// mail, and one whose record never came is acknowledged anyway after a
// while.
func (o *Outbound) awaitInbound(ctx context.Context, ev *ticketv1.Event) error {
	if ev.GetActor().GetKind() != iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE {
		return nil
	}
	// The record usually follows within milliseconds: wait here, quietly,
	// before handing the event back to the consumer's retries.
	for pause := 10 * time.Millisecond; time.Since(ev.GetCreateTime().AsTime()) < inboundWait; pause = min(2*pause, time.Second) {
		thread, err := o.Store.MailThread(ctx, ev.GetTicket().GetTenant(), ev.GetTicketId(), 1)
		if err != nil || len(thread) > 0 {
			return err
		}
		if time.Since(ev.GetCreateTime().AsTime()) > inboundQuiet {
			return errInboundPending
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return nil
}

// inboundWait bounds how long an acknowledgement waits for the record of
// the mail it answers.
const inboundWait = 2 * time.Minute

// inboundQuiet is how long it waits before the consumer logs and retries.
const inboundQuiet = 10 * time.Second

var errInboundPending = errors.New("the mail that opened the ticket is not recorded yet")

// byMail reports whether replies on t go out by e-mail: it came by
// e-mail, another channel handed it on to e-mail, or its requester has
// written by e-mail since.
func (o *Outbound) byMail(ctx context.Context, t *ticketv1.Ticket) (bool, error) {
	if t.GetChannel() == ticketv1.Channel_CHANNEL_EMAIL {
		return true, nil
	}
	if o.HandedOff != nil {
		if handed, err := o.HandedOff(ctx, t.GetTenant(), t.GetId()); err != nil || handed {
			return handed, err
		}
	}
	thread, err := o.Store.MailThread(ctx, t.GetTenant(), t.GetId(), 1)
	return len(thread) > 0, err
}

// send sends the acknowledgement of t (c nil) or the reply c, once.
func (o *Outbound) send(ctx context.Context, from Sender, t *ticketv1.Ticket, c *ticketv1.Comment) error {
	domain := domainOf(from.From.Address)
	id := "ack." + t.GetId() + "@" + domain
	if c != nil {
		id = "reply." + c.GetId() + "@" + domain
	}
	rec, seen, err := o.Store.MailByID(ctx, t.GetTenant(), id)
	if err != nil {
		return err
	}
	if seen && rec.Status != store.MailSending {
		return nil // sent, refused for good, or held: done
	}
	to := t.GetRequester().GetEmail()
	if !seen {
		rec = store.Mail{Tenant: t.GetTenant(), MessageID: id, TicketID: t.GetId(), CommentID: c.GetId(), Direction: store.MailOut, Sender: to, Status: store.MailSending}
	}
	if o.Relay == nil {
		rec.Status, rec.Detail = store.MailHeld, "no SMTP relay is configured (--smtp-relay, or spec.channels.email.relaySecretRef in a cluster)"
		if _, err := o.Store.RecordMail(ctx, rec); err != nil {
			return err
		}
		return o.note(ctx, t, id, fmt.Sprintf("Not sent by e-mail to %s: %s.", to, rec.Detail))
	}
	m, err := o.compose(ctx, from, t, c, id)
	if err != nil {
		return err
	}
	raw, err := smtpout.Compose(m)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("compose mail %s: %w", id, err))
	}
	rec.Subject = m.Subject
	// Recorded once the relay has answered, in one write: a crash between
	// the two sends the mail again, with the same Message-ID, which is how
	// mail is retried anyway.
	settle := func(status, detail string) error {
		if seen {
			return o.Store.SetMailStatus(ctx, t.GetTenant(), id, status, detail)
		}
		rec.Status, rec.Detail = status, detail
		_, err := o.Store.RecordMail(ctx, rec)
		return err
	}
	err = o.Relay.Send(ctx, from.From.Address, []string{to}, raw)
	switch {
	case err == nil:
		o.count(ctx, "sent")
		o.log().Info("mail sent", "tenant", t.GetTenant(), "ticket", t.GetId(), "message_id", id, "to", to)
		return settle(store.MailSent, "")
	case smtpout.IsPermanent(err):
		o.count(ctx, "failed")
		o.log().Warn("mail refused", "tenant", t.GetTenant(), "ticket", t.GetId(), "message_id", id, "to", to, "err", err)
		if err := settle(store.MailFailed, err.Error()); err != nil {
			return err
		}
		return o.note(ctx, t, id, fmt.Sprintf("Delivery by e-mail to %s failed: %v", to, err))
	default:
		o.count(ctx, "retry")
		if serr := settle(store.MailSending, err.Error()); serr != nil {
			return errors.Join(err, serr)
		}
		return fmt.Errorf("send mail %s: %w", id, err)
	}
}

// compose builds the mail for the acknowledgement (c nil) or reply c.
func (o *Outbound) compose(ctx context.Context, from Sender, t *ticketv1.Ticket, c *ticketv1.Comment, id string) (smtpout.Mail, error) {
	thread, err := o.Store.MailThread(ctx, t.GetTenant(), t.GetId(), maxReferences)
	if err != nil {
		return smtpout.Mail{}, err
	}
	m := smtpout.Mail{
		From:      smtpout.Address{Name: from.From.Name, Email: from.From.Address},
		To:        []smtpout.Address{{Name: t.GetRequester().GetName(), Email: t.GetRequester().GetEmail()}},
		MessageID: id,
		Headers:   map[string]string{"X-Kubedesk-Ticket": fmt.Sprint(t.GetNumber())},
	}
	for _, r := range thread {
		if r.MessageID == id {
			continue
		}
		m.References = append(m.References, r.MessageID)
		if r.Direction == store.MailIn {
			m.InReplyTo = r.MessageID
		}
	}
	kind, data := mailtemplate.Acknowledgement, mailtemplate.Data{
		Number:         t.GetNumber(),
		Subject:        t.GetSubject(),
		Requester:      t.GetRequester().GetName(),
		RequesterEmail: t.GetRequester().GetEmail(),
		Description:    t.GetDescription(),
		Tenant:         from.Name,
		ReplyTo:        from.From.Address,
	}
	if c == nil {
		m.Headers["Auto-Submitted"] = "auto-replied" // RFC 3834: autoresponders leave it alone
	} else {
		kind, data.Body, data.Agent = mailtemplate.Reply, c.GetBody(), c.GetAuthor()
		if m.Attachments, err = o.attachments(ctx, t, c); err != nil {
			return m, err
		}
	}
	locales, err := o.locales(ctx, from, t)
	if err != nil {
		return m, err
	}
	r, err := from.Templates.Render(kind, locales, data)
	if err != nil {
		return m, consumer.Permanent(fmt.Errorf("render the %s of ticket %s: %w", kind, t.GetId(), err))
	}
	for _, err := range r.Fallbacks {
		o.log().Warn("mail template failed; the built-in one is sent", "tenant", t.GetTenant(), "ticket", t.GetId(), "message_id", id, "err", err)
	}
	m.Subject, m.Text, m.HTML = r.Subject, r.Text, r.HTML
	if localePattern.MatchString(r.Locale) {
		m.Headers["Content-Language"] = r.Locale
	}
	return m, nil
}

// locales lists the locales t's mail may be written in, most preferred
// first: the requester's contact's, the tenant's default for e-mail, the
// language of the customer's text (Chinese, Japanese or Korean script),
// the tenant's locale. Templates.Render takes the first it has a
// template for, English last.
func (o *Outbound) locales(ctx context.Context, from Sender, t *ticketv1.Ticket) ([]string, error) {
	var contact string
	if id := t.GetRequester().GetContactId(); id != "" {
		c, err := o.Store.GetContact(ctx, t.GetTenant(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("read the requester's contact %s: %w", id, err)
		}
		if c.MergedInto != "" {
			if into, err := o.Store.GetContact(ctx, t.GetTenant(), c.MergedInto); err == nil {
				c = into
			}
		}
		contact = c.Locale
	}
	return []string{contact, from.DefaultLocale, DetectLocale(t.GetSubject() + "\n" + t.GetDescription()), from.Locale}, nil
}

// attachments reads a comment's attachments from the ticket service, up
// to MaxAttachmentBytes in all.
func (o *Outbound) attachments(ctx context.Context, t *ticketv1.Ticket, c *ticketv1.Comment) ([]smtpout.Attachment, error) {
	budget := o.MaxAttachmentBytes
	if budget <= 0 {
		budget = 25 << 20
	}
	var out []smtpout.Attachment
	for _, a := range c.GetAttachments() {
		if a.GetSize() > budget {
			o.log().Warn("attachment too large to mail", "ticket", t.GetId(), "attachment", a.GetId(), "bytes", a.GetSize())
			continue
		}
		stream, err := o.Tickets.GetAttachmentContent(ctx, &ticketv1.GetAttachmentContentRequest{TicketId: t.GetId(), AttachmentId: a.GetId()})
		if err != nil {
			return nil, fmt.Errorf("read attachment %s: %w", a.GetId(), err)
		}
		var data []byte
		for {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read attachment %s: %w", a.GetId(), err)
			}
			data = append(data, chunk.GetData()...)
		}
		budget -= int64(len(data))
		out = append(out, smtpout.Attachment{Filename: a.GetFilename(), ContentType: a.GetContentType(), Inline: a.GetInline(), ContentID: a.GetContentId(), Data: data})
	}
	return out, nil
}

// note writes an internal note on t saying what became of a mail.
func (o *Outbound) note(ctx context.Context, t *ticketv1.Ticket, id, text string) error {
	_, err := o.Tickets.AddComment(ctx, &ticketv1.AddCommentRequest{
		TicketId:  t.GetId(),
		RequestId: idempotencyKey(t.GetTenant(), "note:"+id),
		Comment: &ticketv1.Comment{
			Author:     NoteAuthor,
			AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM,
			Body:       text,
			Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL,
		},
	})
	if err != nil {
		return fmt.Errorf("note on ticket %s: %w", t.GetId(), err)
	}
	return nil
}

// localePattern is a locale fit for the Content-Language header; a
// contact's locale may be anything.
var localePattern = regexp.MustCompile(v1alpha1.LocalePattern)

// NoteAuthor is the author of the notes the e-mail channel writes.
const NoteAuthor = "E-mail"

const maxReferences = 20

// Subject is the subject of kubedesk's mail about t: the ticket's, as an
// answer, with the number token that threads the customer's reply.
func Subject(t *ticketv1.Ticket) string { return builtinSubject(t.GetSubject(), t.GetNumber()) }

// builtinSubject is the subject of the built-in templates: the ticket's
// subject as an answer (one Re: only), then its number token.
func builtinSubject(subject string, number int64) string {
	s := strings.Join(strings.Fields(subject), " ")
	if !hasReplyPrefix(s) {
		s = "Re: " + s
	}
	return s + " " + mailtemplate.Token(number)
}

func hasReplyPrefix(s string) bool {
	l := strings.ToLower(s)
	for _, p := range []string{"re:", "re：", "回复:", "回复：", "答复:", "答复："} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// textToHTML is the HTML part of a plain-text mail.
func textToHTML(text string) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><body><div style=\"font-family:sans-serif;white-space:pre-wrap\">")
	b.WriteString(strings.ReplaceAll(html.EscapeString(text), "\n", "<br>\n"))
	b.WriteString("</div></body></html>")
	return b.String()
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return d
	}
	return "kubedesk.invalid"
}

func (o *Outbound) count(ctx context.Context, result string) {
	if o.sent == nil {
		o.sent, _ = otel.Meter(meterName).Int64Counter("kubedesk_mail_outbound_total",
			metric.WithDescription("Outbound mail attempts by result: sent, failed (refused for good), retry."))
	}
	if o.sent != nil {
		o.sent.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
	}
}

func (o *Outbound) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}
