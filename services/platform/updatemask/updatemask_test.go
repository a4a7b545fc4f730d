package updatemask

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

func TestPaths(t *testing.T) {
	updatable := []string{"subject", "requester", "tags", "custom_fields"}
	tests := []struct {
		name     string
		paths    []string // nil: no mask
		resource *ticketv1.Ticket
		want     []string
		err      string
	}{
		{name: "as given, sorted, once", paths: []string{"tags", "subject", "tags"}, resource: &ticketv1.Ticket{}, want: []string{"subject", "tags"}},
		{name: "sub-paths of a message and a map", paths: []string{"requester.email", "custom_fields.tier"}, resource: &ticketv1.Ticket{}, want: []string{"custom_fields", "requester"}},
		{name: "id and etag skipped", paths: []string{"id", "etag", "subject"}, resource: &ticketv1.Ticket{}, want: []string{"subject"}},
		{name: "no mask: the fields set", resource: &ticketv1.Ticket{Id: "t1", Subject: "s", Tags: []string{"a"}, Group: "g"}, want: []string{"subject", "tags"}},
		{name: "not updatable", paths: []string{"priority"}, resource: &ticketv1.Ticket{}, err: `update_mask: "priority" cannot be updated; updatable: subject, requester, tags, custom_fields`},
		{name: "sub-path of a scalar", paths: []string{"subject.text"}, resource: &ticketv1.Ticket{}, err: `"subject.text" cannot be updated`},
		{name: "empty sub-path", paths: []string{"requester."}, resource: &ticketv1.Ticket{}, err: `"requester." cannot be updated`},
		{name: "nothing", paths: []string{"id"}, resource: &ticketv1.Ticket{}, err: "update_mask: names no field"},
		{name: "no mask and nothing set", resource: &ticketv1.Ticket{Id: "t1"}, err: "update_mask: names no field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m *fieldmaskpb.FieldMask
			if tt.paths != nil {
				m = &fieldmaskpb.FieldMask{Paths: tt.paths}
			}
			got, err := Paths(m, tt.resource, updatable)
			if tt.err != "" {
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Paths = %v, %v; want INVALID_ARGUMENT containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
}
