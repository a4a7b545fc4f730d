package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/blob"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/etag"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/updatemask"
)

// Metadata keys the gateway fills from HTTP headers.
const (
	IdempotencyKeyMetadata = "idempotency-key" // Idempotency-Key
)

// Config holds the ticket service's tunables: the ticket section of the
// binary's configuration.
type Config struct {
	// Matrix maps impact x urgency to priority; zero means DefaultMatrix.
	Matrix Matrix `json:"priorityMatrix,omitzero"`
	// WatchPollInterval bounds how long WatchEvents waits before looking for
	// events that arrived without a notification (e.g. on PostgreSQL an
	// event that became visible when an older transaction finished).
	WatchPollInterval time.Duration `json:"-"`
	// WatchBookmarkInterval is how long an idle WatchEvents stream waits
	// between bookmarks.
	WatchBookmarkInterval time.Duration `json:"-"`
	// IdempotencyKeyTTL is how long an idempotency key is kept: a retry
	// within it returns the first result; after it (and the janitor's next
	// sweep) the key is gone and a retry creates anew. Zero means
	// DefaultIdempotencyKeyTTL.
	IdempotencyKeyTTL config.Duration `json:"idempotencyKeyTTL,omitempty"`
	// IdempotencyKeySweep is how often the janitor deletes expired keys;
	// zero means every 10 minutes.
	IdempotencyKeySweep time.Duration `json:"-"`
	// IdempotencyKeyBatch is how many keys the janitor deletes per
	// transaction, so that no sweep holds locks for long; zero means 500.
	IdempotencyKeyBatch int `json:"-"`
	// MaxAttachmentBytes bounds one attachment's upload (UploadBlob); zero
	// means DefaultMaxAttachmentBytes.
	MaxAttachmentBytes int64 `json:"maxAttachmentBytes,omitempty"`
	// BlobURL is where attachments' bytes are kept (blob.Open): empty for
	// the blobs directory under the data directory.
	BlobURL string `json:"blobURL,omitempty"`
	// Now is the service's clock; nil is the wall clock. Tests inject one.
	Now func() time.Time `json:"-"`
}

// Validate names the first bad field of the ticket section, as the binary
// configures it (its defaults applied: a zero here was set so).
func (c Config) Validate() error {
	if c.IdempotencyKeyTTL <= 0 {
		return fmt.Errorf("ticket.idempotencyKeyTTL: %s is not positive; accepted: e.g. 24h", time.Duration(c.IdempotencyKeyTTL))
	}
	if c.MaxAttachmentBytes <= 0 {
		return fmt.Errorf("ticket.maxAttachmentBytes: %d is not positive; accepted: a number of bytes, e.g. %d (25 MiB)", c.MaxAttachmentBytes, DefaultMaxAttachmentBytes)
	}
	if err := c.Matrix.Validate(); err != nil {
		return fmt.Errorf("ticket.%w", err)
	}
	return nil
}

// DefaultMaxAttachmentBytes is the largest attachment unless configured
// (config maxAttachmentBytes): 25 MiB.
const DefaultMaxAttachmentBytes = 25 << 20

// DefaultIdempotencyKeyTTL is how long idempotency keys are kept unless
// configured (config idempotencyKeyTTL).
const DefaultIdempotencyKeyTTL = 24 * time.Hour

// Server implements ticketv1.TicketServiceServer on a Store.
type Server struct {
	ticketv1.UnimplementedTicketServiceServer

	store  Store
	reads  *sharedReads // WatchEvents' reads of the event stream
	matrix Matrix
	poll   time.Duration
	// bookmarkEvery spaces the bookmarks of an idle watch stream.
	bookmarkEvery time.Duration
	// keyTTL, keySweep and keyBatch drive the idempotency key janitor.
	keyTTL   time.Duration
	keySweep time.Duration
	keyBatch int
	now      func() time.Time
	log      *slog.Logger
	// blobs keeps attachments' bytes; nil: attachments are refused.
	blobs         blob.Store
	maxAttachment int64
	// contacts links requesters named by e-mail to their contacts; nil:
	// requesters stay as given.
	contacts Contacts
}

// Option configures a Server beyond its Config.
type Option func(*Server)

// WithBlobs gives the server the blob store of attachments' bytes.
// Without it, attachments are refused (FAILED_PRECONDITION).
func WithBlobs(b blob.Store) Option { return func(s *Server) { s.blobs = b } }

// NewServer returns the ticket service.
func NewServer(store Store, cfg Config, log *slog.Logger, opts ...Option) *Server {
	if cfg.Matrix == (Matrix{}) {
		cfg.Matrix = DefaultMatrix
	}
	if cfg.WatchPollInterval <= 0 {
		cfg.WatchPollInterval = 500 * time.Millisecond
	}
	if cfg.WatchBookmarkInterval <= 0 {
		cfg.WatchBookmarkInterval = 30 * time.Second
	}
	if cfg.IdempotencyKeyTTL <= 0 {
		cfg.IdempotencyKeyTTL = config.Duration(DefaultIdempotencyKeyTTL)
	}
	if cfg.IdempotencyKeySweep <= 0 {
		cfg.IdempotencyKeySweep = 10 * time.Minute
	}
	if cfg.IdempotencyKeyBatch <= 0 {
		cfg.IdempotencyKeyBatch = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttachmentBytes <= 0 {
		cfg.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	s := &Server{
		store:         store,
		reads:         newSharedReads(store),
		matrix:        cfg.Matrix,
		poll:          cfg.WatchPollInterval,
		bookmarkEvery: cfg.WatchBookmarkInterval,
		keyTTL:        time.Duration(cfg.IdempotencyKeyTTL),
		keySweep:      cfg.IdempotencyKeySweep,
		keyBatch:      cfg.IdempotencyKeyBatch,
		now:           func() time.Time { return cfg.Now().UTC().Truncate(time.Microsecond) },
		log:           log,
		maxAttachment: cfg.MaxAttachmentBytes,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// RunJanitor sweeps expired idempotency keys at start and then every
// keySweep until ctx ends (it then returns ctx's error); the binary runs
// it as one of the ticket module's loops. A failed sweep is
// logged and tried again at the next tick: the keys wait a little longer,
// nothing else suffers.
func (s *Server) RunJanitor(ctx context.Context) error {
	tick := time.NewTicker(s.keySweep)
	defer tick.Stop()
	for {
		n, err := s.SweepIdempotencyKeys(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			s.log.WarnContext(ctx, "deleting expired idempotency keys", "err", err, "deleted", n)
		case n > 0:
			s.log.DebugContext(ctx, "deleted expired idempotency keys", "deleted", n, "ttl", s.keyTTL.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// SweepIdempotencyKeys deletes the idempotency keys recorded more than
// IdempotencyKeyTTL ago, IdempotencyKeyBatch per transaction, until a
// batch comes back short, and returns how many went. RunJanitor runs it
// periodically.
func (s *Server) SweepIdempotencyKeys(ctx context.Context) (int, error) {
	before := s.now().Add(-s.keyTTL)
	total := 0
	for {
		n, err := s.store.DeleteIdempotencyKeys(ctx, before, s.keyBatch)
		total += n
		if err != nil || n < s.keyBatch {
			return total, err
		}
	}
}

// Register adds the ticket service to a gRPC server: the public
// TicketService and the internal TicketSLAService, TicketBlobService and
// TicketRoutingService, which the gateway does not expose.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	ticketv1.RegisterTicketServiceServer(g, s)
	ticketv1.RegisterTicketSLAServiceServer(g, slaServer{s: s})
	ticketv1.RegisterTicketBlobServiceServer(g, blobServer{s: s})
	ticketv1.RegisterTicketRoutingServiceServer(g, routingServer{s: s})
}

// slaServer implements the internal ticketv1.TicketSLAServiceServer on the
// ticket service's store. It is a type of its own because each generated
// service has its own Unimplemented base to embed.
type slaServer struct {
	ticketv1.UnimplementedTicketSLAServiceServer
	s *Server
}

// SetTicketSLA implements ticketv1.TicketSLAServiceServer. The SLA worker
// calls it; the ticket's version and etag stay as they are.
func (x slaServer) SetTicketSLA(ctx context.Context, req *ticketv1.SetTicketSLARequest) (*ticketv1.SetTicketSLAResponse, error) {
	s := x.s
	if req.GetTicketId() == "" {
		return nil, status.Error(codes.InvalidArgument, "ticket_id: is required")
	}
	sla, err := slaFromProto(req.GetSla())
	if err != nil {
		return nil, err
	}
	var escalate Mutation
	if e := req.GetEscalation(); e.GetGroup() != "" || e.GetRaisePriorityFrom() != ticketv1.Priority_PRIORITY_UNSPECIFIED {
		now := s.now()
		esc := Escalation{Group: e.GetGroup(), RaisePriorityFrom: Priority(e.GetRaisePriorityFrom())}
		escalate = func(t *Ticket) ([]Change, error) {
			changes, err := t.Escalate(esc, s.matrix, now)
			return changes, ruleError(err)
		}
	}
	t, err := s.store.SetSLA(ctx, tenant.From(ctx), req.GetTicketId(), sla, escalate)
	if err != nil {
		return nil, s.storeError(ctx, err, req.GetTicketId())
	}
	return &ticketv1.SetTicketSLAResponse{Ticket: ToProto(t)}, nil
}

// routingServer implements the internal ticketv1.TicketRoutingServiceServer
// on the ticket service's store.
type routingServer struct {
	ticketv1.UnimplementedTicketRoutingServiceServer
	s *Server
}

// AssignTicket implements ticketv1.TicketRoutingServiceServer. The routing
// service calls it to apply its decisions.
func (x routingServer) AssignTicket(ctx context.Context, req *ticketv1.AssignTicketRequest) (*ticketv1.AssignTicketResponse, error) {
	s := x.s
	acc := accessOf(ctx)
	if acc.p != nil && !acc.service() {
		// The access declaration lets only kubedesk's modules in; this is
		// in case it changes.
		return nil, status.Error(codes.PermissionDenied, "AssignTicket applies the routing service's decisions; it is for kubedesk's own modules")
	}
	switch {
	case req.GetTicketId() == "":
		return nil, status.Error(codes.InvalidArgument, "ticket_id: is required")
	case req.GetDecision().GetId() == "":
		return nil, status.Error(codes.InvalidArgument, "decision.id: is required; accepted: the routing decision's ID")
	case req.GetPriorityAtLeast() < 0 || req.GetPriorityAtLeast() > ticketv1.Priority_PRIORITY_P5:
		return nil, status.Errorf(codes.InvalidArgument, "priority_at_least: %d is not a priority; accepted: PRIORITY_P1 to PRIORITY_P5, or unset for no floor", req.GetPriorityAtLeast())
	}
	r := routingFromProto(req.GetDecision())
	a := assignmentFromProto(req)
	now := s.now()
	var note *Comment
	if body := req.GetNote(); strings.TrimSpace(body) != "" {
		// Written as by the caller, the routing service: the note's text
		// as it is, its actor the service.
		note = &Comment{
			ID:         newID(),
			Tenant:     tenant.From(ctx),
			TicketID:   req.GetTicketId(),
			Body:       body,
			Visibility: VisibilityInternal,
			CreateTime: now,
			Actor:      ActorFrom(ctx),
		}
		note.Author, note.AuthorType = acc.author("", "")
		if acc.p == nil { // no principal: only in unit tests
			note.Author, note.AuthorType = "routing", AuthorSystem
		}
	}
	t, applied, err := s.store.ApplyRouting(ctx, tenant.From(ctx), req.GetTicketId(), r, note, func(t *Ticket) ([]Change, error) {
		changes, err := t.Route(a, s.matrix, now)
		return changes, routeError(err)
	})
	if errors.Is(err, ErrDecisionReused) {
		return nil, status.Errorf(codes.InvalidArgument, "decision.id: %q was applied to another ticket; accepted: a new ID for each decision", r.ID)
	}
	if err != nil {
		return nil, s.storeError(ctx, err, req.GetTicketId())
	}
	return &ticketv1.AssignTicketResponse{Ticket: ToProto(t), Applied: applied}, nil
}

// routeError turns an error of Ticket.Route into a gRPC status: ABORTED
// for a decision the ticket has moved past (decide again),
// FAILED_PRECONDITION for a ticket no longer routed.
func routeError(err error) error {
	var (
		stale       *StaleError
		notRoutable *NotRoutableError
	)
	switch {
	case errors.As(err, &stale):
		return status.Error(codes.Aborted, err.Error())
	case errors.As(err, &notRoutable):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return ruleError(err)
}

// CreateTicket implements ticketv1.TicketServiceServer.
func (s *Server) CreateTicket(ctx context.Context, req *ticketv1.CreateTicketRequest) (*ticketv1.CreateTicketResponse, error) {
	in := req.GetTicket()
	now := s.now()
	t := Ticket{
		ID:           newID(),
		Tenant:       tenant.From(ctx),
		Subject:      strings.TrimSpace(in.GetSubject()),
		Description:  in.GetDescription(),
		Status:       StatusNew,
		Impact:       orDefault(int(in.GetImpact())),
		Urgency:      orDefault(int(in.GetUrgency())),
		Channel:      ChannelAPI,
		Requester:    requesterFromProto(in.GetRequester()),
		Group:        strings.TrimSpace(in.GetGroup()),
		Assignee:     strings.TrimSpace(in.GetAssignee()),
		Tags:         normalizeTags(in.GetTags()),
		CustomFields: orEmpty(in.GetCustomFields()),
		CreateTime:   now,
		UpdateTime:   now,
		Version:      1,
	}
	t.Priority = s.matrix.Priority(t.Impact, t.Urgency)
	if c, ok := channelFromProto[in.GetChannel()]; ok {
		t.Channel = c
	}
	if st, ok := statusFromProto[in.GetStatus()]; ok {
		if st == StatusClosed {
			return nil, status.Errorf(codes.InvalidArgument, "ticket.status: a ticket cannot be created closed; accepted: new, open, pending, on_hold, solved")
		}
		t.Status = st
	}
	if t.Status == StatusSolved {
		t.SolveTime = now
	}
	var err error
	if acc := accessOf(ctx); acc.customer {
		if err := customerTicket(in); err != nil {
			return nil, err
		}
		t.Requester = acc.requester()
	}
	if t.Attachments, err = s.attachments(ctx, "ticket.attachments", in.GetAttachments()); err != nil {
		return nil, err
	}
	if err := s.linkRequester(ctx, "ticket.requester", &t.Requester); err != nil {
		return nil, err
	}
	idem, err := idempotency(ctx, req.GetRequestId(), in)
	if err != nil {
		return nil, err
	}
	if id := req.GetTicketId(); id != "" {
		t.ID = strings.ToLower(id) // a UUID, checked by the request's validation
	}
	created, _, err := s.store.CreateTicket(ctx, t, idem)
	if err != nil {
		return nil, s.storeError(ctx, err, t.ID)
	}
	return &ticketv1.CreateTicketResponse{Ticket: ToProto(created)}, nil
}

// customerTicket refuses what a customer may not choose for a new ticket,
// naming the field: a customer asks for help, the help desk routes and
// labels the ticket. (The requester is not refused but replaced: a portal
// form may well send it.)
func customerTicket(in *ticketv1.Ticket) error {
	const why = "a customer's ticket is routed and labelled by the help desk; accepted from a customer: empty"
	switch {
	case strings.TrimSpace(in.GetGroup()) != "":
		return status.Errorf(codes.InvalidArgument, "ticket.group: %q: %s", in.GetGroup(), why)
	case strings.TrimSpace(in.GetAssignee()) != "":
		return status.Errorf(codes.InvalidArgument, "ticket.assignee: %q: %s", in.GetAssignee(), why)
	case len(in.GetTags()) > 0:
		return status.Errorf(codes.InvalidArgument, "ticket.tags: %q: %s", in.GetTags(), why)
	case len(in.GetCustomFields()) > 0:
		return status.Errorf(codes.InvalidArgument, "ticket.custom_fields: %d fields: %s", len(in.GetCustomFields()), why)
	case in.GetStatus() != ticketv1.Status_STATUS_UNSPECIFIED && in.GetStatus() != ticketv1.Status_STATUS_NEW:
		return status.Errorf(codes.InvalidArgument, "ticket.status: %s: a customer's ticket starts new; accepted from a customer: STATUS_NEW or unset", in.GetStatus())
	}
	return nil
}

// GetTicket implements ticketv1.TicketServiceServer.
func (s *Server) GetTicket(ctx context.Context, req *ticketv1.GetTicketRequest) (*ticketv1.GetTicketResponse, error) {
	t, err := s.store.GetTicket(ctx, tenant.From(ctx), req.GetId())
	if err == nil && !accessOf(ctx).sees(t) {
		err = ErrNotFound // not the caller's: as if it did not exist
	}
	if err != nil {
		return nil, s.storeError(ctx, err, req.GetId())
	}
	return &ticketv1.GetTicketResponse{Ticket: ToProto(t)}, nil
}

// ListTickets implements ticketv1.TicketServiceServer.
func (s *Server) ListTickets(ctx context.Context, req *ticketv1.ListTicketsRequest) (*ticketv1.ListTicketsResponse, error) {
	f, err := ParseFilter(req.GetFilter())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	order := ListOrder(req.GetOrderBy())
	if order != OrderNewest && order != OrderSLANextDue {
		return nil, status.Errorf(codes.InvalidArgument, "order_by: %q is not an order; accepted: empty (newest first) or %s", req.GetOrderBy(), OrderSLANextDue)
	}
	// A token is only good for the query it was made for: filter and order.
	query := req.GetFilter() + "\x00order_by=" + req.GetOrderBy()
	after, err := decodePageToken(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	// Ask for one more than the page to learn whether another page exists.
	rows, err := s.store.ListTickets(ctx, tenant.From(ctx), ListQuery{
		Filter: f, Scope: accessOf(ctx).scope, Order: order, After: after, Limit: size + 1,
	})
	if err != nil {
		return nil, s.storeError(ctx, err, "")
	}
	resp := &ticketv1.ListTicketsResponse{}
	if len(rows) > size {
		rows = rows[:size]
		last := PositionOf(rows[size-1])
		if order == OrderNewest {
			last.Due = time.Time{} // not part of this order's position
		}
		resp.NextPageToken = encodePageToken(last, query)
	}
	resp.Tickets = make([]*ticketv1.Ticket, len(rows))
	for i, t := range rows {
		resp.Tickets[i] = ToProto(t)
	}
	return resp, nil
}

// UpdateTicket implements ticketv1.TicketServiceServer.
func (s *Server) UpdateTicket(ctx context.Context, req *ticketv1.UpdateTicketRequest) (*ticketv1.UpdateTicketResponse, error) {
	in := req.GetTicket()
	if in.GetId() == "" {
		return nil, status.Error(codes.InvalidArgument, "ticket.id: is required")
	}
	paths, err := updatemask.Paths(req.GetUpdateMask(), req.GetTicket(), Updatable)
	if err != nil {
		return nil, err
	}
	want, err := etag.Expected(ctx, in.GetEtag(), "ticket")
	if err != nil {
		return nil, err
	}
	to, toErr := updateFromProto(in, paths)
	if toErr == nil && slices.Contains(paths, "requester") {
		// A new requester named by e-mail alone is that address's
		// contact; looked up before the write, which holds the row.
		if err := s.linkRequester(ctx, "ticket.requester", &to.Requester); err != nil {
			return nil, err
		}
	}
	now := s.now()
	acc := accessOf(ctx)
	t, err := s.store.UpdateTicket(ctx, tenant.From(ctx), in.GetId(), func(t *Ticket) ([]Change, error) {
		// First, so that no other answer tells the caller the ticket
		// exists. The update may take the ticket out of the caller's
		// scope (an agent handing it to another group): that is allowed.
		if !acc.sees(*t) {
			return nil, ErrNotFound
		}
		if want != 0 && t.Version != want {
			return nil, status.Errorf(codes.Aborted, "etag: ticket %q has changed since version %q (now %q); read it again and retry", t.ID, etag.Format(want), etag.Format(t.Version))
		}
		// A closed ticket is refused as closed whatever the request holds.
		if toErr != nil && t.Status != StatusClosed {
			return nil, toErr
		}
		changes, err := t.Update(to, paths, s.matrix, now)
		return changes, ruleError(err)
	})
	if err != nil {
		return nil, s.storeError(ctx, err, in.GetId())
	}
	return &ticketv1.UpdateTicketResponse{Ticket: ToProto(t)}, nil
}

// updateFromProto reads the masked fields of an update request into a
// Ticket for Ticket.Update, with the API's defaults: impact and urgency 0
// are medium, an unspecified channel is api. A missing status is an error.
func updateFromProto(in *ticketv1.Ticket, paths []string) (Ticket, error) {
	to := Ticket{
		Subject:      in.GetSubject(),
		Description:  in.GetDescription(),
		Impact:       orDefault(int(in.GetImpact())),
		Urgency:      orDefault(int(in.GetUrgency())),
		Channel:      ChannelAPI,
		Requester:    requesterFromProto(in.GetRequester()),
		Group:        in.GetGroup(),
		Assignee:     in.GetAssignee(),
		Tags:         in.GetTags(),
		CustomFields: in.GetCustomFields(),
	}
	if c, ok := channelFromProto[in.GetChannel()]; ok {
		to.Channel = c
	}
	st, ok := statusFromProto[in.GetStatus()]
	if !ok && slices.Contains(paths, "status") {
		return to, status.Error(codes.InvalidArgument, "ticket.status: is required when status is in update_mask; accepted: STATUS_NEW, STATUS_OPEN, STATUS_PENDING, STATUS_ON_HOLD, STATUS_SOLVED, STATUS_CLOSED")
	}
	to.Status = st
	return to, nil
}

// ruleError turns an error of the ticket rules into a gRPC status.
func ruleError(err error) error {
	var (
		closed     *ClosedError
		transition *TransitionError
		field      *FieldError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &closed), errors.As(err, &transition):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.As(err, &field):
		return status.Error(codes.InvalidArgument, "ticket."+err.Error())
	}
	return err
}

// AddComment implements ticketv1.TicketServiceServer. The author is the
// caller (access.author), not whom the request names.
func (s *Server) AddComment(ctx context.Context, req *ticketv1.AddCommentRequest) (*ticketv1.AddCommentResponse, error) {
	in := req.GetComment()
	now := s.now()
	acc := accessOf(ctx)
	c := Comment{
		ID:         newID(),
		Tenant:     tenant.From(ctx),
		TicketID:   req.GetTicketId(),
		Body:       in.GetBody(),
		Visibility: VisibilityPublic,
		CreateTime: now,
		Actor:      ActorFrom(ctx),
	}
	sentType := authorFromProto[in.GetAuthorType()] // "" when unset
	c.Author, c.AuthorType = acc.author(strings.TrimSpace(in.GetAuthor()), sentType)
	if v, ok := visibilityFromProto[in.GetVisibility()]; ok {
		c.Visibility = v
	}
	if c.Author == "" && acc.p != nil {
		return nil, status.Error(codes.Unauthenticated, "the credential has no ID, name or email to write the comment as")
	}
	if c.Author == "" {
		return nil, status.Error(codes.InvalidArgument, "comment.author: must not be blank")
	}
	if c.AuthorType == AuthorCustomer && c.Visibility == VisibilityInternal {
		return nil, status.Error(codes.InvalidArgument, "comment.visibility: a customer cannot write an internal note; accepted for AUTHOR_TYPE_CUSTOMER: VISIBILITY_PUBLIC")
	}
	var err error
	if c.Attachments, err = s.attachments(ctx, "comment.attachments", in.GetAttachments()); err != nil {
		return nil, err
	}
	idem, err := idempotency(ctx, req.GetRequestId(), req)
	if err != nil {
		return nil, err
	}
	out, _, err := s.store.AddComment(ctx, c, idem, func(t *Ticket) ([]Change, error) {
		if !acc.sees(*t) {
			return nil, ErrNotFound
		}
		changes, err := t.ReceiveComment(c, now)
		if closed := (*ClosedError)(nil); errors.As(err, &closed) {
			return nil, status.Errorf(codes.FailedPrecondition, "ticket_id: ticket %q is closed and takes no more comments; open a follow-up ticket instead", t.ID)
		}
		return changes, ruleError(err)
	})
	if err != nil {
		return nil, s.storeError(ctx, err, req.GetTicketId())
	}
	return &ticketv1.AddCommentResponse{Comment: CommentToProto(out)}, nil
}

// ListComments implements ticketv1.TicketServiceServer.
func (s *Server) ListComments(ctx context.Context, req *ticketv1.ListCommentsRequest) (*ticketv1.ListCommentsResponse, error) {
	after, err := decodePageToken(req.GetPageToken(), req.GetTicketId())
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	acc := accessOf(ctx)
	if acc.scope != nil {
		t, err := s.store.GetTicket(ctx, tenant.From(ctx), req.GetTicketId())
		if err == nil && !acc.sees(t) {
			err = ErrNotFound // not the caller's: as if it did not exist
		}
		if err != nil {
			return nil, s.storeError(ctx, err, req.GetTicketId())
		}
	}
	// One more than the page, to learn whether another page exists; the
	// comments the caller may not read (a customer's internal notes) are
	// skipped, reading on until the page is full or the comments end.
	var rows []Comment
	for cursor := after.ID; ; {
		page, err := s.store.ListComments(ctx, tenant.From(ctx), req.GetTicketId(), cursor, size+1)
		if err != nil {
			return nil, s.storeError(ctx, err, req.GetTicketId())
		}
		for _, c := range page {
			if acc.seesComment(c) && len(rows) <= size {
				rows = append(rows, c)
			}
		}
		if len(rows) > size || len(page) <= size {
			break
		}
		cursor = page[len(page)-1].ID
	}
	resp := &ticketv1.ListCommentsResponse{}
	if len(rows) > size {
		rows = rows[:size]
		resp.NextPageToken = encodePageToken(ListPosition{ID: rows[size-1].ID}, req.GetTicketId())
	}
	resp.Comments = make([]*ticketv1.Comment, len(rows))
	for i, c := range rows {
		resp.Comments[i] = CommentToProto(c)
	}
	return resp, nil
}

// watchBatch is how many events WatchEvents reads per query.
const watchBatch = 500

// WatchEvents implements ticketv1.TicketServiceServer.
func (s *Server) WatchEvents(req *ticketv1.WatchEventsRequest, stream grpc.ServerStreamingServer[ticketv1.WatchEventsResponse]) error {
	ctx := stream.Context()
	if accessOf(ctx).scope != nil {
		// The access declaration keeps agents and customers out; this is
		// in case it changes: the stream is not filtered by scope.
		return status.Error(codes.PermissionDenied, "WatchEvents streams every ticket of the tenant; it is for admins, supervisors, integrations and kubedesk's own modules")
	}
	id := tenant.From(ctx)
	notify, notified, cancel := s.reads.subscribe(id)
	defer cancel()
	poll := time.NewTicker(s.poll)
	defer poll.Stop()

	cursor := req.GetAfterCursor()
	wanted := func(EventType) bool { return true }
	if types := req.GetTypes(); len(types) > 0 {
		wanted = func(t EventType) bool { return slices.Contains(types, eventToProto[t]) }
	}
	// A bookmark is due when the stream has caught up for the first time,
	// and again after every idle period, so clients learn they are current
	// and idle connections stay open through proxies.
	bookmarkDue := true
	idleSince := time.Now()
	// The store notifications this stream has been woken for: a read of
	// its page begun after them, by another stream, serves it too. The
	// first read is the stream's own.
	woke := uint64(fresh)
	for {
		events, err := s.reads.list(ctx, id, cursor, watchBatch, woke)
		if err != nil {
			if errors.Is(err, ErrInvalidCursor) {
				return status.Errorf(codes.InvalidArgument, "after_cursor: %q is not a cursor of this event stream; send back the cursor of an event you received, or nothing to start at the beginning", cursor)
			}
			return s.storeError(ctx, err, "")
		}
		for _, e := range events {
			cursor = e.Cursor
			if !wanted(e.Type) {
				continue
			}
			if err := stream.Send(&ticketv1.WatchEventsResponse{Event: EventToProto(e)}); err != nil {
				return err
			}
			idleSince = time.Now()
		}
		if len(events) == watchBatch {
			continue
		}
		if bookmarkDue || time.Since(idleSince) >= s.bookmarkEvery {
			if err := stream.Send(&ticketv1.WatchEventsResponse{Bookmark: &ticketv1.Bookmark{Cursor: cursor}}); err != nil {
				return err
			}
			bookmarkDue, idleSince = false, time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-notify:
			woke = notified()
		case <-poll.C:
			// Events a notification did not announce (on PostgreSQL, one
			// that became visible when an older transaction finished): a
			// read of its own.
			woke = fresh
		}
	}
}

// storeError turns a store error into a gRPC status naming what was wrong.
func (s *Server) storeError(ctx context.Context, err error, id string) error {
	if _, ok := status.FromError(err); ok {
		return err // already a status from a mutation
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return status.Errorf(codes.NotFound, "ticket %q not found", id)
	case errors.Is(err, ErrNULText):
		// The validation interceptor refuses NUL in every field first;
		// this is for a path it did not cover.
		return status.Errorf(codes.InvalidArgument, "%v; accepted: text without NUL characters", err)
	case errors.Is(err, ErrExists):
		return status.Errorf(codes.AlreadyExists, "ticket_id: %q: the tenant has a ticket with this ID; choose another, or leave it empty", id)
	case errors.Is(err, ErrIdempotencyMismatch):
		return status.Error(codes.InvalidArgument, "Idempotency-Key: this key was already used for a different request; use a new key for a new request")
	case isContextError(err):
		return status.FromContextError(err).Err()
	}
	s.log.ErrorContext(ctx, "ticket store failed", "err", err)
	return status.Error(codes.Internal, "the ticket store failed; the request was not applied")
}

// idempotency builds the store's idempotency key from the request field or
// the Idempotency-Key header, with a digest of the request so a reused key
// with a different request is refused.
func idempotency(ctx context.Context, requestID string, req proto.Message) (Idempotency, error) {
	key := requestID
	if key == "" {
		if v := metadata.ValueFromIncomingContext(ctx, IdempotencyKeyMetadata); len(v) > 0 {
			key = v[0]
		}
	}
	if key == "" {
		return Idempotency{}, nil
	}
	if len(key) > 255 {
		return Idempotency{}, status.Errorf(codes.InvalidArgument, "Idempotency-Key: is %d bytes; accepted: at most 255", len(key))
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return Idempotency{}, status.Errorf(codes.Internal, "hashing the request: %v", err)
	}
	// The caller is part of the request: the author and requester come
	// from it, and another caller reusing the key must not get this
	// caller's result. Without a principal the digest is as it was.
	if p := auth.From(ctx); p != nil {
		b = append(append(b, 0), p.GetId()...)
	}
	sum := sha256.Sum256(b)
	return Idempotency{Key: key, RequestHash: hex.EncodeToString(sum[:])}, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func orDefault(v int) int {
	if v == 0 {
		return DefaultImpactUrgency
	}
	return v
}

// Page tokens (paging.EncodeToken) of format 2 carry the position's ID and
// due time, in Unix microseconds or empty when the position has none.
// (Format 1 had no due time; its tokens are refused.)
const pageTokenFormat = "2"

func encodePageToken(after ListPosition, query string) string {
	due := ""
	if !after.Due.IsZero() {
		due = strconv.FormatInt(after.Due.UnixMicro(), 10)
	}
	return paging.EncodeToken(pageTokenFormat, query, after.ID, due)
}

func decodePageToken(token, query string) (ListPosition, error) {
	fields, err := paging.DecodeToken(token, pageTokenFormat, query, 2)
	if err != nil || fields == nil {
		return ListPosition{}, err
	}
	invalid := status.Error(codes.InvalidArgument, "page_token: is not a token this service issued; send the next_page_token of the previous page")
	if fields[0] == "" {
		return ListPosition{}, invalid
	}
	pos := ListPosition{ID: fields[0]}
	if fields[1] != "" {
		us, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return ListPosition{}, invalid
		}
		pos.Due = time.UnixMicro(us).UTC()
	}
	return pos, nil
}
