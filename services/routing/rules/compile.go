package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/workflows/calendar"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// Kind is the document kind this package reads.
const Kind = "RoutingRule"

// Catalogue is what rules may name, as the routing service knows it now:
// a tenant's groups (their IDs) and the skills at least one of its agents
// has. A rule naming anything else is refused.
type Catalogue interface {
	Groups(tenant string) []string
	Skills(tenant string) []string
}

// DefaultOrder is the order of a rule that sets none (0).
const DefaultOrder int32 = 100

// Limits the CRD schema sets (v1alpha1.RoutingRuleSpec's markers), which
// the binary holds a file to as well.
const (
	maxOrder            = 100000
	maxTierLen          = 64
	maxOrganizationLen  = 200
	maxTagLen           = 100
	maxRequesterLen     = 254
	maxKeywordLen       = 100
	maxAddressLen       = 254
	maxFieldValueLen    = 4096 // a ticket's custom field value
	maxGroupLen         = 63
	maxTiers            = 20
	maxOrganizations    = 100
	maxTags             = 50
	maxCustomFields     = 20
	maxRequesters       = 200
	maxKeywords         = 200
	maxInboundAddresses = 50
	maxSkills           = 10
	maxAddTags          = 20
	maxSetCustomFields  = 20
)

var (
	namePattern     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	groupPattern    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	skillPattern    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)
	fieldPattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,62}$`)
	identityPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}:.`)
)

// channels are the channels a ticket comes in on, in the order messages
// list them.
var channels = []v1alpha1.Channel{"web", "email", "chat", "wechat", "api", "phone"}

// Load reads the RoutingRule documents of the --config file at path, and
// its HelpdeskTenant documents: when it declares tenants, each rule must
// name one, and a rule's businessHours condition without a calendar of
// its own reads its tenant's. Groups and skills are checked against cat;
// a nil cat skips those checks. Errors name the document (file#index),
// the rule and the field path, and join every problem found.
func Load(path string, cat Catalogue) (*Set, error) {
	docs, err := config.ReadDocuments(path)
	if err != nil {
		return nil, err
	}
	tenants, err := config.Tenants(path, docs, checkTenant)
	if err != nil {
		return nil, err
	}
	return Compile(path, docs, tenants, cat)
}

// checkTenant refuses a tenant whose default calendar cannot be built.
func checkTenant(t tenant.Config) error {
	if t.Spec.Calendar == nil {
		return nil
	}
	return policy.CheckCalendar(*t.Spec.Calendar, "spec.calendar")
}

// Compile builds the set of the RoutingRule documents among docs, read
// from the file at path, for tenants (the file's HelpdeskTenants; empty
// for none) and cat (nil: no catalogue checks). See Load.
func Compile(path string, docs []config.Document, tenants map[string]tenant.Config, cat Catalogue) (*Set, error) {
	c := compiler{path: path, tenants: tenants, cat: cat, groups: map[string][]string{}, skills: map[string][]string{}, defaults: map[string]*resolvedCalendar{}}
	var (
		errs   []error
		rules  = map[string][]*Rule{}
		seenAt = map[string]map[string]string{} // tenant -> name -> source
	)
	for _, doc := range docs {
		if doc.Kind != Kind {
			continue
		}
		r, rerrs := c.rule(doc)
		errs = append(errs, rerrs...)
		if r == nil {
			continue
		}
		if seenAt[r.Tenant] == nil {
			seenAt[r.Tenant] = map[string]string{}
		}
		if first, dup := seenAt[r.Tenant][r.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: RoutingRule %s: metadata.name: %q is a rule of tenant %s already (at %s); accepted: one rule per name in a tenant",
				r.Source, r.Name, r.Name, r.Tenant, first))
			continue
		}
		seenAt[r.Tenant][r.Name] = r.Source
		if len(rerrs) == 0 {
			rules[r.Tenant] = append(rules[r.Tenant], r)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	set := &Set{Tenants: tenants, tenants: map[string]*tenantRules{}}
	for id, rs := range rules {
		set.tenants[id] = newTenantRules(rs)
	}
	return set, nil
}

// newTenantRules orders a tenant's rules, builds the matcher of their
// keywords and warns about the rules that can never be reached.
func newTenantRules(rs []*Rule) *tenantRules {
	slices.SortFunc(rs, byOrder)
	t := &tenantRules{rules: rs}
	ids := map[string]int{}
	var patterns []pattern
	for _, r := range rs {
		for i := range r.when.keywords {
			k := &r.when.keywords[i]
			id, ok := ids[k.pattern.text]
			if !ok {
				id = len(patterns)
				ids[k.pattern.text] = id
				patterns = append(patterns, k.pattern)
			}
			k.id = id
		}
	}
	if len(patterns) > 0 {
		t.keywords = newMatcher(patterns)
	}
	warnShadowed(rs)
	return t
}

// compiler holds what checking the rules of one file needs, with the
// catalogue's answers asked once per tenant.
type compiler struct {
	path     string
	tenants  map[string]tenant.Config
	cat      Catalogue
	groups   map[string][]string
	skills   map[string][]string
	defaults map[string]*resolvedCalendar
}

type resolvedCalendar struct {
	spec v1alpha1.BusinessCalendar
	cal  *calendar.Calendar
	key  string
}

// ruleChecker gathers one document's problems.
type ruleChecker struct {
	errs []error
}

func (c *ruleChecker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// rule decodes and checks one document. It returns the rule when it got
// far enough to have a tenant and a name (so duplicates can be found),
// and the document's problems, each prefixed with where it is.
func (c *compiler) rule(doc config.Document) (*Rule, []error) {
	source := fmt.Sprintf("%s#%d", c.path, doc.Index)
	var head struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = yaml.Unmarshal(doc.YAML, &head) // only to name the rule in errors; decodeStrict reports what is wrong
	label := "RoutingRule"
	if head.Metadata.Name != "" {
		label += " " + qualified(head.Metadata.Namespace, head.Metadata.Name)
	}
	prefix := func(errs []error) []error {
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = fmt.Errorf("%s: %s: %w", source, label, e)
		}
		return out
	}
	var doc1 v1alpha1.RoutingRule
	if err := decodeStrict(doc.YAML, &doc1); err != nil {
		return nil, prefix(unjoin(err))
	}
	r, errs := c.check(doc1)
	if r != nil {
		r.Source = source
	}
	return r, prefix(errs)
}

// check validates a decoded rule and compiles its conditions.
func (c *compiler) check(doc v1alpha1.RoutingRule) (*Rule, []error) {
	var ck ruleChecker
	s := *doc.Spec.DeepCopy()
	r := &Rule{Name: qualified(doc.Namespace, doc.Name), Tenant: s.TenantRef.Name}

	switch {
	case doc.Name == "":
		ck.fail("metadata.name", "is required")
	case len(doc.Name) > 253 || !namePattern.MatchString(doc.Name):
		ck.fail("metadata.name", "%q is not a valid name; accepted: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters", doc.Name)
	}
	tenantOK := false
	switch {
	case s.TenantRef.Name == "":
		ck.fail("spec.tenantRef.name", "is required")
	case tenant.Validate(s.TenantRef.Name) != nil:
		ck.fail("spec.tenantRef.name", "%q is not a tenant ID; accepted: a DNS label (lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)", s.TenantRef.Name)
	case len(c.tenants) > 0 && !hasKey(c.tenants, s.TenantRef.Name):
		ck.fail("spec.tenantRef.name", "%q is not a HelpdeskTenant of this file; accepted: %s", s.TenantRef.Name, strings.Join(slices.Sorted(maps.Keys(c.tenants)), ", "))
	default:
		tenantOK = true
	}

	if s.Order == 0 {
		s.Order = DefaultOrder
	}
	if s.Order < 1 || s.Order > maxOrder {
		ck.fail("spec.order", "%d is out of range; accepted: 1 to %d (unset: %d)", s.Order, maxOrder, DefaultOrder)
	}
	r.Order, r.Continue = s.Order, s.Continue

	c.checkWhen(&ck, r, &s.When, tenantOK)
	c.checkThen(&ck, &s.Then, r.Tenant, tenantOK)
	r.Spec = s
	if doc.Name == "" || !tenantOK {
		return nil, ck.errs
	}
	return r, ck.errs
}

func (c *compiler) checkWhen(ck *ruleChecker, r *Rule, w *v1alpha1.RoutingConditions, tenantOK bool) {
	cw := &r.when
	tooMany := func(path string, n, limit int) bool {
		if n > limit {
			ck.fail(path, "has %d items; accepted: at most %d", n, limit)
			return true
		}
		return false
	}

	for i, ch := range w.Channels {
		path := fmt.Sprintf("spec.when.channels[%d]", i)
		switch {
		case !slices.Contains(channels, ch):
			ck.fail(path, "%q is not a channel; accepted: %s", ch, joinChannels())
		case slices.Index(w.Channels, ch) < i:
			ck.fail(path, "%q is listed twice; accepted: each channel once", ch)
		default:
			cw.channels = append(cw.channels, string(ch))
		}
	}

	if !tooMany("spec.when.customerTiers", len(w.CustomerTiers), maxTiers) {
		for i, t := range w.CustomerTiers {
			if checkText(ck, fmt.Sprintf("spec.when.customerTiers[%d]", i), t, maxTierLen, "a tier such as VIP") {
				cw.tiers = append(cw.tiers, t)
			}
		}
	}
	if !tooMany("spec.when.organizations", len(w.Organizations), maxOrganizations) {
		for i, o := range w.Organizations {
			if checkText(ck, fmt.Sprintf("spec.when.organizations[%d]", i), o, maxOrganizationLen, "an organisation's ID or name") {
				cw.orgs = append(cw.orgs, o)
			}
		}
	}
	for i, p := range w.Priorities {
		path := fmt.Sprintf("spec.when.priorities[%d]", i)
		n, ok := priorityNumber(p)
		switch {
		case !ok:
			ck.fail(path, "%q is not a priority; accepted: P1, P2, P3, P4, P5", p)
		case slices.Index(w.Priorities, p) < i:
			ck.fail(path, "%q is listed twice; accepted: each priority once", p)
		default:
			cw.priorities = append(cw.priorities, n)
		}
	}
	if !tooMany("spec.when.tags", len(w.Tags), maxTags) {
		for i, t := range w.Tags {
			if checkTag(ck, fmt.Sprintf("spec.when.tags[%d]", i), t) {
				cw.tags = append(cw.tags, t)
			}
		}
	}
	if len(w.CustomFields) > maxCustomFields {
		ck.fail("spec.when.customFields", "tests %d fields; accepted: at most %d", len(w.CustomFields), maxCustomFields)
	} else {
		for _, k := range slices.Sorted(maps.Keys(w.CustomFields)) {
			path := fmt.Sprintf("spec.when.customFields[%s]", k)
			values := w.CustomFields[k]
			ok := checkFieldName(ck, path, k)
			if len(values) == 0 {
				ck.fail(path, "lists no values; accepted: at least one value (\"\" for a ticket without the field)")
				ok = false
			}
			for i, v := range values {
				if n := utf8.RuneCountInString(v); n > maxFieldValueLen {
					ck.fail(fmt.Sprintf("%s[%d]", path, i), "has %d characters; accepted: at most %d", n, maxFieldValueLen)
					ok = false
				}
			}
			if ok {
				cw.fields = append(cw.fields, fieldCondition{field: k, values: values})
			}
		}
	}
	if !tooMany("spec.when.requesters", len(w.Requesters), maxRequesters) {
		for i, q := range w.Requesters {
			if rq, ok := parseRequester(ck, fmt.Sprintf("spec.when.requesters[%d]", i), q); ok {
				cw.requesters = append(cw.requesters, rq)
			}
		}
	}
	if !tooMany("spec.when.keywords", len(w.Keywords), maxKeywords) {
		for i, k := range w.Keywords {
			path := fmt.Sprintf("spec.when.keywords[%d]", i)
			if n := utf8.RuneCountInString(k); n > maxKeywordLen {
				ck.fail(path, "has %d characters; accepted: at most %d", n, maxKeywordLen)
				continue
			}
			p, ok := newPattern(k)
			switch {
			case k == "":
				ck.fail(path, "is empty; accepted: a word or phrase of 1 to %d characters", maxKeywordLen)
				continue
			case !ok:
				ck.fail(path, "%q is blank; accepted: a word or phrase of 1 to %d characters", k, maxKeywordLen)
				continue
			}
			cw.keywords = append(cw.keywords, keywordRef{written: k, pattern: p})
		}
	}
	if !tooMany("spec.when.inboundAddresses", len(w.InboundAddresses), maxInboundAddresses) {
		for i, a := range w.InboundAddresses {
			path := fmt.Sprintf("spec.when.inboundAddresses[%d]", i)
			if len(a) > maxAddressLen || !bareAddress(a) {
				ck.fail(path, "%q is not an e-mail address; accepted: the bare address customers write to, e.g. support@example.com", a)
				continue
			}
			cw.inbound = append(cw.inbound, a)
		}
	}

	own := !w.Calendar.IsUnset()
	switch {
	case w.BusinessHours != nil:
		rc := c.calendar(ck, r.Tenant, w.Calendar, own, tenantOK)
		if rc != nil {
			cw.business, cw.calendar, cw.calendarKey = w.BusinessHours, rc.cal, rc.key
			spec := rc.spec
			r.Calendar = &spec
		}
	case own:
		if err := policy.CheckCalendar(w.Calendar, "spec.when.calendar"); err != nil {
			ck.errs = append(ck.errs, unjoin(err)...)
		}
		r.Warnings = append(r.Warnings, "spec.when.calendar is set but spec.when.businessHours is not, so no condition reads the calendar")
	}

	cw.always = len(w.Channels) == 0 && len(w.CustomerTiers) == 0 && len(w.Organizations) == 0 && len(w.Priorities) == 0 &&
		len(w.Tags) == 0 && len(w.CustomFields) == 0 && len(w.Requesters) == 0 && len(w.Keywords) == 0 &&
		len(w.InboundAddresses) == 0 && w.BusinessHours == nil
}

// calendar resolves the calendar a businessHours condition reads: the
// rule's own, else its tenant's default calendar, else Monday to Friday
// 09:00 to 18:00 in the tenant's time zone (UTC when the file declares no
// tenants).
func (c *compiler) calendar(ck *ruleChecker, tenantID string, own v1alpha1.BusinessCalendar, isOwn, tenantOK bool) *resolvedCalendar {
	if isOwn {
		spec := *own.DeepCopy()
		spec.SetDefaults()
		cal, err := policy.CompileCalendar(spec, "spec.when.calendar")
		if err != nil {
			ck.errs = append(ck.errs, unjoin(err)...)
			return nil
		}
		return &resolvedCalendar{spec: spec, cal: cal, key: calendarKey(spec)}
	}
	if !tenantOK {
		return nil
	}
	if rc, ok := c.defaults[tenantID]; ok {
		return rc
	}
	var spec v1alpha1.BusinessCalendar
	t, declared := c.tenants[tenantID]
	switch {
	case declared && t.Spec.Calendar != nil:
		spec = *t.Spec.Calendar.DeepCopy()
	default:
		spec = v1alpha1.BusinessCalendar{
			TimeZone:     t.Spec.TimeZone,
			WorkingHours: []v1alpha1.WorkingHours{{Days: []v1alpha1.Weekday{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "18:00"}},
		}
	}
	spec.SetDefaults()
	cal, err := policy.CompileCalendar(spec, "spec.calendar")
	if err != nil {
		// The tenant's calendar and time zone were checked when its
		// document was read; this is only reachable through Compile
		// with tenants that were not.
		ck.fail("spec.when.businessHours", "the calendar of tenant %s cannot be used: %v", tenantID, err)
		return nil
	}
	rc := &resolvedCalendar{spec: spec, cal: cal, key: calendarKey(spec)}
	c.defaults[tenantID] = rc
	return rc
}

func calendarKey(c v1alpha1.BusinessCalendar) string {
	b, _ := json.Marshal(c) // a struct of strings and slices: cannot fail
	return string(b)
}

func (c *compiler) checkThen(ck *ruleChecker, a *v1alpha1.RoutingActions, tenantID string, tenantOK bool) {
	if a.Group == "" && len(a.RequireSkills) == 0 && len(a.AddTags) == 0 && a.PriorityAtLeast == "" && len(a.SetCustomFields) == 0 {
		ck.fail("spec.then", "sets nothing; accepted: at least one of group, requireSkills, addTags, priorityAtLeast, setCustomFields")
	}
	if a.Group != "" {
		switch {
		case len(a.Group) > maxGroupLen || !groupPattern.MatchString(a.Group):
			ck.fail("spec.then.group", "%q is not a group ID; accepted: a DNS label (lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)", a.Group)
		case c.cat != nil && tenantOK:
			groups := c.catalogue(c.groups, tenantID, c.cat.Groups)
			if !slices.Contains(groups, a.Group) {
				if len(groups) == 0 {
					ck.fail("spec.then.group", "%q is not a group of tenant %s; accepted: a group of the tenant (it has none yet: create one with POST /v1/groups)", a.Group, tenantID)
				} else {
					ck.fail("spec.then.group", "%q is not a group of tenant %s; accepted: one of %s", a.Group, tenantID, list(groups))
				}
			}
		}
	}
	if len(a.RequireSkills) > maxSkills {
		ck.fail("spec.then.requireSkills", "has %d items; accepted: at most %d", len(a.RequireSkills), maxSkills)
	}
	for i := range a.RequireSkills {
		sk := &a.RequireSkills[i]
		path := fmt.Sprintf("spec.then.requireSkills[%d]", i)
		switch {
		case !skillPattern.MatchString(sk.Name):
			ck.fail(path+".name", "%q is not a skill name; accepted: a lower-case letter, then up to 39 lower-case letters, digits, '_' or '-'", sk.Name)
		case slices.IndexFunc(a.RequireSkills, func(o v1alpha1.SkillRequirement) bool { return o.Name == sk.Name }) < i:
			ck.fail(path+".name", "%q is required twice; accepted: each skill once, at the lowest level that will do", sk.Name)
		case c.cat != nil && tenantOK:
			skills := c.catalogue(c.skills, tenantID, c.cat.Skills)
			if !slices.Contains(skills, sk.Name) {
				if len(skills) == 0 {
					ck.fail(path+".name", "%q is not a skill of any agent of tenant %s; accepted: a skill some agent has (none has any yet: set them with PATCH /v1/agents/{id})", sk.Name, tenantID)
				} else {
					ck.fail(path+".name", "%q is not a skill of any agent of tenant %s; accepted: one of %s", sk.Name, tenantID, list(skills))
				}
			}
		}
		if sk.MinLevel < 0 || sk.MinLevel > 5 {
			ck.fail(path+".minLevel", "%d is out of range; accepted: 1 to 5 (0 or unset: 1)", sk.MinLevel)
		}
		if sk.MinLevel == 0 {
			sk.MinLevel = 1
		}
	}
	if len(a.AddTags) > maxAddTags {
		ck.fail("spec.then.addTags", "has %d items; accepted: at most %d", len(a.AddTags), maxAddTags)
	}
	for i, t := range a.AddTags {
		checkTag(ck, fmt.Sprintf("spec.then.addTags[%d]", i), t)
	}
	if a.PriorityAtLeast != "" {
		if _, ok := priorityNumber(a.PriorityAtLeast); !ok {
			ck.fail("spec.then.priorityAtLeast", "%q is not a priority; accepted: P1, P2, P3, P4, P5", a.PriorityAtLeast)
		}
	}
	if len(a.SetCustomFields) > maxSetCustomFields {
		ck.fail("spec.then.setCustomFields", "sets %d fields; accepted: at most %d", len(a.SetCustomFields), maxSetCustomFields)
	}
	for _, k := range slices.Sorted(maps.Keys(a.SetCustomFields)) {
		path := fmt.Sprintf("spec.then.setCustomFields[%s]", k)
		checkFieldName(ck, path, k)
		if n := utf8.RuneCountInString(a.SetCustomFields[k]); n > maxFieldValueLen {
			ck.fail(path, "has %d characters; accepted: at most %d", n, maxFieldValueLen)
		}
	}
}

// catalogue asks the catalogue once per tenant and file.
func (c *compiler) catalogue(cache map[string][]string, tenantID string, ask func(string) []string) []string {
	names, ok := cache[tenantID]
	if !ok {
		names = slices.Sorted(slices.Values(ask(tenantID)))
		names = slices.Compact(names)
		cache[tenantID] = names
	}
	return names
}

// list names the accepted values, the first 30 of a longer list.
func list(names []string) string {
	const show = 30
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:show], ", "), len(names)-show)
}

// checkText refuses an empty or too long entry.
func checkText(ck *ruleChecker, path, s string, limit int, what string) bool {
	if strings.TrimSpace(s) == "" {
		ck.fail(path, "is empty; accepted: %s, at most %d characters", what, limit)
		return false
	}
	if n := utf8.RuneCountInString(s); n > limit {
		ck.fail(path, "has %d characters; accepted: at most %d", n, limit)
		return false
	}
	return true
}

// checkTag refuses what a ticket cannot carry as a tag: tickets' tags are
// trimmed, 1 to 100 characters.
func checkTag(ck *ruleChecker, path, t string) bool {
	switch {
	case strings.TrimSpace(t) == "":
		ck.fail(path, "is empty; accepted: a tag of 1 to %d characters", maxTagLen)
	case strings.TrimSpace(t) != t:
		ck.fail(path, "%q has spaces around it; accepted: a tag as tickets carry it, trimmed", t)
	case utf8.RuneCountInString(t) > maxTagLen:
		ck.fail(path, "has %d characters; accepted: at most %d", utf8.RuneCountInString(t), maxTagLen)
	default:
		return true
	}
	return false
}

func checkFieldName(ck *ruleChecker, path, k string) bool {
	if !fieldPattern.MatchString(k) {
		ck.fail(path, "%q is not a custom field name; accepted: a letter, then up to 62 letters, digits, '_', '.' or '-'", k)
		return false
	}
	return true
}

// parseRequester reads one spec.when.requesters entry.
func parseRequester(ck *ruleChecker, path, s string) (requester, bool) {
	bad := func() (requester, bool) {
		ck.fail(path, "%q is not a requester; accepted: an e-mail address (bob@example.com), a whole domain (*@example.com), a channel identity (wechat:oAbc123) or a contact (contact:ID), at most %d characters", s, maxRequesterLen)
		return requester{}, false
	}
	if len(s) > maxRequesterLen {
		return bad()
	}
	if identityPattern.MatchString(s) {
		scheme, value, _ := strings.Cut(s, ":")
		switch scheme {
		case "contact":
			return requester{written: s, kind: requesterContact, value: value}, true
		case "email":
			if !bareAddress(value) {
				return bad()
			}
			return requester{written: s, kind: requesterEmail, value: value}, true
		}
		return requester{written: s, kind: requesterIdentity, value: s}, true
	}
	if domain, ok := strings.CutPrefix(s, "*@"); ok {
		if !bareAddress("x@" + domain) {
			return bad()
		}
		return requester{written: s, kind: requesterDomain, value: domain}, true
	}
	if !bareAddress(s) {
		return bad()
	}
	return requester{written: s, kind: requesterEmail, value: s}, true
}

// bareAddress reports whether s is an e-mail address alone, without a
// display name or angle brackets.
func bareAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func joinChannels() string {
	names := make([]string, len(channels))
	for i, c := range channels {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// unjoin flattens an errors.Join tree into its leaves.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
