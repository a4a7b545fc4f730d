package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/services/platform/gateway"
	"github.com/kubedesk/kubedesk/services/platform/module"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/routing"
	"github.com/kubedesk/kubedesk/services/routing/rules"
	routingstore "github.com/kubedesk/kubedesk/services/routing/store"
)

const moduleRouting = "routing"

// routingLease is the lease the routing process that follows the ticket
// events and sweeps the queues holds; other replicas serve the API and
// wait to take over.
const routingLease = "routing"

// initRouting serves the routing service and, on the replica that holds
// the lease, follows the ticket events and sweeps the queues.
func initRouting(ctx context.Context, cfg *Config, h *module.Host) (module.Parts, error) {
	var parts module.Parts
	st, err := routingstore.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return parts, fmt.Errorf("routing store: %w", err)
	}
	h.OnStop("routing store", func(context.Context) error { return st.Close() })
	ticketConn, err := h.Dial(moduleTicket)
	if err != nil {
		return parts, err
	}
	callerConn, err := h.DialCaller(moduleTicket)
	if err != nil {
		return parts, err
	}
	iamConn, err := h.Dial(moduleIAM)
	if err != nil {
		return parts, err
	}
	tenants, err := configuredTenants(cfg)
	if err != nil {
		return parts, err
	}
	locale := func(id string) string {
		if t, ok := tenants[id]; ok {
			return t.Spec.Locale
		}
		return "en"
	}
	router := &routing.Router{
		Store:        st,
		Tickets:      routingTickets{ticketv1.NewTicketServiceClient(ticketConn), ticketv1.NewTicketRoutingServiceClient(ticketConn)},
		Users:        newUserDirectory(iamv1.NewIdentityServiceClient(iamConn), time.Minute),
		Locale:       locale,
		OfflineGrace: time.Duration(cfg.Routing.OfflineGrace),
		Log:          h.Log,
	}
	if h.Reachable(moduleChannel) {
		conn, err := h.Dial(moduleChannel)
		if err != nil {
			return parts, err
		}
		router.Customers = customerDirectory{channelv1.NewContactServiceClient(conn), channelv1.NewOrganizationServiceClient(conn)}
	} else {
		h.Log.Warn("routing rules read customer tiers from the customer_tier field only: the channel module does not run here and services.channel is not set")
	}
	rules, err := loadRoutingRules(cfg, st, h)
	if err != nil {
		return parts, err
	}
	router.Rules = rules
	parts.Loops = append(parts.Loops, rules.loops...)
	users := iamv1.NewIdentityServiceClient(iamConn)
	(&routing.Server{Router: router, Rules: rules, Members: groupMemberships{users},
		Visible: ticketv1.NewTicketServiceClient(callerConn)}).Register(h.GRPC)

	follow := slices.Sorted(maps.Keys(tenants))
	if cfg.DefaultTenant != "" && !slices.Contains(follow, cfg.DefaultTenant) {
		follow = append(follow, cfg.DefaultTenant)
	}
	cursors, err := consumer.OpenCursors(ctx, cfg.DatabaseURL, cfg.DataDir, "routing.db")
	if err != nil {
		return parts, fmt.Errorf("routing event cursors: %w", err)
	}
	h.OnStop("routing event cursors", func(context.Context) error { return cursors.Close() })
	group := followers(routing.ConsumerName, routing.EventTypes, router, ticketv1.NewTicketServiceClient(ticketConn), cursors, h)
	leader := &routingLeader{store: st, holder: uuid.NewString(), router: router, group: group, tenants: follow,
		sweep: time.Duration(cfg.Routing.SweepInterval), h: h}
	parts.Loops = append(parts.Loops, module.Loop{Name: "routing", Run: leader.run})
	parts.Ready = append(parts.Ready,
		gateway.Check{Name: "routing store", Check: func(ctx context.Context) error { _, err := st.Tenants(ctx); return err }},
		gateway.Check{Name: "routing event follower", Check: leader.healthy},
	)
	return parts, nil
}

// routingLeader runs the event followers and the sweeps while it holds
// the routing lease.
type routingLeader struct {
	store   routing.Store
	holder  string
	router  *routing.Router
	group   *consumer.Group
	tenants []string
	sweep   time.Duration
	h       *module.Host

	mu     sync.Mutex
	leader bool
}

const routingLeaseTTL = 15 * time.Second

func (l *routingLeader) healthy(context.Context) error {
	l.mu.Lock()
	leader := l.leader
	l.mu.Unlock()
	if !leader {
		return nil // a standby serves the API
	}
	return l.group.Healthy()
}

// run waits for the lease, then follows and sweeps until the lease is
// lost or ctx ends, and goes back to waiting.
func (l *routingLeader) run(ctx context.Context) error {
	defer func() { _ = l.store.ReleaseLease(context.WithoutCancel(ctx), routingLease, l.holder) }()
	for {
		held, err := l.store.HoldLease(ctx, routingLease, l.holder, routingLeaseTTL)
		if err != nil && ctx.Err() == nil {
			l.h.Log.Warn("routing lease", "err", err)
		}
		if held {
			if err := l.lead(ctx); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(routingLeaseTTL / 3):
		}
	}
}

// lead follows the events and sweeps each tenant until the lease is lost.
func (l *routingLeader) lead(ctx context.Context) error {
	l.h.Log.Info("routing: following the ticket events", "tenants", l.tenants)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	l.setLeader(true)
	defer l.setLeader(false)
	for _, t := range l.tenants {
		l.group.Add(ctx, t)
	}
	var wg sync.WaitGroup
	for _, t := range l.tenants {
		wg.Go(func() { l.sweeps(ctx, t) })
	}
	renew := time.NewTicker(routingLeaseTTL / 3)
	defer renew.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-l.group.Fatal():
			break loop
		case <-renew.C:
			held, herr := l.store.HoldLease(ctx, routingLease, l.holder, routingLeaseTTL)
			if herr == nil && !held {
				l.h.Log.Warn("routing: lease lost; standing by")
				break loop
			}
		}
	}
	stop()
	_ = l.group.Wait()
	wg.Wait()
	return err
}

func (l *routingLeader) setLeader(v bool) {
	l.mu.Lock()
	l.leader = v
	l.mu.Unlock()
}

// sweeps runs a tenant's sweep every interval, and promptly when the
// queues may move.
func (l *routingLeader) sweeps(ctx context.Context, tenantID string) {
	tick := time.NewTicker(l.sweep)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-l.router.Kicked(tenantID):
		}
		if err := l.router.Sweep(ctx, tenantID); err != nil && ctx.Err() == nil {
			l.h.Log.Warn("routing sweep", "tenant", tenantID, "err", err)
		}
	}
}

// routingTickets calls the ticket service as kubedesk's own module.
type routingTickets struct {
	tickets ticketv1.TicketServiceClient
	routing ticketv1.TicketRoutingServiceClient
}

func (t routingTickets) GetTicket(ctx context.Context, tenantID, id string) (*ticketv1.Ticket, error) {
	resp, err := t.tickets.GetTicket(tenant.Outgoing(ctx, tenantID), &ticketv1.GetTicketRequest{Id: id})
	return resp.GetTicket(), err
}

func (t routingTickets) AssignTicket(ctx context.Context, tenantID string, in *ticketv1.AssignTicketRequest) (*ticketv1.AssignTicketResponse, error) {
	return t.routing.AssignTicket(tenant.Outgoing(ctx, tenantID), in)
}

// userDirectory reads users from the identity module, remembering each
// for ttl so that explaining a decision does not ask for every name.
type userDirectory struct {
	client iamv1.IdentityServiceClient
	ttl    time.Duration
	mu     sync.Mutex
	cache  map[[2]string]cachedUser
}

type cachedUser struct {
	user routing.User
	at   time.Time
}

func newUserDirectory(c iamv1.IdentityServiceClient, ttl time.Duration) *userDirectory {
	return &userDirectory{client: c, ttl: ttl, cache: map[[2]string]cachedUser{}}
}

func (d *userDirectory) User(ctx context.Context, tenantID, id string) (routing.User, error) {
	key := [2]string{tenantID, id}
	d.mu.Lock()
	c, ok := d.cache[key]
	d.mu.Unlock()
	if ok && time.Since(c.at) < d.ttl {
		return c.user, nil
	}
	resp, err := d.client.GetUser(tenant.Outgoing(ctx, tenantID), &iamv1.GetUserRequest{Id: id})
	if err != nil {
		return routing.User{}, err
	}
	u := resp.GetUser()
	out := routing.User{
		ID: u.GetId(), DisplayName: u.GetDisplayName(), Locale: u.GetLocale(),
		Agent: u.GetActive() && slices.ContainsFunc(u.GetRoles(), func(r iamv1.Role) bool {
			return r == iamv1.Role_ROLE_AGENT || r == iamv1.Role_ROLE_SUPERVISOR || r == iamv1.Role_ROLE_ADMIN
		}),
	}
	d.mu.Lock()
	if len(d.cache) > 100_000 {
		clear(d.cache)
	}
	d.cache[key] = cachedUser{user: out, at: time.Now()}
	d.mu.Unlock()
	return out, nil
}

// groupMemberships puts a routing group in its members' groups at the
// identity module, so that they see its tickets.
type groupMemberships struct{ users iamv1.IdentityServiceClient }

func (m groupMemberships) SetMember(ctx context.Context, tenantID, userID, group string, member bool) error {
	ctx = tenant.Outgoing(ctx, tenantID)
	for attempt := 0; ; attempt++ {
		got, err := m.users.GetUser(ctx, &iamv1.GetUserRequest{Id: userID})
		if err != nil {
			return err
		}
		u := got.GetUser()
		groups := slices.DeleteFunc(slices.Clone(u.GetGroups()), func(g string) bool { return g == group })
		if member {
			groups = append(groups, group)
		}
		if slices.Equal(groups, u.GetGroups()) {
			return nil
		}
		_, err = m.users.UpdateUser(ctx, &iamv1.UpdateUserRequest{
			User:       &iamv1.User{Id: userID, Groups: groups, Etag: u.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"groups"}},
		})
		if status.Code(err) == codes.Aborted && attempt < 3 {
			continue // changed meanwhile: read again
		}
		return err
	}
}

// customerDirectory reads a requester's tier and organisation from the
// channel module.
type customerDirectory struct {
	contacts channelv1.ContactServiceClient
	orgs     channelv1.OrganizationServiceClient
}

func (c customerDirectory) Customer(ctx context.Context, contactID string) (routing.Customer, error) {
	tid := tenant.From(ctx)
	ctx = tenant.Outgoing(ctx, tid)
	resp, err := c.contacts.GetContact(ctx, &channelv1.GetContactRequest{Id: contactID})
	if err != nil {
		return routing.Customer{}, err
	}
	ct := resp.GetContact()
	out := routing.Customer{Tier: ct.GetTier(), OrganizationID: ct.GetOrganizationId()}
	if out.OrganizationID == "" {
		return out, nil
	}
	org, err := c.orgs.GetOrganization(ctx, &channelv1.GetOrganizationRequest{Id: out.OrganizationID})
	if err != nil {
		return out, err
	}
	out.OrganizationName = org.GetOrganization().GetName()
	if out.Tier == "" || out.Tier == "standard" {
		out.Tier = org.GetOrganization().GetTier()
	}
	return out, nil
}

var (
	_ routing.Directory = (*userDirectory)(nil)
	_ routing.Customers = customerDirectory{}
)

// routingRules are the RoutingRule documents of the --config file in
// force, checked against the groups and skills in the routing store.
type routingRules struct {
	inForce *rules.InForce
	path    string
	cat     routingCatalogue
	log     *slog.Logger
	loops   []module.Loop

	mu      sync.Mutex
	loadErr string
}

// loadRoutingRules reads the rules of the --config file. Rules that name
// a group or a skill the store does not have yet are refused, and read
// again when groups or skills change; a refused file does not stop
// start-up, since its groups are made over the API once the service runs.
func loadRoutingRules(cfg *Config, st routing.Store, h *module.Host) (*routingRules, error) {
	r := &routingRules{inForce: rules.NewInForce(), path: cfg.File, cat: routingCatalogue{st}, log: h.Log}
	if cfg.File == "" {
		return r, nil
	}
	r.Reload()
	r.loops = append(r.loops, module.Loop{Name: "routing rule watcher", Run: r.watch})
	return r, nil
}

// watch reads the file again when its content changes, and every 30
// seconds while it is refused (a group it names may have been made on
// another replica).
func (r *routingRules) watch(ctx context.Context) error {
	last, _ := os.ReadFile(r.path)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	retried := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cur, err := os.ReadFile(r.path)
		r.mu.Lock()
		refused := r.loadErr != ""
		r.mu.Unlock()
		switch {
		case err == nil && !bytes.Equal(cur, last):
			last = cur
		case refused && time.Since(retried) >= 30*time.Second:
		default:
			continue
		}
		retried = time.Now()
		r.Reload()
	}
}

// Reload implements routing.RuleListing.
func (r *routingRules) Reload() {
	if r.path == "" {
		return
	}
	err := r.inForce.Load(r.path, r.cat)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		msg := err.Error()
		if msg != r.loadErr {
			r.log.Error("routing rules refused; the rules in force stay", "file", r.path, "err", err)
		}
		r.loadErr = msg
	case r.loadErr != "" || len(r.inForce.Current().All()) > 0:
		if r.loadErr != "" {
			r.log.Info("routing rules in force", "file", r.path, "rules", len(r.inForce.Current().All()))
		}
		r.loadErr = ""
	}
}

// Evaluate implements routing.Rules.
func (r *routingRules) Evaluate(tenantID string, f routing.Facts, now time.Time) routing.RuleResult {
	res := r.inForce.Current().Evaluate(tenantID, rules.Facts(f), now)
	return routing.RuleResult(res)
}

// List implements routing.RuleListing.
func (r *routingRules) List(tenantID string) ([]routing.RuleView, []string, string) {
	set := r.inForce.Current()
	var out []routing.RuleView
	for _, rule := range set.Rules(tenantID) {
		spec, err := specStruct(rule.Spec)
		if err != nil {
			r.log.Warn("routing rule not shown", "rule", rule.Name, "err", err)
			continue
		}
		out = append(out, routing.RuleView{Name: rule.Name, Order: rule.Order, Spec: spec, Source: rule.Source, Warnings: rule.Warnings})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return out, set.Warnings(), r.loadErr
}

// specStruct is a document's spec as the API shows it.
func specStruct(spec any) (*structpb.Struct, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	s := &structpb.Struct{}
	return s, protojson.Unmarshal(raw, s)
}

// routingCatalogue is what the rules may name: the store's groups and
// the skills its agents have.
type routingCatalogue struct{ store routing.Store }

func (c routingCatalogue) Groups(tenantID string) []string {
	gs, _ := routing.AllGroups(context.Background(), c.store, tenantID)
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

func (c routingCatalogue) Skills(tenantID string) []string {
	seen := map[string]bool{}
	for after := ""; ; {
		as, err := c.store.ListAgents(context.Background(), tenantID, after, 500)
		if err != nil || len(as) == 0 {
			return slices.Sorted(maps.Keys(seen))
		}
		for _, a := range as {
			for _, s := range a.Skills {
				seen[s.Name] = true
			}
		}
		after = as[len(as)-1].ID
	}
}
