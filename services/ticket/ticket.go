// Package ticket is the system of record for help-desk tickets: the domain
// types, the lifecycle and priority rules, and the gRPC service built on a
// Store. Storage engines live in the store subpackage.
package ticket

import (
	"time"
)

// Status is where a ticket is in its lifecycle.
type Status string

// The lifecycle statuses, in their usual order.
const (
	StatusNew     Status = "new"
	StatusOpen    Status = "open"
	StatusPending Status = "pending"
	StatusOnHold  Status = "on_hold"
	StatusSolved  Status = "solved"
	StatusClosed  Status = "closed"
)

// Priority is P1 (most urgent) to P5, derived from impact and urgency.
type Priority int

// The ITIL priorities.
const (
	P1 Priority = 1 + iota
	P2
	P3
	P4
	P5
)

// Channel is how a request reached the help desk.
type Channel string

// The channels a ticket can come from.
const (
	ChannelWeb    Channel = "web"
	ChannelEmail  Channel = "email"
	ChannelChat   Channel = "chat"
	ChannelWeChat Channel = "wechat"
	ChannelAPI    Channel = "api"
	ChannelPhone  Channel = "phone"
)

// Requester is the customer who asked for help.
type Requester struct {
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
	Identity string `json:"identity,omitempty"` // e.g. "wechat:oAbC123"
	// ContactID is the channel service's contact the requester is, "" when
	// unknown.
	ContactID string `json:"contact_id,omitempty"`
}

// DefaultContentType is an attachment's content type when the sender gave
// none.
const DefaultContentType = "application/octet-stream"

// Attachment is a file of a ticket's description or of a comment. Its
// bytes are a blob named by SHA256, stored apart from the ticket.
type Attachment struct {
	ID          string
	Filename    string
	ContentType string // never empty once stored: "application/octet-stream" by default
	Size        int64  // from the blob
	SHA256      string // lower-case hex
	Inline      bool
	ContentID   string
}

// Ticket is one customer problem.
type Ticket struct {
	ID           string
	Tenant       string
	Subject      string
	Description  string
	Status       Status
	Impact       int // 1 (high) .. 3 (low)
	Urgency      int // 1 (high) .. 3 (low)
	Priority     Priority
	Channel      Channel
	Requester    Requester
	Group        string
	Assignee     string
	Tags         []string          // never nil after a read
	CustomFields map[string]string // never nil after a read
	CreateTime   time.Time
	UpdateTime   time.Time
	SolveTime    time.Time // zero while unsolved
	Version      int64     // 1 on create, +1 on every change
	// SLA is the ticket's SLA clocks; nil when no SLA policy covers it.
	// Only Store.SetSLA changes it, without bumping Version or UpdateTime.
	SLA *SLA
	// Number is the ticket's number in its tenant (1, 2, 3, ... in creation
	// order, maybe with gaps), assigned by Store.CreateTicket: what the
	// caller sets is ignored.
	Number int64
	// Attachments are the description's files, set on create only.
	Attachments []Attachment
}

// AuthorType says who wrote a comment.
type AuthorType string

// The kinds of comment author.
const (
	AuthorAgent    AuthorType = "agent"
	AuthorCustomer AuthorType = "customer"
	AuthorSystem   AuthorType = "system"
)

// Visibility says who may read a comment.
type Visibility string

// Public replies reach the customer; internal notes stay with the agents.
const (
	VisibilityPublic   Visibility = "public"
	VisibilityInternal Visibility = "internal"
)

// Comment is a public reply or an internal note.
type Comment struct {
	ID         string
	Tenant     string
	TicketID   string
	Author     string
	AuthorType AuthorType
	Body       string
	Visibility Visibility
	CreateTime time.Time
	// Actor is who wrote it, from the caller's credential; zero for
	// comments written before kubedesk authenticated callers (and for
	// calls without a principal).
	Actor Actor
	// Attachments are the comment's files.
	Attachments []Attachment
}

// EventType says what happened to a ticket.
type EventType string

// The event types written to the outbox.
const (
	EventTicketCreated EventType = "ticket.created"
	EventTicketUpdated EventType = "ticket.updated"
	EventCommentAdded  EventType = "comment.added"
	// EventSLAChanged: the state of an SLA clock changed; Changes has one
	// entry per clock, e.g. Field "sla.first_response", Old "ok", New
	// "breached".
	EventSLAChanged EventType = "sla.changed"
	// EventRoutingAssigned: a routing decision was applied (Store.ApplyRouting);
	// Routing holds it, Ticket is the ticket after it, and Comment its
	// internal note, if it had one. The changes it made come in the
	// EventTicketUpdated just before, which carries the same Routing.
	EventRoutingAssigned EventType = "routing.assigned"
)

// Event is one change to a ticket, written in the same transaction as the
// change (transactional outbox).
type Event struct {
	// Cursor is the event's position in its tenant's stream. Its format is
	// the store's business; callers treat it as opaque.
	Cursor     string
	Type       EventType
	Tenant     string
	TicketID   string
	Ticket     Ticket   // the ticket after the change
	Comment    *Comment // set for EventCommentAdded, and EventRoutingAssigned with a note
	Changes    []Change // set for EventTicketUpdated and EventSLAChanged
	CreateTime time.Time
	// TraceParent is the W3C trace context of the request that made the
	// change; empty if it was not traced.
	TraceParent string
	// Actor is who made the change (ActorFrom of the writer's context);
	// zero when it was made without a principal.
	Actor Actor
	// Routing is the routing decision, for EventRoutingAssigned and the
	// EventTicketUpdated of the changes it made; nil otherwise.
	Routing *Routing
}

// ActorKind is the kind of principal an Actor was.
type ActorKind string

// The kinds of actor, one per iamv1.PrincipalKind.
const (
	ActorUser     ActorKind = "user"
	ActorAPIKey   ActorKind = "api_key"
	ActorOIDC     ActorKind = "oidc"
	ActorService  ActorKind = "service"
	ActorCustomer ActorKind = "customer"
)

// Actor is who made a change: the authenticated principal, as changes
// record it. The zero value is "nobody known".
type Actor struct {
	ID          string
	Kind        ActorKind // "" when the principal's kind was unspecified
	DisplayName string
}

// IsZero reports whether a is the zero Actor.
func (a Actor) IsZero() bool { return a == Actor{} }
