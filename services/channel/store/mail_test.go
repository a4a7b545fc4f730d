package store

import (
	"errors"
	"testing"
)

func TestMail(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		in := Mail{Tenant: "acme", MessageID: "m1@example.com", TicketID: "t1", Direction: MailIn, Sender: "zhang.wei@example.com",
			Subject: "打印机无法连接", Folded: "> 原始邮件", HTML: "<p>你好</p>", Raw: []byte("From: x\r\n\r\n\x00\xff"), Status: MailReceived}
		created, err := s.RecordMail(ctx, in)
		if err != nil || !created {
			t.Fatalf("RecordMail = %v, %v", created, err)
		}
		// The same Message-ID again is left as it was.
		again := in
		again.TicketID = "t2"
		if created, err := s.RecordMail(ctx, again); err != nil || created {
			t.Fatalf("RecordMail of a known Message-ID = %v, %v; want false, nil", created, err)
		}
		got, ok, err := s.MailByID(ctx, "acme", "m1@example.com")
		if err != nil || !ok || got.TicketID != "t1" || got.Subject != in.Subject || got.Folded != in.Folded || got.HTML != in.HTML || got.Direction != MailIn {
			t.Fatalf("MailByID = %+v, %v, %v", got, ok, err)
		}
		if raw, err := s.MailRaw(ctx, "acme", "m1@example.com"); err != nil || string(raw) != string(in.Raw) {
			t.Errorf("MailRaw = %q, %v; want %q", raw, err, in.Raw)
		}
		if _, err := s.MailRaw(ctx, "globex", "m1@example.com"); !errors.Is(err, ErrNotFound) {
			t.Errorf("globex MailRaw = %v, want ErrNotFound", err)
		}
		// Another tenant has no such mail.
		if _, ok, err := s.MailByID(ctx, "globex", "m1@example.com"); ok || err != nil {
			t.Errorf("globex MailByID = %v, %v; want not found", ok, err)
		}
		if _, ok, _ := s.MailTicket(ctx, "globex", []string{"m1@example.com"}); ok {
			t.Error("globex threads into acme's mail")
		}

		out := Mail{Tenant: "acme", MessageID: "reply.c1@acme.example", TicketID: "t1", CommentID: "c1", Direction: MailOut, Sender: "zhang.wei@example.com", Status: MailSending}
		if _, err := s.RecordMail(ctx, out); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordMail(ctx, Mail{Tenant: "acme", MessageID: "other@example.com", TicketID: "t9", Direction: MailIn, Status: MailReceived}); err != nil {
			t.Fatal(err)
		}
		// The first of the ids that is known wins.
		for _, tt := range []struct {
			ids  []string
			want string
			ok   bool
		}{
			{[]string{"unknown@x", "m1@example.com", "other@example.com"}, "t1", true},
			{[]string{"other@example.com", "m1@example.com"}, "t9", true},
			{[]string{"unknown@x"}, "", false},
			{nil, "", false},
		} {
			got, ok, err := s.MailTicket(ctx, "acme", tt.ids)
			if err != nil || ok != tt.ok || got != tt.want {
				t.Errorf("MailTicket(%v) = %q, %v, %v; want %q, %v", tt.ids, got, ok, err, tt.want, tt.ok)
			}
		}

		if err := s.SetMailStatus(ctx, "acme", "reply.c1@acme.example", MailFailed, "550 5.1.1 no such user"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMailStatus(ctx, "acme", "nope@x", MailSent, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetMailStatus of an unknown mail = %v, want ErrNotFound", err)
		}
		thread, err := s.MailThread(ctx, "acme", "t1", 10)
		if err != nil || len(thread) != 2 || thread[0].MessageID != "m1@example.com" || thread[1].Status != MailFailed || thread[1].Detail != "550 5.1.1 no such user" {
			t.Fatalf("MailThread = %+v, %v", thread, err)
		}
		if _, err := s.RecordMail(ctx, Mail{Tenant: "acme", MessageID: "nul@x", Subject: "a\x00b"}); !errors.Is(err, ErrNULText) {
			t.Errorf("NUL in a subject: %v, want ErrNULText", err)
		}
	})
}

func TestMailTicketAndDelete(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		in := Mail{Tenant: "acme", MessageID: "m@example.com", TicketID: "t-chosen", Direction: MailIn, Status: MailReceived}
		if _, err := s.RecordMail(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMailTicket(ctx, "acme", "m@example.com", "t-first"); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.MailByID(ctx, "acme", "m@example.com"); got.TicketID != "t-first" {
			t.Errorf("ticket %q after SetMailTicket, want t-first", got.TicketID)
		}
		if err := s.SetMailTicket(ctx, "globex", "m@example.com", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant's SetMailTicket = %v, want ErrNotFound", err)
		}
		if err := s.DeleteMail(ctx, "globex", "m@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.MailByID(ctx, "acme", "m@example.com"); !ok {
			t.Fatal("another tenant's DeleteMail removed acme's mail")
		}
		if err := s.DeleteMail(ctx, "acme", "m@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.MailByID(ctx, "acme", "m@example.com"); ok {
			t.Error("the mail is still there after DeleteMail")
		}
	})
}
