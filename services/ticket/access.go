package ticket

import (
	"context"
	"slices"
	"strings"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

var (
	actorKindToProto = map[ActorKind]iamv1.PrincipalKind{
		ActorUser: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, ActorAPIKey: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY,
		ActorOIDC: iamv1.PrincipalKind_PRINCIPAL_KIND_OIDC, ActorService: iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE,
		ActorCustomer: iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER,
	}
	actorKindFromProto = invert(actorKindToProto)
)

// ActorFrom is the principal of ctx (auth.From) as changes record it; the
// zero Actor when ctx carries none. The stores record it on every event
// they write, as they record the trace context.
func ActorFrom(ctx context.Context) Actor {
	return actorFromProto(auth.ActorOf(auth.From(ctx)))
}

func actorFromProto(a *iamv1.Actor) Actor {
	if a == nil {
		return Actor{}
	}
	return Actor{ID: a.GetId(), Kind: actorKindFromProto[a.GetKind()], DisplayName: a.GetDisplayName()}
}

// ActorToProto renders an actor for the API; nil for the zero Actor.
func ActorToProto(a Actor) *iamv1.Actor {
	if a.IsZero() {
		return nil
	}
	return &iamv1.Actor{Id: a.ID, Kind: actorKindToProto[a.Kind], DisplayName: a.DisplayName}
}

// Scope is the tickets a caller may see: those matching any of its lists
// (OR), so an empty Scope matches nothing. Where a Scope is optional
// (ListQuery.Scope), nil means every ticket of the tenant.
type Scope struct {
	Groups    []string // the ticket's group is one of them
	Assignees []string // the ticket's assignee is one of them
	// RequesterEmails match the requester's email, ASCII letters compared
	// case-insensitively (as both engines' lower() does).
	RequesterEmails []string
	// RequesterIdentities match the requester's identity exactly.
	RequesterIdentities []string
	// RequesterContacts match the requester's contact (the channel
	// service's) exactly.
	RequesterContacts []string
}

// Contains reports whether t is in s; a nil s contains every ticket.
func (s *Scope) Contains(t Ticket) bool {
	if s == nil {
		return true
	}
	if slices.Contains(s.Groups, t.Group) || slices.Contains(s.Assignees, t.Assignee) ||
		slices.Contains(s.RequesterIdentities, t.Requester.Identity) ||
		(t.Requester.ContactID != "" && slices.Contains(s.RequesterContacts, t.Requester.ContactID)) {
		return true
	}
	email := FoldEmail(t.Requester.Email)
	return slices.ContainsFunc(s.RequesterEmails, func(e string) bool { return FoldEmail(e) == email })
}

// FoldEmail lower-cases the ASCII letters of an email address and nothing
// else, as SQLite's lower() and PostgreSQL's lower() under the "C"
// collation do, so the engines and the server compare alike.
func FoldEmail(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// Roles that see every ticket of the tenant.
var allTicketRoles = []iamv1.Role{
	iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR, iamv1.Role_ROLE_INTEGRATION, iamv1.Role_ROLE_SERVICE,
}

// Roles that work on tickets as the help desk: they read internal notes
// and their comments are an agent's.
var staffRoles = []iamv1.Role{
	iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR, iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_INTEGRATION,
}

// access is what the caller of one request may see and do, worked out
// from its principal.
type access struct {
	p *iamv1.Principal // nil: no principal (only in unit tests)
	// scope is the tickets the caller sees; nil is every ticket.
	scope *Scope
	// customer: the caller is a customer, or holds no help-desk role at
	// all: no internal notes, its own requester, no routing fields.
	customer bool
}

// accessOf reads the principal of ctx. Without one the service behaves
// as it did before it authenticated callers: every ticket, authors as
// the request names them. A principal is limited by its roles:
//
//   - admin, supervisor, integration, service: every ticket;
//   - agent: the tickets of its groups and those assigned to it (by user
//     ID, principal ID or email);
//   - customer: the tickets it requested: those whose requester is its
//     contact, when its principal names one (a customer signed in with a
//     one-time code always does); else, for a principal without a
//     contact, by email or identity;
//   - agent and customer: both;
//   - no role: nothing (the access interceptor refuses such a caller
//     before it gets here).
func accessOf(ctx context.Context) access {
	p := auth.From(ctx)
	if p == nil {
		return access{}
	}
	a := access{p: p, customer: !auth.HasRole(p, staffRoles...) && !auth.HasRole(p, iamv1.Role_ROLE_SERVICE)}
	if auth.HasRole(p, allTicketRoles...) {
		return a
	}
	a.scope = &Scope{}
	if auth.HasRole(p, iamv1.Role_ROLE_AGENT) {
		a.scope.Groups = nonEmpty(p.GetGroups()...)
		a.scope.Assignees = nonEmpty(p.GetUserId(), p.GetId(), p.GetEmail())
	}
	if auth.HasRole(p, iamv1.Role_ROLE_CUSTOMER) {
		if c := strings.TrimSpace(p.GetContactId()); c != "" {
			// The contact alone: an address or identity may have moved
			// to another contact (an edit, a merge) since a ticket named
			// it, and that contact's tickets are not this customer's.
			a.scope.RequesterContacts = []string{c}
		} else {
			a.scope.RequesterEmails = nonEmpty(p.GetEmail())
			a.scope.RequesterIdentities = nonEmpty(p.GetId())
		}
	}
	return a
}

// sees reports whether the caller may see t.
func (a access) sees(t Ticket) bool { return a.scope.Contains(t) }

// seesComment reports whether the caller may read c: customers never
// read internal notes.
func (a access) seesComment(c Comment) bool {
	return !a.customer || c.Visibility != VisibilityInternal
}

// service reports whether the caller is one of kubedesk's own modules.
func (a access) service() bool { return auth.HasRole(a.p, iamv1.Role_ROLE_SERVICE) }

// requester is who a customer's new ticket is for: the customer, whatever
// the request says, with its contact when the principal names one. The
// identity is the principal's ID when it has neither email nor contact,
// so that the ticket is in its scope either way.
func (a access) requester() Requester {
	r := Requester{
		Name:      strings.TrimSpace(a.p.GetDisplayName()),
		Email:     a.p.GetEmail(),
		ContactID: strings.TrimSpace(a.p.GetContactId()),
	}
	if r.Email == "" && r.ContactID == "" {
		r.Identity = a.p.GetId()
	}
	return r
}

// author is who a comment is by, from the credential: a customer by its
// email (else name, else ID), help-desk staff by display name (else ID).
// kubedesk's own modules name the author they send (else their display
// name or ID) and its type: the system unless they say a customer or an
// agent wrote it (the mail channel relays a customer's e-mail). An
// integration relays what people wrote elsewhere (a mail bridge, a CRM):
// it names the author and whether a customer or an agent wrote it, never
// the system; the comment's actor still records the module or key.
// sentType "" is unset. Without a principal, sent and sentType stand (an
// agent's when unset).
func (a access) author(sent string, sentType AuthorType) (string, AuthorType) {
	switch {
	case a.p == nil:
		if sentType == "" {
			sentType = AuthorAgent
		}
		return sent, sentType
	case a.service():
		if sentType == "" {
			sentType = AuthorSystem
		}
		return firstNonEmpty(sent, a.p.GetDisplayName(), a.p.GetId()), sentType
	case a.customer:
		return firstNonEmpty(a.p.GetEmail(), a.p.GetDisplayName(), a.p.GetId()), AuthorCustomer
	case a.integration() && sentType == AuthorCustomer:
		return firstNonEmpty(sent, a.p.GetDisplayName(), a.p.GetId()), AuthorCustomer
	case a.integration():
		return firstNonEmpty(sent, a.p.GetDisplayName(), a.p.GetId()), AuthorAgent
	}
	return firstNonEmpty(a.p.GetDisplayName(), a.p.GetId()), AuthorAgent
}

// integration reports whether the caller is an integration's key and
// nothing more: relaying others' words is all it does.
func (a access) integration() bool {
	return auth.HasRole(a.p, iamv1.Role_ROLE_INTEGRATION) &&
		!auth.HasRole(a.p, iamv1.Role_ROLE_ADMIN, iamv1.Role_ROLE_SUPERVISOR, iamv1.Role_ROLE_AGENT)
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
