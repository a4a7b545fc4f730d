package routing

import (
	"context"
	"strings"
	"time"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/workflows/calendar"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// Facts are what the rules read of a ticket.
type Facts struct {
	Channel           string
	CustomerTier      string
	OrganizationID    string
	OrganizationName  string
	Priority          int // 1 (P1) to 5
	Tags              []string
	CustomFields      map[string]string
	RequesterEmail    string
	RequesterIdentity string
	RequesterContact  string
	Subject           string
	Description       string
	InboundAddress    string
	CreateTime        time.Time
}

// RuleResult is what the matching rules do to a ticket.
type RuleResult struct {
	Group           string
	RequireSkills   []SkillRequirement
	AddTags         []string
	PriorityAtLeast int // 0: none
	SetCustomFields map[string]string
	Matched         []RuleMatch
}

// Rules are the routing rules in force.
type Rules interface {
	Evaluate(tenant string, f Facts, now time.Time) RuleResult
}

// Customer is what the rules read of the requester's contact.
type Customer struct {
	Tier             string
	OrganizationID   string
	OrganizationName string
}

// Customers looks up a contact of the channel service.
type Customers interface {
	Customer(ctx context.Context, contactID string) (Customer, error)
}

// CustomerTierField and InboundAddressField are the ticket custom fields
// that carry the customer's tier (when no contact says it) and the
// mailbox an e-mail came to.
const (
	CustomerTierField   = "customer_tier"
	InboundAddressField = "inbound_address"
)

// ChannelName is the short name of a ticket's channel: "email", "chat".
func ChannelName(c ticketv1.Channel) string {
	if c == ticketv1.Channel_CHANNEL_UNSPECIFIED {
		return "api"
	}
	return strings.ToLower(strings.TrimPrefix(c.String(), "CHANNEL_"))
}

// factsOf reads the facts of t; cust is the requester's contact, if any.
func factsOf(t *ticketv1.Ticket, cust Customer) Facts {
	r := t.GetRequester()
	f := Facts{
		Channel:           ChannelName(t.GetChannel()),
		CustomerTier:      cust.Tier,
		OrganizationID:    cust.OrganizationID,
		OrganizationName:  cust.OrganizationName,
		Priority:          int(t.GetPriority()),
		Tags:              t.GetTags(),
		CustomFields:      t.GetCustomFields(),
		RequesterEmail:    r.GetEmail(),
		RequesterIdentity: r.GetIdentity(),
		RequesterContact:  r.GetContactId(),
		Subject:           t.GetSubject(),
		Description:       t.GetDescription(),
		InboundAddress:    t.GetCustomFields()[InboundAddressField],
		CreateTime:        t.GetCreateTime().AsTime(),
	}
	if f.CustomerTier == "" || f.CustomerTier == "standard" {
		if tier := t.GetCustomFields()[CustomerTierField]; tier != "" {
			f.CustomerTier = tier
		}
	}
	return f
}

// open reports whether t is still being worked: not solved or closed.
func open(t *ticketv1.Ticket) bool {
	switch t.GetStatus() {
	case ticketv1.Status_STATUS_SOLVED, ticketv1.Status_STATUS_CLOSED:
		return false
	}
	return true
}

// CompileCalendar builds a group's business calendar.
func CompileCalendar(c v1alpha1.BusinessCalendar) (*calendar.Calendar, error) {
	return policy.CompileCalendar(c, "calendar")
}
