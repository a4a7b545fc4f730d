package ticket

import (
	"context"
	"errors"
)

// Errors a Store returns; callers match them with errors.Is.
var (
	// ErrNotFound: no such ticket in the tenant (whether or not another
	// tenant has one with that ID).
	ErrNotFound = errors.New("not found")
	// ErrIdempotencyMismatch: the idempotency key was used before with a
	// different request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrInvalidCursor: an event cursor the store did not produce.
	ErrInvalidCursor = errors.New("invalid cursor")
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
	Tags       []string // the ticket has at least one of them
}

// ListQuery asks for one page of tickets, newest first.
type ListQuery struct {
	Filter  Filter
	AfterID string // exclusive keyset position; "" starts at the newest
	Limit   int    // rows to return, > 0
}

// Mutation changes a ticket inside the store's transaction. It receives the
// current ticket (locked against concurrent writers) and edits it in place,
// returning the changes it made for the event row, or an error that aborts
// the transaction with nothing written. The store then bumps Version and
// UpdateTime and writes the row and its event.
type Mutation func(t *Ticket) ([]Change, error)

// Store persists tickets, comments and their events. Every method is scoped
// to one tenant; every write stores its event in the same transaction.
// Implementations: store.SQLite and store.Postgres, checked by one contract
// suite.
type Store interface {
	// CreateTicket inserts t (ID, Tenant, times and Version already set) and
	// an EventTicketCreated event. With a non-empty idem.Key that the tenant
	// used before it writes nothing and returns the ticket created then with
	// created == false, or ErrIdempotencyMismatch when idem.RequestHash
	// differs. Concurrent calls with one key create one ticket.
	CreateTicket(ctx context.Context, t Ticket, idem Idempotency) (_ Ticket, created bool, _ error)
	// GetTicket returns the ticket or ErrNotFound.
	GetTicket(ctx context.Context, tenant, id string) (Ticket, error)
	// ListTickets returns up to q.Limit tickets with ID < q.AfterID (when
	// set) matching q.Filter, ordered by ID descending.
	ListTickets(ctx context.Context, tenant string, q ListQuery) ([]Ticket, error)
	// UpdateTicket runs mutate on the locked ticket; if it returns changes,
	// writes the ticket with Version+1 and UpdateTime = now, plus an
	// EventTicketUpdated event. No changes: nothing is written and the
	// current ticket is returned. ErrNotFound for an unknown ticket.
	UpdateTicket(ctx context.Context, tenant, id string, mutate Mutation) (Ticket, error)
	// AddComment stores c (ID, Tenant, TicketID, CreateTime set) on its
	// ticket, runs mutate on the locked ticket (it may change e.g. the
	// status; nil means no change), bumps the ticket's Version and
	// UpdateTime, and writes an EventCommentAdded event carrying the comment,
	// the ticket after the change and mutate's changes. Idempotency as in
	// CreateTicket, returning the first comment.
	AddComment(ctx context.Context, c Comment, idem Idempotency, mutate Mutation) (_ Comment, created bool, _ error)
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
	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}
