package chat

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// DefaultPresenceTTL is how long a presence report holds.
const DefaultPresenceTTL = 60 * time.Second

// maxOffers is how many chats a presence report returns.
const maxOffers = 100

// ReportChatPresence implements channelv1.ChatServiceServer.
func (s *Service) ReportChatPresence(ctx context.Context, req *channelv1.ReportChatPresenceRequest) (*channelv1.ReportChatPresenceResponse, error) {
	tid, _, err := s.tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	p := auth.From(ctx)
	staff := auth.HasRole(p, iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR)
	groups := slices.Clone(req.GetGroups())
	if len(groups) == 0 {
		groups = slices.Clone(p.GetGroups())
	} else if !staff {
		// An agent is online for its own groups only: the chats it is
		// offered are those whose tickets it sees.
		for i, g := range groups {
			if !slices.Contains(p.GetGroups(), g) {
				return nil, status.Errorf(codes.InvalidArgument, "groups[%d]: %q is not one of your groups; accepted: %s", i, g, groupNames(p.GetGroups()))
			}
		}
	}
	if staff {
		// Admins and supervisors see every ticket: the chats of no group
		// are theirs to take.
		groups = append(groups, "")
	}
	if len(groups) == 0 {
		return nil, status.Error(codes.FailedPrecondition, "groups: you are in no group, and an agent takes the chats of its groups; an admin adds you to the tenant's chat group (spec.channels.chat.group)")
	}
	slices.Sort(groups)
	groups = slices.Compact(groups)
	ttl := cmp.Or(s.PresenceTTL, DefaultPresenceTTL)
	expire := s.now().Add(ttl)
	if req.GetAway() {
		expire = s.now()
	}
	if err := s.store.ReportChatPresence(ctx, store.ChatPresence{
		Tenant: tid, AgentID: cmp.Or(p.GetUserId(), p.GetId()), AgentName: p.GetDisplayName(), Groups: groups, Expire: expire,
	}); err != nil {
		return nil, s.storeError(ctx, err)
	}
	resp := &channelv1.ReportChatPresenceResponse{ReportWithin: durationpb.New(ttl)}
	if req.GetAway() {
		return resp, nil
	}
	offers, err := s.store.ChatOffers(ctx, tid, groups, maxOffers)
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	for _, c := range offers {
		resp.Offers = append(resp.Offers, conversationProto(c))
	}
	return resp, nil
}

func groupNames(groups []string) string {
	if len(groups) == 0 {
		return "none (you are in no group)"
	}
	q := make([]string, len(groups))
	for i, g := range groups {
		q[i] = strconv.Quote(g)
	}
	return strings.Join(q, ", ")
}

// WatchChat implements channelv1.ChatServiceServer.
func (s *Service) WatchChat(req *channelv1.WatchChatRequest, stream channelv1.ChatService_WatchChatServer) error {
	ctx := stream.Context()
	tid, _, err := s.tenantOf(ctx)
	if err != nil {
		return err
	}
	if _, err := s.agentChat(ctx, tid, req.GetTicketId()); err != nil {
		return err
	}
	sub, cancel := s.hub.Subscribe(ChatTopic(tid, req.GetTicketId()))
	defer cancel()
	defer s.metrics.stream(ctx, "agent")()
	f := &follow{s: s, tid: tid, after: req.GetAfterSeq(), send: func(frame *channelv1.ChatFrame) error {
		return stream.Send(&channelv1.WatchChatResponse{Frame: frame})
	}}
	for ctx.Err() == nil {
		if err := f.pump(ctx, req.GetTicketId()); err != nil {
			return err
		}
		if err := f.wait(ctx, sub, channelv1.ChatAuthor_CHAT_AUTHOR_AGENT); err != nil {
			return err
		}
	}
	return nil
}

// SignalChat implements channelv1.ChatServiceServer.
func (s *Service) SignalChat(ctx context.Context, req *channelv1.SignalChatRequest) (*channelv1.SignalChatResponse, error) {
	tid, _, err := s.tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.agentChat(ctx, tid, req.GetTicketId())
	if err != nil {
		return nil, err
	}
	if req.Typing != nil {
		p := auth.From(ctx)
		s.hub.Typing(VisitorTopic(tid, c.VisitorID), &channelv1.ChatTyping{
			Author: channelv1.ChatAuthor_CHAT_AUTHOR_AGENT, AuthorName: cmp.Or(p.GetDisplayName(), p.GetId()), Typing: req.GetTyping(),
		})
	}
	if seq := req.GetReadSeq(); seq > 0 {
		if err := s.markRead(ctx, tid, c.TicketID, seq, true); err != nil {
			return nil, err
		}
	}
	return &channelv1.SignalChatResponse{}, nil
}

// agentChat returns the chat of a ticket the caller may see, as the
// ticket service's rule has it: admins, supervisors and integrations see
// every ticket; an agent those of its groups and those assigned to it.
// Any other chat is NOT_FOUND, as one that does not exist.
func (s *Service) agentChat(ctx context.Context, tid, ticketID string) (store.ChatConversation, error) {
	notFound := status.Errorf(codes.NotFound, "chat %q not found", ticketID)
	c, ok, err := s.store.ChatConversation(ctx, tid, ticketID)
	if err != nil {
		return c, s.storeError(ctx, err)
	}
	if !ok {
		return c, notFound
	}
	p := auth.From(ctx)
	if auth.HasRole(p, iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR, iamv1.Role_ROLE_INTEGRATION, iamv1.Role_ROLE_SERVICE) {
		return c, nil
	}
	got, err := s.tickets.GetTicket(tenant.Outgoing(ctx, tid), &ticketv1.GetTicketRequest{Id: ticketID})
	if status.Code(err) == codes.NotFound {
		return c, notFound
	}
	if err != nil {
		return c, ticketError(err, fmt.Sprintf("read chat %q's ticket", ticketID))
	}
	t := got.GetTicket()
	mine := t.GetAssignee() != "" && slices.Contains([]string{p.GetUserId(), p.GetId(), p.GetEmail()}, t.GetAssignee())
	if (t.GetGroup() != "" && slices.Contains(p.GetGroups(), t.GetGroup())) || mine {
		return c, nil
	}
	return c, notFound
}
