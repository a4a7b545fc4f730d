package sla

import (
	"context"
	"encoding/base64"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	slav1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/sla/v1"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Server implements slav1.SLAPolicyServiceServer.
type Server struct {
	slav1.UnimplementedSLAPolicyServiceServer
	policies *InForce
}

// NewServer serves the policies in force.
func NewServer(policies *InForce) *Server { return &Server{policies: policies} }

// Register adds the service to a gRPC server.
func (s *Server) Register(g grpc.ServiceRegistrar) { slav1.RegisterSLAPolicyServiceServer(g, s) }

// ListSLAPolicies implements slav1.SLAPolicyServiceServer.
func (s *Server) ListSLAPolicies(ctx context.Context, req *slav1.ListSLAPoliciesRequest) (*slav1.ListSLAPoliciesResponse, error) {
	id := tenant.From(ctx)
	var mine []Entry
	for _, e := range s.policies.Current().Entries {
		if e.Policy.Tenant == id {
			mine = append(mine, e)
		}
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, convErr := strconv.Atoi(string(raw))
		if err != nil || convErr != nil || n < 0 {
			return nil, status.Error(codes.InvalidArgument, "page_token: is not a token this service issued; send the next_page_token of the previous page")
		}
		start = min(n, len(mine))
	}
	end := min(start+paging.Size(req.GetPageSize()), len(mine))
	resp := &slav1.ListSLAPoliciesResponse{}
	for _, e := range mine[start:end] {
		resp.SlaPolicies = append(resp.SlaPolicies, &slav1.SLAPolicy{
			Name:       e.Policy.Name,
			Tenant:     e.Policy.Tenant,
			Precedence: e.Policy.Precedence,
			Spec:       e.Spec,
			Source:     e.Source,
		})
	}
	if end < len(mine) {
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return resp, nil
}
