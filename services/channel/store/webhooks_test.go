package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustWebhook(t *testing.T, s Store, w Webhook) Webhook {
	t.Helper()
	got, created, err := s.CreateWebhook(ctx, w)
	if err != nil || !created {
		t.Fatalf("CreateWebhook(%s) = %v, %v", w.URL, created, err)
	}
	return got
}

func webhookIDs(ws []Webhook) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.Tenant+"/"+w.URL)
	}
	return out
}

func TestWebhooks(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		in := Webhook{Tenant: "acme", URL: "https://hooks.example/a", Events: []string{"ticket.created", "comment.added"},
			Description: "客服系统", Secret: "s3cret-0123456789"}
		a := mustWebhook(t, s, in)
		if a.ID == "" || a.Version != 1 || a.Generation != 1 || a.Secret != "" || a.CreateTime.IsZero() ||
			!a.SecretUpdateTime.Equal(a.CreateTime) || !a.GenerationTime.Equal(a.CreateTime) || !a.PreviousSecretExpireTime.IsZero() {
			t.Errorf("created %+v", a)
		}
		got, err := s.GetWebhook(ctx, "acme", a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("read back (-created +read):\n%s", diff)
		}
		if _, err := s.GetWebhook(ctx, "globex", a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant's webhook: %v, want ErrNotFound", err)
		}
		if secrets, err := s.WebhookSecrets(ctx, "acme", a.ID, time.Now()); err != nil || len(secrets) != 1 || secrets[0].Secret != in.Secret {
			t.Errorf("secrets %+v, %v", secrets, err)
		}

		b := mustWebhook(t, s, Webhook{Tenant: "acme", URL: "https://hooks.example/b", Events: []string{"sla.breached"}, Secret: "another-secret-012"})
		c := mustWebhook(t, s, Webhook{Tenant: "globex", URL: "https://hooks.example/c", Events: []string{"ticket.updated"}, Secret: "globex-secret-0123"})
		page, err := s.ListWebhooks(ctx, "acme", "", 1)
		if err != nil || len(page) != 1 || page[0].ID != b.ID {
			t.Fatalf("first page %v, %v; want b (newest first)", webhookIDs(page), err)
		}
		if page, err = s.ListWebhooks(ctx, "acme", b.ID, 10); err != nil || len(page) != 1 || page[0].ID != a.ID {
			t.Fatalf("second page %v, %v; want a", webhookIDs(page), err)
		}
		all, err := s.AllWebhooks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"acme/https://hooks.example/a", "acme/https://hooks.example/b", "globex/https://hooks.example/c"}
		if diff := cmp.Diff(want, webhookIDs(all)); diff != "" || all[2].ID != c.ID {
			t.Errorf("all webhooks (-want +got):\n%s", diff)
		}

		if _, _, err := s.CreateWebhook(ctx, Webhook{Tenant: "acme", URL: "https://x.example/\x00", Secret: "s3cret-0123456789"}); !errors.Is(err, ErrNULText) {
			t.Errorf("a URL with NUL: %v, want ErrNULText", err)
		}
		if _, _, err := s.CreateWebhook(ctx, Webhook{Tenant: "acme", URL: "https://x.example/"}); err == nil {
			t.Error("a webhook without a secret was created")
		}
	})
}

func TestWebhookIdempotentCreate(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		first := mustWebhook(t, s, Webhook{Tenant: "acme", URL: "https://hooks.example/a", Events: []string{"ticket.created"},
			Secret: "s3cret-0123456789", RequestID: "key-1", RequestHash: "h1"})
		again, created, err := s.CreateWebhook(ctx, Webhook{Tenant: "acme", URL: "https://hooks.example/other", Secret: "s3cret-0123456789",
			RequestID: "key-1", RequestHash: "h2"})
		if err != nil || created || again.ID != first.ID || again.RequestHash != "h1" {
			t.Errorf("retry with the same key = %+v, %v, %v; want the first webhook, not created", again, created, err)
		}
		// The same key in another tenant is another request.
		mustWebhook(t, s, Webhook{Tenant: "globex", URL: "https://hooks.example/a", Secret: "s3cret-0123456789", RequestID: "key-1"})
		// Without a key, nothing is deduplicated.
		mustWebhook(t, s, Webhook{Tenant: "acme", URL: "https://hooks.example/a", Secret: "s3cret-0123456789"})
		mustWebhook(t, s, Webhook{Tenant: "acme", URL: "https://hooks.example/a", Secret: "s3cret-0123456789"})
		if all, err := s.ListWebhooks(ctx, "acme", "", 10); err != nil || len(all) != 3 {
			t.Errorf("acme has %d webhooks, %v; want 3", len(all), err)
		}
	})
}

func TestWebhookUpdateAndRotation(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		w := mustWebhook(t, s, Webhook{Tenant: "acme", URL: "https://hooks.example/a", Events: []string{"ticket.created"}, Secret: "first-secret-0123"})
		up, err := s.UpdateWebhook(ctx, "acme", w.ID, w.Version, 0, func(w *Webhook) error {
			w.URL, w.Events, w.Description = "https://hooks.example/b", []string{"comment.added", "sla.breached"}, "new"
			w.Cursor, w.Generation = "forged", 99 // not a caller's to change
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.URL != "https://hooks.example/b" || !slices.Equal(up.Events, []string{"comment.added", "sla.breached"}) ||
			up.Cursor != "" || up.Generation != 1 || !up.SecretUpdateTime.Equal(w.SecretUpdateTime) {
			t.Errorf("updated %+v", up)
		}
		if got, _ := s.GetWebhook(ctx, "acme", w.ID); got.Version != 2 || got.Cursor != "" || got.Description != "new" {
			t.Errorf("read after update %+v", got)
		}
		if _, err := s.UpdateWebhook(ctx, "acme", w.ID, 1, 0, nil); !errors.Is(err, ErrVersion) {
			t.Errorf("update of version 1: %v, want ErrVersion", err)
		}
		mutateErr := errors.New("refused")
		if _, err := s.UpdateWebhook(ctx, "acme", w.ID, 0, 0, func(*Webhook) error { return mutateErr }); err != mutateErr { //nolint:errorlint // returned as is
			t.Errorf("mutate's error came back as %v", err)
		}
		if _, err := s.UpdateWebhook(ctx, "globex", w.ID, 0, 0, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("update in another tenant: %v, want ErrNotFound", err)
		}

		// A new secret: the old one signs for the window beside it.
		rotated, err := s.UpdateWebhook(ctx, "acme", w.ID, 0, time.Hour, func(w *Webhook) error { w.Secret = "second-secret-012"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Secret != "" || !rotated.SecretUpdateTime.After(w.SecretUpdateTime) ||
			!rotated.PreviousSecretExpireTime.Equal(rotated.SecretUpdateTime.Add(time.Hour)) {
			t.Errorf("rotated %+v", rotated)
		}
		if got, _ := s.GetWebhook(ctx, "acme", w.ID); !got.PreviousSecretExpireTime.Equal(rotated.PreviousSecretExpireTime) {
			t.Errorf("read after rotation: previous secret expires %v, want %v", got.PreviousSecretExpireTime, rotated.PreviousSecretExpireTime)
		}
		secretsAt := func(at time.Time) []string {
			t.Helper()
			secrets, err := s.WebhookSecrets(ctx, "acme", w.ID, at)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, x := range secrets {
				out = append(out, x.Secret)
			}
			return out
		}
		at := rotated.SecretUpdateTime
		for _, tt := range []struct {
			at   time.Time
			want []string
		}{
			{at, []string{"second-secret-012", "first-secret-0123"}},
			{at.Add(time.Hour - time.Microsecond), []string{"second-secret-012", "first-secret-0123"}},
			{at.Add(time.Hour), []string{"second-secret-012"}},
		} {
			if diff := cmp.Diff(tt.want, secretsAt(tt.at)); diff != "" {
				t.Errorf("secrets at +%v (-want +got):\n%s", tt.at.Sub(at), diff)
			}
		}
		// A third within the window: three sign; a rotation without a
		// window leaves only the new one.
		if _, err := s.UpdateWebhook(ctx, "acme", w.ID, 0, time.Hour, func(w *Webhook) error { w.Secret = "third-secret-0123"; return nil }); err != nil {
			t.Fatal(err)
		}
		if got := secretsAt(time.Now()); len(got) != 3 || got[0] != "third-secret-0123" {
			t.Errorf("secrets after a second rotation %v", got)
		}
		last, err := s.UpdateWebhook(ctx, "acme", w.ID, 0, 0, func(w *Webhook) error { w.Secret = "fourth-secret-012"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !last.PreviousSecretExpireTime.IsZero() {
			t.Errorf("a rotation without a window left a previous secret until %v", last.PreviousSecretExpireTime)
		}
		if got := secretsAt(time.Now()); len(got) != 3 || got[0] != "fourth-secret-012" || slices.Contains(got, "third-secret-0123") {
			t.Errorf("secrets after a rotation without a window %v; want the fourth, and the first two until their window ends", got)
		}
	})
}

func TestWebhookReplayAndCursor(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		w := mustWebhook(t, s, Webhook{Tenant: "acme", URL: "https://hooks.example/a", Events: []string{"ticket.created"}, Secret: "first-secret-0123"})
		if ok, err := s.SaveWebhookCursor(ctx, "acme", w.ID, 1, "s1:10"); err != nil || !ok {
			t.Fatalf("SaveWebhookCursor = %v, %v", ok, err)
		}
		if got, _ := s.GetWebhook(ctx, "acme", w.ID); got.Cursor != "s1:10" || got.Version != 1 {
			t.Errorf("after saving the cursor %+v; want cursor s1:10, version unchanged", got)
		}
		start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		r, err := s.ReplayWebhook(ctx, "acme", w.ID, "", start)
		if err != nil {
			t.Fatal(err)
		}
		if r.Generation != 2 || r.Cursor != "" || !r.StartTime.Equal(start) || r.Version != 2 || !r.GenerationTime.After(w.GenerationTime) {
			t.Errorf("replayed %+v", r)
		}
		// The generation the replay ended saves nothing any more.
		if ok, err := s.SaveWebhookCursor(ctx, "acme", w.ID, 1, "s1:11"); err != nil || ok {
			t.Errorf("saving under the old generation = %v, %v; want false", ok, err)
		}
		if ok, err := s.SaveWebhookCursor(ctx, "acme", w.ID, 2, "s1:3"); err != nil || !ok {
			t.Errorf("saving under the new generation = %v, %v", ok, err)
		}
		r, err = s.ReplayWebhook(ctx, "acme", w.ID, "s1:1", time.Time{})
		if err != nil || r.Generation != 3 || r.Cursor != "s1:1" || !r.StartTime.IsZero() {
			t.Errorf("replay after a cursor = %+v, %v", r, err)
		}
		if got, _ := s.GetWebhook(ctx, "acme", w.ID); got.Cursor != "s1:1" || !got.StartTime.IsZero() || got.Generation != 3 {
			t.Errorf("read after replay %+v", got)
		}
		if _, err := s.ReplayWebhook(ctx, "globex", w.ID, "s1:1", time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("replay in another tenant: %v, want ErrNotFound", err)
		}
	})
}

func TestWebhookDeliveries(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		w := mustWebhook(t, s, Webhook{Tenant: "acme", URL: "https://hooks.example/a", Events: []string{"ticket.created"}, Secret: "first-secret-0123"})
		eventTime := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
		next := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
		d, err := s.SaveWebhookDelivery(ctx, Delivery{Tenant: "acme", WebhookID: w.ID, Generation: 1, EventID: "s1:1", EventType: "ticket.created",
			TicketID: "t1", EventTime: eventTime, State: DeliveryPending, Attempts: 1, ResponseCode: 500, Latency: 1500 * time.Microsecond,
			Error: "HTTP 500: 服务器错误", NextAttemptTime: next})
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.WebhookDelivery(ctx, "acme", w.ID, 1, "s1:1")
		if err != nil || !ok {
			t.Fatalf("WebhookDelivery = %v, %v", ok, err)
		}
		if diff := cmp.Diff(d, got); diff != "" {
			t.Errorf("read back (-saved +read):\n%s", diff)
		}
		// The next attempt updates the same row.
		d.State, d.Attempts, d.ResponseCode, d.Error, d.NextAttemptTime = DeliverySucceeded, 2, 204, "", time.Time{}
		if _, err := s.SaveWebhookDelivery(ctx, Delivery{Tenant: "acme", WebhookID: w.ID, Generation: 1, EventID: "s1:1", EventType: "ticket.created",
			TicketID: "t1", EventTime: eventTime, State: DeliverySucceeded, Attempts: 2, ResponseCode: 204, Latency: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		got, _, _ = s.WebhookDelivery(ctx, "acme", w.ID, 1, "s1:1")
		if got.ID != d.ID || !got.CreateTime.Equal(d.CreateTime) || got.State != DeliverySucceeded || got.Attempts != 2 ||
			got.ResponseCode != 204 || got.Error != "" || !got.NextAttemptTime.IsZero() || got.Latency != time.Millisecond {
			t.Errorf("after the second attempt %+v; want the first row's ID and create time", got)
		}
		if _, ok, _ := s.WebhookDelivery(ctx, "acme", w.ID, 2, "s1:1"); ok {
			t.Error("a delivery of generation 1 was found in generation 2")
		}
		if _, err := s.SaveWebhookDelivery(ctx, Delivery{Tenant: "acme", WebhookID: w.ID, Generation: 1, EventID: "s1:9", State: "lost"}); err == nil {
			t.Error("a delivery with state lost was saved")
		}

		// More: a replay's delivery of the same event, a dead letter, a
		// pending one of another ticket, another tenant's.
		g := mustWebhook(t, s, Webhook{Tenant: "globex", URL: "https://hooks.example/g", Events: []string{"ticket.created"}, Secret: "first-secret-0123"})
		for _, x := range []Delivery{
			{Tenant: "acme", WebhookID: w.ID, Generation: 2, Replay: true, EventID: "s1:1", EventType: "ticket.created", TicketID: "t1", State: DeliverySucceeded, Attempts: 1},
			{Tenant: "acme", WebhookID: w.ID, Generation: 2, Replay: true, EventID: "s1:2", EventType: "comment.added", TicketID: "t1", State: DeliveryDeadLettered, Attempts: 9},
			{Tenant: "acme", WebhookID: w.ID, Generation: 2, EventID: "s1:3", EventType: "ticket.created", TicketID: "t2", State: DeliveryPending, Attempts: 1},
			{Tenant: "globex", WebhookID: g.ID, Generation: 1, EventID: "s1:4", EventType: "ticket.created", TicketID: "t9", State: DeliverySucceeded, Attempts: 1},
		} {
			if _, err := s.SaveWebhookDelivery(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		events := func(q DeliveryQuery) []string {
			t.Helper()
			ds, err := s.ListWebhookDeliveries(ctx, "acme", w.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, d := range ds {
				out = append(out, d.EventID+"/"+d.State)
			}
			return out
		}
		for _, tt := range []struct {
			name string
			q    DeliveryQuery
			want []string
		}{
			{"all", DeliveryQuery{Limit: 10}, []string{"s1:3/pending", "s1:2/dead_lettered", "s1:1/succeeded", "s1:1/succeeded"}},
			{"dead letters", DeliveryQuery{State: DeliveryDeadLettered, Limit: 10}, []string{"s1:2/dead_lettered"}},
			{"ticket", DeliveryQuery{TicketID: "t2", Limit: 10}, []string{"s1:3/pending"}},
			{"page", DeliveryQuery{Limit: 2}, []string{"s1:3/pending", "s1:2/dead_lettered"}},
		} {
			if diff := cmp.Diff(tt.want, events(tt.q)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
		page, _ := s.ListWebhookDeliveries(ctx, "acme", w.ID, DeliveryQuery{Limit: 2})
		if diff := cmp.Diff([]string{"s1:1/succeeded", "s1:1/succeeded"}, events(DeliveryQuery{BeforeID: page[1].ID, Limit: 10})); diff != "" {
			t.Errorf("second page (-want +got):\n%s", diff)
		}

		// Pruning keeps what is pending and what is recent.
		n, err := s.PruneWebhookDeliveries(ctx, time.Now().Add(-time.Hour))
		if err != nil || n != 0 {
			t.Errorf("prune of nothing old = %d, %v", n, err)
		}
		if n, err = s.PruneWebhookDeliveries(ctx, time.Now().Add(time.Hour)); err != nil || n != 4 {
			t.Errorf("prune = %d, %v; want 4 (all but the pending one)", n, err)
		}
		if diff := cmp.Diff([]string{"s1:3/pending"}, events(DeliveryQuery{Limit: 10})); diff != "" {
			t.Errorf("after pruning (-want +got):\n%s", diff)
		}

		// A delivery saved while its webhook was deleted is pruned too.
		if _, err := s.SaveWebhookDelivery(ctx, Delivery{Tenant: "globex", WebhookID: w.ID, Generation: 1, EventID: "s1:5", State: DeliveryPending}); err != nil {
			t.Fatal(err)
		}
		if n, err = s.PruneWebhookDeliveries(ctx, time.Now().Add(-time.Hour)); err != nil || n != 1 {
			t.Errorf("prune of a delivery without its webhook = %d, %v; want 1", n, err)
		}

		// Deleting the webhook takes its secrets and deliveries.
		if err := s.DeleteWebhook(ctx, "acme", w.ID, 5); !errors.Is(err, ErrVersion) {
			t.Errorf("delete of version 5: %v, want ErrVersion", err)
		}
		if err := s.DeleteWebhook(ctx, "acme", w.ID, w.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetWebhook(ctx, "acme", w.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted webhook: %v, want ErrNotFound", err)
		}
		if got := events(DeliveryQuery{Limit: 10}); len(got) != 0 {
			t.Errorf("deliveries after delete %v", got)
		}
		if secrets, err := s.WebhookSecrets(ctx, "acme", w.ID, time.Now()); err != nil || len(secrets) != 0 {
			t.Errorf("secrets after delete %v, %v", secrets, err)
		}
		if err := s.DeleteWebhook(ctx, "acme", w.ID, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
	})
}
