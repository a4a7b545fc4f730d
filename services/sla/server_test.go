package sla

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	slav1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/sla/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

func TestListSLAPoliciesPages(t *testing.T) {
	var docs []string
	for i := range 5 {
		docs = append(docs, fmt.Sprintf(`apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: p%d}
spec:
  tenantRef: {name: %s}
  precedence: %d
  targets: [{priority: P1, firstResponse: 15m}]`, i, map[bool]string{true: "acme", false: "globex"}[i != 2], 10-i))
	}
	file := filepath.Join(t.TempDir(), "policies.yaml")
	if err := os.WriteFile(file, []byte(strings.Join(docs, "\n---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	f := NewInForce()
	if err := f.Load(file); err != nil {
		t.Fatal(err)
	}
	srv := NewServer(f)
	ctx := tenant.With(t.Context(), "acme")

	var names []string
	token := ""
	for range 10 {
		resp, err := srv.ListSLAPolicies(ctx, &slav1.ListSLAPoliciesRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.GetSlaPolicies() {
			names = append(names, p.GetName())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	// acme's four policies, lowest precedence first; p2 belongs to globex.
	if got := strings.Join(names, ","); got != "p4,p3,p1,p0" {
		t.Errorf("pages gave %s, want p4,p3,p1,p0", got)
	}
	_, err := srv.ListSLAPolicies(ctx, &slav1.ListSLAPoliciesRequest{PageToken: "%%%"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "page_token") {
		t.Errorf("bad token: %v", err)
	}
}
