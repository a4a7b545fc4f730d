package channel

import (
	"context"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
)

// resolverServer implements the internal ContactResolverService: the
// ticket service resolves the requester of a ticket created by e-mail
// address alone through it.
type resolverServer struct {
	channelv1.UnimplementedContactResolverServiceServer
	s *Server
}

// ResolveContact implements channelv1.ContactResolverServiceServer.
func (r resolverServer) ResolveContact(ctx context.Context, req *channelv1.ResolveContactRequest) (*channelv1.ResolveContactResponse, error) {
	id := req.GetIdentity()
	c, created, err := r.s.Resolve(ctx, store.Identity{Type: id.GetType(), Value: id.GetValue()}, req.GetDisplayName())
	if err != nil {
		return nil, err
	}
	return &channelv1.ResolveContactResponse{Contact: contactToProto(c), Created: created}, nil
}
