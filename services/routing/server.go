package routing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	routingv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/routing/v1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/etag"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/updatemask"
)

// RuleView is a rule in force as ListRoutingRules shows it.
type RuleView struct {
	Name     string
	Order    int32
	Spec     *structpb.Struct
	Source   string
	Warnings []string
}

// RuleListing tells which rules are in force for a tenant, the warnings
// about them, and why the last load was refused, if it was.
type RuleListing interface {
	List(tenantID string) (rules []RuleView, warnings []string, loadError string)
	// Reload reads the rules again (a group they name may exist now).
	Reload()
}

// CallerTickets reads tickets with the caller's own credential, so that a
// ticket the caller may not see is not found.
type CallerTickets interface {
	GetTicket(ctx context.Context, in *ticketv1.GetTicketRequest, opts ...grpc.CallOption) (*ticketv1.GetTicketResponse, error)
}

// Memberships keeps users' groups, which decide the tickets an agent
// sees, in line with the routing groups' members.
type Memberships interface {
	SetMember(ctx context.Context, tenantID, userID, group string, member bool) error
}

// Server implements routingv1.RoutingServiceServer.
type Server struct {
	routingv1.UnimplementedRoutingServiceServer
	Router *Router
	Rules  RuleListing
	// Members (nil: none) is told of every change of a group's members.
	Members Memberships
	// Visible reads a ticket as the caller (nil: every ticket of the
	// tenant is visible to every caller the RPC admits).
	Visible CallerTickets
}

// Register adds the service to a gRPC server.
func (s *Server) Register(g grpc.ServiceRegistrar) { routingv1.RegisterRoutingServiceServer(g, s) }

var (
	groupIDPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	channels       = []string{"api", "chat", "email", "phone", "web", "wechat"}
)

// UpdatableGroupFields lists the fields UpdateGroup sets.
var UpdatableGroupFields = []string{"display_name", "strategy", "members", "calendar", "overflow"}

// UpdatableAgentFields lists the fields UpdateAgent sets.
var UpdatableAgentFields = []string{"skills", "capacity"}

func (s *Server) store() Store { return s.Router.Store }

// storeError maps a store error to a gRPC status naming what.
func storeError(err error, what string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return status.Errorf(codes.NotFound, "%s: not found", what)
	case errors.Is(err, ErrExists):
		return status.Errorf(codes.AlreadyExists, "%s: exists already; accepted: an ID no other group of this tenant has", what)
	case errors.Is(err, ErrVersion):
		return status.Errorf(codes.Aborted, "etag: %s changed since you read it; read it again and resend your change", what)
	case status.Code(err) != codes.Unknown:
		return err
	}
	return status.Errorf(codes.Internal, "%s: %v", what, err)
}

// slug makes a group ID from a display name: lower-case ASCII letters
// and digits, '-' between words; "" when the name has none.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
	}
	return strings.Trim(b.String()[:min(b.Len(), 63)], "-")
}

// CreateGroup implements routingv1.RoutingServiceServer.
func (s *Server) CreateGroup(ctx context.Context, req *routingv1.CreateGroupRequest) (*routingv1.CreateGroupResponse, error) {
	tenantID := tenant.From(ctx)
	in := req.GetGroup()
	id := req.GetGroupId()
	if id == "" {
		id = slug(in.GetDisplayName())
		if id == "" {
			return nil, status.Error(codes.InvalidArgument, "group_id: is required when group.display_name has no Latin letters or digits to make one from; accepted: a DNS label such as \"billing\"")
		}
	} else if !groupIDPattern.MatchString(id) {
		return nil, status.Errorf(codes.InvalidArgument, "group_id: %q is not a DNS label; accepted: 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit", id)
	}
	if strings.TrimSpace(in.GetDisplayName()) == "" {
		return nil, status.Error(codes.InvalidArgument, "group.display_name: is required; accepted: 1 to 200 characters")
	}
	g := Group{Tenant: tenantID, ID: id}
	if err := s.setGroupFields(ctx, &g, in, UpdatableGroupFields); err != nil {
		return nil, err
	}
	out, err := s.store().CreateGroup(ctx, g)
	if err != nil {
		return nil, storeError(err, "group "+strconv.Quote(id))
	}
	s.syncMembers(ctx, tenantID, id, nil, out.Members)
	s.groupsChanged(tenantID)
	return &routingv1.CreateGroupResponse{Group: s.groupToProto(ctx, out)}, nil
}

// syncMembers tells Members who joined and who left group. A failure is
// logged: the group is stored, and the next change of its members
// brings the users in line again.
func (s *Server) syncMembers(ctx context.Context, tenantID, group string, before, after []string) {
	if s.Members == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, id := range after {
		if !slices.Contains(before, id) {
			if err := s.Members.SetMember(ctx, tenantID, id, group, true); err != nil {
				s.Router.log().Warn("a group member does not see the group's tickets", "tenant", tenantID, "group", group, "user", id, "err", err)
			}
		}
	}
	for _, id := range before {
		if !slices.Contains(after, id) {
			if err := s.Members.SetMember(ctx, tenantID, id, group, false); err != nil {
				s.Router.log().Warn("a former group member still sees the group's tickets", "tenant", tenantID, "group", group, "user", id, "err", err)
			}
		}
	}
}

// groupsChanged reloads the rules (one may name a group that exists now)
// and lets the queues move (a member was added).
func (s *Server) groupsChanged(tenantID string) {
	if s.Rules != nil {
		s.Rules.Reload()
	}
	s.Router.Kick(tenantID)
}

// setGroupFields checks and sets the fields of in named by paths.
func (s *Server) setGroupFields(ctx context.Context, g *Group, in *routingv1.Group, paths []string) error {
	var errs []string
	for _, p := range paths {
		switch p {
		case "display_name":
			g.DisplayName = strings.TrimSpace(in.GetDisplayName())
			if g.DisplayName == "" {
				errs = append(errs, "group.display_name: must not be empty; accepted: 1 to 200 characters")
			}
		case "strategy":
			g.Strategy = strategyFromProto(in.GetStrategy())
		case "members":
			g.Members = slices.Clone(in.GetMembers())
			for i, m := range g.Members {
				u, err := s.Router.Users.User(ctx, g.Tenant, m)
				switch {
				case status.Code(err) == codes.NotFound || (err == nil && !u.Agent):
					errs = append(errs, fmt.Sprintf("group.members[%d]: %q is not an agent of this tenant; accepted: IDs of active users with the agent, supervisor or admin role", i, m))
				case err != nil:
					return status.Errorf(codes.Unavailable, "group.members[%d]: cannot look the user up: %v", i, err)
				}
			}
		case "calendar":
			g.Calendar = calendarFromProto(in.GetCalendar())
			if _, err := CompileCalendar(g.Calendar); err != nil {
				errs = append(errs, "group."+strings.ReplaceAll(err.Error(), "\n", "; group."))
			}
		case "overflow":
			o := in.GetOverflow()
			if o == nil || (o.GetGroup() == "" && o.GetAfter() == nil) {
				g.Overflow = nil
				continue
			}
			switch {
			case o.GetGroup() == g.ID:
				errs = append(errs, fmt.Sprintf("group.overflow.group: %q is this group; accepted: another group of this tenant", o.GetGroup()))
			case o.GetAfter() == nil:
				errs = append(errs, "group.overflow.after: is required with overflow.group; accepted: a duration from 1s to 720h, e.g. \"1800s\"")
			default:
				if _, err := s.store().GetGroup(ctx, g.Tenant, o.GetGroup()); errors.Is(err, ErrNotFound) {
					errs = append(errs, fmt.Sprintf("group.overflow.group: %q is not a group of this tenant; accepted: %s", o.GetGroup(), s.groupNames(ctx, g.Tenant)))
				} else if err != nil {
					return storeError(err, "group.overflow.group")
				}
			}
			g.Overflow = &Overflow{Group: o.GetGroup(), After: o.GetAfter().AsDuration()}
		}
	}
	if g.Strategy == "" {
		g.Strategy = RoundRobin
	}
	if len(errs) > 0 {
		return status.Error(codes.InvalidArgument, strings.Join(errs, "; "))
	}
	return nil
}

// AllGroups reads every group of a tenant, by ID.
func AllGroups(ctx context.Context, st Store, tenantID string) ([]Group, error) {
	var all []Group
	for after := ""; ; {
		gs, err := st.ListGroups(ctx, tenantID, after, 100)
		if err != nil || len(gs) == 0 {
			return all, err
		}
		all = append(all, gs...)
		after = gs[len(gs)-1].ID
	}
}

// groupNames lists the tenant's group IDs for an error message.
func (s *Server) groupNames(ctx context.Context, tenantID string) string {
	gs, err := s.store().ListGroups(ctx, tenantID, "", 20)
	if err != nil || len(gs) == 0 {
		return "the ID of an existing group (this tenant has none yet)"
	}
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return "one of " + strings.Join(ids, ", ")
}

// GetGroup implements routingv1.RoutingServiceServer.
func (s *Server) GetGroup(ctx context.Context, req *routingv1.GetGroupRequest) (*routingv1.GetGroupResponse, error) {
	g, err := s.store().GetGroup(ctx, tenant.From(ctx), req.GetId())
	if err != nil {
		return nil, storeError(err, "group "+strconv.Quote(req.GetId()))
	}
	return &routingv1.GetGroupResponse{Group: s.groupToProto(ctx, g)}, nil
}

const groupsToken = "g1"

// ListGroups implements routingv1.RoutingServiceServer.
func (s *Server) ListGroups(ctx context.Context, req *routingv1.ListGroupsRequest) (*routingv1.ListGroupsResponse, error) {
	tenantID := tenant.From(ctx)
	pos, err := paging.DecodeToken(req.GetPageToken(), groupsToken, "", 1)
	if err != nil {
		return nil, err
	}
	after := ""
	if pos != nil {
		after = pos[0]
	}
	size := paging.Size(req.GetPageSize())
	gs, err := s.store().ListGroups(ctx, tenantID, after, size+1)
	if err != nil {
		return nil, storeError(err, "groups")
	}
	resp := &routingv1.ListGroupsResponse{}
	if len(gs) > size {
		gs = gs[:size]
		resp.NextPageToken = paging.EncodeToken(groupsToken, "", gs[size-1].ID)
	}
	sizes, err := s.store().QueueSizes(ctx, tenantID)
	if err != nil {
		return nil, storeError(err, "groups")
	}
	for _, g := range gs {
		pg := groupToProto(g)
		pg.Queued = int32(sizes[g.ID])
		resp.Groups = append(resp.Groups, pg)
	}
	return resp, nil
}

// UpdateGroup implements routingv1.RoutingServiceServer.
func (s *Server) UpdateGroup(ctx context.Context, req *routingv1.UpdateGroupRequest) (*routingv1.UpdateGroupResponse, error) {
	tenantID := tenant.From(ctx)
	in := req.GetGroup()
	paths, err := updatemask.Paths(req.GetUpdateMask(), in, UpdatableGroupFields)
	if err != nil {
		return nil, err
	}
	want, err := etag.Expected(ctx, in.GetEtag(), "group")
	if err != nil {
		return nil, err
	}
	g, err := s.store().GetGroup(ctx, tenantID, in.GetId())
	if err != nil {
		return nil, storeError(err, "group "+strconv.Quote(in.GetId()))
	}
	if want != 0 && want != g.Version {
		return nil, status.Errorf(codes.Aborted, "etag: group %q is at %s now, not %s; read it again and resend your change", g.ID, etag.Format(g.Version), etag.Format(want))
	}
	before := slices.Clone(g.Members)
	if err := s.setGroupFields(ctx, &g, in, paths); err != nil {
		return nil, err
	}
	out, err := s.store().UpdateGroup(ctx, g)
	if err != nil {
		return nil, storeError(err, "group "+strconv.Quote(g.ID))
	}
	s.syncMembers(ctx, tenantID, g.ID, before, out.Members)
	s.groupsChanged(tenantID)
	return &routingv1.UpdateGroupResponse{Group: s.groupToProto(ctx, out)}, nil
}

// DeleteGroup implements routingv1.RoutingServiceServer.
func (s *Server) DeleteGroup(ctx context.Context, req *routingv1.DeleteGroupRequest) (*routingv1.DeleteGroupResponse, error) {
	tenantID := tenant.From(ctx)
	id := req.GetId()
	g, err := s.store().GetGroup(ctx, tenantID, id)
	if err != nil {
		return nil, storeError(err, "group "+strconv.Quote(id))
	}
	if s.Rules != nil {
		rules, _, _ := s.Rules.List(tenantID)
		for _, r := range rules {
			if r.Spec.GetFields()["then"].GetStructValue().GetFields()["group"].GetStringValue() == id {
				return nil, status.Errorf(codes.FailedPrecondition, "group %q: rule %s (%s) routes tickets to it; change the rule first", id, r.Name, r.Source)
			}
		}
	}
	groups, err := AllGroups(ctx, s.store(), tenantID)
	if err != nil {
		return nil, storeError(err, "groups")
	}
	for _, g := range groups {
		if g.Overflow != nil && g.Overflow.Group == id {
			return nil, status.Errorf(codes.FailedPrecondition, "group %q: group %q overflows to it; change that group's overflow first", id, g.ID)
		}
	}
	if err := s.store().DeleteGroup(ctx, tenantID, id); err != nil {
		return nil, storeError(err, "group "+strconv.Quote(id))
	}
	s.syncMembers(ctx, tenantID, id, g.Members, nil)
	return &routingv1.DeleteGroupResponse{}, nil
}

func (s *Server) groupToProto(ctx context.Context, g Group) *routingv1.Group {
	pg := groupToProto(g)
	if sizes, err := s.store().QueueSizes(ctx, g.Tenant); err == nil {
		pg.Queued = int32(sizes[g.ID])
	}
	return pg
}

// agentUser looks up an agent's user: NotFound unless it is an active
// user with the agent, supervisor or admin role.
func (s *Server) agentUser(ctx context.Context, tenantID, id string) (User, error) {
	u, err := s.Router.Users.User(ctx, tenantID, id)
	if status.Code(err) == codes.NotFound || (err == nil && !u.Agent) {
		return User{}, status.Errorf(codes.NotFound, "agent %q: not found; accepted: the ID of an active user with the agent, supervisor or admin role", id)
	}
	if err != nil {
		return User{}, status.Errorf(codes.Unavailable, "agent %q: cannot look the user up: %v", id, err)
	}
	return u, nil
}

// GetAgent implements routingv1.RoutingServiceServer.
func (s *Server) GetAgent(ctx context.Context, req *routingv1.GetAgentRequest) (*routingv1.GetAgentResponse, error) {
	tenantID := tenant.From(ctx)
	id := s.self(ctx, req.GetId())
	u, err := s.agentUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	a, err := s.agent(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return &routingv1.GetAgentResponse{Agent: s.agentToProto(ctx, a, u, nil)}, nil
}

// self reads "me" as the caller's user ID.
func (s *Server) self(ctx context.Context, id string) string {
	if id == "me" {
		return callerID(auth.From(ctx))
	}
	return id
}

// callerID is the user a principal acts as.
func callerID(p *iamv1.Principal) string {
	if p.GetUserId() != "" {
		return p.GetUserId()
	}
	return p.GetId()
}

// agent returns the stored profile, or the default one of an agent never
// configured.
func (s *Server) agent(ctx context.Context, tenantID, id string) (Agent, error) {
	a, err := s.store().GetAgent(ctx, tenantID, id)
	if errors.Is(err, ErrNotFound) {
		return Agent{Tenant: tenantID, ID: id, Presence: Offline}, nil
	}
	if err != nil {
		return Agent{}, storeError(err, "agent "+strconv.Quote(id))
	}
	return a, nil
}

const agentsToken = "a1"

// ListAgents implements routingv1.RoutingServiceServer.
func (s *Server) ListAgents(ctx context.Context, req *routingv1.ListAgentsRequest) (*routingv1.ListAgentsResponse, error) {
	tenantID := tenant.From(ctx)
	query := req.GetGroup()
	pos, err := paging.DecodeToken(req.GetPageToken(), agentsToken, query, 1)
	if err != nil {
		return nil, err
	}
	after := ""
	if pos != nil {
		after = pos[0]
	}
	size := paging.Size(req.GetPageSize())
	var agents []Agent
	if g := req.GetGroup(); g != "" {
		grp, err := s.store().GetGroup(ctx, tenantID, g)
		if err != nil {
			return nil, storeError(err, "group "+strconv.Quote(g))
		}
		ids := slices.Sorted(slices.Values(grp.Members))
		byID, err := s.store().AgentsByID(ctx, tenantID, ids)
		if err != nil {
			return nil, storeError(err, "agents")
		}
		for _, id := range ids {
			if id <= after {
				continue
			}
			a, ok := byID[id]
			if !ok {
				a = Agent{Tenant: tenantID, ID: id, Presence: Offline}
			}
			agents = append(agents, a)
			if len(agents) > size {
				break
			}
		}
	} else {
		agents, err = s.store().ListAgents(ctx, tenantID, after, size+1)
		if err != nil {
			return nil, storeError(err, "agents")
		}
	}
	resp := &routingv1.ListAgentsResponse{}
	if len(agents) > size {
		agents = agents[:size]
		resp.NextPageToken = paging.EncodeToken(agentsToken, query, agents[size-1].ID)
	}
	groups, err := AllGroups(ctx, s.store(), tenantID)
	if err != nil {
		return nil, storeError(err, "groups")
	}
	for _, a := range agents {
		u, _ := s.Router.Users.User(ctx, tenantID, a.ID)
		resp.Agents = append(resp.Agents, s.agentToProto(ctx, a, u, groups))
	}
	return resp, nil
}

// UpdateAgent implements routingv1.RoutingServiceServer.
func (s *Server) UpdateAgent(ctx context.Context, req *routingv1.UpdateAgentRequest) (*routingv1.UpdateAgentResponse, error) {
	tenantID := tenant.From(ctx)
	in := req.GetAgent()
	paths, err := updatemask.Paths(req.GetUpdateMask(), in, UpdatableAgentFields)
	if err != nil {
		return nil, err
	}
	want, err := etag.Expected(ctx, in.GetEtag(), "agent")
	if err != nil {
		return nil, err
	}
	id := s.self(ctx, in.GetId())
	u, err := s.agentUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	a, err := s.agent(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if want != 0 && want != a.Version {
		return nil, status.Errorf(codes.Aborted, "etag: agent %q is at %s now, not %s; read it again and resend your change", id, etag.Format(a.Version), etag.Format(want))
	}
	var errs []string
	for _, p := range paths {
		switch p {
		case "skills":
			a.Skills = nil
			seen := map[string]int{}
			for i, sk := range in.GetSkills() {
				if j, dup := seen[sk.GetName()]; dup {
					errs = append(errs, fmt.Sprintf("agent.skills[%d].name: %q repeats agent.skills[%d]; accepted: each skill once", i, sk.GetName(), j))
				}
				seen[sk.GetName()] = i
				a.Skills = append(a.Skills, Skill{Name: sk.GetName(), Level: int(sk.GetLevel())})
			}
		case "capacity":
			a.Capacity = map[string]int{}
			for _, ch := range slices.Sorted(maps.Keys(in.GetCapacity())) {
				n := in.GetCapacity()[ch]
				switch {
				case !slices.Contains(channels, ch):
					errs = append(errs, fmt.Sprintf("agent.capacity[%q]: is not a channel; accepted: %s", ch, strings.Join(channels, ", ")))
				case n < 1 || n > 1000:
					errs = append(errs, fmt.Sprintf("agent.capacity[%q]: %d is not a capacity; accepted: 1 to 1000 open tickets", ch, n))
				}
				a.Capacity[ch] = int(n)
			}
		}
	}
	if len(errs) > 0 {
		return nil, status.Error(codes.InvalidArgument, strings.Join(errs, "; "))
	}
	out, err := s.store().PutAgentProfile(ctx, a)
	if err != nil {
		return nil, storeError(err, "agent "+strconv.Quote(id))
	}
	if s.Rules != nil {
		s.Rules.Reload() // a rule may need a skill that exists now
	}
	s.Router.Kick(tenantID) // more room, or new skills, may move a queue
	return &routingv1.UpdateAgentResponse{Agent: s.agentToProto(ctx, out, u, nil)}, nil
}

// SetAgentPresence implements routingv1.RoutingServiceServer.
func (s *Server) SetAgentPresence(ctx context.Context, req *routingv1.SetAgentPresenceRequest) (*routingv1.SetAgentPresenceResponse, error) {
	tenantID := tenant.From(ctx)
	p := auth.From(ctx)
	id := s.self(ctx, req.GetId())
	if id != callerID(p) && !auth.HasRole(p, iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR) {
		return nil, status.Errorf(codes.PermissionDenied, "agent %q: an agent sets only its own presence (use \"me\"); a supervisor or admin sets anyone's", id)
	}
	u, err := s.agentUser(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	now := s.Router.now()
	var expire time.Time
	if ttl := req.GetTtl(); ttl != nil && req.GetPresence() == routingv1.Presence_PRESENCE_ONLINE {
		expire = now.Add(ttl.AsDuration())
	}
	presence := presenceFromProto(req.GetPresence())
	a, err := s.store().SetPresence(ctx, tenantID, id, presence, now, expire)
	if err != nil {
		return nil, storeError(err, "agent "+strconv.Quote(id))
	}
	if presence == Online {
		s.Router.Kick(tenantID)
	}
	return &routingv1.SetAgentPresenceResponse{Agent: s.agentToProto(ctx, a, u, nil)}, nil
}

// agentToProto renders an agent; groups are the tenant's (nil: read them).
func (s *Server) agentToProto(ctx context.Context, a Agent, u User, groups []Group) *routingv1.Agent {
	if groups == nil {
		groups, _ = AllGroups(ctx, s.store(), a.Tenant)
	}
	pa := &routingv1.Agent{
		Id: a.ID, DisplayName: u.DisplayName, Presence: presenceToProto(a.Presence),
		Capacity: map[string]int32{}, Load: map[string]int32{}, Etag: etag.Format(max(a.Version, 0)),
	}
	if a.Version == 0 {
		pa.Etag = ""
	}
	for _, sk := range a.Skills {
		pa.Skills = append(pa.Skills, &routingv1.Skill{Name: sk.Name, Level: int32(sk.Level)})
	}
	for _, ch := range channels {
		pa.Capacity[ch] = int32(a.CapacityFor(ch))
	}
	if !a.PresenceTime.IsZero() {
		pa.PresenceTime = timestamppb.New(a.PresenceTime)
	}
	if !a.LastAssignTime.IsZero() {
		pa.LastAssignTime = timestamppb.New(a.LastAssignTime)
	}
	if held, err := s.store().Assignments(ctx, a.Tenant, a.ID); err == nil {
		for _, h := range held {
			pa.Load[h.Channel]++
		}
	}
	for _, g := range groups {
		if slices.Contains(g.Members, a.ID) {
			pa.Groups = append(pa.Groups, g.ID)
		}
	}
	return pa
}

// ListRoutingRules implements routingv1.RoutingServiceServer.
func (s *Server) ListRoutingRules(ctx context.Context, _ *routingv1.ListRoutingRulesRequest) (*routingv1.ListRoutingRulesResponse, error) {
	resp := &routingv1.ListRoutingRulesResponse{}
	if s.Rules == nil {
		return resp, nil
	}
	tenantID := tenant.From(ctx)
	rules, warnings, loadErr := s.Rules.List(tenantID)
	for _, r := range rules {
		resp.RoutingRules = append(resp.RoutingRules, &routingv1.RoutingRule{
			Name: r.Name, Tenant: tenantID, Order: r.Order, Spec: r.Spec, Source: r.Source, Warnings: r.Warnings,
		})
	}
	resp.Warnings, resp.LoadError = warnings, loadErr
	return resp, nil
}

// visibleTicket reads the ticket as the caller: NotFound when it is not
// in the caller's tenant or the caller may not see it.
func (s *Server) visibleTicket(ctx context.Context, id string) (*ticketv1.Ticket, error) {
	if s.Visible != nil {
		if _, err := s.Visible.GetTicket(auth.ForwardCaller(ctx), &ticketv1.GetTicketRequest{Id: id}); err != nil {
			if status.Code(err) == codes.NotFound || status.Code(err) == codes.PermissionDenied {
				return nil, status.Errorf(codes.NotFound, "ticket %q: not found", id)
			}
			return nil, err
		}
	}
	t, err := s.Router.Tickets.GetTicket(ctx, tenant.From(ctx), id)
	if status.Code(err) == codes.NotFound {
		return nil, status.Errorf(codes.NotFound, "ticket %q: not found", id)
	}
	return t, err
}

// ClaimTicket implements routingv1.RoutingServiceServer.
func (s *Server) ClaimTicket(ctx context.Context, req *routingv1.ClaimTicketRequest) (*routingv1.ClaimTicketResponse, error) {
	tenantID := tenant.From(ctx)
	p := auth.From(ctx)
	// Membership of the ticket's group is what lets an agent claim it,
	// whether or not the ticket is already among those it sees.
	t, err := s.Router.Tickets.GetTicket(ctx, tenantID, req.GetId())
	if status.Code(err) == codes.NotFound {
		return nil, status.Errorf(codes.NotFound, "ticket %q: not found", req.GetId())
	}
	if err != nil {
		return nil, err
	}
	me := callerID(p)
	user, err := s.agentUser(ctx, tenantID, me)
	if err != nil {
		return nil, status.Errorf(codes.PermissionDenied, "only agents claim tickets: %v", status.Convert(err).Message())
	}
	d, err := s.Router.Claim(ctx, tenantID, t, user, auth.HasRole(p, iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR))
	if err != nil {
		return nil, err
	}
	return &routingv1.ClaimTicketResponse{Decision: s.decisionToProto(ctx, d)}, nil
}

// TransferTicket implements routingv1.RoutingServiceServer.
func (s *Server) TransferTicket(ctx context.Context, req *routingv1.TransferTicketRequest) (*routingv1.TransferTicketResponse, error) {
	tenantID := tenant.From(ctx)
	if req.GetGroup() == "" && req.GetAgent() == "" {
		return nil, status.Error(codes.InvalidArgument, "group, agent: name the group or the agent to transfer the ticket to (or both)")
	}
	t, err := s.visibleTicket(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	p := auth.From(ctx)
	me, _ := s.Router.Users.User(ctx, tenantID, callerID(p))
	me.ID = callerID(p)
	if me.DisplayName == "" {
		me.DisplayName = p.GetDisplayName() // an API key's name
	}
	d, err := s.Router.Transfer(ctx, tenantID, t, Transfer{Group: req.GetGroup(), Agent: req.GetAgent(), Note: req.GetNote(), By: me})
	if err != nil {
		return nil, err
	}
	return &routingv1.TransferTicketResponse{Decision: s.decisionToProto(ctx, d)}, nil
}

const decisionsToken = "d1"

// ListRoutingDecisions implements routingv1.RoutingServiceServer.
func (s *Server) ListRoutingDecisions(ctx context.Context, req *routingv1.ListRoutingDecisionsRequest) (*routingv1.ListRoutingDecisionsResponse, error) {
	tenantID := tenant.From(ctx)
	if _, err := s.visibleTicket(ctx, req.GetTicketId()); err != nil {
		return nil, err
	}
	pos, err := paging.DecodeToken(req.GetPageToken(), decisionsToken, req.GetTicketId(), 1)
	if err != nil {
		return nil, err
	}
	after := ""
	if pos != nil {
		after = pos[0]
	}
	size := paging.Size(req.GetPageSize())
	ds, err := s.store().Decisions(ctx, tenantID, req.GetTicketId(), after, size+1)
	if err != nil {
		return nil, storeError(err, "routing decisions")
	}
	resp := &routingv1.ListRoutingDecisionsResponse{}
	if len(ds) > size {
		ds = ds[:size]
		resp.NextPageToken = paging.EncodeToken(decisionsToken, req.GetTicketId(), ds[size-1].ID)
	}
	for _, d := range ds {
		resp.Decisions = append(resp.Decisions, s.decisionToProto(ctx, d))
	}
	return resp, nil
}

// decisionToProto renders a decision in the caller's language.
func (s *Server) decisionToProto(ctx context.Context, d Decision) *routingv1.RoutingDecision {
	lang := LangOf(auth.From(ctx).GetLocale())
	names := s.Router.names(ctx, d.Tenant)
	pd := &routingv1.RoutingDecision{
		Id: d.ID, TicketId: d.TicketID, Trigger: triggerToProto[d.Trigger], Outcome: outcomeToProto[d.Outcome],
		Group: d.Group, Agent: d.Agent, Strategy: strategyToProto(d.Strategy),
		Explanation: Explain(d, lang, names), CreateTime: timestamppb.New(d.CreateTime),
	}
	if d.ActorID != "" {
		pd.Actor = &iamv1.Actor{Id: d.ActorID, Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, DisplayName: d.ActorDisplayName}
	}
	for _, m := range d.Rules {
		pm := &routingv1.RuleMatch{Rule: m.Rule}
		for _, r := range m.Reasons {
			pm.Reasons = append(pm.Reasons, reasonToProto(r, "", lang, names))
		}
		pd.Rules = append(pd.Rules, pm)
	}
	for _, c := range d.Candidates {
		pd.Candidates = append(pd.Candidates, &routingv1.Candidate{
			Agent: c.Agent, DisplayName: names(c.Agent), Chosen: c.Chosen, Reason: reasonToProto(c.Reason, c.Agent, lang, names),
		})
	}
	return pd
}

func reasonToProto(r Reason, agent string, lang Lang, names Names) *routingv1.Reason {
	return &routingv1.Reason{Code: r.Code, Args: r.Args, Text: Render(r, agent, lang, names)}
}

var (
	strategies = map[Strategy]routingv1.Strategy{
		RoundRobin: routingv1.Strategy_STRATEGY_ROUND_ROBIN, LeastLoaded: routingv1.Strategy_STRATEGY_LEAST_LOADED,
		BySkills: routingv1.Strategy_STRATEGY_SKILLS, Pool: routingv1.Strategy_STRATEGY_POOL,
	}
	presences = map[Presence]routingv1.Presence{
		Online: routingv1.Presence_PRESENCE_ONLINE, Away: routingv1.Presence_PRESENCE_AWAY, Offline: routingv1.Presence_PRESENCE_OFFLINE,
	}
	triggerToProto = map[Trigger]routingv1.Trigger{
		TriggerCreated: routingv1.Trigger_TRIGGER_CREATED, TriggerGroupChanged: routingv1.Trigger_TRIGGER_GROUP_CHANGED,
		TriggerReturned: routingv1.Trigger_TRIGGER_RETURNED, TriggerAgentAvailable: routingv1.Trigger_TRIGGER_AGENT_AVAILABLE,
		TriggerOverflow: routingv1.Trigger_TRIGGER_OVERFLOW, TriggerClaim: routingv1.Trigger_TRIGGER_CLAIM,
		TriggerTransfer: routingv1.Trigger_TRIGGER_TRANSFER,
	}
	outcomeToProto = map[Outcome]routingv1.Outcome{
		Assigned: routingv1.Outcome_OUTCOME_ASSIGNED, Queued: routingv1.Outcome_OUTCOME_QUEUED,
		Offered: routingv1.Outcome_OUTCOME_OFFERED, Unrouted: routingv1.Outcome_OUTCOME_UNROUTED,
	}
)

func strategyToProto(s Strategy) routingv1.Strategy { return strategies[s] }

func strategyFromProto(s routingv1.Strategy) Strategy {
	for k, v := range strategies {
		if v == s {
			return k
		}
	}
	return RoundRobin
}

func presenceToProto(p Presence) routingv1.Presence {
	if v, ok := presences[p]; ok {
		return v
	}
	return routingv1.Presence_PRESENCE_OFFLINE
}

func presenceFromProto(p routingv1.Presence) Presence {
	for k, v := range presences {
		if v == p {
			return k
		}
	}
	return Offline
}

func groupToProto(g Group) *routingv1.Group {
	pg := &routingv1.Group{
		Id: g.ID, DisplayName: g.DisplayName, Strategy: strategyToProto(g.Strategy), Members: g.Members,
		Calendar: calendarToProto(g.Calendar), Etag: etag.Format(g.Version),
		CreateTime: timestamppb.New(g.CreateTime), UpdateTime: timestamppb.New(g.UpdateTime),
	}
	if g.Overflow != nil {
		pg.Overflow = &routingv1.Overflow{Group: g.Overflow.Group, After: durationpb.New(g.Overflow.After)}
	}
	return pg
}

func calendarFromProto(c *routingv1.BusinessCalendar) v1alpha1.BusinessCalendar {
	out := v1alpha1.BusinessCalendar{TimeZone: c.GetTimeZone(), ExtraWorkingDays: c.GetExtraWorkingDays()}
	for _, w := range c.GetWorkingHours() {
		days := make([]v1alpha1.Weekday, len(w.GetDays()))
		for i, d := range w.GetDays() {
			days[i] = v1alpha1.Weekday(d)
		}
		out.WorkingHours = append(out.WorkingHours, v1alpha1.WorkingHours{Days: days, Start: w.GetStart(), End: w.GetEnd()})
	}
	for _, h := range c.GetHolidays() {
		out.Holidays = append(out.Holidays, v1alpha1.Holiday{Name: h.GetName(), From: h.GetFrom(), To: h.GetTo()})
	}
	return out
}

func calendarToProto(c v1alpha1.BusinessCalendar) *routingv1.BusinessCalendar {
	out := &routingv1.BusinessCalendar{TimeZone: c.TimeZone, ExtraWorkingDays: c.ExtraWorkingDays}
	for _, w := range c.WorkingHours {
		days := make([]string, len(w.Days))
		for i, d := range w.Days {
			days[i] = string(d)
		}
		out.WorkingHours = append(out.WorkingHours, &routingv1.WorkingHours{Days: days, Start: w.Start, End: w.End})
	}
	for _, h := range c.Holidays {
		out.Holidays = append(out.Holidays, &routingv1.Holiday{Name: h.Name, From: h.From, To: h.To})
	}
	return out
}

// newDecisionID is a time-ordered decision ID.
func newDecisionID() string { return uuid.Must(uuid.NewV7()).String() }
