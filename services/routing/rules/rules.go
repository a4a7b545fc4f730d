// Package rules holds a tenant's routing rules: it reads the RoutingRule
// documents of the --config file (with the HelpdeskTenant documents whose
// calendars and time zones they default to), checks them against the
// groups and skills the routing service knows (Catalogue), warns about
// rules that can never be reached, keeps the last valid set when an edit
// is invalid (InForce), and evaluates a ticket against the set: which
// group, which skills, which tags, priority floor and custom fields, and
// why (Set.Evaluate).
//
// The semantics of each field are those of v1alpha1.RoutingRuleSpec.
// Rules are tried in order (spec.order, then name); the first that
// matches wins unless it says continue. A Set never changes once built and
// may be used from any number of goroutines.
//
// # Reasons
//
// Each rule that matched comes with one routing.Reason per condition that
// held, in this order; the routing service renders them in the reader's
// language. The codes and their arguments:
//
//	rule.always          {}                              the rule has no conditions
//	rule.channel         {channel}                       the ticket's channel, e.g. "email"
//	rule.tier            {tier}                          the customer's tier as the ticket has it
//	rule.organization    {organization}                  the rule's entry that matched (an ID or a name)
//	rule.priority        {priority}                      the ticket's priority, "P1".."P5"
//	rule.tag             {tag}                           the first of the rule's tags the ticket has
//	rule.custom_field    {field, value}                  one per field the rule tests, by field name; value "" for a ticket without it
//	rule.requester       {requester}                     the rule's entry that matched ("*@example.com", "wechat:oAbc")
//	rule.inbound_address {address}                       the address the customer wrote to
//	rule.business_hours  {open}                          "true" inside the calendar's working hours, "false" outside
//	rule.keyword         {keyword, field}                the first of the rule's keywords found in the subject, else in the
//	                                                     description, as the rule writes it; field "subject" or "description"
package rules

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/routing"
	"github.com/kubedesk/kubedesk/workflows/calendar"
)

// The reason codes; see the package documentation for their arguments.
const (
	ReasonAlways         = "rule.always"
	ReasonChannel        = "rule.channel"
	ReasonTier           = "rule.tier"
	ReasonOrganization   = "rule.organization"
	ReasonPriority       = "rule.priority"
	ReasonTag            = "rule.tag"
	ReasonCustomField    = "rule.custom_field"
	ReasonRequester      = "rule.requester"
	ReasonInboundAddress = "rule.inbound_address"
	ReasonBusinessHours  = "rule.business_hours"
	ReasonKeyword        = "rule.keyword"
)

// Facts is what the rules read of a ticket.
type Facts struct {
	Channel          string // "web", "email", "chat", "wechat", "api", "phone"
	CustomerTier     string // the contact's tier, else its organisation's; "" if none
	OrganizationID   string
	OrganizationName string
	Priority         int // 1 (P1) to 5
	Tags             []string
	CustomFields     map[string]string
	RequesterEmail   string
	// RequesterIdentity is the channel identity, e.g. "wechat:oAbc123".
	RequesterIdentity string
	// RequesterContact is the channel service's contact ID.
	RequesterContact string
	Subject          string
	Description      string
	// InboundAddress is the bare address the customer wrote to
	// ("support@example.com"); "" when the ticket did not come by e-mail.
	InboundAddress string
	// CreateTime is when the ticket was created; businessHours tests it
	// (now when zero).
	CreateTime time.Time
}

// Result is what the matching rules do to a ticket.
type Result struct {
	// Group is the last group a matching rule set; "" if none did.
	Group string
	// RequireSkills is every skill the matching rules require, in the
	// order first required, each at the highest level any of them asks.
	RequireSkills []routing.SkillRequirement
	// AddTags is the tags to add, in order, without repeats.
	AddTags []string
	// PriorityAtLeast is the most urgent floor any matching rule sets
	// (1 = P1); 0 if none does.
	PriorityAtLeast int
	// SetCustomFields: a later rule's value replaces an earlier one's.
	SetCustomFields map[string]string
	// Matched lists the rules that matched, in the order they were tried,
	// with the reasons each did.
	Matched []routing.RuleMatch
}

// Rule is one rule in force.
type Rule struct {
	Name   string // metadata.name (namespace/name when the document has a namespace)
	Tenant string
	// Order is spec.order with its default (100 for 0).
	Order    int32
	Continue bool
	// Spec is the document's spec with the defaults applied (order;
	// minLevel 0 is 1).
	Spec v1alpha1.RoutingRuleSpec
	// Calendar is the calendar the businessHours condition reads (the
	// rule's own, the tenant's or Monday to Friday 09:00-18:00 in the
	// tenant's time zone); nil for a rule without that condition.
	Calendar *v1alpha1.BusinessCalendar
	// Source is where the rule is written: file#document index.
	Source string
	// Warnings are the rule's problems that do not make it invalid, such
	// as being shadowed by an earlier rule.
	Warnings []string

	when compiledWhen
}

// Set is a consistent set of rules: every tenant's, in evaluation order.
type Set struct {
	// Tenants are the file's HelpdeskTenant documents, by ID; empty when
	// it declares none.
	Tenants map[string]tenant.Config

	tenants map[string]*tenantRules
}

// tenantRules is one tenant's rules and the keyword matcher over all of
// their keywords.
type tenantRules struct {
	rules    []*Rule
	keywords *matcher // nil when no rule has keywords
}

// Empty is a set without rules.
func Empty() *Set { return &Set{} }

// Rules returns the tenant's rules in evaluation order.
func (s *Set) Rules(tenant string) []*Rule {
	if t := s.tenants[tenant]; t != nil {
		return slices.Clone(t.rules)
	}
	return nil
}

// TenantIDs lists the tenants that have rules, sorted.
func (s *Set) TenantIDs() []string { return slices.Sorted(maps.Keys(s.tenants)) }

// All returns every rule, by tenant, then in evaluation order.
func (s *Set) All() []*Rule {
	var out []*Rule
	for _, id := range s.TenantIDs() {
		out = append(out, s.tenants[id].rules...)
	}
	return out
}

// Warnings returns every rule's warnings, each prefixed with where the
// rule is written, in the order of All.
func (s *Set) Warnings() []string {
	var out []string
	for _, r := range s.All() {
		for _, w := range r.Warnings {
			out = append(out, r.Source+": "+w)
		}
	}
	return out
}

// Evaluate runs the tenant's rules against a ticket. now stands for the
// ticket's creation time when f has none.
func (s *Set) Evaluate(tenant string, f Facts, now time.Time) Result {
	var res Result
	t := s.tenants[tenant]
	if t == nil {
		return res
	}
	e := evaluation{facts: &f, rules: t, at: f.CreateTime}
	if e.at.IsZero() {
		e.at = now
	}
	for _, r := range t.rules {
		reasons, ok := e.match(&r.when)
		if !ok {
			continue
		}
		res.Matched = append(res.Matched, routing.RuleMatch{Rule: r.Name, Reasons: reasons})
		res.apply(&r.Spec.Then)
		if !r.Continue {
			break
		}
	}
	return res
}

// apply adds a matching rule's actions to r.
func (r *Result) apply(a *v1alpha1.RoutingActions) {
	if a.Group != "" {
		r.Group = a.Group
	}
	for _, s := range a.RequireSkills {
		level := max(int(s.MinLevel), 1)
		i := slices.IndexFunc(r.RequireSkills, func(have routing.SkillRequirement) bool { return have.Name == s.Name })
		if i < 0 {
			r.RequireSkills = append(r.RequireSkills, routing.SkillRequirement{Name: s.Name, MinLevel: level})
		} else {
			r.RequireSkills[i].MinLevel = max(r.RequireSkills[i].MinLevel, level)
		}
	}
	for _, tag := range a.AddTags {
		if !slices.Contains(r.AddTags, tag) {
			r.AddTags = append(r.AddTags, tag)
		}
	}
	if p, ok := priorityNumber(a.PriorityAtLeast); ok && (r.PriorityAtLeast == 0 || p < r.PriorityAtLeast) {
		r.PriorityAtLeast = p
	}
	if len(a.SetCustomFields) > 0 && r.SetCustomFields == nil {
		r.SetCustomFields = make(map[string]string, len(a.SetCustomFields))
	}
	maps.Copy(r.SetCustomFields, a.SetCustomFields)
}

// compiledWhen is a rule's conditions in the form evaluation reads.
type compiledWhen struct {
	always      bool
	channels    []string
	tiers       []string
	orgs        []string
	priorities  []int
	tags        []string
	fields      []fieldCondition // by field name
	requesters  []requester
	inbound     []string
	business    *bool
	calendar    *calendar.Calendar
	calendarKey string // the resolved calendar, canonical, for comparing two rules'
	keywords    []keywordRef
}

type fieldCondition struct {
	field  string
	values []string
}

type keywordRef struct {
	written string // as the rule writes it, for the reason
	id      int    // the pattern in the tenant's matcher
	pattern pattern
}

// requester is one spec.when.requesters entry.
type requester struct {
	written string
	kind    requesterKind
	value   string // the address, domain, identity or contact ID
}

type requesterKind int

const (
	requesterEmail    requesterKind = iota // bob@example.com, compared ignoring case
	requesterDomain                        // *@example.com: every address of the domain
	requesterIdentity                      // wechat:oAbc, compared exactly
	requesterContact                       // contact:ID
)

func (q requester) matches(f *Facts) bool {
	switch q.kind {
	case requesterEmail:
		return f.RequesterEmail != "" && strings.EqualFold(f.RequesterEmail, q.value)
	case requesterDomain:
		at := strings.LastIndexByte(f.RequesterEmail, '@')
		return at >= 0 && strings.EqualFold(f.RequesterEmail[at+1:], q.value)
	case requesterIdentity:
		return f.RequesterIdentity != "" && f.RequesterIdentity == q.value
	case requesterContact:
		return f.RequesterContact != "" && f.RequesterContact == q.value
	}
	return false
}

// evaluation is one Evaluate call: the ticket, and what is worked out at
// most once for it (the folded text and the keywords found in it, each
// calendar's verdict).
type evaluation struct {
	facts *Facts
	rules *tenantRules
	at    time.Time

	scanned           bool
	subject, descript bitset
	open              map[*calendar.Calendar]bool
}

// match tests a rule's conditions, the cheap ones first, and returns a
// reason per condition when all hold.
func (e *evaluation) match(w *compiledWhen) ([]routing.Reason, bool) {
	f := e.facts
	if w.always {
		return []routing.Reason{{Code: ReasonAlways}}, true
	}
	var reasons []routing.Reason
	add := func(code string, args ...string) {
		if reasons == nil {
			reasons = make([]routing.Reason, 0, 4)
		}
		m := make(map[string]string, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			m[args[i]] = args[i+1]
		}
		reasons = append(reasons, routing.Reason{Code: code, Args: m})
	}
	// The tests run before any reason is built, so that the many rules
	// that do not match cost no allocation.
	if len(w.channels) > 0 && !slices.Contains(w.channels, f.Channel) {
		return nil, false
	}
	if len(w.tiers) > 0 && (f.CustomerTier == "" || !slices.ContainsFunc(w.tiers, func(t string) bool { return strings.EqualFold(t, f.CustomerTier) })) {
		return nil, false
	}
	org := -1
	if len(w.orgs) > 0 {
		if org = slices.IndexFunc(w.orgs, func(o string) bool {
			return o == f.OrganizationID || f.OrganizationName != "" && strings.EqualFold(o, f.OrganizationName)
		}); org < 0 {
			return nil, false
		}
	}
	if len(w.priorities) > 0 && !slices.Contains(w.priorities, f.Priority) {
		return nil, false
	}
	tag := -1
	if len(w.tags) > 0 {
		if tag = slices.IndexFunc(w.tags, func(t string) bool { return slices.Contains(f.Tags, t) }); tag < 0 {
			return nil, false
		}
	}
	for _, c := range w.fields {
		if !slices.Contains(c.values, f.CustomFields[c.field]) {
			return nil, false
		}
	}
	who := -1
	if len(w.requesters) > 0 {
		if who = slices.IndexFunc(w.requesters, func(q requester) bool { return q.matches(f) }); who < 0 {
			return nil, false
		}
	}
	if len(w.inbound) > 0 && (f.InboundAddress == "" || !slices.ContainsFunc(w.inbound, func(a string) bool { return strings.EqualFold(a, f.InboundAddress) })) {
		return nil, false
	}
	if w.business != nil && e.isOpen(w.calendar) != *w.business {
		return nil, false
	}
	kw, field := -1, ""
	if len(w.keywords) > 0 {
		if kw, field = e.keyword(w.keywords); kw < 0 {
			return nil, false
		}
	}

	if len(w.channels) > 0 {
		add(ReasonChannel, "channel", f.Channel)
	}
	if len(w.tiers) > 0 {
		add(ReasonTier, "tier", f.CustomerTier)
	}
	if org >= 0 {
		add(ReasonOrganization, "organization", w.orgs[org])
	}
	if len(w.priorities) > 0 {
		add(ReasonPriority, "priority", "P"+strconv.Itoa(f.Priority))
	}
	if tag >= 0 {
		add(ReasonTag, "tag", w.tags[tag])
	}
	for _, c := range w.fields {
		add(ReasonCustomField, "field", c.field, "value", f.CustomFields[c.field])
	}
	if who >= 0 {
		add(ReasonRequester, "requester", w.requesters[who].written)
	}
	if len(w.inbound) > 0 {
		add(ReasonInboundAddress, "address", f.InboundAddress)
	}
	if w.business != nil {
		add(ReasonBusinessHours, "open", strconv.FormatBool(*w.business))
	}
	if kw >= 0 {
		add(ReasonKeyword, "keyword", w.keywords[kw].written, "field", field)
	}
	return reasons, true
}

func (e *evaluation) isOpen(c *calendar.Calendar) bool {
	if open, ok := e.open[c]; ok {
		return open
	}
	if e.open == nil {
		e.open = map[*calendar.Calendar]bool{}
	}
	open := c.IsOpen(e.at)
	e.open[c] = open
	return open
}

// keyword returns the first of refs found in the subject (then the
// description) and the field it was found in; -1 if none. The first call
// finds every keyword of the tenant's rules in one pass over each field.
func (e *evaluation) keyword(refs []keywordRef) (int, string) {
	if !e.scanned {
		e.scanned = true
		m := e.rules.keywords
		e.subject, e.descript = newBitset(len(m.patterns)), newBitset(len(m.patterns))
		m.find(fold(e.facts.Subject), e.subject)
		m.find(fold(e.facts.Description), e.descript)
	}
	for i, k := range refs {
		if e.subject.has(k.id) {
			return i, "subject"
		}
	}
	for i, k := range refs {
		if e.descript.has(k.id) {
			return i, "description"
		}
	}
	return -1, ""
}

// byOrder sorts rules into evaluation order.
func byOrder(a, b *Rule) int {
	return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Name, b.Name))
}

// priorityNumber is 1 for P1 ... 5 for P5.
func priorityNumber(p v1alpha1.Priority) (int, bool) {
	if len(p) == 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '5' {
		return int(p[1] - '0'), true
	}
	return 0, false
}
