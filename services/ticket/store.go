package ticket

import (
	"context"
	"errors"
	"time"
)

// Errors a Store returns; callers match them with errors.Is.
var (
	// ErrNotFound: no such ticket in the tenant (whether or not another
	// tenant has one with that ID).
	ErrNotFound = errors.New("not found")
	// ErrExists: a new ticket's ID (chosen by the caller) is the ID of a
	// ticket the tenant has.
	ErrExists = errors.New("a ticket with this ID exists")
	// ErrIdempotencyMismatch: the idempotency key was used before with a
	// different request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrInvalidCursor: an event cursor the store did not produce.
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrNULText: a text value to store or look up holds the NUL
	// character (U+0000). PostgreSQL cannot store it and SQLite can, so
	// every engine refuses it alike, before it runs a statement.
	ErrNULText = errors.New("text holds the NUL character (U+0000)")
	// ErrDecisionReused: a routing decision's ID was applied to another
	// ticket of the tenant; a decision is about one ticket.
	ErrDecisionReused = errors.New("routing decision applied to another ticket")
)

// Idempotency identifies a retryable create. The zero value means the
// request carries no key.
type Idempotency struct {
	Key         string // caller-chosen, unique per tenant
	RequestHash string // digest of the request; a reuse with another digest fails
}

// Filter restricts ListTickets. Within a field the values are alternatives
// (OR); across fields all must hold (AND). Empty fields do not restrict.
type Filter struct {
	Statuses   []Status
	Priorities []Priority
	Channels   []Channel
	Assignees  []string
	Groups     []string
	Requesters []string // matches the requester's email or identity
	Contacts   []string // matches the requester's contact ID
	Numbers    []int64  // matches the ticket's number
	Tags       []string // the ticket has at least one of them
	// SLAStates matches the summary state of the ticket's SLA; SLANone
	// matches tickets without SLA clocks.
	SLAStates []SLAState
}

// ListOrder is the order ListTickets returns tickets in.
type ListOrder string

// The orders of ListTickets.
const (
	// OrderNewest: by ID descending, newest first (the default).
	OrderNewest ListOrder = ""
	// OrderSLANextDue: tickets with a running SLA clock first, by
	// (SLA.NextDue, ID) ascending; then the others by ID descending.
	OrderSLANextDue ListOrder = "sla_next_due"
)

// ListPosition is a keyset position in a ListTickets order: the last ticket
// of the previous page. The zero value is the start of the list.
type ListPosition struct {
	ID string
	// Due is the ticket's SLA.NextDue (zero: the ticket had none), used by
	// OrderSLANextDue.
	Due time.Time
}

// PositionOf is the position just after t, in any order.
func PositionOf(t Ticket) ListPosition {
	p := ListPosition{ID: t.ID}
	if t.SLA != nil {
		p.Due = t.SLA.NextDue
	}
	return p
}

// ListQuery asks for one page of tickets.
type ListQuery struct {
	Filter Filter
	// Scope restricts the tickets to those the caller may see, on top of
	// Filter; nil is every ticket of the tenant.
	Scope *Scope
	Order ListOrder
	After ListPosition // exclusive; the zero value starts at the top
	Limit int          // rows to return, > 0
}

// Mutation changes a ticket inside the store's transaction. It receives the
// current ticket (locked against concurrent writers) and edits it in place,
// returning the changes it made for the event row, or an error that aborts
// the transaction with nothing written. The store then bumps Version and
// UpdateTime and writes the row and its event. The ticket's SLA is not the
// mutation's to change: the store keeps the stored one.
type Mutation func(t *Ticket) ([]Change, error)

// Store persists tickets, comments and their events. Every method is scoped
// to one tenant; every write stores its event in the same transaction, with
// the actor of the writer's context (ActorFrom) and its trace context.
// A comment keeps its Actor as given.
// Implementations: store.SQLite and store.Postgres, checked by one contract
// suite.
type Store interface {
	// CreateTicket inserts t (ID, Tenant, times and Version already set;
	// t.SLA is ignored, a new ticket has none), its attachments (IDs and
	// sizes set) and an EventTicketCreated event, assigning t.Number: the
	// tenant's next number. A create that fails after taking its number
	// leaves a gap. With a non-empty idem.Key that the tenant
	// used before it writes nothing and returns the ticket created then with
	// created == false, or ErrIdempotencyMismatch when idem.RequestHash
	// differs. Concurrent calls with one key create one ticket.
	CreateTicket(ctx context.Context, t Ticket, idem Idempotency) (_ Ticket, created bool, _ error)
	// GetTicket returns the ticket or ErrNotFound.
	GetTicket(ctx context.Context, tenant, id string) (Ticket, error)
	// ListTickets returns up to q.Limit tickets matching q.Filter that come
	// after q.After in q.Order.
	ListTickets(ctx context.Context, tenant string, q ListQuery) ([]Ticket, error)
	// UpdateTicket runs mutate on the locked ticket; if it returns changes,
	// writes the ticket with Version+1 and UpdateTime = now, plus an
	// EventTicketUpdated event. No changes: nothing is written and the
	// current ticket is returned. ErrNotFound for an unknown ticket.
	UpdateTicket(ctx context.Context, tenant, id string, mutate Mutation) (Ticket, error)
	// AddComment stores c (ID, Tenant, TicketID, CreateTime set, and its
	// attachments' IDs and sizes) on its
	// ticket, runs mutate on the locked ticket (it may change e.g. the
	// status; nil means no change), bumps the ticket's Version and
	// UpdateTime, and writes an EventCommentAdded event carrying the comment,
	// the ticket after the change and mutate's changes. Idempotency as in
	// CreateTicket, returning the first comment.
	AddComment(ctx context.Context, c Comment, idem Idempotency, mutate Mutation) (_ Comment, created bool, _ error)
	// SetSLA stores the ticket's SLA as the SLA worker computed it, with its
	// derived fields recomputed, in one transaction under the ticket's write
	// lock. It neither bumps Version nor UpdateTime. When the stored SLA has
	// a later UpdateTime than sla's, it writes nothing (a stale write from a
	// retry). When a clock's state changes (see SLAChanges) it writes an
	// EventSLAChanged event.
	//
	// A non-nil escalate then runs on the ticket in the same transaction,
	// stale SLA or not, as UpdateTicket's mutate does: if it returns
	// changes, the ticket is written with Version+1 and UpdateTime = now,
	// plus an EventTicketUpdated event after the SLA's; if it fails, nothing
	// is written and its error is returned as it is.
	//
	// It returns the ticket as stored afterwards; ErrNotFound for an
	// unknown ticket.
	SetSLA(ctx context.Context, tenant, id string, sla SLA, escalate Mutation) (Ticket, error)
	// ApplyRouting applies routing decision r to the ticket in one
	// transaction under the ticket's write lock. When the tenant has
	// applied a decision with r.ID to this ticket before, it writes nothing
	// and returns the ticket as stored with applied == false (to another
	// ticket: ErrDecisionReused). Else it runs mutate on the locked
	// ticket, as UpdateTicket does (its error aborts the transaction and
	// is returned as it is), and writes, in order:
	//
	//   - when note is not nil, the note (ID, Tenant, TicketID, CreateTime
	//     set; no attachments) as a comment of the ticket;
	//   - when mutate changed something or there is a note, the ticket
	//     with Version+1 and UpdateTime = now;
	//   - when mutate changed something, an EventTicketUpdated event with
	//     the changes and Routing r;
	//   - always, an EventRoutingAssigned event with Routing r, the ticket
	//     after the decision and the note as its Comment;
	//   - the record that r.ID was applied.
	//
	// ErrNotFound for an unknown ticket.
	ApplyRouting(ctx context.Context, tenant, id string, r Routing, note *Comment, mutate Mutation) (_ Ticket, applied bool, _ error)
	// GetAttachment returns the attachment of the ticket with the given ID,
	// of its description or of one of its comments, or ErrNotFound.
	GetAttachment(ctx context.Context, tenant, ticketID, id string) (AttachmentRef, error)
	// ListComments returns up to limit comments of the ticket with ID >
	// afterID, oldest first; ErrNotFound when the ticket does not exist.
	ListComments(ctx context.Context, tenant, ticketID, afterID string, limit int) ([]Comment, error)
	// ListEvents returns up to limit events of the tenant after the cursor
	// ("" = from the start), in commit order: a later call with the last
	// returned cursor continues without gaps or repeats, even while writers
	// are committing concurrently. ErrInvalidCursor for a foreign cursor.
	ListEvents(ctx context.Context, tenant, afterCursor string, limit int) ([]Event, error)
	// Subscribe returns a channel that receives a value (coalesced, never
	// blocking the writer) whenever events may have been written for the
	// tenant, by this process or, where the engine allows, by another one.
	// cancel releases it.
	Subscribe(tenant string) (notify <-chan struct{}, cancel func())
	// DeleteIdempotencyKeys removes up to limit idempotency keys of any
	// tenant recorded before the instant given (the CreateTime of what
	// they made), oldest first, in one short transaction, and returns how
	// many it removed. A retry with a removed key creates anew.
	DeleteIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error)
	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// AttachmentRef is an attachment as GetAttachment finds it: with what it
// is attached to.
type AttachmentRef struct {
	Attachment
	// CommentID is the comment it came with; "" for the description's.
	CommentID string
	// Visibility is that comment's; "" for the description's.
	Visibility Visibility
}
