package chat

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
)

// Sweeper moves the chats that wait for an agent along: offered while an
// agent of their group is online, and the visitor asked for an e-mail
// address once nobody of the group has been online for the tenant's
// wait. Every replica may sweep: each change is a conditional update of
// the chat, made once.
type Sweeper struct {
	Store   Store
	Tickets ticketv1.TicketServiceClient
	Hub     *Hub
	Tenants Tenants
	// Every is how often it sweeps (1 s when zero).
	Every time.Duration
	Now   func() time.Time
	Log   *slog.Logger
}

// onlineRefresh is how stale an offered chat's "agent online" time may
// get before a sweep writes it again: every sweep would write every
// offered chat every second.
const onlineRefresh = 5 * time.Second

// sweepBatch is how many waiting chats one sweep looks at.
const sweepBatch = 1000

// Run sweeps until ctx ends.
func (w *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(cmp.Or(w.Every, time.Second))
	defer t.Stop()
	for {
		if err := w.Sweep(ctx); err != nil && ctx.Err() == nil {
			w.log().WarnContext(ctx, "chat sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep looks at every chat waiting for an agent once.
func (w *Sweeper) Sweep(ctx context.Context) error {
	now := w.now()
	chats, err := w.Store.AwaitingChats(ctx, sweepBatch)
	if err != nil {
		return err
	}
	if len(chats) == 0 {
		return nil
	}
	online, err := w.Store.ChatGroupsOnline(ctx, now)
	if err != nil {
		return err
	}
	for _, c := range chats {
		settings, ok := w.Tenants(c.Tenant)
		if !ok {
			continue
		}
		someone := slices.Contains(online[c.Tenant], c.Group)
		if !someone && now.Sub(c.OnlineTime) < settings.OfferWait {
			continue
		}
		if someone && c.State == store.ChatOffered && now.Sub(c.OnlineTime) < onlineRefresh {
			continue
		}
		next, changed, err := w.Store.UpdateChat(ctx, c.Tenant, c.TicketID, func(cur *store.ChatConversation) (bool, error) {
			if !cur.Awaiting() {
				return false, nil // answered, closed or handed on meanwhile
			}
			if someone {
				cur.State, cur.OnlineTime = store.ChatOffered, now
				return true, nil
			}
			cur.State = store.ChatAskEmail
			return true, nil
		})
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		if next.State != c.State {
			w.Hub.Wake(ChatTopic(next.Tenant, next.TicketID), VisitorTopic(next.Tenant, next.VisitorID))
		}
		if next.State == store.ChatAskEmail {
			w.note(ctx, next, settings.OfferWait)
		}
	}
	return nil
}

func (w *Sweeper) note(ctx context.Context, c store.ChatConversation, wait time.Duration) {
	group := "any group"
	if c.Group != "" {
		group = "group " + c.Group
	}
	addNote(ctx, w.Tickets, w.log(), c.Tenant, c.TicketID, "chat-ask-email",
		fmt.Sprintf("No agent of %s was online within %s: the visitor is asked for an e-mail address, and the chat goes on by e-mail once one is given.", group, wait))
}

func (w *Sweeper) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Sweeper) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}
