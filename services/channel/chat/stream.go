package chat

import (
	"context"
	"time"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
)

// pollEvery is how often a stream reads the store without a wake-up: what
// bounds the delay when a wake-up is lost (another replica's, over a
// connection that failed).
const pollEvery = 5 * time.Second

// page is how many messages a stream reads at once.
const page = 100

// FollowChatVisit implements channelv1.ChatVisitorServiceServer.
func (s *Service) FollowChatVisit(req *channelv1.FollowChatVisitRequest, stream channelv1.ChatVisitorService_FollowChatVisitServer) error {
	ctx := stream.Context()
	tid, _, err := s.tenantOf(ctx)
	if err != nil {
		return err
	}
	vid, err := s.visitor(tid, req.GetToken())
	if err != nil {
		return err
	}
	sub, cancel := s.hub.Subscribe(VisitorTopic(tid, vid))
	defer cancel()
	defer s.metrics.stream(ctx, "visitor")()
	f := &follow{s: s, tid: tid, after: req.GetAfterSeq(), send: func(frame *channelv1.ChatFrame) error {
		return stream.Send(&channelv1.FollowChatVisitResponse{Frame: frame})
	}}
	current := ""
	for ctx.Err() == nil {
		v, ok, err := s.store.ChatVisitor(ctx, tid, vid)
		if err != nil {
			return s.storeError(ctx, err)
		}
		if ok && v.TicketID != current {
			// The visitor's first chat, or a new one after a closed one:
			// its messages from the first, unless it is the chat the
			// visitor last saw.
			if v.TicketID != req.GetTicketId() || current != "" {
				f.after = 0
			}
			current, f.last = v.TicketID, nil
		}
		if current != "" {
			if err := f.pump(ctx, current); err != nil {
				return err
			}
		}
		if err := f.wait(ctx, sub, channelv1.ChatAuthor_CHAT_AUTHOR_VISITOR); err != nil {
			return err
		}
	}
	return nil // the visitor left, or the server drains
}

// follow is one stream's position in a chat.
type follow struct {
	s     *Service
	tid   string
	after int64                       // the last seq sent
	last  *channelv1.ChatConversation // the conversation last sent
	send  func(*channelv1.ChatFrame) error
}

// pump sends the chat's conversation when it changed and its messages
// after the last sent.
func (f *follow) pump(ctx context.Context, ticketID string) error {
	c, ok, err := f.s.store.ChatConversation(ctx, f.tid, ticketID)
	if err != nil {
		return f.s.storeError(ctx, err)
	}
	if !ok {
		return nil
	}
	if p := conversationProto(c); f.last == nil || changedConversation(f.last, p) {
		if err := f.send(&channelv1.ChatFrame{Frame: &channelv1.ChatFrame_Conversation{Conversation: p}}); err != nil {
			return err
		}
		f.last = p
	}
	for {
		msgs, err := f.s.store.ChatMessages(ctx, f.tid, ticketID, f.after, page)
		if err != nil {
			return f.s.storeError(ctx, err)
		}
		for _, m := range msgs {
			if err := f.send(&channelv1.ChatFrame{Frame: &channelv1.ChatFrame_Message{Message: messageProto(m)}}); err != nil {
				return err
			}
			f.after = m.Seq
		}
		if len(msgs) < page {
			return nil
		}
	}
}

// wait passes typing signals on (not those of mine, the stream's own
// side) until a wake-up or the poll says to read the store again, or ctx
// ends.
func (f *follow) wait(ctx context.Context, sub *Sub, mine channelv1.ChatAuthor) error {
	poll := time.NewTimer(pollEvery)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.Wake:
			return nil
		case <-poll.C:
			return nil
		case t := <-sub.Typing:
			if t.GetAuthor() == mine {
				continue
			}
			if err := f.send(&channelv1.ChatFrame{Frame: &channelv1.ChatFrame_Typing{Typing: t}}); err != nil {
				return err
			}
		}
	}
}

// changedConversation reports a change a stream's client shows: the
// state, the address, a read receipt (not the last seq, which every
// message moves).
func changedConversation(a, b *channelv1.ChatConversation) bool {
	return a.GetTicketId() != b.GetTicketId() || a.GetState() != b.GetState() || a.GetEmail() != b.GetEmail() ||
		a.GetVisitorReadSeq() != b.GetVisitorReadSeq() || a.GetAgentReadSeq() != b.GetAgentReadSeq() || a.GetGroup() != b.GetGroup()
}
