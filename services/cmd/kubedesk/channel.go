package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel"
	"github.com/kubedesk/kubedesk/services/channel/chat"
	"github.com/kubedesk/kubedesk/services/channel/email"
	"github.com/kubedesk/kubedesk/services/channel/smtpin"
	"github.com/kubedesk/kubedesk/services/channel/smtpout"
	channelstore "github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/channel/webhook"
	"github.com/kubedesk/kubedesk/services/channel/wechat"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/module"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// initChannel serves contacts and organisations, receives mail on the
// SMTP listener, follows the ticket events to send replies and to deliver
// webhooks, and mails customers' sign-in codes.
func initChannel(ctx context.Context, cfg *Config, h *module.Host) (module.Parts, error) {
	var parts module.Parts
	st, err := channelstore.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return parts, fmt.Errorf("channel store: %w", err)
	}
	h.OnStop("channel store", func(context.Context) error { return st.Close() })
	conn, err := h.Dial(moduleTicket)
	if err != nil {
		return parts, err
	}
	tickets := ticketv1.NewTicketServiceClient(conn)
	iamConn, err := h.Dial(moduleIAM)
	if err != nil {
		return parts, err
	}

	tenants, err := configuredTenants(cfg)
	if err != nil {
		return parts, err
	}
	dir, err := email.NewDirectory(slices.Collect(maps.Values(tenants)), cfg.DefaultTenant)
	if err != nil {
		return parts, err
	}
	var relay email.Relay
	if cfg.Channel.Email.Relay != "" {
		r, err := smtpout.ParseRelay("channel.email.relay", cfg.Channel.Email.Relay)
		if err != nil {
			return parts, err
		}
		host, _ := os.Hostname()
		relay = smtpout.NewSender(r, host)
		h.Log.Info("sending mail", "relay", r.String())
	} else {
		h.Log.Warn("no SMTP relay (--smtp-relay): replies by e-mail are held, and their tickets say so; customers get no sign-in codes")
	}

	// Contacts, and customers' sign-in codes mailed through the tenant's
	// outbound e-mail.
	codeMail := &email.CodeMail{Directory: dir, Relay: relay, Log: h.Log}
	contacts := channel.NewServer(st, tickets, h.Log,
		channel.WithIdentity(iamv1.NewAuthServiceClient(iamConn)),
		channel.WithCodeMail(codeMail, cfg.Channel.SignInCodes))
	contacts.Register(h.GRPC)
	parts.Ready = append(parts.Ready, gateway.Check{Name: "channel store", Check: st.Ping})
	parts.Loops = append(parts.Loops, module.Loop{Name: "sign-in code mail", Run: contacts.RunSignInMail})

	// Mail in.
	in := &email.Inbound{
		Directory: dir,
		Store:     st,
		Contacts:  contactResolver{contacts},
		Tickets:   tickets,
		Blobs:     ticketv1.NewTicketBlobServiceClient(conn),
		PerSender: auth.NewLimiter(cfg.Channel.Email.PerSender),
		Log:       h.Log,
	}
	smtp, err := smtpin.New(cfg.Channel.SMTP, in, h.Log)
	if err != nil {
		return parts, err
	}
	ln, err := listen("tcp", cfg.Channel.SMTP.Addr)
	if err != nil {
		return parts, fmt.Errorf("channel.smtp.addr: %w", err)
	}
	h.OnStop("SMTP server", smtp.Shutdown)
	parts.Loops = append(parts.Loops, module.Loop{Name: "SMTP server", Run: func(ctx context.Context) error {
		return smtp.Serve(ctx, ln)
	}})
	parts.Listeners = map[string]string{"smtp": ln.Addr().String()}

	// Outgoing webhooks: their API, and their deliveries, each webhook
	// following the ticket events from its own cursor.
	allowPrivate := func(tenantID string) bool {
		w := tenants[tenantID].Spec.Channels.Webhooks
		return w != nil && w.AllowPrivateNetworks
	}
	hooks := &webhook.Dispatcher{Store: st, Stream: tickets, Config: cfg.Channel.Webhooks, AllowPrivate: allowPrivate, Log: h.Log}
	(&webhook.Server{Store: st, Stream: tickets, Config: cfg.Channel.Webhooks, AllowPrivate: allowPrivate, Notify: hooks.Notify, Log: h.Log}).Register(h.GRPC)
	parts.Loops = append(parts.Loops, module.Loop{Name: "webhook deliveries", Run: hooks.Run})
	parts.Ready = append(parts.Ready, gateway.Check{Name: "webhook deliveries", Check: hooks.Healthy})

	// Mail out, from the ticket events.
	out := &email.Outbound{Directory: dir, Store: st, Tickets: tickets, Relay: relay, MaxAttachmentBytes: cfg.Channel.SMTP.MaxMessageBytes, Log: h.Log}
	cursors, err := consumer.OpenCursors(ctx, cfg.DatabaseURL, cfg.DataDir, "channel-events.db")
	if err != nil {
		return parts, fmt.Errorf("channel event cursors: %w", err)
	}
	h.OnStop("channel event cursors", func(context.Context) error { return cursors.Close() })
	groups := []*consumer.Group{
		followers(email.ConsumerName, email.OutboundEvents, out, tickets, cursors, h),
	}

	// WeChat: the callback stores what WeChat posts (the gateway forwards
	// it here), the worker turns it into tickets and comments, and the
	// agents' replies go back through the accounts' API.
	accounts, err := weChatAccounts(tenants)
	if err != nil {
		return parts, err
	}
	wake := make(chan struct{}, 1)
	callback := &wechat.Callback{Accounts: accounts, Inbox: st, Log: h.Log, Received: func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}}
	(&wechat.Service{Callback: callback}).Register(h.GRPC)
	if ids := accounts.Tenants(); len(ids) > 0 {
		replies := &wechat.Outbound{Outbox: st, Tickets: tickets, Sender: accounts.Sender, Log: h.Log}
		worker := &wechat.Worker{
			Queue: st, Contacts: contactResolver{contacts}, Tickets: tickets, Log: h.Log, Wake: wake,
			Group: accounts.Group, Media: accounts.Media, Blobs: ticketv1.NewTicketBlobServiceClient(conn),
			Flush: replies.Flush,
			// One replica at a time takes the inbox.
			Lease: st, Holder: channelstore.NewID(),
		}
		parts.Loops = append(parts.Loops, module.Loop{Name: "wechat inbox", Run: worker.Run})
		groups = append(groups, followers(wechat.ConsumerName, wechat.OutboundEvents, replies, tickets, cursors, h))
		h.Log.Info("WeChat Official Accounts", "tenants", ids, "callback", wechat.CallbackPath)
	}
	// Web chat (chat.go): visitors reach it through the gateway's
	// /chat/{tenant}/ endpoints; its follower numbers the chats' messages,
	// and handed-on chats' replies go by e-mail.
	chatLoops, chatFollower, err := initChat(ctx, cfg, h, st, tickets, tenants)
	if err != nil {
		return parts, err
	}
	parts.Loops = append(parts.Loops, chatLoops...)
	groups = append(groups, followers(chat.ConsumerName, chat.FollowerEvents, chatFollower, tickets, cursors, h))
	out.HandedOff = st.ChatByEmail

	// Every tenant of the configuration is followed, and the default one.
	follow := slices.Sorted(maps.Keys(tenants))
	if cfg.DefaultTenant != "" && !slices.Contains(follow, cfg.DefaultTenant) {
		follow = append(follow, cfg.DefaultTenant)
	}
	parts.Loops = append(parts.Loops, module.Loop{Name: "channel event followers", Run: func(ctx context.Context) error {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		for _, g := range groups {
			for _, t := range follow {
				g.Add(ctx, t)
			}
		}
		var err error
		select {
		case <-ctx.Done():
		case err = <-groups[0].Fatal():
		}
		// The others save their positions before the process goes down.
		stop()
		for _, g := range groups {
			_ = g.Wait()
		}
		return err
	}})
	parts.Ready = append(parts.Ready, gateway.Check{Name: "channel event followers", Check: func(context.Context) error {
		var errs []error
		for _, g := range groups {
			errs = append(errs, g.Healthy())
		}
		return errors.Join(errs...)
	}})
	return parts, nil
}

// followers is the consumer group of one follower of the ticket events.
func followers(name string, types []ticketv1.EventType, hd consumer.Handler, tickets ticketv1.TicketServiceClient, cursors consumer.Cursors, h *module.Host) *consumer.Group {
	return &consumer.Group{
		New: func(tenantID string) *consumer.Consumer {
			return &consumer.Consumer{Name: name, Tenant: tenantID, Stream: tickets, Types: types, Handler: hd, Cursors: cursors, Log: h.Log}
		},
		Log: h.Log,
	}
}

// configuredTenants reads the HelpdeskTenant documents of the --config
// file, if any.
func configuredTenants(cfg *Config) (map[string]tenant.Config, error) {
	if cfg.File == "" {
		return nil, nil
	}
	docs, err := config.ReadDocuments(cfg.File)
	if err != nil {
		return nil, err
	}
	return config.Tenants(cfg.File, docs, nil)
}

// weChatAccounts reads the WeChat Official Accounts of the configured
// tenants, their secrets from the values or environment variables the
// configuration names; their API calls time out after 10 s.
func weChatAccounts(tenants map[string]tenant.Config) (*wechat.Directory, error) {
	accounts := map[string]tenant.WeChatAccount{}
	var errs []error
	for id, t := range tenants {
		a, ok, err := t.WeChat(os.Getenv)
		switch {
		case err != nil:
			errs = append(errs, err)
		case ok:
			accounts[id] = a
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return wechat.NewDirectory(accounts, &http.Client{Timeout: 10 * time.Second})
}

// channelEndpoints are the channel module's HTTP endpoints on a gateway:
// the tenants' WeChat callback URLs and the web chat, forwarded to the
// channel service.
func channelEndpoints(cfg *Config, conn *grpc.ClientConn, log *slog.Logger) []gateway.Endpoint {
	return append([]gateway.Endpoint{{
		Pattern: wechat.CallbackPath,
		Handler: wechat.Handler(channelv1.NewWeChatCallbackServiceClient(conn), log),
	}}, chatEndpoints(cfg, conn, log)...)
}

// contactResolver resolves senders and requesters to contacts through
// the channel server's store.
type contactResolver struct{ s *channel.Server }

// ResolveEmail implements email.Contacts.
func (c contactResolver) ResolveEmail(ctx context.Context, tenantID, address, name string) (string, error) {
	contact, _, err := c.s.Resolve(tenant.With(ctx, tenantID), channelstore.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_EMAIL, Value: address}, name)
	if err != nil {
		return "", err
	}
	return contact.ID, nil
}

// ResolveWeChat implements wechat.Contacts.
func (c contactResolver) ResolveWeChat(ctx context.Context, tenantID, openid string) (string, string, error) {
	contact, _, err := c.s.Resolve(tenant.With(ctx, tenantID), channelstore.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_WECHAT, Value: openid}, "")
	if err != nil {
		return "", "", err
	}
	return contact.ID, contact.DisplayName, nil
}

// registerChannelREST serves the channel module's REST API: contacts,
// organisations, webhooks and the agents' side of the web chat.
func registerChannelREST(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	return errors.Join(
		channelv1.RegisterContactServiceHandler(ctx, mux, conn),
		channelv1.RegisterOrganizationServiceHandler(ctx, mux, conn),
		channelv1.RegisterChatServiceHandler(ctx, mux, conn),
		channelv1.RegisterWebhookServiceHandler(ctx, mux, conn),
	)
}

// requesterContacts is the ticket service's way to the channel service's
// contacts: it turns a requester named by e-mail address into a contact.
type requesterContacts struct {
	client channelv1.ContactResolverServiceClient
}

// ContactOf implements ticket.Contacts.
func (r requesterContacts) ContactOf(ctx context.Context, email, name string) (string, error) {
	resp, err := r.client.ResolveContact(tenant.Outgoing(ctx, tenant.From(ctx)), &channelv1.ResolveContactRequest{
		Identity:    &channelv1.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_EMAIL, Value: email},
		DisplayName: name,
	})
	if err != nil {
		return "", err
	}
	return resp.GetContact().GetId(), nil
}
