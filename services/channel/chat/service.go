package chat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/text"
)

// Store is the chat's side of the channel store.
type Store interface {
	ChatVisitor(ctx context.Context, tenant, id string) (store.ChatVisitor, bool, error)
	SaveChatVisitor(ctx context.Context, v store.ChatVisitor) (store.ChatVisitor, error)
	OpenChat(ctx context.Context, c store.ChatConversation) (store.ChatConversation, error)
	ChatConversation(ctx context.Context, tenant, ticketID string) (store.ChatConversation, bool, error)
	UpdateChat(ctx context.Context, tenant, ticketID string, mutate func(*store.ChatConversation) (bool, error)) (store.ChatConversation, bool, error)
	AppendChatMessage(ctx context.Context, m store.ChatMessage) (store.ChatMessage, store.ChatConversation, bool, error)
	ChatMessages(ctx context.Context, tenant, ticketID string, afterSeq int64, limit int) ([]store.ChatMessage, error)
	AwaitingChats(ctx context.Context, limit int) ([]store.ChatConversation, error)
	ChatOffers(ctx context.Context, tenant string, groups []string, limit int) ([]store.ChatConversation, error)
	ReportChatPresence(ctx context.Context, p store.ChatPresence) error
	ChatGroupsOnline(ctx context.Context, at time.Time) (map[string][]string, error)

	// Contacts: a visitor is a contact with a web identity, and gets the
	// e-mail address it leaves.
	ResolveIdentity(ctx context.Context, tenant string, id store.Identity, displayName string) (store.Contact, bool, error)
	UpdateContact(ctx context.Context, tenant, id string, ifVersion int64, mutate func(*store.Contact) error) (store.Contact, error)
}

// Tenants says which tenants chat, and how.
type Tenants func(tenantID string) (tenant.ChatSettings, bool)

// Limits bound what visitors send.
type Limits struct {
	// MaxMessageBytes is the longest message, in bytes of UTF-8.
	MaxMessageBytes int
	// PerVisitor limits one visitor's messages; its typing and read
	// signals may come ten times as often.
	PerVisitor auth.Rate
	// NewVisitors limits the visitors one client address makes.
	NewVisitors auth.Rate
}

// Service serves ChatVisitorService (through the gateway) and ChatService
// (agents).
type Service struct {
	channelv1.UnimplementedChatVisitorServiceServer
	channelv1.UnimplementedChatServiceServer

	store   Store
	tickets ticketv1.TicketServiceClient
	tokens  *Tokens
	hub     *Hub
	tenants Tenants
	limits  Limits
	log     *slog.Logger

	perVisitor, perSignal, newVisitors *auth.Limiter
	metrics                            *metrics

	// PresenceTTL is how long a presence report holds (60 s when zero).
	PresenceTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// NewService returns the chat service.
func NewService(st Store, tickets ticketv1.TicketServiceClient, tokens *Tokens, hub *Hub, tenants Tenants, limits Limits, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store: st, tickets: tickets, tokens: tokens, hub: hub, tenants: tenants, limits: limits, log: log,
		perVisitor: auth.NewLimiter(limits.PerVisitor), newVisitors: auth.NewLimiter(limits.NewVisitors),
		perSignal: auth.NewLimiter(auth.Rate{PerSecond: 10 * limits.PerVisitor.PerSecond, Burst: 10 * limits.PerVisitor.Burst}),
		metrics:   newMetrics(),
	}
}

// Follower is the follower of the ticket events for this service's
// chats: the same store, hub and metrics.
func (s *Service) Follower() *Follower {
	return &Follower{Store: s.store, Hub: s.hub, Log: s.log, metrics: s.metrics}
}

// Register serves ChatVisitorService and ChatService on g.
func (s *Service) Register(g grpc.ServiceRegistrar) {
	channelv1.RegisterChatVisitorServiceServer(g, s)
	channelv1.RegisterChatServiceServer(g, s)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// tenantOf is the call's tenant, which must chat.
func (s *Service) tenantOf(ctx context.Context) (string, tenant.ChatSettings, error) {
	id := cmp.Or(tenant.From(ctx), auth.From(ctx).GetTenant())
	settings, ok := s.tenants(id)
	if !ok {
		return "", tenant.ChatSettings{}, status.Errorf(codes.NotFound, "tenant %q has no web chat", id)
	}
	return id, settings, nil
}

// visitor checks a visitor's token.
func (s *Service) visitor(tid, token string) (string, error) {
	id, err := s.tokens.Verify(tid, token)
	if err != nil {
		return "", status.Error(codes.Unauthenticated, "token: not a visitor token of this tenant; start a visit for a new one")
	}
	return id, nil
}

// StartChatVisit implements channelv1.ChatVisitorServiceServer.
func (s *Service) StartChatVisit(ctx context.Context, req *channelv1.StartChatVisitRequest) (*channelv1.StartChatVisitResponse, error) {
	tid, _, err := s.tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	token := req.GetToken()
	vid, err := s.tokens.Verify(tid, token)
	if err != nil {
		if d := s.newVisitors.Allow(tid+"/"+auth.ClientKey(auth.ClientIP(ctx)), s.now()); !d.Allowed {
			return nil, throttled(ctx, d, "new visitors from this address")
		}
		token, vid = s.tokens.Issue(tid)
	}
	resp := &channelv1.StartChatVisitResponse{Token: token, VisitorId: vid, MaxMessageBytes: int32(s.limits.MaxMessageBytes)}
	v, ok, err := s.store.ChatVisitor(ctx, tid, vid)
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	if ok && v.TicketID != "" {
		c, ok, err := s.store.ChatConversation(ctx, tid, v.TicketID)
		if err != nil {
			return nil, s.storeError(ctx, err)
		}
		if ok {
			resp.Conversation = conversationProto(c)
		}
	}
	return resp, nil
}

// CheckText says what is wrong with a visitor's message, naming the
// field as the visitor's API does: empty, too long, or holding control
// characters other than tab and line breaks.
func CheckText(field, s string, maxBytes int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%s: is empty; accepted: 1 to %d bytes of text", field, maxBytes)
	case len(s) > maxBytes:
		return fmt.Errorf("%s: has %d bytes; accepted: at most %d bytes of text (UTF-8)", field, len(s), maxBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s: is not UTF-8 text", field)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("%s: holds the control character U+%04X at byte %d; accepted: text without control characters other than tab and line breaks", field, r, i)
	}
	return nil
}

// PostChatMessage implements channelv1.ChatVisitorServiceServer.
func (s *Service) PostChatMessage(ctx context.Context, req *channelv1.PostChatMessageRequest) (*channelv1.PostChatMessageResponse, error) {
	tid, settings, err := s.tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	vid, err := s.visitor(tid, req.GetToken())
	if err != nil {
		return nil, err
	}
	if err := CheckText("text", req.GetText(), s.limits.MaxMessageBytes); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if d := s.perVisitor.Allow(tid+"/"+vid, s.now()); !d.Allowed {
		return nil, throttled(ctx, d, "messages from this visitor")
	}
	v, err := s.ensureVisitor(ctx, tid, vid, req.GetLocale())
	if err != nil {
		return nil, err
	}
	conv, err := s.currentChat(ctx, v, settings, req.GetClientId())
	if err != nil {
		return nil, err
	}
	m, conv, err := s.post(ctx, v, conv, settings, req.GetClientId(), req.GetText())
	if err != nil {
		return nil, err
	}
	return &channelv1.PostChatMessageResponse{Message: messageProto(m), Conversation: conversationProto(conv)}, nil
}

// ensureVisitor returns the visitor's record, making it (with its contact)
// on its first message.
func (s *Service) ensureVisitor(ctx context.Context, tid, vid, locale string) (store.ChatVisitor, error) {
	v, ok, err := s.store.ChatVisitor(ctx, tid, vid)
	if err != nil {
		return v, s.storeError(ctx, err)
	}
	if ok && v.ContactID != "" {
		return v, nil
	}
	contact, _, err := s.store.ResolveIdentity(ctx, tid, store.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_WEB, Value: vid}, visitorName(vid))
	if err != nil {
		return v, s.storeError(ctx, err)
	}
	v.Tenant, v.ID, v.ContactID = tid, vid, contact.ID
	if v.Locale == "" {
		v.Locale = Locale(locale)
	}
	if v, err = s.store.SaveChatVisitor(ctx, v); err != nil {
		return v, s.storeError(ctx, err)
	}
	return v, nil
}

// visitorName is what a visitor is called until it says otherwise.
func visitorName(vid string) string { return "Web visitor " + vid[:6] }

// Locale is the widget's language for a page's: zh-CN for Chinese, else
// en.
func Locale(s string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "zh") {
		return "zh-CN"
	}
	return "en"
}

// currentChat returns the visitor's chat, opening one when it has none
// or its last is closed. clientID opens it.
func (s *Service) currentChat(ctx context.Context, v store.ChatVisitor, settings tenant.ChatSettings, clientID string) (store.ChatConversation, error) {
	if v.TicketID != "" {
		c, ok, err := s.store.ChatConversation(ctx, v.Tenant, v.TicketID)
		if err != nil {
			return c, s.storeError(ctx, err)
		}
		if ok && c.State != store.ChatClosed {
			return c, nil
		}
	}
	// Stored first, with the ticket's ID chosen here: the ticket is then
	// created under that ID, and a retry finds the chat.
	c, err := s.store.OpenChat(ctx, store.ChatConversation{
		Tenant: v.Tenant, TicketID: store.NewID(), VisitorID: v.ID, ContactID: v.ContactID, Group: settings.Group, Opener: clientID,
	})
	if err != nil {
		return c, s.storeError(ctx, err)
	}
	s.hub.Wake(VisitorTopic(v.Tenant, v.ID))
	return c, nil
}

// post writes the message: the ticket with it as the description when it
// opens the chat, else a public comment. Both are idempotent by the
// visitor's message ID, so a retry writes nothing twice.
func (s *Service) post(ctx context.Context, v store.ChatVisitor, conv store.ChatConversation, settings tenant.ChatSettings, clientID, body string) (store.ChatMessage, store.ChatConversation, error) {
	out := tenant.Outgoing(ctx, v.Tenant)
	key := "chat:" + v.Tenant + ":" + v.ID + ":" + clientID
	name := visitorName(v.ID)
	m := store.ChatMessage{Tenant: v.Tenant, TicketID: conv.TicketID, ClientID: clientID, Author: store.ChatByVisitor, AuthorName: name, Body: body}
	if conv.LastSeq == 0 || clientID == conv.Opener {
		created, err := s.tickets.CreateTicket(out, &ticketv1.CreateTicketRequest{
			RequestId: key,
			TicketId:  conv.TicketID,
			Ticket: &ticketv1.Ticket{
				Subject:     text.Truncate(firstLine(body), 80),
				Description: body,
				Channel:     ticketv1.Channel_CHANNEL_CHAT,
				Group:       conv.Group,
				Requester:   &ticketv1.Requester{Name: name, Identity: "web:" + v.ID, ContactId: v.ContactID},
			},
		})
		switch status.Code(err) {
		case codes.OK:
			t := created.GetTicket()
			m.SourceID, m.CreateTime = t.GetId(), t.GetCreateTime().AsTime()
			return s.append(ctx, m)
		case codes.AlreadyExists:
			// Another message opened the ticket: this one is a comment.
		default:
			return m, conv, ticketError(err, "open the chat's ticket")
		}
	}
	added, err := s.tickets.AddComment(out, &ticketv1.AddCommentRequest{
		TicketId: conv.TicketID, RequestId: key,
		Comment: &ticketv1.Comment{Author: name, AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER, Body: body, Visibility: ticketv1.Visibility_VISIBILITY_PUBLIC},
	})
	if code := status.Code(err); code == codes.NotFound || code == codes.FailedPrecondition {
		// Closed (or gone) since: the message opens a new chat.
		if _, _, err := s.store.UpdateChat(ctx, v.Tenant, conv.TicketID, func(c *store.ChatConversation) (bool, error) {
			changed := c.State != store.ChatClosed
			c.State = store.ChatClosed
			return changed, nil
		}); err != nil {
			return m, conv, s.storeError(ctx, err)
		}
		v.TicketID = conv.TicketID
		next, err := s.currentChat(ctx, v, settings, clientID)
		if err != nil {
			return m, conv, err
		}
		return s.post(ctx, v, next, settings, clientID, body)
	}
	if err != nil {
		return m, conv, ticketError(err, "add the message to the chat's ticket")
	}
	c := added.GetComment()
	m.SourceID, m.CreateTime = c.GetId(), c.GetCreateTime().AsTime()
	return s.append(ctx, m)
}

// append indexes a message and wakes the chat's streams.
func (s *Service) append(ctx context.Context, m store.ChatMessage) (store.ChatMessage, store.ChatConversation, error) {
	got, conv, created, err := s.store.AppendChatMessage(ctx, m)
	if err != nil {
		return got, conv, s.storeError(ctx, err)
	}
	if created {
		s.metrics.message(ctx, m.Author)
		s.hub.Wake(ChatTopic(conv.Tenant, conv.TicketID), VisitorTopic(conv.Tenant, conv.VisitorID))
	}
	return got, conv, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

// SignalChatVisit implements channelv1.ChatVisitorServiceServer.
func (s *Service) SignalChatVisit(ctx context.Context, req *channelv1.SignalChatVisitRequest) (*channelv1.SignalChatVisitResponse, error) {
	tid, _, err := s.tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	vid, err := s.visitor(tid, req.GetToken())
	if err != nil {
		return nil, err
	}
	if d := s.perSignal.Allow(tid+"/"+vid, s.now()); !d.Allowed {
		return nil, throttled(ctx, d, "signals from this visitor")
	}
	v, ok, err := s.store.ChatVisitor(ctx, tid, vid)
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	if !ok || v.TicketID == "" {
		return &channelv1.SignalChatVisitResponse{}, nil // no chat yet: nobody to tell
	}
	if req.Typing != nil {
		s.hub.Typing(ChatTopic(tid, v.TicketID), &channelv1.ChatTyping{Author: channelv1.ChatAuthor_CHAT_AUTHOR_VISITOR, AuthorName: visitorName(vid), Typing: req.GetTyping()})
	}
	if seq := req.GetReadSeq(); seq > 0 {
		if err := s.markRead(ctx, tid, v.TicketID, seq, false); err != nil {
			return nil, err
		}
	}
	return &channelv1.SignalChatVisitResponse{}, nil
}

// markRead moves a read receipt forward (never past the chat's last
// message) and wakes the chat's streams when it moved.
func (s *Service) markRead(ctx context.Context, tid, ticketID string, seq int64, agent bool) error {
	c, changed, err := s.store.UpdateChat(ctx, tid, ticketID, func(c *store.ChatConversation) (bool, error) {
		seq := min(seq, c.LastSeq)
		read := &c.VisitorRead
		if agent {
			read = &c.AgentRead
		}
		if seq <= *read {
			return false, nil
		}
		*read = seq
		return true, nil
	})
	if err != nil {
		return s.storeError(ctx, err)
	}
	if changed {
		s.hub.Wake(ChatTopic(tid, ticketID), VisitorTopic(tid, c.VisitorID))
	}
	return nil
}

// SetChatVisitEmail implements channelv1.ChatVisitorServiceServer.
func (s *Service) SetChatVisitEmail(ctx context.Context, req *channelv1.SetChatVisitEmailRequest) (*channelv1.SetChatVisitEmailResponse, error) {
	tid, _, err := s.tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	vid, err := s.visitor(tid, req.GetToken())
	if err != nil {
		return nil, err
	}
	addr, err := store.NormalizeEmail(req.GetEmail())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "email: %v", err)
	}
	if d := s.perVisitor.Allow(tid+"/"+vid, s.now()); !d.Allowed {
		return nil, throttled(ctx, d, "requests from this visitor")
	}
	v, ok, err := s.store.ChatVisitor(ctx, tid, vid)
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	if !ok || v.TicketID == "" {
		return nil, status.Error(codes.FailedPrecondition, "email: there is no chat to continue by e-mail yet; send a message first")
	}
	conv, ok, err := s.store.ChatConversation(ctx, tid, v.TicketID)
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	if !ok || conv.State == store.ChatClosed {
		return nil, status.Error(codes.FailedPrecondition, "email: the chat is closed; send a message to start a new one")
	}
	requester, err := s.emailContact(ctx, v, addr, req.GetLocale())
	if err != nil {
		return nil, err
	}
	out := tenant.Outgoing(ctx, tid)
	if _, err := s.tickets.UpdateTicket(out, &ticketv1.UpdateTicketRequest{
		Ticket: &ticketv1.Ticket{Id: conv.TicketID, Requester: &ticketv1.Requester{
			Name: visitorName(vid), Email: addr, Identity: "web:" + vid, ContactId: requester,
		}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"requester"}},
	}); err != nil {
		return nil, ticketError(err, "give the chat's ticket the address")
	}
	conv, changed, err := s.store.UpdateChat(ctx, tid, conv.TicketID, func(c *store.ChatConversation) (bool, error) {
		if c.State == store.ChatEmail && c.Email == addr && c.ContactID == requester {
			return false, nil
		}
		c.State, c.Email, c.ContactID = store.ChatEmail, addr, requester
		return true, nil
	})
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	if changed {
		s.note(ctx, tid, conv.TicketID, "chat-email:"+addr,
			fmt.Sprintf("The visitor left the address %s: agents' public replies on this chat go to it by e-mail from now on.", addr))
		s.hub.Wake(ChatTopic(tid, conv.TicketID), VisitorTopic(tid, vid))
	}
	return &channelv1.SetChatVisitEmailResponse{Conversation: conversationProto(conv)}, nil
}

// emailContact gives the visitor's contact the address and returns the
// contact the chat's requester becomes: the visitor's, or the contact
// that holds the address already. (That one is not merged with the
// visitor's: the address is the visitor's word, not proven; agents merge
// the two contacts if they are one person.)
func (s *Service) emailContact(ctx context.Context, v store.ChatVisitor, addr, locale string) (string, error) {
	id := store.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_EMAIL, Value: addr}
	_, err := s.store.UpdateContact(ctx, v.Tenant, v.ContactID, 0, func(c *store.Contact) error {
		primary := true
		for _, have := range c.Identities {
			if have.Type == id.Type && have.Value == id.Value {
				return errHas
			}
			primary = primary && (have.Type != id.Type || !have.Primary)
		}
		c.Identities = append(c.Identities, store.Identity{Type: id.Type, Value: id.Value, Primary: primary})
		if c.Locale == "" {
			c.Locale = Locale(cmp.Or(locale, v.Locale))
		}
		return nil
	})
	var conflict *store.ConflictError
	switch {
	case err == nil, errors.Is(err, errHas):
		return v.ContactID, nil
	case errors.As(err, &conflict):
		holder, _, err := s.store.ResolveIdentity(ctx, v.Tenant, id, "")
		if err != nil {
			return "", s.storeError(ctx, err)
		}
		return holder.ID, nil
	}
	return "", s.storeError(ctx, err)
}

var errHas = errors.New("the contact has the address")

// note tells the agents of a chat's ticket something, once per key.
func (s *Service) note(ctx context.Context, tid, ticketID, key, body string) {
	addNote(ctx, s.tickets, s.log, tid, ticketID, key, body)
}

// addNote adds an internal note to a chat's ticket, once per key (a
// failure is logged: the note only tells agents what the chat shows).
func addNote(ctx context.Context, tickets ticketv1.TicketServiceClient, log *slog.Logger, tid, ticketID, key, body string) {
	_, err := tickets.AddComment(tenant.Outgoing(ctx, tid), &ticketv1.AddCommentRequest{
		TicketId: ticketID, RequestId: key + ":" + ticketID,
		Comment: &ticketv1.Comment{Author: "kubedesk", AuthorType: ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM, Body: body, Visibility: ticketv1.Visibility_VISIBILITY_INTERNAL},
	})
	if err != nil {
		log.WarnContext(ctx, "chat note not added", "tenant", tid, "ticket", ticketID, "err", err)
	}
}

// throttled is the error of a refused request, with the Retry-After and
// RateLimit metadata the gateway turns into headers.
func throttled(ctx context.Context, d auth.Decision, what string) error {
	md, retry := d.Refusal()
	_ = grpc.SetHeader(ctx, md)
	return status.Errorf(codes.ResourceExhausted, "too many %s; retry in %d s", what, retry)
}

// storeError is a store failure as a caller sees it.
func (s *Service) storeError(ctx context.Context, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	s.log.ErrorContext(ctx, "chat store failed", "err", err)
	return status.Error(codes.Internal, "the chat store failed; nothing was changed")
}

// ticketError is a failed call to the ticket service as the caller sees
// it: its code, and what was being done.
func ticketError(err error, what string) error {
	st := status.Convert(err)
	return status.Errorf(st.Code(), "%s: the ticket service: %s", what, st.Message())
}

func conversationProto(c store.ChatConversation) *channelv1.ChatConversation {
	return &channelv1.ChatConversation{
		TicketId: c.TicketID, VisitorId: c.VisitorID, ContactId: c.ContactID, Group: c.Group,
		State: stateProto[c.State], Email: c.Email, StartTime: timestamppb.New(c.StartTime),
		LastSeq: c.LastSeq, VisitorReadSeq: c.VisitorRead, AgentReadSeq: c.AgentRead,
	}
}

var stateProto = map[string]channelv1.ChatState{
	store.ChatWaiting:  channelv1.ChatState_CHAT_STATE_WAITING,
	store.ChatOffered:  channelv1.ChatState_CHAT_STATE_OFFERED,
	store.ChatAnswered: channelv1.ChatState_CHAT_STATE_ANSWERED,
	store.ChatAskEmail: channelv1.ChatState_CHAT_STATE_ASK_EMAIL,
	store.ChatEmail:    channelv1.ChatState_CHAT_STATE_EMAIL,
	store.ChatClosed:   channelv1.ChatState_CHAT_STATE_CLOSED,
}

var authorProto = map[string]channelv1.ChatAuthor{
	store.ChatByVisitor: channelv1.ChatAuthor_CHAT_AUTHOR_VISITOR,
	store.ChatByAgent:   channelv1.ChatAuthor_CHAT_AUTHOR_AGENT,
	store.ChatBySystem:  channelv1.ChatAuthor_CHAT_AUTHOR_SYSTEM,
}

func messageProto(m store.ChatMessage) *channelv1.ChatMessage {
	cm := &channelv1.ChatMessage{
		Seq: m.Seq, Author: authorProto[m.Author], AuthorName: m.AuthorName, Text: m.Body,
		CreateTime: timestamppb.New(m.CreateTime), ClientId: m.ClientID,
	}
	if m.SourceID != m.TicketID {
		cm.CommentId = m.SourceID
	}
	return cm
}
