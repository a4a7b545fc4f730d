package grpcserver

import (
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

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
		// NUL in any string, however deep, is refused by name (nulRule).
		{"NUL in subject", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "a\x00b"}},
			[]string{`ticket.subject: must not contain the NUL character (U+0000) (got "a\x00b")`}},
		{"NUL in description", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", Description: "\x00"}},
			[]string{`ticket.description: must not contain the NUL character (U+0000) (got "\x00")`}},
		{"NUL in requester name", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", Requester: &ticketv1.Requester{Name: "王\x00"}}},
			[]string{`ticket.requester.name: must not contain the NUL character (U+0000) (got "王\x00")`}},
		{"NUL in a tag", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", Tags: []string{"vip", "b\x00"}}},
			[]string{`ticket.tags[1]: must not contain the NUL character (U+0000) (got "b\x00")`}},
		{"NUL in a custom field value", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", CustomFields: map[string]string{"os": "linux\x00"}}},
			[]string{`ticket.custom_fields["os"]: must not contain the NUL character (U+0000) (got "linux\x00")`}},
		{"NUL in a custom field key", &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x", CustomFields: map[string]string{"o\x00s": "linux"}}},
			[]string{`ticket.custom_fields["o\x00s"]: must not contain the NUL character (U+0000) (got "o\x00s")`}},
		{"NUL in the idempotency key", &ticketv1.CreateTicketRequest{Ticket: ok, RequestId: "k\x00"},
			[]string{`request_id: must not contain the NUL character (U+0000) (got "k\x00")`}},
		{"NUL in a comment body", &ticketv1.AddCommentRequest{TicketId: "t", Comment: &ticketv1.Comment{Author: "li.na", Body: "hi\x00"}},
			[]string{`comment.body: must not contain the NUL character (U+0000) (got "hi\x00")`}},
		{"NUL in a filter", &ticketv1.ListTicketsRequest{Filter: "tag = a\x00"},
			[]string{`filter: must not contain the NUL character (U+0000) (got "tag = a\x00")`}},
		{"NUL in an update mask path", &ticketv1.UpdateTicketRequest{Ticket: &ticketv1.Ticket{Id: "t"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"subject\x00"}}},
			[]string{`update_mask.paths[0]: must not contain the NUL character (U+0000) (got "subject\x00")`}},
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

// TestValidateNULWithOtherViolations checks the whole message when a NUL
// comes with a rule of the .proto broken: both are reported, in one
// status, each in the BadRequest details with its field.
func TestValidateNULWithOtherViolations(t *testing.T) {
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	err = validate(v, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "x\x00", Impact: 7}})
	st, _ := status.FromError(err)
	want := `ticket.impact: must be greater than or equal to 1 and less than or equal to 3 (got 7); ` +
		`ticket.subject: must not contain the NUL character (U+0000) (got "x\x00")`
	if st.Code() != codes.InvalidArgument || st.Message() != want {
		t.Fatalf("got %v %q, want InvalidArgument %q", st.Code(), st.Message(), want)
	}
	br, ok := st.Details()[0].(*errdetails.BadRequest)
	if !ok || len(br.GetFieldViolations()) != 2 || br.GetFieldViolations()[1].GetField() != "ticket.subject" {
		t.Errorf("details = %v, want a BadRequest naming ticket.impact and ticket.subject", st.Details())
	}
}
