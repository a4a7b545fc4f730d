package store

import (
	"errors"
	"testing"
	"time"
)

func TestWeChatInbox(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
		msgs := []WeChatMessage{
			{Tenant: "acme", DedupKey: "msg:1", OpenID: "oA", MsgType: "text", Payload: []byte("<xml>打印机</xml>"), ReceivedTime: t0},
			{Tenant: "globex", DedupKey: "msg:1", OpenID: "oA", MsgType: "text", Payload: []byte("<xml>other tenant</xml>"), ReceivedTime: t0.Add(time.Second)},
			{Tenant: "acme", DedupKey: "event:oB:1765000000:subscribe", OpenID: "oB", MsgType: "event", ReceivedTime: t0.Add(2 * time.Second)},
			{Tenant: "acme", DedupKey: "msg:2", OpenID: "oA", MsgType: "image", Payload: []byte("<xml/>"), ReceivedTime: t0.Add(3 * time.Second)},
		}
		for _, m := range msgs {
			if created, err := s.RecordWeChat(ctx, m); err != nil || !created {
				t.Fatalf("RecordWeChat(%s/%s) = %v, %v", m.Tenant, m.DedupKey, created, err)
			}
		}
		// A retried callback changes nothing.
		retry := msgs[0]
		retry.Payload = []byte("<xml>changed</xml>")
		if created, err := s.RecordWeChat(ctx, retry); err != nil || created {
			t.Fatalf("RecordWeChat of a known key = %v, %v; want false, nil", created, err)
		}
		pending, err := s.PendingWeChat(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, m := range pending {
			order = append(order, m.Tenant+"/"+m.DedupKey)
		}
		want := []string{"acme/msg:1", "globex/msg:1", "acme/event:oB:1765000000:subscribe", "acme/msg:2"}
		if len(order) != len(want) || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
			t.Fatalf("pending %v, want %v (oldest first)", order, want)
		}
		if p := pending[0]; string(p.Payload) != "<xml>打印机</xml>" || p.Status != WeChatPending || !p.ReceivedTime.Equal(t0) {
			t.Errorf("first pending %+v", p)
		}

		done := pending[0]
		done.Status, done.TicketID, done.Attempts = WeChatDone, "t1", 1
		if err := s.SettleWeChat(ctx, done); err != nil {
			t.Fatal(err)
		}
		if err := s.SettleWeChat(ctx, WeChatMessage{Tenant: "acme", DedupKey: "msg:404", Status: WeChatDone}); !errors.Is(err, ErrNotFound) {
			t.Errorf("SettleWeChat of an unknown key = %v, want ErrNotFound", err)
		}
		if pending, err = s.PendingWeChat(ctx, 2); err != nil || len(pending) != 2 || pending[0].Tenant != "globex" {
			t.Fatalf("pending after settling one: %+v, %v", pending, err)
		}

		for _, tt := range []struct {
			tenant, openid string
			at             time.Time
			ok             bool
		}{
			{"acme", "oA", t0.Add(3 * time.Second), true},
			{"acme", "oB", t0.Add(2 * time.Second), true},
			{"globex", "oA", t0.Add(time.Second), true},
			{"globex", "oB", time.Time{}, false},
		} {
			at, ok, err := s.LastWeChat(ctx, tt.tenant, tt.openid)
			if err != nil || ok != tt.ok || !at.Equal(tt.at) {
				t.Errorf("LastWeChat(%s, %s) = %v, %v, %v; want %v, %v", tt.tenant, tt.openid, at, ok, err, tt.at, tt.ok)
			}
		}
		if _, err := s.RecordWeChat(ctx, WeChatMessage{Tenant: "acme", DedupKey: "msg:\x00", OpenID: "oA", MsgType: "text"}); !errors.Is(err, ErrNULText) {
			t.Errorf("a NUL in the key = %v, want ErrNULText", err)
		}
	})
}

func TestWeChatReplies(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		if _, ok, err := s.WeChatReplyByComment(ctx, "acme", "c1"); ok || err != nil {
			t.Fatalf("an unknown reply = %v, %v", ok, err)
		}
		replies := []WeChatReply{
			{Tenant: "acme", CommentID: "c1", TicketID: "t1", OpenID: "oA", Body: "您好，已重置", Status: ReplyHeld, Detail: "outside the 48-hour window"},
			{Tenant: "acme", CommentID: "c2", TicketID: "t1", OpenID: "oA", Body: "second", Status: ReplyHeld},
			{Tenant: "acme", CommentID: "c3", TicketID: "t2", OpenID: "oB", Body: "other user", Status: ReplyHeld},
			{Tenant: "globex", CommentID: "c4", TicketID: "t3", OpenID: "oA", Body: "other tenant", Status: ReplyHeld},
			{Tenant: "acme", CommentID: "c5", TicketID: "t1", OpenID: "oA", Body: "sent at once", Status: ReplySent},
		}
		for _, r := range replies {
			if err := s.SaveWeChatReply(ctx, r); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond) // distinct create times: held replies go out in order
		}
		held, err := s.HeldWeChatReplies(ctx, "acme", "oA", 10)
		if err != nil || len(held) != 2 || held[0].CommentID != "c1" || held[1].CommentID != "c2" || held[0].Body != "您好，已重置" {
			t.Fatalf("held replies of acme/oA: %+v, %v", held, err)
		}
		sent := held[0]
		sent.Status, sent.Detail, sent.Body = ReplySent, "", "ignored: the body stays"
		if err := s.SaveWeChatReply(ctx, sent); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.WeChatReplyByComment(ctx, "acme", "c1")
		if err != nil || !ok || got.Status != ReplySent || got.Body != "您好，已重置" || got.Detail != "" {
			t.Fatalf("c1 after sending: %+v, %v, %v", got, ok, err)
		}
		if held, _ := s.HeldWeChatReplies(ctx, "acme", "oA", 10); len(held) != 1 || held[0].CommentID != "c2" {
			t.Errorf("held after sending c1: %+v", held)
		}
	})
}
