package mp_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/channel/wechat/mp"
	"github.com/kubedesk/kubedesk/services/channel/wechat/mp/mptest"
)

func newClient(srv *mptest.Server, now func() time.Time) *mp.Client {
	return &mp.Client{BaseURL: srv.URL(), AppID: srv.AppID, AppSecret: srv.AppSecret, HTTP: &http.Client{Timeout: 5 * time.Second}, Now: now}
}

// TestClientToken: one token for many concurrent sends, fetched by one
// caller; replaced before it expires and when WeChat calls it expired
// or invalid, with the send tried once more.
func TestClientToken(t *testing.T) {
	ctx := context.Background()
	srv := mptest.Start(t, "wxapp", "secret")
	var mu sync.Mutex
	clock := time.Unix(1765000000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	c := newClient(srv, now)

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := c.SendText(ctx, "oUser", "你好 "+string(rune('a'+i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := srv.TokenFetches(); n != 1 {
		t.Errorf("20 concurrent sends fetched %d tokens, want 1", n)
	}
	if n := len(srv.Sent()); n != 20 {
		t.Errorf("%d messages arrived, want 20", n)
	}

	steps := []struct {
		name    string
		before  func()
		fetches int // after the send
	}{
		{"a valid token is reused", func() {}, 1},
		{"expired on WeChat's side (42001): refreshed, sent once more", srv.ExpireToken, 2},
		{"near its expiry: replaced before it is used", func() { mu.Lock(); clock = clock.Add(7200*time.Second - refreshBeforeTest); mu.Unlock() }, 3},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := len(srv.Sent())
			s.before()
			if err := c.SendText(ctx, "oUser", s.name); err != nil {
				t.Fatal(err)
			}
			if n := srv.TokenFetches(); n != s.fetches {
				t.Errorf("%d token fetches, want %d", n, s.fetches)
			}
			if sent := srv.Sent(); len(sent) != before+1 || sent[len(sent)-1].Content != s.name {
				t.Errorf("sent %v", sent[before:])
			}
		})
	}
}

// refreshBeforeTest is a little less than the client's margin.
const refreshBeforeTest = 4 * time.Minute

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	srv := mptest.Start(t, "wxapp", "secret")
	tests := []struct {
		name  string
		setup func(c *mp.Client)
		send  string
		check func(t *testing.T, err error)
	}{
		{"wrong secret", func(c *mp.Client) { c.AppSecret = "nope" }, "oUser", func(t *testing.T, err error) {
			var apiErr *mp.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != 40125 || strings.Contains(err.Error(), "nope") {
				t.Fatalf("got %v, want errcode 40125 without the secret", err)
			}
		}},
		{"outside the 48-hour window", func(*mp.Client) { srv.OutsideWindow("oQuiet", true) }, "oQuiet", func(t *testing.T, err error) {
			if !errors.Is(err, mp.ErrOutsideWindow) {
				t.Fatalf("got %v, want ErrOutsideWindow", err)
			}
		}},
		{"system busy", func(*mp.Client) { srv.FailSends(1) }, "oUser", func(t *testing.T, err error) {
			var apiErr *mp.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != -1 {
				t.Fatalf("got %v, want errcode -1", err)
			}
		}},
		{"unreachable: the error names no secret", func(c *mp.Client) { c.BaseURL = "http://127.0.0.1:1" }, "oUser", func(t *testing.T, err error) {
			if err == nil || strings.Contains(err.Error(), "secret") {
				t.Fatalf("got %v, want an error without the query", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(srv, nil)
			tt.setup(c)
			tt.check(t, c.SendText(ctx, tt.send, "x"))
		})
	}
}

func TestClientMedia(t *testing.T) {
	ctx := context.Background()
	srv := mptest.Start(t, "wxapp", "secret")
	srv.AddMedia("m1", "image/jpeg", []byte("\xff\xd8\xff jpeg"))
	c := newClient(srv, nil)
	data, ct, err := c.Media(ctx, "m1")
	if err != nil || ct != "image/jpeg" || string(data) != "\xff\xd8\xff jpeg" {
		t.Fatalf("got %q %q %v", data, ct, err)
	}
	var apiErr *mp.APIError
	if _, _, err := c.Media(ctx, "gone"); !errors.As(err, &apiErr) || apiErr.Code != 40007 {
		t.Fatalf("unknown media: got %v, want errcode 40007", err)
	}
}
