package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/sla"
	"github.com/kubedesk/kubedesk/workflows/escalation"
)

// TestTicketSLA drives the internal SetTicketSLA RPC as the SLA worker
// does, over gRPC, and reads the result the way agents do, over REST.
func TestTicketSLA(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			testTicketSLA(t, startServe(t, args...))
		})
	}
}

func testTicketSLA(t *testing.T, srv *instance) {
	const tenantID = "sla-board"
	hdr := []string{"X-Kubedesk-Tenant", tenantID}
	// The SLA worker's calls carry the internal token; nobody else may
	// write a ticket's clocks.
	conn, err := grpc.NewClient(srv.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(auth.ServiceCredentials(testInternalToken)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ticketv1.NewTicketSLAServiceClient(conn)
	ctx := tenant.Outgoing(t.Context(), tenantID)
	admin := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+srv.key(t, tenantID))
	if _, err := ticketv1.NewTicketSLAServiceClient(grpcConn(t, srv.grpc)).SetTicketSLA(admin,
		&ticketv1.SetTicketSLARequest{TicketId: "x", Sla: &ticketv1.TicketSLA{UpdateTime: timestamppb.Now()}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("SetTicketSLA with an admin key = %v, want PERMISSION_DENIED (only kubedesk's modules may)", err)
	}

	breached := srv.create(t, map[string]any{"subject": "打印机着火了"}, hdr...)
	running := srv.create(t, map[string]any{"subject": "VPN slow"}, hdr...)
	none := srv.create(t, map[string]any{"subject": "no policy"}, hdr...)

	now := time.Now().UTC().Truncate(time.Second)
	clock := func(c ticketv1.SLAClock, st ticketv1.SLAState, due time.Time) *ticketv1.SLAClockStatus {
		return &ticketv1.SLAClockStatus{Clock: c, State: st, DueTime: timestamppb.New(due),
			Remaining: durationpb.New(time.Until(due)), Target: durationpb.New(8 * time.Hour)}
	}
	set := func(ctx context.Context, id string, clocks ...*ticketv1.SLAClockStatus) (*ticketv1.Ticket, error) {
		resp, err := client.SetTicketSLA(ctx, &ticketv1.SetTicketSLARequest{TicketId: id, Sla: &ticketv1.TicketSLA{
			Policy: "sla-board/standard", Clocks: clocks, UpdateTime: timestamppb.Now(),
			// Output only: the server derives them.
			State: ticketv1.SLAState_SLA_STATE_MET, Colour: ticketv1.SLAColour_SLA_COLOUR_GREY,
		}})
		return resp.GetTicket(), err
	}

	resolutionDue := now.Add(8 * time.Hour)
	got, err := set(ctx, breached.str("id"),
		clock(ticketv1.SLAClock_SLA_CLOCK_FIRST_RESPONSE, ticketv1.SLAState_SLA_STATE_BREACHED, now.Add(-time.Hour)),
		clock(ticketv1.SLAClock_SLA_CLOCK_RESOLUTION, ticketv1.SLAState_SLA_STATE_OK, resolutionDue))
	if err != nil {
		t.Fatal(err)
	}
	if got.GetSla().GetState() != ticketv1.SLAState_SLA_STATE_BREACHED || got.GetEtag() != "v1" {
		t.Errorf("SetTicketSLA returned state %s etag %s, want SLA_STATE_BREACHED and v1", got.GetSla().GetState(), got.GetEtag())
	}
	if _, err := set(ctx, running.str("id"), clock(ticketv1.SLAClock_SLA_CLOCK_RESOLUTION, ticketv1.SLAState_SLA_STATE_WARNING, now.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}

	t.Run("REST shows the SLA, etag unchanged", func(t *testing.T) {
		r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+breached.str("id"), nil, hdr...)
		if r.str("etag") != "v1" || r.header.Get("ETag") != `"v1"` {
			t.Errorf("etag %q, header %q; want v1 (SLA writes do not change the version)", r.str("etag"), r.header.Get("ETag"))
		}
		if r.str("updateTime") != breached.str("updateTime") {
			t.Errorf("updateTime %q, want %q", r.str("updateTime"), breached.str("updateTime"))
		}
		sla, _ := r.json["sla"].(map[string]any)
		if sla == nil {
			t.Fatalf("no sla in %s", r.body)
		}
		for k, want := range map[string]any{
			"state": "SLA_STATE_BREACHED", "colour": "SLA_COLOUR_RED", "policy": "sla-board/standard",
			"nextDueTime": resolutionDue.Format(time.RFC3339),
		} {
			if sla[k] != want {
				t.Errorf("sla.%s = %v, want %v", k, sla[k], want)
			}
		}
		clocks, _ := sla["clocks"].([]any)
		if len(clocks) != 2 {
			t.Fatalf("sla.clocks = %v, want 2", sla["clocks"])
		}
		for i, want := range []string{"SLA_COLOUR_RED", "SLA_COLOUR_GREEN"} {
			if c := clocks[i].(map[string]any); c["colour"] != want {
				t.Errorf("sla.clocks[%d] = %v, want colour %s", i, c, want)
			}
		}
		if r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+none.str("id"), nil, hdr...); r.json["sla"] != nil {
			t.Errorf("ticket without SLA shows sla %v", r.json["sla"])
		}
	})

	t.Run("REST filter and order", func(t *testing.T) {
		ids := func(tickets []map[string]any) []string {
			var out []string
			for _, tk := range tickets {
				out = append(out, tk["id"].(string))
			}
			return out
		}
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"filter=sla%20%3D%20breached", []string{breached.str("id")}},
			{"filter=sla%3D(warning%20OR%20breached)", []string{running.str("id"), breached.str("id")}},
			{"filter=sla%3Dnone", []string{none.str("id")}},
			{"order_by=sla_next_due", []string{running.str("id"), breached.str("id"), none.str("id")}},
		} {
			if got := ids(srv.listAll(t, tt.query, hdr...)); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
			}
		}
		// One ticket a page, through the page tokens.
		var got []string
		token := ""
		for range 5 {
			r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets?order_by=sla_next_due&page_size=1&page_token="+token, nil, hdr...)
			got = append(got, ids(toMaps(r.json["tickets"]))...)
			if token = r.str("nextPageToken"); token == "" {
				break
			}
			// A token is only good with the order it was made for.
			if bad := srv.call(t, "GET", "/v1/tickets?page_size=1&page_token="+token, nil, hdr...); bad.code != http.StatusBadRequest ||
				!strings.Contains(string(bad.body), "belongs to a different query") {
				t.Errorf("token reused without order_by = %d %s, want 400 naming the query", bad.code, bad.body)
			}
		}
		if want := []string{running.str("id"), breached.str("id"), none.str("id")}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("order_by=sla_next_due one per page: %v, want %v", got, want)
		}
		if r := srv.call(t, "GET", "/v1/tickets?order_by=priority", nil, hdr...); r.code != http.StatusBadRequest || !strings.Contains(string(r.body), "order_by") {
			t.Errorf("order_by=priority = %d %s, want 400 naming order_by", r.code, r.body)
		}
		if r := srv.call(t, "GET", "/v1/tickets?filter=sla%3Dlate", nil, hdr...); r.code != http.StatusBadRequest ||
			!strings.Contains(string(r.body), "accepted: ok, warning, breached, paused, met, none") {
			t.Errorf("filter sla=late = %d %s, want 400 listing the states", r.code, r.body)
		}
	})

	t.Run("the change is an event", func(t *testing.T) {
		events := watch(t, srv, "", 5, hdr...) // three creates, two SLA writes
		e := events[3]
		if e["type"] != "EVENT_TYPE_SLA_CHANGED" || e["ticketId"] != breached.str("id") {
			t.Fatalf("event 3 = %v %v, want EVENT_TYPE_SLA_CHANGED of %s", e["type"], e["ticketId"], breached.str("id"))
		}
		changes := toMaps(e["changes"])
		if len(changes) != 2 || changes[0]["field"] != "sla.first_response" || changes[0]["newValue"] != "breached" {
			t.Errorf("changes = %v, want sla.first_response and sla.resolution", changes)
		}
	})

	t.Run("no REST route", func(t *testing.T) {
		// TicketSLAService is internal: whatever path a client guesses,
		// the gateway has no route to it and the OpenAPI description
		// does not name it.
		body := map[string]any{"sla": map[string]any{"updateTime": time.Now().Format(time.RFC3339),
			"clocks": []any{map[string]any{"clock": "SLA_CLOCK_FIRST_RESPONSE", "state": "SLA_STATE_MET"}}}}
		id := breached.str("id")
		for _, probe := range []struct {
			path string
			want int
		}{
			{"/kubedesk.ticket.v1.TicketSLAService/SetTicketSLA", http.StatusNotFound},
			{"/kubedesk.ticket.v1.TicketService/SetTicketSLA", http.StatusNotFound},
			{"/v1/tickets/" + id + "/sla", http.StatusNotFound},
			// These match GET /v1/tickets/{id} (the id may hold a colon)
			// and no other method: grpc-gateway answers UNIMPLEMENTED,
			// "Method Not Allowed", as 501.
			{"/v1/tickets/" + id + ":setTicketSLA", http.StatusNotImplemented},
			{"/v1/tickets/" + id + ":setSla", http.StatusNotImplemented},
		} {
			if r := srv.call(t, "POST", probe.path, body, hdr...); r.code != probe.want {
				t.Errorf("POST %s = %d %s, want %d", probe.path, r.code, r.body, probe.want)
			}
		}
		if r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil, hdr...); r.json["sla"].(map[string]any)["state"] != "SLA_STATE_BREACHED" {
			t.Errorf("after the REST probes sla = %v, want it unchanged (SLA_STATE_BREACHED)", r.json["sla"])
		}
		doc := srv.mustCall(t, http.StatusOK, "GET", "/openapi.json", nil)
		for _, name := range []string{"TicketSLAService", "SetTicketSLA", "SLAEscalation"} {
			if strings.Contains(string(doc.body), name) {
				t.Errorf("/openapi.json names %s", name)
			}
		}
	})

	t.Run("invalid requests name the field", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			clocks []*ticketv1.SLAClockStatus
			want   string
		}{
			{"duplicate clock", []*ticketv1.SLAClockStatus{
				clock(ticketv1.SLAClock_SLA_CLOCK_RESOLUTION, ticketv1.SLAState_SLA_STATE_OK, now),
				clock(ticketv1.SLAClock_SLA_CLOCK_RESOLUTION, ticketv1.SLAState_SLA_STATE_MET, now),
			}, "sla.clocks[1].clock"},
			{"unspecified clock", []*ticketv1.SLAClockStatus{
				clock(ticketv1.SLAClock_SLA_CLOCK_RESOLUTION, ticketv1.SLAState_SLA_STATE_OK, now),
				clock(ticketv1.SLAClock_SLA_CLOCK_UNSPECIFIED, ticketv1.SLAState_SLA_STATE_OK, now),
			}, "sla.clocks[1].clock"},
			{"unspecified state", []*ticketv1.SLAClockStatus{
				clock(ticketv1.SLAClock_SLA_CLOCK_RESOLUTION, ticketv1.SLAState_SLA_STATE_UNSPECIFIED, now),
			}, "sla.clocks[0].state"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := set(ctx, breached.str("id"), tt.clocks...)
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tt.want) {
					t.Errorf("SetTicketSLA = %v, want INVALID_ARGUMENT naming %s", err, tt.want)
				}
			})
		}
		other := tenant.Outgoing(t.Context(), "someone-else")
		if _, err := set(other, breached.str("id"), clock(ticketv1.SLAClock_SLA_CLOCK_RESOLUTION, ticketv1.SLAState_SLA_STATE_OK, now)); status.Code(err) != codes.NotFound {
			t.Errorf("SetTicketSLA from another tenant = %v, want NOT_FOUND", err)
		}
		r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+breached.str("id"), nil, hdr...)
		if sla := r.json["sla"].(map[string]any); sla["state"] != "SLA_STATE_BREACHED" {
			t.Errorf("after refused writes sla.state = %v, want SLA_STATE_BREACHED", sla["state"])
		}
	})

	t.Run("a breach escalates in the same write", func(t *testing.T) {
		tk := srv.create(t, map[string]any{"subject": "邮件服务器宕机", "impact": 2, "urgency": 2, "group": "support"}, hdr...)
		st := escalation.Report{
			Tenant: tenantID, TicketID: tk.str("id"), Policy: "sla-board/standard", UpdatedAt: now,
			Clocks: []escalation.ClockStatus{{Kind: escalation.FirstResponse, State: escalation.StateBreached,
				Due: now.Add(-time.Minute), BreachedAt: now.Add(-time.Minute), Target: time.Hour, Remaining: -time.Minute}},
		}
		tickets := sla.NewTickets(conn)
		esc := escalation.Escalation{Group: "escalation", RaiseFrom: 3}
		for range 2 { // a retried call changes nothing more
			if err := tickets.Escalate(t.Context(), st, esc); err != nil {
				t.Fatal(err)
			}
		}
		r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+tk.str("id"), nil, hdr...)
		sla, _ := r.json["sla"].(map[string]any)
		if r.str("group") != "escalation" || r.str("priority") != "PRIORITY_P2" || r.json["urgency"] != 1.0 || r.str("etag") != "v2" || sla["state"] != "SLA_STATE_BREACHED" {
			t.Errorf("after the escalation: group %q, priority %q, urgency %v, etag %q, sla.state %v; want escalation, PRIORITY_P2, 1, v2, SLA_STATE_BREACHED",
				r.str("group"), r.str("priority"), r.json["urgency"], r.str("etag"), sla["state"])
		}
		// The three tickets above, their two SLA writes, then this one's
		// creation, breach and escalation: nothing more for the retry.
		events := watch(t, srv, "", 8, hdr...)[5:]
		for i, want := range []string{"EVENT_TYPE_TICKET_CREATED", "EVENT_TYPE_SLA_CHANGED", "EVENT_TYPE_TICKET_UPDATED"} {
			if e := events[i]; e["type"] != want || e["ticketId"] != tk.str("id") {
				t.Errorf("event %d: %v of %v, want %s of %s", 5+i, e["type"], e["ticketId"], want, tk.str("id"))
			}
		}
		// Runs started before revision 1 still raise and reassign with
		// calls of their own.
		old := srv.create(t, map[string]any{"subject": "旧的工作流 old run", "impact": 2, "urgency": 1}, hdr...)
		for range 2 { // the second call finds P1 from P2 no longer due
			if err := tickets.RaisePriority(t.Context(), tenantID, old.str("id"), 2); err != nil {
				t.Fatal(err)
			}
		}
		if err := tickets.Reassign(t.Context(), tenantID, old.str("id"), "escalation"); err != nil {
			t.Fatal(err)
		}
		r = srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+old.str("id"), nil, hdr...)
		if r.str("priority") != "PRIORITY_P1" || r.json["impact"] != 1.0 || r.str("group") != "escalation" {
			t.Errorf("after RaisePriority and Reassign: priority %q, impact %v, group %q; want PRIORITY_P1, 1, escalation", r.str("priority"), r.json["impact"], r.str("group"))
		}
		for _, tt := range []struct {
			esc  *ticketv1.SLAEscalation
			want string
		}{
			{&ticketv1.SLAEscalation{RaisePriorityFrom: 9}, "escalation.raise_priority_from"},
			{&ticketv1.SLAEscalation{Group: strings.Repeat("组", 201)}, "escalation.group"},
		} {
			_, err := client.SetTicketSLA(ctx, &ticketv1.SetTicketSLARequest{TicketId: tk.str("id"), Sla: &ticketv1.TicketSLA{UpdateTime: timestamppb.Now()}, Escalation: tt.esc})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tt.want) {
				t.Errorf("SetTicketSLA with escalation %v = %v, want INVALID_ARGUMENT naming %s", tt.esc, err, tt.want)
			}
		}
	})
}

func toMaps(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, len(list))
	for i, x := range list {
		out[i] = x.(map[string]any)
	}
	return out
}

// grpcConn is a plain connection to addr, closed when the test ends; the
// calls carry what their context's metadata holds.
func grpcConn(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
