package routing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// Strategy is how a group picks the agent for a ticket.
type Strategy string

// The strategies a group can have.
const (
	RoundRobin  Strategy = "round_robin"
	LeastLoaded Strategy = "least_loaded"
	BySkills    Strategy = "skills"
	Pool        Strategy = "pool"
)

// Presence is whether an agent takes tickets now.
type Presence string

// The presences an agent can have; an agent never set is offline.
const (
	Online  Presence = "online"
	Away    Presence = "away"
	Offline Presence = "offline"
)

// Group is a team tickets are routed to.
type Group struct {
	Tenant      string
	ID          string // a DNS label; what a ticket's group field holds
	DisplayName string
	Strategy    Strategy
	Members     []string // user IDs, in round-robin order
	// Calendar is when the group works; the zero value: always.
	Calendar v1alpha1.BusinessCalendar
	// Overflow moves tickets queued longer than After to Group; nil: none.
	Overflow   *Overflow
	CreateTime time.Time
	UpdateTime time.Time
	Version    int64 // 1 on create, +1 on every update
}

// Overflow moves a ticket that waited too long to another group.
type Overflow struct {
	Group string
	After time.Duration
}

// Skill is something an agent knows, at a level from 1 to 5.
type Skill struct {
	Name  string
	Level int
}

// SkillRequirement is a skill a ticket needs, at a lowest level.
type SkillRequirement struct {
	Name     string
	MinLevel int
}

// Agent is the routing side of a user who works tickets.
type Agent struct {
	Tenant string
	ID     string // the user's ID
	Skills []Skill
	// Capacity holds the channels set explicitly ("email": 10); the
	// others have DefaultCapacity.
	Capacity map[string]int
	Presence Presence
	// PresenceTime is when the presence was last set or renewed.
	PresenceTime time.Time
	// PresenceExpire is when an online presence lapses to away unless
	// renewed; zero: never.
	PresenceExpire time.Time
	// LastAssignTime is when the agent was last given a ticket (ties
	// between candidates go to the longest idle).
	LastAssignTime time.Time
	Version        int64 // 0 for an agent with no stored profile
}

// DefaultCapacity is how many open tickets an agent holds per channel
// unless its profile says otherwise.
var DefaultCapacity = map[string]int{"email": 10, "chat": 3, "phone": 1, "wechat": 5, "web": 10, "api": 10}

// CapacityFor is a's capacity on channel.
func (a Agent) CapacityFor(channel string) int {
	if c, ok := a.Capacity[channel]; ok {
		return c
	}
	if c, ok := DefaultCapacity[channel]; ok {
		return c
	}
	return DefaultCapacity["api"]
}

// Assignment is a ticket an agent holds: one row of the load ledger that
// capacity is counted from.
type Assignment struct {
	Tenant   string
	TicketID string
	Agent    string
	Group    string
	Channel  string // the ticket's channel: "email", "chat", ...
	// Answered: the agent has replied publicly since it got the ticket;
	// an answered ticket stays with an agent who goes offline.
	Answered   bool
	AssignTime time.Time
	DecisionID string
}

// QueueEntry is a ticket waiting in a group's queue for an agent (or, in
// a pool group, for a claim).
type QueueEntry struct {
	Tenant   string
	TicketID string
	Group    string
	Channel  string
	Priority int // 1 (P1) to 5
	Skills   []SkillRequirement
	// TicketCreateTime orders the queue (oldest first, after priority).
	TicketCreateTime time.Time
	// EnqueueTime is when the ticket entered this group's queue; the
	// overflow wait counts from it.
	EnqueueTime time.Time
}

// Reason is one step of an explanation: a message code and its
// arguments, rendered in the reader's language when read.
type Reason struct {
	Code string            `json:"code"`
	Args map[string]string `json:"args,omitempty"`
}

// RuleMatch is a rule that matched, with each condition that held.
type RuleMatch struct {
	Rule    string   `json:"rule"`
	Reasons []Reason `json:"reasons,omitempty"`
}

// Candidate is an agent a decision considered.
type Candidate struct {
	Agent  string `json:"agent"`
	Chosen bool   `json:"chosen,omitempty"`
	Reason Reason `json:"reason"`
}

// Trigger is what made the service decide.
type Trigger string

// The triggers.
const (
	TriggerCreated        Trigger = "created"
	TriggerGroupChanged   Trigger = "group_changed"
	TriggerReturned       Trigger = "returned"
	TriggerAgentAvailable Trigger = "agent_available"
	TriggerOverflow       Trigger = "overflow"
	TriggerClaim          Trigger = "claim"
	TriggerTransfer       Trigger = "transfer"
)

// Outcome is what a decision did.
type Outcome string

// The outcomes.
const (
	Assigned Outcome = "assigned"
	Queued   Outcome = "queued"
	Offered  Outcome = "offered"
	Unrouted Outcome = "unrouted"
)

// Decision is one routing decision about a ticket, with what it is needs
// to be explained.
type Decision struct {
	Tenant   string
	ID       string
	TicketID string
	// Key makes a decision taken for an event idempotent: a second
	// decision with the same non-empty key is refused (ErrDuplicate), so a
	// redelivered event is not routed twice. Event-triggered decisions use
	// "event:<cursor>".
	Key        string
	Trigger    Trigger
	Outcome    Outcome
	Group      string
	Agent      string
	Strategy   Strategy
	Rules      []RuleMatch
	Candidates []Candidate
	// Notes are reasons about the decision as a whole ("the group is
	// closed until 09:00", "moved to the overflow group after 30m").
	Notes []Reason
	// Actions are what the decision does to the ticket besides its group
	// and assignee, kept so that a decision applied again after a crash
	// does the same.
	Actions Actions
	// Actor is the user who caused it (a claim, a transfer); empty for
	// the service's own.
	ActorID          string
	ActorDisplayName string
	CreateTime       time.Time
	// Applied: the ticket service has the decision (AssignTicket
	// succeeded). A decision stored but not applied is applied again by
	// the service after a restart.
	Applied bool
}

// Actions are the changes a decision makes to a ticket besides its group
// and assignee: the rules' (tags, a priority floor, custom fields) and a
// transfer's internal note.
type Actions struct {
	AddTags         []string          `json:"addTags,omitempty"`
	PriorityAtLeast int               `json:"priorityAtLeast,omitempty"`
	SetCustomFields map[string]string `json:"setCustomFields,omitempty"`
	Note            string            `json:"note,omitempty"`
}

// IsZero reports whether a changes nothing.
func (a Actions) IsZero() bool {
	return len(a.AddTags) == 0 && a.PriorityAtLeast == 0 && len(a.SetCustomFields) == 0 && a.Note == ""
}

// Errors the store returns.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrVersion   = errors.New("version mismatch")
	ErrDuplicate = errors.New("a decision with this key is stored already")
)

// TakenError: the ticket is held by another agent already.
type TakenError struct{ Agent string }

func (e *TakenError) Error() string {
	return fmt.Sprintf("the ticket is assigned to %s already", e.Agent)
}

// CapacityError: the agent holds as many tickets on the channel as its
// capacity allows.
type CapacityError struct {
	Agent   string
	Channel string
	Load    int
	Limit   int
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("agent %s holds %d %s tickets, its capacity is %d", e.Agent, e.Load, e.Channel, e.Limit)
}

// Store keeps the routing service's state: groups, agents' profiles and
// presence, the load ledger, the queues, round-robin positions and the
// decisions. Every method is scoped by tenant. Implementations: SQLite
// and PostgreSQL in services/routing/store, held to one contract suite.
type Store interface {
	CreateGroup(ctx context.Context, g Group) (Group, error) // ErrExists
	GetGroup(ctx context.Context, tenant, id string) (Group, error)
	// ListGroups returns up to limit groups with IDs after after, by ID.
	ListGroups(ctx context.Context, tenant, after string, limit int) ([]Group, error)
	// UpdateGroup replaces the group if its stored version is
	// g.Version (ErrVersion otherwise) and returns it with the next one.
	UpdateGroup(ctx context.Context, g Group) (Group, error)
	DeleteGroup(ctx context.Context, tenant, id string) error

	// GetAgent returns the stored profile; ErrNotFound when there is none.
	GetAgent(ctx context.Context, tenant, id string) (Agent, error)
	// ListAgents returns up to limit profiles with IDs after after, by ID.
	ListAgents(ctx context.Context, tenant, after string, limit int) ([]Agent, error)
	// AgentsByID returns the stored profiles of ids (missing ones left out).
	AgentsByID(ctx context.Context, tenant string, ids []string) (map[string]Agent, error)
	// PutAgentProfile stores skills and capacity, creating the profile
	// (version 0 expected) or replacing it at a.Version (ErrVersion
	// otherwise); presence and last-assign time are kept.
	PutAgentProfile(ctx context.Context, a Agent) (Agent, error)
	// SetPresence records a presence (creating the profile if needed).
	SetPresence(ctx context.Context, tenant, id string, p Presence, at, expire time.Time) (Agent, error)
	// LapsePresence turns online agents whose PresenceExpire has passed
	// at now to away, and returns them.
	LapsePresence(ctx context.Context, tenant string, now time.Time) ([]Agent, error)

	// Assign records that a.Agent holds a.TicketID, with decision d, in
	// one transaction: refused with *TakenError when another agent holds
	// the ticket, with *CapacityError when limit >= 0 and the agent
	// holds limit or more tickets on a.Channel; ErrDuplicate when d.Key
	// is taken. It removes the ticket from any queue, sets the agent's
	// LastAssignTime, and when roundRobin is true records a.Agent as the
	// last one picked in a.Group.
	Assign(ctx context.Context, a Assignment, limit int, roundRobin bool, d Decision) error
	// SetAssignment records a holder as found on the ticket (an assignment
	// made by hand), replacing any other, without a capacity check.
	SetAssignment(ctx context.Context, a Assignment) error
	// Unassign removes the ticket's assignment; false if it had none.
	Unassign(ctx context.Context, tenant, ticketID string) (Assignment, bool, error)
	// Assignment returns the ticket's holder; false if none.
	Assignment(ctx context.Context, tenant, ticketID string) (Assignment, bool, error)
	// MarkAnswered records the holder's public reply.
	MarkAnswered(ctx context.Context, tenant, ticketID string) error
	// Loads counts the assignments per channel of agents (nil: every
	// agent of the tenant).
	Loads(ctx context.Context, tenant string, agents []string) (map[string]map[string]int, error)
	// Assignments returns the agent's assignments, oldest first.
	Assignments(ctx context.Context, tenant, agent string) ([]Assignment, error)

	// Enqueue puts the ticket in e.Group's queue (out of any other, and
	// out of the ledger) with decision d, in one transaction; ErrDuplicate
	// when d.Key is taken. Re-enqueueing in the same group keeps the
	// EnqueueTime.
	Enqueue(ctx context.Context, e QueueEntry, d Decision) error
	// Dequeue removes the ticket from its queue, if it is in one.
	Dequeue(ctx context.Context, tenant, ticketID string) error
	// Queued returns the ticket's queue entry; false if it waits in none.
	Queued(ctx context.Context, tenant, ticketID string) (QueueEntry, bool, error)
	// Queue returns up to limit entries of the group's queue (every group
	// when group is ""), highest priority first, then oldest ticket.
	Queue(ctx context.Context, tenant, group string, limit int) ([]QueueEntry, error)
	// QueueSizes counts the entries per group.
	QueueSizes(ctx context.Context, tenant string) (map[string]int, error)

	// LastPicked is the agent round robin picked last in the group; ""
	// before the first.
	LastPicked(ctx context.Context, tenant, group string) (string, error)

	// AddDecision stores a decision that neither assigns nor queues
	// (unrouted, offered again); ErrDuplicate when d.Key is taken.
	AddDecision(ctx context.Context, d Decision) error
	// MarkApplied records that the ticket service has the decisions.
	MarkApplied(ctx context.Context, tenant string, ids ...string) error
	// DecisionByKey returns the decision stored under key; false if none.
	DecisionByKey(ctx context.Context, tenant, key string) (Decision, bool, error)
	// Decisions returns up to limit decisions of the ticket after the
	// one with ID after (oldest first).
	Decisions(ctx context.Context, tenant, ticketID, after string, limit int) ([]Decision, error)
	// Unapplied returns decisions not marked applied, created before
	// olderThan, oldest first.
	Unapplied(ctx context.Context, tenant string, olderThan time.Time, limit int) ([]Decision, error)

	// Tenants lists the tenants with any routing state.
	Tenants(ctx context.Context) ([]string, error)

	// HoldLease takes or renews the named lease for holder for ttl;
	// false while another holder has it.
	HoldLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error

	Close() error
}
