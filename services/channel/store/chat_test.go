package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustVisitor(t *testing.T, s Store, tenant, id string) ChatVisitor {
	t.Helper()
	v, err := s.SaveChatVisitor(ctx, ChatVisitor{Tenant: tenant, ID: id, ContactID: "c-" + id, Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustChat(t *testing.T, s Store, tenant, visitor, ticket, group string) ChatConversation {
	t.Helper()
	c, err := s.OpenChat(ctx, ChatConversation{Tenant: tenant, TicketID: ticket, VisitorID: visitor, ContactID: "c-" + visitor, Group: group, Opener: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChatConversations(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		if _, ok, err := s.ChatVisitor(ctx, "acme", "v1"); ok || err != nil {
			t.Fatalf("unknown visitor: %v, %v", ok, err)
		}
		if _, err := s.OpenChat(ctx, ChatConversation{Tenant: "acme", TicketID: "t0", VisitorID: "v1"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("OpenChat of an unknown visitor = %v, want ErrNotFound", err)
		}
		mustVisitor(t, s, "acme", "v1")
		c := mustChat(t, s, "acme", "v1", "t1", "在线客服")
		if c.State != ChatWaiting || c.LastSeq != 0 || c.Opener != "m1" || !c.OnlineTime.Equal(c.StartTime) {
			t.Errorf("opened %+v", c)
		}
		v, ok, err := s.ChatVisitor(ctx, "acme", "v1")
		if err != nil || !ok || v.TicketID != "t1" || v.Locale != "zh-CN" {
			t.Fatalf("visitor after OpenChat: %+v, %v, %v", v, ok, err)
		}
		if _, ok, _ := s.ChatVisitor(ctx, "globex", "v1"); ok {
			t.Error("acme's visitor is globex's")
		}

		msgs := []ChatMessage{
			{SourceID: "t1", ClientID: "m1", Author: ChatByVisitor, AuthorName: "访客", Body: "你好，<img src=x onerror=alert(1)>"},
			{SourceID: "c2", Author: ChatByVisitor, Body: "还在吗"},
			{SourceID: "c3", Author: ChatByAgent, AuthorName: "李娜", Body: "在的"},
		}
		for i, m := range msgs {
			m.Tenant, m.TicketID = "acme", "t1"
			got, conv, created, err := s.AppendChatMessage(ctx, m)
			if err != nil || !created || got.Seq != int64(i+1) || conv.LastSeq != got.Seq {
				t.Fatalf("append %s: seq %d (chat at %d), created %v, %v", m.SourceID, got.Seq, conv.LastSeq, created, err)
			}
			if i == 2 && conv.State != ChatAnswered {
				t.Errorf("after the agent's reply: state %s, want answered", conv.State)
			}
		}
		// The event of the visitor's second message comes later, then its
		// sender's answer names the client ID: one message, seq 2.
		again, _, created, err := s.AppendChatMessage(ctx, ChatMessage{Tenant: "acme", TicketID: "t1", SourceID: "c2", ClientID: "m2", Author: ChatByVisitor, Body: "还在吗"})
		if err != nil || created || again.Seq != 2 || again.ClientID != "m2" {
			t.Fatalf("append again: %+v, created %v, %v", again, created, err)
		}
		if _, _, _, err := s.AppendChatMessage(ctx, ChatMessage{Tenant: "acme", TicketID: "t404", SourceID: "c9"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("append to an unknown chat = %v, want ErrNotFound", err)
		}
		got, err := s.ChatMessages(ctx, "acme", "t1", 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, m := range got {
			seqs = append(seqs, m.Seq)
		}
		if diff := cmp.Diff([]int64{2, 3}, seqs); diff != "" || got[0].ClientID != "m2" || got[1].AuthorName != "李娜" {
			t.Errorf("messages after 1 (-want +got seqs):\n%s%+v", diff, got)
		}
		if first, _ := s.ChatMessages(ctx, "acme", "t1", 0, 1); len(first) != 1 || first[0].Body != msgs[0].Body {
			t.Errorf("first message %+v: the text is kept as it came", first)
		}

		// mutate decides whether anything is written.
		same, changed, err := s.UpdateChat(ctx, "acme", "t1", func(*ChatConversation) (bool, error) { return false, nil })
		if err != nil || changed || same.State != ChatAnswered {
			t.Fatalf("UpdateChat without a change: %+v, %v, %v", same, changed, err)
		}
		upd, changed, err := s.UpdateChat(ctx, "acme", "t1", func(c *ChatConversation) (bool, error) {
			c.State, c.Email, c.VisitorRead, c.LastSeq = ChatEmail, "li.na@example.com", 3, 99
			return true, nil
		})
		if err != nil || !changed || upd.State != ChatEmail || upd.LastSeq != 3 || upd.VisitorRead != 3 {
			t.Fatalf("UpdateChat: %+v, %v, %v (the seq stays)", upd, changed, err)
		}
		if byMail, err := s.ChatByEmail(ctx, "acme", "t1"); !byMail || err != nil {
			t.Errorf("ChatByEmail = %v, %v", byMail, err)
		}
		if byMail, err := s.ChatByEmail(ctx, "acme", "t404"); byMail || err != nil {
			t.Errorf("ChatByEmail of no chat = %v, %v", byMail, err)
		}
		boom := errors.New("boom")
		if _, _, err := s.UpdateChat(ctx, "acme", "t1", func(*ChatConversation) (bool, error) { return true, boom }); !errors.Is(err, boom) {
			t.Errorf("mutate's error: %v", err)
		}
		if _, _, err := s.UpdateChat(ctx, "acme", "t404", func(*ChatConversation) (bool, error) { return true, nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateChat of no chat = %v, want ErrNotFound", err)
		}
	})
}

// TestChatSeqUnderConcurrency: appends to one chat from many writers take
// seqs 1..n without a gap or a repeat.
func TestChatSeqUnderConcurrency(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		mustVisitor(t, s, "acme", "v1")
		mustChat(t, s, "acme", "v1", "t1", "")
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			for range 2 { // each source twice, as two replicas would
				wg.Go(func() {
					_, _, _, err := s.AppendChatMessage(ctx, ChatMessage{Tenant: "acme", TicketID: "t1", SourceID: fmt.Sprintf("c%d", i), Author: ChatByVisitor, Body: "x"})
					errs <- err
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ChatMessages(ctx, "acme", "t1", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		sources := map[string]bool{}
		for i, m := range got {
			if m.Seq != int64(i+1) || sources[m.SourceID] {
				t.Fatalf("message %d: seq %d, source %s (seen: %v)", i, m.Seq, m.SourceID, sources[m.SourceID])
			}
			sources[m.SourceID] = true
		}
		if len(got) != n {
			t.Errorf("%d messages, want %d", len(got), n)
		}
	})
}

func TestChatPresenceAndOffers(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		at := time.Now()
		for _, v := range []string{"v1", "v2", "v3"} {
			mustVisitor(t, s, "acme", v)
		}
		mustVisitor(t, s, "globex", "v1")
		mustChat(t, s, "acme", "v1", "t1", "sales")
		mustChat(t, s, "acme", "v2", "t2", "")
		mustChat(t, s, "acme", "v3", "t3", "support")
		mustChat(t, s, "globex", "v1", "t4", "sales")
		if _, _, err := s.UpdateChat(ctx, "acme", "t3", func(c *ChatConversation) (bool, error) { c.State = ChatAnswered; return true, nil }); err != nil {
			t.Fatal(err)
		}
		awaiting, err := s.AwaitingChats(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range awaiting {
			ids = append(ids, c.TicketID)
		}
		if slices.Sort(ids); !slices.Equal(ids, []string{"t1", "t2", "t4"}) {
			t.Errorf("awaiting %v, want t1, t2, t4", ids)
		}
		offers, err := s.ChatOffers(ctx, "acme", []string{"sales", ""}, 10)
		if err != nil || len(offers) != 2 || offers[0].TicketID != "t1" || offers[1].TicketID != "t2" {
			t.Errorf("offers to sales and no group: %+v, %v; want t1 (sales), t2 (no group)", offers, err)
		}
		if offers, err := s.ChatOffers(ctx, "acme", []string{"support"}, 10); err != nil || len(offers) != 0 {
			t.Errorf("offers to support: %+v, %v; want none (its chat is answered)", offers, err)
		}

		for _, p := range []ChatPresence{
			{Tenant: "acme", AgentID: "u1", AgentName: "李娜", Groups: []string{"sales", "support"}, Expire: at.Add(time.Minute)},
			{Tenant: "acme", AgentID: "u2", Expire: at.Add(time.Minute)},
			{Tenant: "globex", AgentID: "u3", Groups: []string{"sales"}, Expire: at.Add(-time.Second)}, // expired
		} {
			if err := s.ReportChatPresence(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		online, err := s.ChatGroupsOnline(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string][]string{"acme": {"", "sales", "support"}}, online); diff != "" {
			t.Errorf("online (-want +got):\n%s", diff)
		}
		// A new report replaces the last; away ends it.
		if err := s.ReportChatPresence(ctx, ChatPresence{Tenant: "acme", AgentID: "u1", Groups: []string{"support"}, Expire: at.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.ReportChatPresence(ctx, ChatPresence{Tenant: "acme", AgentID: "u2", Expire: at}); err != nil {
			t.Fatal(err)
		}
		if online, _ = s.ChatGroupsOnline(ctx, at); !cmp.Equal(online, map[string][]string{"acme": {"support"}}) {
			t.Errorf("online after u1 moved and u2 left: %v", online)
		}
		if online, _ = s.ChatGroupsOnline(ctx, at.Add(2*time.Minute)); len(online) != 0 {
			t.Errorf("online after the reports expired: %v", online)
		}
	})
}
