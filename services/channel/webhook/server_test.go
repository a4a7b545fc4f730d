package webhook

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

func ptr(s string) *string { return &s }

// wantStatus checks a call's error: its code and its whole message.
func wantStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code || st.Message() != msg {
		t.Errorf("got %v: %s\nwant %v: %s", st.Code(), st.Message(), code, msg)
	}
}

const urlAccepted = "; accepted: an http or https URL whose host resolves to public addresses, e.g. https://hooks.example.com/kubedesk"

// TestCreateBadInput: each refusal names the field, the value and what
// is accepted, and nothing is written.
func TestCreateBadInput(t *testing.T) {
	r := newRig(t, Config{})
	r.allowPrivate.Store(false)
	for _, tt := range []struct {
		name string
		w    *channelv1.Webhook
		msg  string
	}{
		{"metadata address", &channelv1.Webhook{Url: "http://169.254.169.254/latest/meta-data/", Events: []string{TicketCreated}, Secret: ptr(rigSecret)},
			`webhook.url: "http://169.254.169.254/latest/meta-data/": 169.254.169.254 is a cloud metadata address (rule "cloud metadata": never a webhook's target)` + urlAccepted},
		{"loopback", &channelv1.Webhook{Url: "http://127.0.0.1:8080/hooks", Events: []string{TicketCreated}, Secret: ptr(rigSecret)},
			`webhook.url: "http://127.0.0.1:8080/hooks": 127.0.0.1 is a loopback address (rule "loopback": refused unless the tenant sets spec.channels.webhooks.allowPrivateNetworks)` + urlAccepted},
		{"private network", &channelv1.Webhook{Url: "https://10.0.0.8/hooks", Events: []string{TicketCreated}, Secret: ptr(rigSecret)},
			`webhook.url: "https://10.0.0.8/hooks": 10.0.0.8 is a private address (rule "private": refused unless the tenant sets spec.channels.webhooks.allowPrivateNetworks)` + urlAccepted},
		{"not http", &channelv1.Webhook{Url: "ftp://93.184.215.14/hooks", Events: []string{TicketCreated}, Secret: ptr(rigSecret)},
			`webhook.url: "ftp://93.184.215.14/hooks": scheme "ftp" is not accepted` + urlAccepted},
		{"no URL", &channelv1.Webhook{Events: []string{TicketCreated}, Secret: ptr(rigSecret)},
			"webhook.url: is required" + urlAccepted},
		{"unknown event", &channelv1.Webhook{Url: "https://93.184.215.14/hooks", Events: []string{TicketCreated, "ticket.deleted"}, Secret: ptr(rigSecret)},
			`webhook.events[1]: "ticket.deleted" is not an event; accepted: ticket.created, ticket.updated, comment.added, sla.changed, sla.breached, routing.assigned`},
		{"no events", &channelv1.Webhook{Url: "https://93.184.215.14/hooks", Secret: ptr(rigSecret)},
			"webhook.events: names no event; accepted: ticket.created, ticket.updated, comment.added, sla.changed, sla.breached, routing.assigned"},
		{"no secret", &channelv1.Webhook{Url: "https://93.184.215.14/hooks", Events: []string{TicketCreated}},
			"webhook.secret: is required; accepted: 16 to 256 bytes of text without control characters, e.g. 32 random bytes in hex"},
		{"short secret", &channelv1.Webhook{Url: "https://93.184.215.14/hooks", Events: []string{TicketCreated}, Secret: ptr("short")},
			"webhook.secret: is 5 bytes; accepted: 16 to 256 bytes of text without control characters, e.g. 32 random bytes in hex"},
		{"secret with a newline", &channelv1.Webhook{Url: "https://93.184.215.14/hooks", Events: []string{TicketCreated}, Secret: ptr("0123456789abcdef\n")},
			"webhook.secret: holds a control character or invalid UTF-8; accepted: 16 to 256 bytes of text without control characters, e.g. 32 random bytes in hex"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.srv.CreateWebhook(r.ctx(), &channelv1.CreateWebhookRequest{Webhook: tt.w})
			wantStatus(t, err, codes.InvalidArgument, tt.msg)
		})
	}
	if list, err := r.srv.ListWebhooks(r.ctx(), &channelv1.ListWebhooksRequest{}); err != nil || len(list.GetWebhooks()) != 0 {
		t.Errorf("after bad input: %v, %v; want no webhook", list, err)
	}
}

// TestWebhookResource: the secret is never returned; update with a mask
// and an etag; delete; tenants do not see each other's webhooks.
func TestWebhookResource(t *testing.T) {
	r := newRig(t, Config{})
	w := r.webhook("http://127.0.0.1:1/hooks", TicketCreated)
	if w.Secret != nil || w.GetSecretUpdateTime() == nil || w.GetPreviousSecretExpireTime() != nil || w.GetEtag() != "v1" {
		t.Errorf("created %v", w)
	}
	got, err := r.srv.GetWebhook(r.ctx(), &channelv1.GetWebhookRequest{Id: "webhooks/" + w.GetId()})
	if err != nil || got.GetWebhook().Secret != nil || got.GetWebhook().GetUrl() != w.GetUrl() {
		t.Errorf("get %v, %v", got, err)
	}
	globex := tenant.With(context.Background(), "globex")
	_, err = r.srv.GetWebhook(globex, &channelv1.GetWebhookRequest{Id: w.GetId()})
	wantStatus(t, err, codes.NotFound, `webhook "`+w.GetId()+`" not found`)
	_, err = r.srv.ListWebhookDeliveries(globex, &channelv1.ListWebhookDeliveriesRequest{Id: w.GetId()})
	wantStatus(t, err, codes.NotFound, `webhook "`+w.GetId()+`" not found`)
	if list, _ := r.srv.ListWebhooks(globex, &channelv1.ListWebhooksRequest{}); len(list.GetWebhooks()) != 0 {
		t.Errorf("globex lists %v", list.GetWebhooks())
	}

	up, err := r.srv.UpdateWebhook(r.ctx(), &channelv1.UpdateWebhookRequest{
		Webhook:    &channelv1.Webhook{Id: w.GetId(), Url: "http://127.0.0.1:2/other", Events: []string{SLABreached}, Description: "值班系统", Etag: "v1"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"events", "description"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if u := up.GetWebhook(); u.GetUrl() != w.GetUrl() || u.GetEvents()[0] != SLABreached || u.GetDescription() != "值班系统" || u.GetEtag() != "v2" || u.Secret != nil {
		t.Errorf("updated %v; want the URL unchanged (not in the mask)", u)
	}
	for _, tt := range []struct {
		name string
		req  *channelv1.UpdateWebhookRequest
		code codes.Code
		msg  string
	}{
		{"stale etag", &channelv1.UpdateWebhookRequest{Webhook: &channelv1.Webhook{Id: w.GetId(), Description: "x", Etag: "v1"}},
			codes.Aborted, `etag: webhook "` + w.GetId() + `" has changed since version "v1"; read it again and retry`},
		{"not updatable", &channelv1.UpdateWebhookRequest{Webhook: &channelv1.Webhook{Id: w.GetId(), Cursor: "s1:1"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"cursor"}}},
			codes.InvalidArgument, `update_mask: "cursor" cannot be updated; updatable: url, events, description, secret`},
		{"bad URL", &channelv1.UpdateWebhookRequest{Webhook: &channelv1.Webhook{Id: w.GetId(), Url: "http://[fd00:ec2::254]/"}},
			codes.InvalidArgument, `webhook.url: "http://[fd00:ec2::254]/": fd00:ec2::254 is a cloud metadata address (rule "cloud metadata": never a webhook's target)` + urlAccepted},
		{"bad event", &channelv1.UpdateWebhookRequest{Webhook: &channelv1.Webhook{Id: w.GetId(), Events: []string{"sla.breach"}}},
			codes.InvalidArgument, `webhook.events[0]: "sla.breach" is not an event; accepted: ticket.created, ticket.updated, comment.added, sla.changed, sla.breached, routing.assigned`},
		{"short secret", &channelv1.UpdateWebhookRequest{Webhook: &channelv1.Webhook{Id: w.GetId(), Secret: ptr("0123")}},
			codes.InvalidArgument, "webhook.secret: is 4 bytes; accepted: 16 to 256 bytes of text without control characters, e.g. 32 random bytes in hex"},
		{"other tenant", &channelv1.UpdateWebhookRequest{Webhook: &channelv1.Webhook{Id: w.GetId(), Description: "x"}},
			codes.NotFound, `webhook "` + w.GetId() + `" not found`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := r.ctx()
			if tt.name == "other tenant" {
				ctx = globex
			}
			_, err := r.srv.UpdateWebhook(ctx, tt.req)
			wantStatus(t, err, tt.code, tt.msg)
		})
	}
	if got, _ := r.srv.GetWebhook(r.ctx(), &channelv1.GetWebhookRequest{Id: w.GetId()}); got.GetWebhook().GetVersion() != 2 {
		t.Errorf("refused updates changed the webhook: %v", got.GetWebhook())
	}

	_, err = r.srv.DeleteWebhook(r.ctx(), &channelv1.DeleteWebhookRequest{Id: w.GetId(), Etag: "v1"})
	wantStatus(t, err, codes.Aborted, `etag: webhook "`+w.GetId()+`" has changed since version "v1"; read it again and retry`)
	_, err = r.srv.DeleteWebhook(globex, &channelv1.DeleteWebhookRequest{Id: w.GetId()})
	wantStatus(t, err, codes.NotFound, `webhook "`+w.GetId()+`" not found`)
	if _, err := r.srv.DeleteWebhook(r.ctx(), &channelv1.DeleteWebhookRequest{Id: w.GetId(), Etag: "v2"}); err != nil {
		t.Fatal(err)
	}
	_, err = r.srv.GetWebhook(r.ctx(), &channelv1.GetWebhookRequest{Id: w.GetId()})
	wantStatus(t, err, codes.NotFound, `webhook "`+w.GetId()+`" not found`)
}

func TestIdempotentCreate(t *testing.T) {
	r := newRig(t, Config{})
	ctx := metadata.NewIncomingContext(r.ctx(), metadata.Pairs(idempotencyKeyMetadata, "7c9e6679-7425-40de-944b-e07fc1f90ae7"))
	req := &channelv1.CreateWebhookRequest{Webhook: &channelv1.Webhook{Url: "http://127.0.0.1:1/", Events: []string{TicketCreated}, Secret: ptr(rigSecret)}}
	first, err := r.srv.CreateWebhook(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.srv.CreateWebhook(ctx, req)
	if err != nil || again.GetWebhook().GetId() != first.GetWebhook().GetId() {
		t.Errorf("retry = %v, %v; want the first webhook", again, err)
	}
	other := &channelv1.CreateWebhookRequest{Webhook: &channelv1.Webhook{Url: "http://127.0.0.1:2/", Events: []string{TicketCreated}, Secret: ptr(rigSecret)}}
	_, err = r.srv.CreateWebhook(ctx, other)
	wantStatus(t, err, codes.InvalidArgument, "Idempotency-Key: this key was already used for a different request; use a new key for a new request")
	if list, _ := r.srv.ListWebhooks(r.ctx(), &channelv1.ListWebhooksRequest{}); len(list.GetWebhooks()) != 1 {
		t.Errorf("%d webhooks, want 1", len(list.GetWebhooks()))
	}
}

func TestReplayAndDeliveriesBadInput(t *testing.T) {
	r := newRig(t, Config{})
	w := r.webhook("http://127.0.0.1:1/", TicketCreated)
	future := time.Now().Add(time.Hour)
	for _, tt := range []struct {
		name  string
		start any
		msg   string
	}{
		{"foreign cursor", "p1:1:1", `after_cursor: "p1:1:1" is not a position in this tenant's event stream; accepted: a delivery's event_id, or a cursor from GET /v1/events:watch`},
		{"garbage cursor", "yesterday", `after_cursor: "yesterday" is not a position in this tenant's event stream; accepted: a delivery's event_id, or a cursor from GET /v1/events:watch`},
		{"future", future, "start_time: " + future.UTC().Format(time.RFC3339) + " is in the future; accepted: a time up to now ("},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := &channelv1.ReplayWebhookRequest{Id: w.GetId()}
			switch s := tt.start.(type) {
			case string:
				req.Start = &channelv1.ReplayWebhookRequest_AfterCursor{AfterCursor: s}
			case time.Time:
				req.Start = &channelv1.ReplayWebhookRequest_StartTime{StartTime: timestamppb.New(s)}
			}
			_, err := r.srv.ReplayWebhook(r.ctx(), req)
			if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), tt.msg) {
				t.Errorf("got %v: %s\nwant INVALID_ARGUMENT: %s", st.Code(), st.Message(), tt.msg)
			}
		})
	}
	_, err := r.srv.ReplayWebhook(tenant.With(context.Background(), "globex"), &channelv1.ReplayWebhookRequest{Id: w.GetId(),
		Start: &channelv1.ReplayWebhookRequest_StartTime{StartTime: timestamppb.Now()}})
	wantStatus(t, err, codes.NotFound, `webhook "`+w.GetId()+`" not found`)
	if got, _ := r.srv.GetWebhook(r.ctx(), &channelv1.GetWebhookRequest{Id: w.GetId()}); got.GetWebhook().GetVersion() != 1 {
		t.Errorf("refused replays changed the webhook: %v", got.GetWebhook())
	}

	for filter, msg := range map[string]string{
		"state = lost":                       `filter: state "lost" is not a state; accepted: pending, succeeded, dead_lettered`,
		"status = pending":                   `filter: "status" is not a field; accepted: state, ticket`,
		"state":                              `filter: "state" is not a comparison; accepted: state = STATE and ticket = ID, joined by AND`,
		"state = pending AND state = failed": "filter: state is compared twice; accepted: each field once",
	} {
		_, err := r.srv.ListWebhookDeliveries(r.ctx(), &channelv1.ListWebhookDeliveriesRequest{Id: w.GetId(), Filter: filter})
		wantStatus(t, err, codes.InvalidArgument, msg)
	}
}
