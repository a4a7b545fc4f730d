package wechat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/blobs"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/text"
)

// Queue is the worker's side of the inbox.
type Queue interface {
	PendingWeChat(ctx context.Context, limit int) ([]store.WeChatMessage, error)
	SettleWeChat(ctx context.Context, m store.WeChatMessage) error
}

// Contacts finds (or creates) the contact holding a WeChat openid.
type Contacts interface {
	ResolveWeChat(ctx context.Context, tenantID, openid string) (contactID, name string, err error)
}

// MediaSource fetches the media a user sent (media/get); *mp.Client is
// one per account.
type MediaSource interface {
	Media(ctx context.Context, mediaID string) (data []byte, contentType string, err error)
}

// Worker turns stored WeChat messages into tickets and comments: a
// user's first message opens a ticket on channel wechat, later ones are
// comments on the user's ticket that is not closed (a comment on a solved
// ticket reopens it), and subscribe makes the user a contact. The image,
// voice or video a message carries is fetched from WeChat (which keeps it
// for three days) into the blob store and attached.
type Worker struct {
	Queue    Queue
	Contacts Contacts
	Tickets  ticketv1.TicketServiceClient
	Log      *slog.Logger
	// Group is the group a tenant's new tickets go to; nil or "": none.
	Group func(tenantID string) string
	// Media is the tenant's account to fetch media with, and Blobs where
	// it is stored; without them media is described, not attached.
	Media func(tenantID string) (MediaSource, bool)
	Blobs ticketv1.TicketBlobServiceClient
	// Wake is signalled when a message is stored; Poll is how often the
	// worker looks anyway (for retries), 5 s when zero.
	Wake <-chan struct{}
	Poll time.Duration
	// MaxAttempts is how often a message is tried before it is given up
	// as failed; 20 when zero.
	MaxAttempts int
	// Flush, if set, sends the user's held replies once a message of
	// theirs is in (Outbound.Flush): writing reopens WeChat's window.
	Flush func(ctx context.Context, tenantID, openid string) error
	// Lease, if set, makes Run drain only while this process holds the
	// inbox's lease (store.LeaseWeChatInbox) as Holder, so that replicas
	// of the channel service do not each take every message; another
	// takes over within LeaseTTL (30 s when zero) of this one stopping.
	Lease    store.Leases
	Holder   string
	LeaseTTL time.Duration
}

const batch = 100

// Run processes pending messages until ctx ends, while it holds the
// inbox's lease (when Lease is set).
func (w *Worker) Run(ctx context.Context) error {
	poll := cmp.Or(w.Poll, 5*time.Second)
	t := time.NewTicker(poll)
	defer t.Stop()
	if w.Lease != nil {
		defer func() {
			// The next holder need not wait for the lease to run out.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := w.Lease.ReleaseLease(rctx, store.LeaseWeChatInbox, w.Holder); err != nil {
				w.log().WarnContext(ctx, "giving up the wechat inbox's lease failed; another replica takes over when it runs out", "err", err)
			}
		}()
	}
	for {
		held, err := w.hold(ctx)
		if err != nil && ctx.Err() == nil {
			w.log().WarnContext(ctx, "wechat inbox lease", "err", err)
		}
		if held {
			if _, err := w.Drain(ctx); err != nil && ctx.Err() == nil {
				w.log().WarnContext(ctx, "wechat inbox", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.Wake:
		case <-t.C:
		}
	}
}

// hold takes or renews the inbox's lease; true without a Lease.
func (w *Worker) hold(ctx context.Context) (bool, error) {
	if w.Lease == nil {
		return true, nil
	}
	return w.Lease.HoldLease(ctx, store.LeaseWeChatInbox, w.Holder, cmp.Or(w.LeaseTTL, 30*time.Second))
}

// Drain processes what is pending, oldest first, and says how many
// messages it settled. A message that fails stays pending (its attempts
// counted) and the user's later messages wait behind it, so a user's
// messages reach the ticket in order.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	settled := 0
	for first := true; ; first = false {
		if !first {
			// A long backlog: keep the lease for the next batch.
			if held, err := w.hold(ctx); err != nil || !held {
				return settled, err
			}
		}
		pending, err := w.Queue.PendingWeChat(ctx, batch)
		if err != nil || len(pending) == 0 {
			return settled, err
		}
		blocked := map[string]bool{} // tenant/openid with a message that failed
		progress := false
		for _, m := range pending {
			user := m.Tenant + "/" + m.OpenID
			if blocked[user] {
				continue
			}
			if err := w.process(ctx, &m); err != nil {
				if ctx.Err() != nil {
					return settled, ctx.Err()
				}
				m.Attempts++
				m.Detail = err.Error()
				if permanent(err) || m.Attempts >= cmp.Or(w.MaxAttempts, 20) {
					m.Status = store.WeChatFailed
				} else {
					blocked[user] = true
				}
				w.log().WarnContext(ctx, "wechat message not delivered", "tenant", m.Tenant, "key", m.DedupKey, "attempts", m.Attempts, "err", err)
			}
			if err := w.Queue.SettleWeChat(ctx, m); err != nil {
				return settled, err
			}
			if m.Status == store.WeChatDone && w.Flush != nil {
				if err := w.Flush(ctx, m.Tenant, m.OpenID); err != nil {
					w.log().WarnContext(ctx, "sending held wechat replies", "tenant", m.Tenant, "openid", m.OpenID, "err", err)
				}
			}
			if m.Status != store.WeChatPending {
				settled++
				progress = true
			}
		}
		if !progress || len(pending) < batch {
			return settled, nil
		}
	}
}

// permanent reports an error a retry cannot cure.
func permanent(err error) bool {
	return errors.Is(err, mp.ErrMalformed) || status.Code(err) == codes.InvalidArgument
}

// process makes m's ticket or comment and sets its status.
func (w *Worker) process(ctx context.Context, m *store.WeChatMessage) error {
	msg, err := mp.ParseBytes(m.Payload)
	if err != nil {
		return err
	}
	ctx = tenant.Outgoing(ctx, m.Tenant)
	m.Status = store.WeChatDone
	if msg.MsgType == mp.TypeEvent {
		if msg.Event == mp.EventSubscribe {
			_, _, err := w.Contacts.ResolveWeChat(ctx, m.Tenant, msg.FromUserName)
			return err
		}
		return nil // unsubscribe, menu clicks, scans: nothing to answer
	}
	contactID, name, err := w.Contacts.ResolveWeChat(ctx, m.Tenant, msg.FromUserName)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", msg.FromUserName, err)
	}
	body := Describe(msg)
	atts, err := w.attachMedia(ctx, m, msg)
	if err != nil {
		return err
	}
	key := "wechat:" + m.Tenant + ":" + m.DedupKey
	open, err := w.Tickets.ListTickets(ctx, &ticketv1.ListTicketsRequest{
		Filter:   fmt.Sprintf(`contact = %q AND channel = wechat AND status = (new OR open OR pending OR on_hold OR solved)`, contactID),
		PageSize: 1,
	})
	if err != nil {
		return fmt.Errorf("find the ticket of %s: %w", contactID, err)
	}
	author := cmp.Or(name, "WeChat "+msg.FromUserName)
	if ts := open.GetTickets(); len(ts) > 0 {
		c, err := w.Tickets.AddComment(ctx, &ticketv1.AddCommentRequest{
			TicketId: ts[0].GetId(), RequestId: key,
			Comment: &ticketv1.Comment{Author: author, AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER, Body: body, Visibility: ticketv1.Visibility_VISIBILITY_PUBLIC, Attachments: atts},
		})
		if err != nil {
			return fmt.Errorf("add the comment to ticket %s: %w", ts[0].GetId(), err)
		}
		m.TicketID, m.CommentID = ts[0].GetId(), c.GetComment().GetId()
		return nil
	}
	created, err := w.Tickets.CreateTicket(ctx, &ticketv1.CreateTicketRequest{
		RequestId: key,
		Ticket: &ticketv1.Ticket{
			Subject:     text.Truncate(firstLine(body), 80),
			Description: body,
			Channel:     ticketv1.Channel_CHANNEL_WECHAT,
			Group:       w.group(m.Tenant),
			Attachments: atts,
			Requester:   &ticketv1.Requester{Name: text.Truncate(name, 200), Identity: "wechat:" + msg.FromUserName, ContactId: contactID},
		},
	})
	if err != nil {
		return fmt.Errorf("create the ticket: %w", err)
	}
	m.TicketID = created.GetTicket().GetId()
	return nil
}

// mediaAttempts is how often fetching a message's media is tried before
// the message goes in without it.
const mediaAttempts = 5

// attachMedia fetches the media msg carries and stores it, returning the
// attachment to name; none for a message without media. WeChat refusing
// the media (expired, unknown) is not retried, and neither is a fetch
// that failed mediaAttempts times: the message goes in without it, and
// its text says so. Any other failure is returned, to be retried.
func (w *Worker) attachMedia(ctx context.Context, m *store.WeChatMessage, msg *mp.Message) ([]*ticketv1.Attachment, error) {
	kind, ok := mediaKinds[msg.MsgType]
	if !ok || msg.MediaID == "" || w.Media == nil || w.Blobs == nil {
		return nil, nil
	}
	src, ok := w.Media(m.Tenant)
	if !ok {
		return nil, nil
	}
	data, contentType, err := src.Media(ctx, msg.MediaID)
	if err == nil {
		var digest string
		if digest, err = blobs.Put(ctx, w.Blobs, m.Tenant, data); err == nil {
			return []*ticketv1.Attachment{{
				Filename:    mediaFilename(kind, msg, contentType),
				ContentType: text.Truncate(contentType, 255),
				Sha256:      digest,
			}}, nil
		}
	}
	var apiErr *mp.APIError
	if errors.As(err, &apiErr) || m.Attempts+1 >= mediaAttempts {
		w.log().WarnContext(ctx, "wechat media left out", "tenant", m.Tenant, "key", m.DedupKey, "media", msg.MediaID, "err", err)
		m.Detail = "media not fetched: " + err.Error()
		return nil, nil
	}
	return nil, fmt.Errorf("fetch the %s %s: %w", kind, msg.MediaID, err)
}

// mediaKinds names the media of the message types that carry one.
var mediaKinds = map[mp.Type]string{
	mp.TypeImage: "image", mp.TypeVoice: "voice", mp.TypeVideo: "video", mp.TypeShortVideo: "video",
}

// mediaFilename names a fetched medium after its kind and message, with
// the extension of its type (or the voice format WeChat named).
func mediaFilename(kind string, msg *mp.Message, contentType string) string {
	ext := ""
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case msg.MsgType == mp.TypeVoice && msg.Format != "":
		ext = "." + strings.ToLower(msg.Format)
	case commonExt[mt] != "":
		ext = commonExt[mt]
	case mt != "":
		if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
			ext = exts[0]
		}
	}
	if len(ext) > 10 || strings.ContainsAny(ext, "/\\") {
		ext = ""
	}
	return fmt.Sprintf("wechat-%s-%d%s", kind, msg.MsgID, ext)
}

// commonExt is the usual extension of the types WeChat's media come in,
// where mime's first (alphabetical) one is not it.
var commonExt = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
	"audio/amr": ".amr", "audio/mpeg": ".mp3", "video/mp4": ".mp4",
}

func (w *Worker) group(tenantID string) string {
	if w.Group == nil {
		return ""
	}
	return w.Group(tenantID)
}

// Describe is the text a message becomes, in the user's words where it
// has any: a text's content, a voice message's recognised speech, a
// link's title and URL, a place's name and coordinates.
func Describe(m *mp.Message) string {
	var s string
	switch m.MsgType {
	case mp.TypeText:
		s = m.Content
	case mp.TypeVoice:
		s = cmp.Or(strings.TrimSpace(m.Recognition), "[语音 voice message]")
	case mp.TypeImage:
		s = "[图片 image]"
	case mp.TypeVideo, mp.TypeShortVideo:
		s = "[视频 video]"
	case mp.TypeLocation:
		s = fmt.Sprintf("[位置 location] %s (%s, %s)", m.Label, m.LocationX, m.LocationY)
	case mp.TypeLink:
		s = fmt.Sprintf("[链接 link] %s\n%s\n%s", m.Title, m.Description, m.URL)
	default:
		s = fmt.Sprintf("[%s]", m.MsgType)
	}
	return cmp.Or(strings.TrimSpace(s), "(empty message)")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}
