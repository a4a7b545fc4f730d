package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"maps"
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
	"google.golang.org/protobuf/reflect/protoreflect"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Metadata keys the gateway fills from HTTP headers.
const (
	IdempotencyKeyMetadata = "idempotency-key" // Idempotency-Key
	IfMatchMetadata        = "if-match"        // If-Match
)

// Config holds the ticket service's tunables.
type Config struct {
	// Matrix maps impact x urgency to priority; zero means DefaultMatrix.
	Matrix Matrix
	// WatchPollInterval bounds how long WatchEvents waits before looking for
	// events that arrived without a notification (e.g. on PostgreSQL an
	// event that became visible when an older transaction finished).
	WatchPollInterval time.Duration
	// WatchBookmarkInterval is how long an idle WatchEvents stream waits
	// between bookmarks.
	WatchBookmarkInterval time.Duration
	// IdempotencyKeyTTL is how long an idempotency key is kept: a retry
	// within it returns the first result; after it (and the janitor's next
	// sweep) the key is gone and a retry creates anew. Zero means
	// DefaultIdempotencyKeyTTL.
	IdempotencyKeyTTL time.Duration
	// IdempotencyKeySweep is how often the janitor deletes expired keys;
	// zero means every 10 minutes.
	IdempotencyKeySweep time.Duration
	// IdempotencyKeyBatch is how many keys the janitor deletes per
	// transaction, so that no sweep holds locks for long; zero means 500.
	IdempotencyKeyBatch int
	// Now is the service's clock; nil is the wall clock. Tests inject one.
	Now func() time.Time
}

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
}

// NewServer returns the ticket service.
func NewServer(store Store, cfg Config, log *slog.Logger) *Server {
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
		cfg.IdempotencyKeyTTL = DefaultIdempotencyKeyTTL
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
	return &Server{
		store:         store,
		reads:         newSharedReads(store),
		matrix:        cfg.Matrix,
		poll:          cfg.WatchPollInterval,
		bookmarkEvery: cfg.WatchBookmarkInterval,
		keyTTL:        cfg.IdempotencyKeyTTL,
		keySweep:      cfg.IdempotencyKeySweep,
		keyBatch:      cfg.IdempotencyKeyBatch,
		now:           func() time.Time { return cfg.Now().UTC().Truncate(time.Microsecond) },
		log:           log,
	}
}

// Start runs the service's background work, the idempotency key janitor,
// until the returned stop is called; stop waits for it to end (or for
// its context, whichever comes first).
func (s *Server) Start() (stop func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.runJanitor(ctx)
	}()
	return func(wait context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-wait.Done():
			return fmt.Errorf("idempotency key janitor still running: %w", wait.Err())
		}
	}
}

// runJanitor sweeps expired idempotency keys at start and then every
// keySweep until ctx ends. A failed sweep is logged and tried again at
// the next tick: the keys wait a little longer, nothing else suffers.
func (s *Server) runJanitor(ctx context.Context) {
	tick := time.NewTicker(s.keySweep)
	defer tick.Stop()
	for {
		n, err := s.SweepIdempotencyKeys(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.WarnContext(ctx, "deleting expired idempotency keys", "err", err, "deleted", n)
		case n > 0:
			s.log.DebugContext(ctx, "deleted expired idempotency keys", "deleted", n, "ttl", s.keyTTL.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// SweepIdempotencyKeys deletes the idempotency keys recorded more than
// IdempotencyKeyTTL ago, IdempotencyKeyBatch per transaction, until a
// batch comes back short, and returns how many went. Start runs it
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

// Register adds the service to a gRPC server.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	ticketv1.RegisterTicketServiceServer(g, s)
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
	idem, err := idempotency(ctx, req.GetRequestId(), in)
	if err != nil {
		return nil, err
	}
	created, _, err := s.store.CreateTicket(ctx, t, idem)
	if err != nil {
		return nil, s.storeError(ctx, err, "")
	}
	return &ticketv1.CreateTicketResponse{Ticket: ToProto(created)}, nil
}

// GetTicket implements ticketv1.TicketServiceServer.
func (s *Server) GetTicket(ctx context.Context, req *ticketv1.GetTicketRequest) (*ticketv1.GetTicketResponse, error) {
	t, err := s.store.GetTicket(ctx, tenant.From(ctx), req.GetId())
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
	rows, err := s.store.ListTickets(ctx, tenant.From(ctx), ListQuery{Filter: f, Order: order, After: after, Limit: size + 1})
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

// updatable lists the field-mask paths UpdateTicket accepts.
var updatable = []string{
	"subject", "description", "status", "impact", "urgency", "channel",
	"requester", "group", "assignee", "tags", "custom_fields",
}

// UpdateTicket implements ticketv1.TicketServiceServer.
func (s *Server) UpdateTicket(ctx context.Context, req *ticketv1.UpdateTicketRequest) (*ticketv1.UpdateTicketResponse, error) {
	in := req.GetTicket()
	if in.GetId() == "" {
		return nil, status.Error(codes.InvalidArgument, "ticket.id: is required")
	}
	paths, err := updatePaths(req)
	if err != nil {
		return nil, err
	}
	want, err := expectedVersion(ctx, in.GetEtag())
	if err != nil {
		return nil, err
	}
	now := s.now()
	t, err := s.store.UpdateTicket(ctx, tenant.From(ctx), in.GetId(), func(t *Ticket) ([]Change, error) {
		if want != 0 && t.Version != want {
			return nil, status.Errorf(codes.Aborted, "etag: ticket %q has changed since version %q (now %q); read it again and retry", t.ID, ETag(want), ETag(t.Version))
		}
		return s.apply(t, in, paths, now)
	})
	if err != nil {
		return nil, s.storeError(ctx, err, in.GetId())
	}
	return &ticketv1.UpdateTicketResponse{Ticket: ToProto(t)}, nil
}

// updatePaths returns the validated field-mask paths. Without a mask every
// field set in the request is updated (AIP-134); grpc-gateway fills the
// mask from the JSON body of a PATCH.
func updatePaths(req *ticketv1.UpdateTicketRequest) ([]string, error) {
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		req.GetTicket().ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			if name := string(fd.Name()); slices.Contains(updatable, name) {
				paths = append(paths, name)
			}
			return true
		})
	}
	var tops []string
	for _, p := range paths {
		// Sub-fields of requester and keys of custom_fields are updated as a
		// whole; id and etag identify the ticket and its version (a PATCH
		// body carrying them gets them in its generated mask).
		top, _, _ := strings.Cut(p, ".")
		if top == "id" || top == "etag" {
			continue
		}
		if !slices.Contains(updatable, top) {
			return nil, status.Errorf(codes.InvalidArgument, "update_mask: %q cannot be updated; updatable: %s", p, strings.Join(updatable, ", "))
		}
		tops = append(tops, top)
	}
	if len(tops) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "update_mask: names no field; updatable: %s", strings.Join(updatable, ", "))
	}
	slices.Sort(tops)
	return slices.Compact(tops), nil
}

// expectedVersion reads the etag from the request body or the If-Match
// header; 0 means the caller does not care.
func expectedVersion(ctx context.Context, bodyETag string) (int64, error) {
	etag := bodyETag
	if etag == "" {
		if v := metadata.ValueFromIncomingContext(ctx, IfMatchMetadata); len(v) > 0 && v[0] != "*" {
			etag = v[0]
		}
	}
	if etag == "" {
		return 0, nil
	}
	v, ok := parseETag(etag)
	if !ok {
		return 0, status.Errorf(codes.InvalidArgument, "etag: %q is not an etag of this service; send back the etag of the ticket you read, e.g. \"v3\"", etag)
	}
	return v, nil
}

// apply copies the masked fields of in onto t and returns what changed.
func (s *Server) apply(t *Ticket, in *ticketv1.Ticket, paths []string, now time.Time) ([]Change, error) {
	if t.Status == StatusClosed {
		if to, ok := statusFromProto[in.GetStatus()]; ok && slices.Contains(paths, "status") && to != StatusClosed {
			return nil, status.Error(codes.FailedPrecondition, CheckTransition(t.Status, to).Error()+"; open a follow-up ticket instead")
		}
		return nil, status.Errorf(codes.FailedPrecondition, "status: ticket %q is closed and cannot change; open a follow-up ticket instead", t.ID)
	}
	var changes []Change
	record := func(field, from, to string) {
		if from != to {
			changes = append(changes, Change{Field: field, Old: from, New: to})
		}
	}
	for _, p := range paths {
		switch p {
		case "subject":
			subject := strings.TrimSpace(in.GetSubject())
			if subject == "" {
				return nil, status.Error(codes.InvalidArgument, "ticket.subject: must not be empty")
			}
			record(p, t.Subject, subject)
			t.Subject = subject
		case "description":
			record(p, t.Description, in.GetDescription())
			t.Description = in.GetDescription()
		case "status":
			to, ok := statusFromProto[in.GetStatus()]
			if !ok {
				return nil, status.Error(codes.InvalidArgument, "ticket.status: is required when status is in update_mask; accepted: STATUS_NEW, STATUS_OPEN, STATUS_PENDING, STATUS_ON_HOLD, STATUS_SOLVED, STATUS_CLOSED")
			}
			if err := CheckTransition(t.Status, to); err != nil {
				return nil, status.Error(codes.FailedPrecondition, err.Error())
			}
			changes = append(changes, s.setStatus(t, to, now)...)
		case "impact", "urgency":
			v := orDefault(int(in.GetImpact()))
			cur := &t.Impact
			if p == "urgency" {
				v, cur = orDefault(int(in.GetUrgency())), &t.Urgency
			}
			record(p, strconv.Itoa(*cur), strconv.Itoa(v))
			*cur = v
		case "channel":
			c, ok := channelFromProto[in.GetChannel()]
			if !ok {
				c = ChannelAPI
			}
			record(p, string(t.Channel), string(c))
			t.Channel = c
		case "requester":
			r := requesterFromProto(in.GetRequester())
			record(p, formatRequester(t.Requester), formatRequester(r))
			t.Requester = r
		case "group":
			record(p, t.Group, strings.TrimSpace(in.GetGroup()))
			t.Group = strings.TrimSpace(in.GetGroup())
		case "assignee":
			record(p, t.Assignee, strings.TrimSpace(in.GetAssignee()))
			t.Assignee = strings.TrimSpace(in.GetAssignee())
		case "tags":
			tags := normalizeTags(in.GetTags())
			record(p, strings.Join(t.Tags, ","), strings.Join(tags, ","))
			t.Tags = tags
		case "custom_fields":
			fields := orEmpty(in.GetCustomFields())
			record(p, formatFields(t.CustomFields), formatFields(fields))
			t.CustomFields = fields
		}
	}
	if p := s.matrix.Priority(t.Impact, t.Urgency); p != t.Priority {
		changes = append(changes, Change{Field: "priority", Old: t.Priority.String(), New: p.String()})
		t.Priority = p
	}
	return changes, nil
}

// setStatus moves t to a status the caller has checked, keeping the solve
// time in step: set when solved, cleared when reopened, kept when closed.
func (s *Server) setStatus(t *Ticket, to Status, now time.Time) []Change {
	if t.Status == to {
		return nil
	}
	changes := []Change{{Field: "status", Old: string(t.Status), New: string(to)}}
	switch {
	case to == StatusSolved:
		t.SolveTime = now
	case to != StatusClosed && !t.SolveTime.IsZero():
		t.SolveTime = time.Time{}
	}
	t.Status = to
	return changes
}

// AddComment implements ticketv1.TicketServiceServer.
func (s *Server) AddComment(ctx context.Context, req *ticketv1.AddCommentRequest) (*ticketv1.AddCommentResponse, error) {
	in := req.GetComment()
	now := s.now()
	c := Comment{
		ID:         newID(),
		Tenant:     tenant.From(ctx),
		TicketID:   req.GetTicketId(),
		Author:     strings.TrimSpace(in.GetAuthor()),
		AuthorType: AuthorAgent,
		Body:       in.GetBody(),
		Visibility: VisibilityPublic,
		CreateTime: now,
	}
	if a, ok := authorFromProto[in.GetAuthorType()]; ok {
		c.AuthorType = a
	}
	if v, ok := visibilityFromProto[in.GetVisibility()]; ok {
		c.Visibility = v
	}
	if c.Author == "" {
		return nil, status.Error(codes.InvalidArgument, "comment.author: must not be blank")
	}
	if c.AuthorType == AuthorCustomer && c.Visibility == VisibilityInternal {
		return nil, status.Error(codes.InvalidArgument, "comment.visibility: a customer cannot write an internal note; accepted for AUTHOR_TYPE_CUSTOMER: VISIBILITY_PUBLIC")
	}
	idem, err := idempotency(ctx, req.GetRequestId(), req)
	if err != nil {
		return nil, err
	}
	out, _, err := s.store.AddComment(ctx, c, idem, func(t *Ticket) ([]Change, error) {
		if t.Status == StatusClosed {
			return nil, status.Errorf(codes.FailedPrecondition, "ticket_id: ticket %q is closed and takes no more comments; open a follow-up ticket instead", t.ID)
		}
		return s.statusAfterComment(t, c, now), nil
	})
	if err != nil {
		return nil, s.storeError(ctx, err, req.GetTicketId())
	}
	return &ticketv1.AddCommentResponse{Comment: CommentToProto(out)}, nil
}

// statusAfterComment applies the lifecycle's automatic moves: an agent's
// public reply opens a new ticket; a customer's reply to a ticket waiting on
// them (pending) or already solved puts it back in the agents' queue.
func (s *Server) statusAfterComment(t *Ticket, c Comment, now time.Time) []Change {
	switch {
	case c.AuthorType == AuthorAgent && c.Visibility == VisibilityPublic && t.Status == StatusNew:
		return s.setStatus(t, StatusOpen, now)
	case c.AuthorType == AuthorCustomer && (t.Status == StatusPending || t.Status == StatusSolved):
		return s.setStatus(t, StatusOpen, now)
	}
	return nil
}

// SetTicketSLA implements ticketv1.TicketServiceServer. The SLA worker
// calls it; the ticket's version and etag stay as they are.
func (s *Server) SetTicketSLA(ctx context.Context, req *ticketv1.SetTicketSLARequest) (*ticketv1.SetTicketSLAResponse, error) {
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
		escalate = func(t *Ticket) ([]Change, error) { return s.escalate(t, e, now) }
	}
	t, err := s.store.SetSLA(ctx, tenant.From(ctx), req.GetTicketId(), sla, escalate)
	if err != nil {
		return nil, s.storeError(ctx, err, req.GetTicketId())
	}
	return &ticketv1.SetTicketSLAResponse{Ticket: ToProto(t)}, nil
}

// escalate applies what an SLA breach does to the ticket, each change
// only where still due: a move to e.Group, and a priority one step up
// from e.RaisePriorityFrom (urgency first, then impact). A closed ticket
// is left alone.
func (s *Server) escalate(t *Ticket, e *ticketv1.SLAEscalation, now time.Time) ([]Change, error) {
	if t.Status == StatusClosed {
		return nil, nil
	}
	update := &ticketv1.Ticket{Group: e.GetGroup()}
	var paths []string
	if update.Group != "" {
		paths = append(paths, "group")
	}
	if from := e.GetRaisePriorityFrom(); from != ticketv1.Priority_PRIORITY_UNSPECIFIED && int(from) == int(t.Priority) {
		if impact, urgency, field, ok := RaiseStep(t.Impact, t.Urgency); ok {
			update.Impact, update.Urgency = int32(impact), int32(urgency)
			paths = append(paths, field)
		}
	}
	return s.apply(t, update, paths, now)
}

// ListComments implements ticketv1.TicketServiceServer.
func (s *Server) ListComments(ctx context.Context, req *ticketv1.ListCommentsRequest) (*ticketv1.ListCommentsResponse, error) {
	after, err := decodePageToken(req.GetPageToken(), req.GetTicketId())
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	rows, err := s.store.ListComments(ctx, tenant.From(ctx), req.GetTicketId(), after.ID, size+1)
	if err != nil {
		return nil, s.storeError(ctx, err, req.GetTicketId())
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

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// normalizeTags trims, drops empties and duplicates, keeping first order.
func normalizeTags(in []string) []string {
	out := make([]string, 0, len(in))
	for _, t := range in {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func formatRequester(r Requester) string {
	return strings.Join(slices.DeleteFunc([]string{r.Name, r.Email, r.Identity}, func(s string) bool { return s == "" }), " ")
}

func formatFields(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// Page tokens carry the keyset position and a checksum of the query they
// belong to, so a token is refused with another filter, order or ticket.
// Format 2: "2|id|due|crc", due in Unix microseconds or empty when the
// position has none. (Format 1 had no due time; its tokens are refused.)
func encodePageToken(after ListPosition, query string) string {
	due := ""
	if !after.Due.IsZero() {
		due = strconv.FormatInt(after.Due.UnixMicro(), 10)
	}
	raw := fmt.Sprintf("2|%s|%s|%08x", after.ID, due, crc32.ChecksumIEEE([]byte(query)))
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodePageToken(token, query string) (ListPosition, error) {
	if token == "" {
		return ListPosition{}, nil
	}
	invalid := status.Error(codes.InvalidArgument, "page_token: is not a token this service issued; send the next_page_token of the previous page")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	parts := strings.Split(string(raw), "|")
	if err != nil || len(parts) != 4 || parts[0] != "2" || parts[1] == "" {
		return ListPosition{}, invalid
	}
	pos := ListPosition{ID: parts[1]}
	if parts[2] != "" {
		us, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return ListPosition{}, invalid
		}
		pos.Due = time.UnixMicro(us).UTC()
	}
	if parts[3] != fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(query))) {
		return ListPosition{}, status.Error(codes.InvalidArgument, "page_token: belongs to a different query; keep the filter and order_by of the first page, or start again without a token")
	}
	return pos, nil
}
