package main

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// TestTicketRouting drives the internal AssignTicket RPC as the routing
// service does, over gRPC with the internal token, through the access
// interceptor, and reads its events the way integrators do, over REST.
func TestTicketRouting(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			testTicketRouting(t, startServe(t, args...))
		})
	}
}

func testTicketRouting(t *testing.T, srv *instance) {
	const tenantID = "routing-board"
	hdr := []string{"X-Kubedesk-Tenant", tenantID}
	conn, err := grpc.NewClient(srv.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(auth.ServiceCredentials(testInternalToken)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ticketv1.NewTicketRoutingServiceClient(conn)
	ctx := tenant.Outgoing(t.Context(), tenantID)

	tk := srv.create(t, map[string]any{"subject": "发票开错了 wrong invoice", "impact": 2, "urgency": 3}, hdr...)
	decision := &ticketv1.RoutingSummary{Id: "0193a0c2-5e1f-7b3d-9a41-2c8e6f0d7b15", Trigger: "created", Outcome: "assigned",
		Group: "billing", Agent: "u-wang", Rules: []string{"账单"}, Explanation: "规则“账单”匹配：主题含“发票”。"}
	req := &ticketv1.AssignTicketRequest{TicketId: tk.str("id"), Decision: decision, Group: proto.String("billing"),
		Assignee: proto.String("u-wang"), ExpectAssignee: proto.String(""), PriorityAtLeast: ticketv1.Priority_PRIORITY_P3,
		AddTags: []string{"账单"}, Note: "转给账单组"}

	admin := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+srv.key(t, tenantID))
	if _, err := ticketv1.NewTicketRoutingServiceClient(grpcConn(t, srv.grpc)).AssignTicket(admin, req); status.Code(err) != codes.PermissionDenied {
		t.Errorf("AssignTicket with an admin key = %v, want PERMISSION_DENIED (only kubedesk's modules may)", err)
	}
	resp, err := client.AssignTicket(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetApplied() || resp.GetTicket().GetAssignee() != "u-wang" || resp.GetTicket().GetEtag() != "v2" {
		t.Errorf("AssignTicket = applied %v, assignee %q, etag %s; want applied, u-wang, v2", resp.GetApplied(), resp.GetTicket().GetAssignee(), resp.GetTicket().GetEtag())
	}
	if again, err := client.AssignTicket(ctx, req); err != nil || again.GetApplied() {
		t.Errorf("the decision again = applied %v, %v; want not applied", again.GetApplied(), err)
	}

	t.Run("REST shows the decision", func(t *testing.T) {
		r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+tk.str("id"), nil, hdr...)
		if r.str("group") != "billing" || r.str("assignee") != "u-wang" || r.str("priority") != "PRIORITY_P3" || r.str("etag") != "v2" {
			t.Errorf("ticket group %q, assignee %q, priority %q, etag %q; want billing, u-wang, PRIORITY_P3, v2",
				r.str("group"), r.str("assignee"), r.str("priority"), r.str("etag"))
		}
		wantRouting := map[string]any{"id": decision.GetId(), "trigger": "created", "outcome": "assigned", "group": "billing",
			"agent": "u-wang", "rules": []any{"账单"}, "explanation": decision.GetExplanation()}
		events := watch(t, srv, "", 3, hdr...)
		for i, want := range []string{"EVENT_TYPE_TICKET_CREATED", "EVENT_TYPE_TICKET_UPDATED", "EVENT_TYPE_ROUTING_ASSIGNED"} {
			if events[i]["type"] != want {
				t.Errorf("event %d: %v, want %s", i, events[i]["type"], want)
			}
		}
		for _, e := range events[1:] {
			if !reflect.DeepEqual(e["routing"], wantRouting) {
				t.Errorf("%v: routing %v\nwant %v", e["type"], e["routing"], wantRouting)
			}
		}
		if c, _ := events[2]["comment"].(map[string]any); c["body"] != "转给账单组" || c["visibility"] != "VISIBILITY_INTERNAL" {
			t.Errorf("routing event's comment %v, want the internal note", events[2]["comment"])
		}
		only, _ := watchTypes(t, srv, "types=EVENT_TYPE_ROUTING_ASSIGNED", 1, hdr...)
		if len(only) != 1 || only[0]["cursor"] != events[2]["cursor"] {
			t.Errorf("types=EVENT_TYPE_ROUTING_ASSIGNED sent %v, want the routing event alone", only)
		}
		comments := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+tk.str("id")+"/comments", nil, hdr...)
		if cs := toMaps(comments.json["comments"]); len(cs) != 1 || cs[0]["body"] != "转给账单组" || cs[0]["authorType"] != "AUTHOR_TYPE_SYSTEM" {
			t.Errorf("comments %v, want the note, by the system", comments.json["comments"])
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			req  *ticketv1.AssignTicketRequest
			code codes.Code
			msg  string
		}{
			{"taken", &ticketv1.AssignTicketRequest{TicketId: tk.str("id"), Decision: &ticketv1.RoutingSummary{Id: "d-late"},
				Assignee: proto.String("u-li"), ExpectAssignee: proto.String("")},
				codes.Aborted, `ticket ` + tk.str("id") + `: assignee is "u-wang" now, not ""`},
			{"no decision", &ticketv1.AssignTicketRequest{TicketId: tk.str("id")}, codes.InvalidArgument, "decision"},
			{"bad custom field name", &ticketv1.AssignTicketRequest{TicketId: tk.str("id"), Decision: &ticketv1.RoutingSummary{Id: "d-bad"},
				SetCustomFields: map[string]string{"9lives": "x"}}, codes.InvalidArgument, "set_custom_fields"},
		} {
			_, err := client.AssignTicket(ctx, tt.req)
			if st := status.Convert(err); st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
				t.Errorf("%s: AssignTicket = %v %q, want %v containing %q", tt.name, st.Code(), st.Message(), tt.code, tt.msg)
			}
		}
		if _, err := client.AssignTicket(tenant.Outgoing(t.Context(), "someone-else"), &ticketv1.AssignTicketRequest{
			TicketId: tk.str("id"), Decision: &ticketv1.RoutingSummary{Id: "d-other"}, Assignee: proto.String("x")}); status.Code(err) != codes.NotFound {
			t.Errorf("AssignTicket from another tenant = %v, want NOT_FOUND", err)
		}
	})

	t.Run("no REST route", func(t *testing.T) {
		for _, probe := range []struct {
			path string
			want int
		}{
			{"/kubedesk.ticket.v1.TicketRoutingService/AssignTicket", http.StatusNotFound},
			{"/v1/tickets/" + tk.str("id") + ":assign", http.StatusNotImplemented}, // matches GET /v1/tickets/{id} only
		} {
			if r := srv.call(t, "POST", probe.path, map[string]any{"decision": map[string]any{"id": "d-rest"}}, hdr...); r.code != probe.want {
				t.Errorf("POST %s = %d %s, want %d", probe.path, r.code, r.body, probe.want)
			}
		}
		doc := srv.mustCall(t, http.StatusOK, "GET", "/openapi.json", nil)
		for _, name := range []string{"TicketRoutingService", "AssignTicket"} {
			if strings.Contains(string(doc.body), name) {
				t.Errorf("/openapi.json names %s", name)
			}
		}
	})
}
