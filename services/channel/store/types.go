package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

// Errors a Store returns; callers match them with errors.Is.
var (
	// ErrNotFound: no such record in the tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: an identity or a domain is held by another record of
	// the tenant. The error is a *ConflictError naming the holder.
	ErrConflict = errors.New("already exists")
	// ErrVersion: the record changed since the version the caller read.
	ErrVersion = errors.New("changed since it was read")
	// ErrMerged: the contact was merged into another and is read-only.
	// The error is a *MergedError naming both.
	ErrMerged = errors.New("merged")
	// ErrSameContact: a contact cannot be merged into itself.
	ErrSameContact = errors.New("a contact cannot be merged into itself")
	// ErrNULText: a text value holds the NUL character, which PostgreSQL
	// cannot store; both engines refuse it so that they never differ.
	ErrNULText = errors.New("text holds the NUL character (U+0000)")
)

// ConflictError is ErrConflict with what was taken and by whom.
type ConflictError struct {
	// Identity is the identity taken, for a contact's conflict.
	Identity Identity
	// Domain is the domain taken, for an organisation's conflict.
	Domain string
	// Holder is the ID of the contact or organisation that holds it; ""
	// when it could not be read (it went away in between).
	Holder string
}

func (e *ConflictError) Error() string {
	if e.Domain != "" {
		return fmt.Sprintf("domain %q belongs to organization %s", e.Domain, e.Holder)
	}
	return fmt.Sprintf("identity %s belongs to contact %s", e.Identity, e.Holder)
}

// Is makes a *ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// MergedError is ErrMerged naming the contact and where it went.
type MergedError struct {
	ID, Into string
}

func (e *MergedError) Error() string {
	return fmt.Sprintf("contact %s was merged into %s", e.ID, e.Into)
}

// Is makes a *MergedError match ErrMerged.
func (e *MergedError) Is(target error) bool { return target == ErrMerged }

// DefaultTier is the tier of a contact or organisation that names none.
const DefaultTier = "standard"

// Identity is one way to reach a contact; (Type, Value) is unique among
// the unmerged contacts of a tenant. Values are kept normalised
// (NormalizeIdentity).
type Identity struct {
	Type    channelv1.IdentityType
	Value   string
	Primary bool
}

// String writes the identity as filters name it: "email:a@example.com".
func (i Identity) String() string { return TypeName(i.Type) + ":" + i.Value }

// Contact is a customer.
type Contact struct {
	Tenant         string
	ID             string // time-ordered UUID
	DisplayName    string
	Identities     []Identity // never nil when read; empty once merged
	OrganizationID string
	Tier           string // DefaultTier when empty
	Locale         string
	TimeZone       string
	CustomFields   map[string]string // never nil when read
	MergedInto     string            // the contact this one was merged into
	CreateTime     time.Time
	UpdateTime     time.Time
	Version        int64 // bumped by every change
}

// Organization is a company contacts belong to.
type Organization struct {
	Tenant       string
	ID           string
	Name         string
	Region       string
	Industry     string
	Size         channelv1.OrganizationSize
	Domains      []string // lower-cased; each unique in the tenant
	Tier         string
	CustomFields map[string]string
	CreateTime   time.Time
	UpdateTime   time.Time
	Version      int64
}

// Actor is who did something, as stored.
type Actor struct {
	ID          string
	Kind        iamv1.PrincipalKind
	DisplayName string
}

// AuditEvent is one change to who a contact is: a merge, seen from either
// side.
type AuditEvent struct {
	Tenant         string
	ID             string
	ContactID      string
	Type           channelv1.ContactAuditEventType
	OtherContactID string
	Identities     []Identity // those that moved
	TicketsMoved   int
	Actor          Actor
	CreateTime     time.Time
}

// ContactQuery selects and pages contacts, newest first. Zero fields
// select everything.
type ContactQuery struct {
	// Identity: only the contact holding it (normalised by the caller).
	Identity *Identity
	// OrganizationID, Tier: equal.
	OrganizationID string
	Tier           string
	// NameContains: a substring of the display name, compared after
	// strings.ToLower on both sides.
	NameContains string
	// Merged: nil leaves merged contacts out; else only those that are
	// (true) or are not (false) merged.
	Merged *bool
	// BeforeID: the ID of the last contact of the previous page.
	BeforeID string
	// Limit: at most this many; must be > 0.
	Limit int
}

// OrganizationQuery selects and pages organisations, newest first.
type OrganizationQuery struct {
	NameContains string
	Domain       string
	Tier         string
	BeforeID     string
	Limit        int
}

// Store keeps contacts, organisations and the contact audit log. Every
// method is scoped to the tenant it is given.
type Store interface {
	// The e-mail channel's record of mail (see Mail).
	MailByID(ctx context.Context, tenant, messageID string) (Mail, bool, error)
	MailRaw(ctx context.Context, tenant, messageID string) ([]byte, error)
	MailTicket(ctx context.Context, tenant string, ids []string) (string, bool, error)
	RecordMail(ctx context.Context, m Mail) (bool, error)
	SetMailStatus(ctx context.Context, tenant, messageID, status, detail string) error
	SetMailTicket(ctx context.Context, tenant, messageID, ticketID string) error
	DeleteMail(ctx context.Context, tenant, messageID string) error
	MailThread(ctx context.Context, tenant, ticketID string, limit int) ([]Mail, error)

	// The WeChat channel's inbox (see WeChatMessage). RecordWeChat stores
	// a message as pending and reports whether it is new (a retried
	// callback's key is known); PendingWeChat lists pending messages of
	// every tenant, oldest first; SettleWeChat writes a message's status,
	// ticket, comment, detail and attempts; LastWeChat is when a user's
	// last message came (what opens WeChat's 48-hour reply window).
	RecordWeChat(ctx context.Context, m WeChatMessage) (bool, error)
	PendingWeChat(ctx context.Context, limit int) ([]WeChatMessage, error)
	SettleWeChat(ctx context.Context, m WeChatMessage) error
	LastWeChat(ctx context.Context, tenant, openid string) (time.Time, bool, error)
	// Agents' replies to WeChat users (see WeChatReply), by comment:
	// SaveWeChatReply writes one (a known comment gets the new status and
	// detail), HeldWeChatReplies lists a user's held replies, oldest
	// first.
	WeChatReplyByComment(ctx context.Context, tenant, commentID string) (WeChatReply, bool, error)
	SaveWeChatReply(ctx context.Context, r WeChatReply) error
	HeldWeChatReplies(ctx context.Context, tenant, openid string, limit int) ([]WeChatReply, error)

	// The live web chat (see ChatConversation). SaveChatVisitor writes a
	// visitor (a known one gets the new contact, chat and locale);
	// OpenChat stores a new chat (state waiting) and makes it its
	// visitor's current one, in one transaction (ErrNotFound for an
	// unknown visitor); UpdateChat runs mutate on a chat in one
	// transaction and writes the result when mutate reports a change
	// (its seq and identity stay); AppendChatMessage gives a message the
	// chat's next seq, once per source (a known source returns its
	// message, created false), and an agent's message makes a chat that
	// waits answered; AwaitingChats lists the chats of every tenant
	// waiting for an agent, oldest first; ChatOffers a tenant's, of the
	// groups given ("" for chats of no group); ReportChatPresence replaces an
	// agent's presence (an expiry not after now: away); ChatGroupsOnline
	// maps each tenant to its groups with an agent online at at ("" for
	// agents of no group); ChatByEmail reports whether a ticket's chat
	// goes on by e-mail.
	ChatVisitor(ctx context.Context, tenant, id string) (ChatVisitor, bool, error)
	SaveChatVisitor(ctx context.Context, v ChatVisitor) (ChatVisitor, error)
	OpenChat(ctx context.Context, c ChatConversation) (ChatConversation, error)
	ChatConversation(ctx context.Context, tenant, ticketID string) (ChatConversation, bool, error)
	UpdateChat(ctx context.Context, tenant, ticketID string, mutate func(*ChatConversation) (bool, error)) (ChatConversation, bool, error)
	AppendChatMessage(ctx context.Context, m ChatMessage) (ChatMessage, ChatConversation, bool, error)
	ChatMessages(ctx context.Context, tenant, ticketID string, afterSeq int64, limit int) ([]ChatMessage, error)
	AwaitingChats(ctx context.Context, limit int) ([]ChatConversation, error)
	ChatOffers(ctx context.Context, tenant string, groups []string, limit int) ([]ChatConversation, error)
	ReportChatPresence(ctx context.Context, p ChatPresence) error
	ChatGroupsOnline(ctx context.Context, at time.Time) (map[string][]string, error)
	ChatByEmail(ctx context.Context, tenant, ticketID string) (bool, error)

	// CreateContact stores c as a new contact (ID made when empty,
	// version 1, times now) and returns it as stored. An identity held
	// by another contact is a *ConflictError.
	CreateContact(ctx context.Context, c Contact) (Contact, error)
	GetContact(ctx context.Context, tenant, id string) (Contact, error)
	ListContacts(ctx context.Context, tenant string, q ContactQuery) ([]Contact, error)
	// UpdateContact runs mutate on the contact in one transaction and
	// writes the result, its version bumped. ifVersion > 0 must be the
	// stored version (else ErrVersion); a merged contact is a
	// *MergedError; an identity another holds a *ConflictError. mutate's
	// own error is returned as is.
	UpdateContact(ctx context.Context, tenant, id string, ifVersion int64, mutate func(*Contact) error) (Contact, error)
	// MergeContacts merges from into into in one transaction: from's
	// identities move to into (keeping into's primaries), from gets
	// MergedInto, and each gets an audit event. It returns into.
	// from == into is ErrSameContact; into merged, or from merged into
	// another contact, a *MergedError; from already merged into into
	// returns into and changes nothing.
	MergeContacts(ctx context.Context, tenant, fromID, intoID string, actor Actor) (Contact, error)
	// RecordTicketsMoved adds n to the tickets_moved of the audit events
	// of the merge of from into into.
	RecordTicketsMoved(ctx context.Context, tenant, fromID, intoID string, n int) error
	// ListAudit pages a contact's audit events, newest first.
	ListAudit(ctx context.Context, tenant, contactID, beforeID string, limit int) ([]AuditEvent, error)
	// ResolveIdentity returns the unmerged contact holding id, or creates
	// one holding it (named displayName; an email's contact joins the
	// organisation owning its domain) and reports created. Concurrent
	// resolvers of one identity end with one contact.
	ResolveIdentity(ctx context.Context, tenant string, id Identity, displayName string) (Contact, bool, error)

	// CreateOrganization stores o (ID made when empty) and returns it. A
	// domain another organisation has is a *ConflictError.
	CreateOrganization(ctx context.Context, o Organization) (Organization, error)
	GetOrganization(ctx context.Context, tenant, id string) (Organization, error)
	ListOrganizations(ctx context.Context, tenant string, q OrganizationQuery) ([]Organization, error)
	// UpdateOrganization is UpdateContact's twin.
	UpdateOrganization(ctx context.Context, tenant, id string, ifVersion int64, mutate func(*Organization) error) (Organization, error)
	// OrganizationByDomain returns the organisation owning domain
	// (compared lower-cased).
	OrganizationByDomain(ctx context.Context, tenant, domain string) (Organization, error)

	// The outgoing webhooks, their secrets and deliveries (webhooks.go).
	Webhooks

	Ping(ctx context.Context) error
	Close() error
}
