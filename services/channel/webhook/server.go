package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/services/platform/etag"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/updatemask"
)

// UpdatableFields are the update_mask paths UpdateWebhook accepts.
var UpdatableFields = []string{"url", "events", "description", "secret"}

// The lengths a secret may have, in bytes.
const (
	minSecret = 16
	maxSecret = 256
)

// idempotencyKeyMetadata carries the REST Idempotency-Key header.
const idempotencyKeyMetadata = "idempotency-key"

// Server implements kubedesk.channel.v1's WebhookService over the
// channel store. Changes are handed to the deliveries through Notify.
type Server struct {
	channelv1.UnimplementedWebhookServiceServer

	// Store keeps the webhooks.
	Store store.Webhooks
	// Stream is the ticket service, asked whether a replay's cursor is
	// one of the tenant's stream.
	Stream consumer.Stream
	// Config is the webhooks' configuration (the rotation window).
	Config Config
	// AllowPrivate reports whether a tenant's webhooks may reach private
	// networks; nil: none may.
	AllowPrivate func(tenant string) bool
	// Resolver resolves the hosts of URLs; nil: net.DefaultResolver.
	Resolver *net.Resolver
	// Notify is told of every change (Dispatcher.Notify); nil: nothing is.
	Notify func()
	Log    *slog.Logger
	// Now is the clock of start_time checks; nil: time.Now.
	Now func() time.Time
}

// Register adds WebhookService to a gRPC server.
func (s *Server) Register(g grpc.ServiceRegistrar) { channelv1.RegisterWebhookServiceServer(g, s) }

func (s *Server) guard(tid string) Guard {
	return Guard{AllowPrivate: s.AllowPrivate != nil && s.AllowPrivate(tid), Resolver: s.Resolver}
}

func (s *Server) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// callTenant is the tenant the call acts in.
func callTenant(ctx context.Context) (string, error) {
	if t := tenant.From(ctx); t != "" {
		return t, nil
	}
	if t := auth.From(ctx).GetTenant(); t != "" {
		return t, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "%s: no tenant named; send the %s header", tenant.HeaderName, tenant.HeaderName)
}

// storeError turns a store error into the status a caller sees.
func (s *Server) storeError(ctx context.Context, err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return status.Errorf(codes.NotFound, "%s not found", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	s.log().ErrorContext(ctx, "webhook store failed", "err", err)
	return status.Error(codes.Internal, "the webhook store failed; the request was not applied")
}

// checkURL checks webhook.url for the tenant.
func (s *Server) checkURL(ctx context.Context, tid, raw string) error {
	if strings.TrimSpace(raw) == "" {
		return status.Error(codes.InvalidArgument, "webhook.url: is required; accepted: an http or https URL whose host resolves to public addresses, e.g. https://hooks.example.com/kubedesk")
	}
	if _, err := s.guard(tid).CheckURL(ctx, raw); err != nil {
		return status.Errorf(codes.InvalidArgument, "webhook.url: %v", err)
	}
	return nil
}

func checkEvents(events []string) error {
	if err := CheckEvents("webhook.events", events); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

// checkSecret checks a new secret: 16 to 256 bytes of text without
// control characters.
func checkSecret(secret string) error {
	accepted := fmt.Sprintf("accepted: %d to %d bytes of text without control characters, e.g. 32 random bytes in hex", minSecret, maxSecret)
	switch n := len(secret); {
	case n == 0:
		return status.Errorf(codes.InvalidArgument, "webhook.secret: is required; %s", accepted)
	case n < minSecret || n > maxSecret:
		return status.Errorf(codes.InvalidArgument, "webhook.secret: is %d bytes; %s", n, accepted)
	case !utf8.ValidString(secret) || strings.ContainsFunc(secret, unicode.IsControl):
		return status.Errorf(codes.InvalidArgument, "webhook.secret: holds a control character or invalid UTF-8; %s", accepted)
	}
	return nil
}

func checkDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if strings.ContainsRune(d, 0) {
		return "", status.Error(codes.InvalidArgument, "webhook.description: holds the NUL character; accepted: text without it")
	}
	return d, nil
}

// idempotencyKey is the request's key (the field, else the REST header)
// and a digest of the webhook it creates.
func idempotencyKey(ctx context.Context, req *channelv1.CreateWebhookRequest) (string, string, error) {
	key := req.GetRequestId()
	if key == "" {
		if v := metadata.ValueFromIncomingContext(ctx, idempotencyKeyMetadata); len(v) > 0 {
			key = v[0]
		}
	}
	if key == "" {
		return "", "", nil
	}
	if len(key) > 255 {
		return "", "", status.Errorf(codes.InvalidArgument, "Idempotency-Key: is %d bytes; accepted: at most 255", len(key))
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(req.GetWebhook())
	if err != nil {
		return "", "", status.Errorf(codes.Internal, "hashing the request: %v", err)
	}
	sum := sha256.Sum256(b)
	return key, hex.EncodeToString(sum[:]), nil
}

// CreateWebhook implements channelv1.WebhookServiceServer.
func (s *Server) CreateWebhook(ctx context.Context, req *channelv1.CreateWebhookRequest) (*channelv1.CreateWebhookResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetWebhook()
	if err := s.checkURL(ctx, tid, in.GetUrl()); err != nil {
		return nil, err
	}
	if err := checkEvents(in.GetEvents()); err != nil {
		return nil, err
	}
	if err := checkSecret(in.GetSecret()); err != nil {
		return nil, err
	}
	desc, err := checkDescription(in.GetDescription())
	if err != nil {
		return nil, err
	}
	key, hash, err := idempotencyKey(ctx, req)
	if err != nil {
		return nil, err
	}
	w := store.Webhook{
		Tenant: tid, URL: in.GetUrl(), Events: in.GetEvents(), Description: desc, Secret: in.GetSecret(),
		RequestID: key, RequestHash: hash, StartTime: s.now(),
	}
	// The new webhook gets the events committed from now on. Any cursor
	// another webhook of the tenant saved is a position every event of
	// which was committed before now: starting there spares reading the
	// tenant's whole history to find now (the events between it and now
	// are passed over by their time).
	if others, err := s.Store.ListWebhooks(ctx, tid, "", 10); err == nil {
		for _, o := range others {
			if o.Cursor != "" {
				w.Cursor = o.Cursor
				break
			}
		}
	}
	out, created, err := s.Store.CreateWebhook(ctx, w)
	if err != nil {
		return nil, s.storeError(ctx, err, "webhook")
	}
	if !created && out.RequestHash != hash {
		return nil, status.Error(codes.InvalidArgument, "Idempotency-Key: this key was already used for a different request; use a new key for a new request")
	}
	s.notify()
	return &channelv1.CreateWebhookResponse{Webhook: s.toProto(out)}, nil
}

// GetWebhook implements channelv1.WebhookServiceServer.
func (s *Server) GetWebhook(ctx context.Context, req *channelv1.GetWebhookRequest) (*channelv1.GetWebhookResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "webhooks/")
	w, err := s.Store.GetWebhook(ctx, tid, id)
	if err != nil {
		return nil, s.storeError(ctx, err, "webhook "+strconv.Quote(id))
	}
	return &channelv1.GetWebhookResponse{Webhook: s.toProto(w)}, nil
}

// ListWebhooks implements channelv1.WebhookServiceServer.
func (s *Server) ListWebhooks(ctx context.Context, req *channelv1.ListWebhooksRequest) (*channelv1.ListWebhooksResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	const query = "webhooks"
	before, err := paging.Position(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	rows, err := s.Store.ListWebhooks(ctx, tid, before, size+1)
	if err != nil {
		return nil, s.storeError(ctx, err, "webhooks")
	}
	rows, next := paging.Cut(rows, size, query, func(w store.Webhook) string { return w.ID })
	resp := &channelv1.ListWebhooksResponse{NextPageToken: next}
	for _, w := range rows {
		resp.Webhooks = append(resp.Webhooks, s.toProto(w))
	}
	return resp, nil
}

// UpdateWebhook implements channelv1.WebhookServiceServer.
func (s *Server) UpdateWebhook(ctx context.Context, req *channelv1.UpdateWebhookRequest) (*channelv1.UpdateWebhookResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetWebhook()
	id := strings.TrimPrefix(in.GetId(), "webhooks/")
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "webhook.id: is required")
	}
	paths, err := updatemask.Paths(req.GetUpdateMask(), in, UpdatableFields)
	if err != nil {
		return nil, err
	}
	want, err := etag.Expected(ctx, in.GetEtag(), "webhook")
	if err != nil {
		return nil, err
	}
	has := func(f string) bool { return slices.Contains(paths, f) }
	var desc string
	if has("url") {
		if err := s.checkURL(ctx, tid, in.GetUrl()); err != nil {
			return nil, err
		}
	}
	if has("events") {
		if err := checkEvents(in.GetEvents()); err != nil {
			return nil, err
		}
	}
	if has("secret") {
		if err := checkSecret(in.GetSecret()); err != nil {
			return nil, err
		}
	}
	if has("description") {
		if desc, err = checkDescription(in.GetDescription()); err != nil {
			return nil, err
		}
	}
	w, err := s.Store.UpdateWebhook(ctx, tid, id, want, time.Duration(s.Config.withDefaults().SecretRotationWindow), func(w *store.Webhook) error {
		for _, f := range paths {
			switch f {
			case "url":
				w.URL = in.GetUrl()
			case "events":
				w.Events = in.GetEvents()
			case "description":
				w.Description = desc
			case "secret":
				w.Secret = in.GetSecret()
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrVersion) {
		return nil, status.Errorf(codes.Aborted, "etag: webhook %q has changed since version %q; read it again and retry", id, etag.Format(want))
	}
	if err != nil {
		return nil, s.storeError(ctx, err, "webhook "+strconv.Quote(id))
	}
	s.notify()
	return &channelv1.UpdateWebhookResponse{Webhook: s.toProto(w)}, nil
}

// DeleteWebhook implements channelv1.WebhookServiceServer.
func (s *Server) DeleteWebhook(ctx context.Context, req *channelv1.DeleteWebhookRequest) (*channelv1.DeleteWebhookResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "webhooks/")
	want, err := etag.Expected(ctx, req.GetEtag(), "webhook")
	if err != nil {
		return nil, err
	}
	err = s.Store.DeleteWebhook(ctx, tid, id, want)
	if errors.Is(err, store.ErrVersion) {
		return nil, status.Errorf(codes.Aborted, "etag: webhook %q has changed since version %q; read it again and retry", id, etag.Format(want))
	}
	if err != nil {
		return nil, s.storeError(ctx, err, "webhook "+strconv.Quote(id))
	}
	s.notify()
	return &channelv1.DeleteWebhookResponse{}, nil
}

// deliveryStates are the states of deliveries as filters name them.
var deliveryStates = []string{store.DeliveryPending, store.DeliverySucceeded, store.DeliveryDeadLettered}

// deliveryQuery reads ListWebhookDeliveries' filter: `state = X`,
// `ticket = ID`, joined by AND.
func deliveryQuery(filter string) (store.DeliveryQuery, error) {
	var q store.DeliveryQuery
	if strings.TrimSpace(filter) == "" {
		return q, nil
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(filter, " AND ") {
		field, value, ok := strings.Cut(part, "=")
		field, value = strings.ToLower(strings.TrimSpace(field)), strings.Trim(strings.TrimSpace(value), `"`)
		if !ok || value == "" {
			return q, fmt.Errorf("filter: %q is not a comparison; accepted: state = STATE and ticket = ID, joined by AND", strings.TrimSpace(part))
		}
		if seen[field] {
			return q, fmt.Errorf("filter: %s is compared twice; accepted: each field once", field)
		}
		seen[field] = true
		switch field {
		case "state":
			value = strings.ToLower(value)
			if !slices.Contains(deliveryStates, value) {
				return q, fmt.Errorf("filter: state %q is not a state; accepted: %s", value, strings.Join(deliveryStates, ", "))
			}
			q.State = value
		case "ticket":
			q.TicketID = value
		default:
			return q, fmt.Errorf("filter: %q is not a field; accepted: state, ticket", field)
		}
	}
	return q, nil
}

// ListWebhookDeliveries implements channelv1.WebhookServiceServer.
func (s *Server) ListWebhookDeliveries(ctx context.Context, req *channelv1.ListWebhookDeliveriesRequest) (*channelv1.ListWebhookDeliveriesResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "webhooks/")
	if _, err := s.Store.GetWebhook(ctx, tid, id); err != nil {
		return nil, s.storeError(ctx, err, "webhook "+strconv.Quote(id))
	}
	q, err := deliveryQuery(req.GetFilter())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	query := "deliveries\x00" + id + "\x00" + req.GetFilter()
	if q.BeforeID, err = paging.Position(req.GetPageToken(), query); err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	q.Limit = size + 1
	rows, err := s.Store.ListWebhookDeliveries(ctx, tid, id, q)
	if err != nil {
		return nil, s.storeError(ctx, err, "deliveries")
	}
	rows, next := paging.Cut(rows, size, query, func(d store.Delivery) string { return d.ID })
	resp := &channelv1.ListWebhookDeliveriesResponse{NextPageToken: next}
	for _, d := range rows {
		resp.Deliveries = append(resp.Deliveries, deliveryToProto(d))
	}
	return resp, nil
}

// replayCheckTimeout bounds asking the ticket service about a replay's
// cursor.
const replayCheckTimeout = 5 * time.Second

// ReplayWebhook implements channelv1.WebhookServiceServer.
func (s *Server) ReplayWebhook(ctx context.Context, req *channelv1.ReplayWebhookRequest) (*channelv1.ReplayWebhookResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "webhooks/")
	if _, err := s.Store.GetWebhook(ctx, tid, id); err != nil {
		return nil, s.storeError(ctx, err, "webhook "+strconv.Quote(id))
	}
	var (
		cursor string
		start  time.Time
	)
	switch from := req.GetStart().(type) {
	case *channelv1.ReplayWebhookRequest_AfterCursor:
		cursor = from.AfterCursor
		if err := s.checkCursor(ctx, tid, cursor); err != nil {
			return nil, err
		}
	case *channelv1.ReplayWebhookRequest_StartTime:
		if err := from.StartTime.CheckValid(); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "start_time: %v", err)
		}
		start = from.StartTime.AsTime()
		if now := s.now(); start.After(now) {
			return nil, status.Errorf(codes.InvalidArgument, "start_time: %s is in the future; accepted: a time up to now (%s)",
				start.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	default:
		return nil, status.Error(codes.InvalidArgument, "start: set after_cursor or start_time")
	}
	w, err := s.Store.ReplayWebhook(ctx, tid, id, cursor, start)
	if err != nil {
		return nil, s.storeError(ctx, err, "webhook "+strconv.Quote(id))
	}
	s.notify()
	return &channelv1.ReplayWebhookResponse{Webhook: s.toProto(w)}, nil
}

// checkCursor asks the ticket service whether cursor is a position in
// the tenant's event stream: a replay from one it refuses would stop the
// webhook.
func (s *Server) checkCursor(ctx context.Context, tid, cursor string) error {
	ctx, cancel := context.WithTimeout(ctx, replayCheckTimeout)
	defer cancel()
	stream, err := s.Stream.WatchEvents(tenant.Outgoing(ctx, tid), &ticketv1.WatchEventsRequest{AfterCursor: cursor})
	if err == nil {
		_, err = stream.Recv()
	}
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.InvalidArgument:
		return status.Errorf(codes.InvalidArgument, "after_cursor: %q is not a position in this tenant's event stream; accepted: a delivery's event_id, or a cursor from GET /v1/events:watch", cursor)
	}
	s.log().WarnContext(ctx, "checking a replay's cursor with the ticket service failed", "err", err)
	return status.Error(codes.Unavailable, "after_cursor: the ticket service could not be asked about it; retry")
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func (s *Server) toProto(w store.Webhook) *channelv1.Webhook {
	out := &channelv1.Webhook{
		Id:               w.ID,
		Url:              w.URL,
		Events:           w.Events,
		Description:      w.Description,
		SecretUpdateTime: timestamp(w.SecretUpdateTime),
		Cursor:           w.Cursor,
		CreateTime:       timestamp(w.CreateTime),
		UpdateTime:       timestamp(w.UpdateTime),
		Version:          w.Version,
		Etag:             etag.Format(w.Version),
	}
	if w.PreviousSecretExpireTime.After(s.now()) {
		out.PreviousSecretExpireTime = timestamp(w.PreviousSecretExpireTime)
	}
	return out
}

var deliveryStateProto = map[string]channelv1.WebhookDeliveryState{
	store.DeliveryPending:      channelv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_PENDING,
	store.DeliverySucceeded:    channelv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_SUCCEEDED,
	store.DeliveryDeadLettered: channelv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD_LETTERED,
}

func deliveryToProto(d store.Delivery) *channelv1.WebhookDelivery {
	return &channelv1.WebhookDelivery{
		Id:              d.ID,
		WebhookId:       d.WebhookID,
		EventId:         d.EventID,
		EventType:       d.EventType,
		TicketId:        d.TicketID,
		State:           deliveryStateProto[d.State],
		Attempts:        int32(d.Attempts),
		ResponseCode:    int32(d.ResponseCode),
		Latency:         durationpb.New(d.Latency),
		Error:           d.Error,
		Replay:          d.Replay,
		EventTime:       timestamp(d.EventTime),
		CreateTime:      timestamp(d.CreateTime),
		UpdateTime:      timestamp(d.UpdateTime),
		NextAttemptTime: timestamp(d.NextAttemptTime),
	}
}
