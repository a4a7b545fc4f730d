package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/chat"
	"github.com/kubedesk/kubedesk/services/channel/chat/web"
	channelstore "github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/module"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// initChat serves the web chat in the channel module: the visitors'
// service the gateway forwards to, the agents' ChatService, the sweeper
// that offers chats and hands them on to e-mail, and (on PostgreSQL) the
// relay that lets replicas tell each other about typing. It returns its
// loops and the follower of the ticket events that numbers the chats'
// messages. Every tenant of the configuration chats, and the default one.
func initChat(ctx context.Context, cfg *Config, h *module.Host, st channelstore.Store, tickets ticketv1.TicketServiceClient,
	tenants map[string]tenant.Config,
) ([]module.Loop, *chat.Follower, error) {
	key, err := chatVisitorKey(cfg)
	if err != nil {
		return nil, nil, err
	}
	settings := map[string]tenant.ChatSettings{}
	for id, t := range tenants {
		settings[id] = t.Chat()
	}
	if _, ok := settings[cfg.DefaultTenant]; !ok && cfg.DefaultTenant != "" {
		settings[cfg.DefaultTenant] = tenant.Config{ID: cfg.DefaultTenant}.Chat()
	}
	chatting := func(id string) (tenant.ChatSettings, bool) {
		s, ok := settings[id]
		return s, ok
	}
	hub := chat.NewHub()
	if cfg.DatabaseURL != "" {
		relay, err := chat.OpenPGRelay(ctx, cfg.DatabaseURL, hub)
		if err != nil {
			return nil, nil, err
		}
		h.OnStop("chat relay", func(context.Context) error { return relay.Close() })
	}
	c := cfg.Channel.Chat
	svc := chat.NewService(st, tickets, chat.NewTokens(key), hub, chatting,
		chat.Limits{MaxMessageBytes: c.MaxMessageBytes, PerVisitor: c.PerVisitor, NewVisitors: c.NewVisitors}, h.Log)
	svc.Register(h.GRPC)
	sweeper := &chat.Sweeper{Store: st, Tickets: tickets, Hub: hub, Tenants: chatting, Log: h.Log}
	return []module.Loop{{Name: "chat sweeper", Run: sweeper.Run}}, svc.Follower(), nil
}

// chatVisitorKey is the key visitors' tokens are signed with: the
// configured one; else one derived from the internal token, which every
// process of a split deployment shares; else, in an all-in-one without
// an internal token, one made once and kept in the data directory, so
// that visitors stay who they are across restarts.
func chatVisitorKey(cfg *Config) ([]byte, error) {
	if k := cfg.Channel.Chat.VisitorKey; k != "" {
		return []byte(k), nil
	}
	if cfg.InternalToken != "" {
		mac := hmac.New(sha256.New, []byte(cfg.InternalToken))
		mac.Write([]byte("kubedesk chat visitor key"))
		return mac.Sum(nil), nil
	}
	path := filepath.Join(cfg.DataDir, "chat-visitor.key")
	data, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(data))) >= 32 {
		return []byte(strings.TrimSpace(string(data))), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("channel.chat.visitorKey: reading %s: %w", path, err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	key := base64.RawURLEncoding.EncodeToString(b)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("channel.chat.visitorKey: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("channel.chat.visitorKey: keeping a new key in %s: %w", path, err)
	}
	return []byte(key), nil
}

// chatEndpoints are the web chat's endpoints on a gateway: the widget
// and the visitors' WebSocket, events and POSTs, forwarded to the
// channel service's ChatVisitorService.
func chatEndpoints(cfg *Config, conn *grpc.ClientConn, log *slog.Logger) []gateway.Endpoint {
	h := web.Handler(channelv1.NewChatVisitorServiceClient(conn), web.Options{MaxMessageBytes: cfg.Channel.Chat.MaxMessageBytes, Log: log})
	return []gateway.Endpoint{{Pattern: web.WidgetPath, Handler: h}, {Pattern: web.ChatPath, Handler: h}}
}
