package grpcserver

import (
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

func TestValidate(t *testing.T) {
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	ok := &ticketv1.Ticket{Subject: "打印机无法连接", Impact: 1, Urgency: 3}
	tests := []struct {
		name string
		req  proto.Message
		want []string // substrings of the INVALID_ARGUMENT message; none = valid
	}{
		{"valid", &ticketv1.CreateTicketRequest{Ticket: ok}, nil},
		{"impact and urgency default", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x"}}, nil},
		{"no ticket", &ticketv1.CreateTicketRequest{}, []string{"ticket: value is required"}},
		{"empty subject", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{}}, []string{"ticket: subject is required"}},
		{"blank subject", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: " \t "}}, []string{"ticket: subject is required"}},
		{"impact 7", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", Impact: 7}},
			[]string{"ticket.impact: must be greater than or equal to 1 and less than or equal to 3 (got 7)"}},
		{"two violations", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", Urgency: -1, Requester: &ticketv1.Requester{Email: "not-mail"}}},
			[]string{"ticket.urgency:", "ticket.requester.email:"}},
		{"duplicate tags", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", Tags: []string{"a", "a"}}}, []string{"tags must be unique"}},
		{"bad custom field key", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", CustomFields: map[string]string{"1bad": "v"}}}, []string{"ticket.custom_fields"}},
		{"negative page size", &ticketv1.ListTicketsRequest{PageSize: -1}, []string{"page_size: must be greater than or equal to 0 (got -1)"}},
		{"unknown status", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", Status: 42}}, []string{"ticket.status: value must be one of the defined enum values"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(v, tt.req)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("valid request refused: %v", err)
				}
				return
			}
			st, _ := status.FromError(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want InvalidArgument", st.Code(), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(st.Message(), w) {
					t.Errorf("message %q does not contain %q", st.Message(), w)
				}
			}
			if len(st.Details()) != 1 {
				t.Errorf("details = %v, want one BadRequest", st.Details())
			}
		})
	}
}
