package rules

import (
	"fmt"
	"slices"
	"strings"
)

// Rules that can never be reached. A rule is shadowed when an earlier
// rule of its tenant that does not continue matches every ticket it
// matches: evaluation stops at the earlier rule, so the later one never
// runs. Such a set is accepted (the author may be midway through an
// edit) with a warning on the later rule.
//
// The test is conservative: it warns only when the containment follows
// from the two rules' conditions alone, condition by condition, so a
// warning is always right, but some unreachable rules (say, one whose
// conditions only hold together with a third rule's) go unreported. The
// earlier rule a covers the later rule b when every condition a has is
// implied by the same condition of b:
//
//   - a has no conditions at all: it matches every ticket;
//   - channels, priorities, customerTiers (ignoring case), organizations,
//     tags and inboundAddresses (ignoring case): b lists a subset of a's;
//   - customFields: b tests each field a tests, with a subset of a's
//     values;
//   - requesters: each of b's is one of a's, or an address of a domain
//     a lists as *@domain;
//   - keywords: each of b's contains one of a's, by the matching rules
//     themselves (a's "密码" is in b's "重置密码"; a's "password" is a
//     whole word of b's "reset password"; a's "vpn" is not in b's
//     "vpns");
//   - businessHours: b has the same test on the same calendar.
//
// A condition a has and b lacks means a may miss some of b's tickets,
// so b is not reported.

// warnShadowed adds a warning to each rule of rs (one tenant's, in
// evaluation order) that an earlier rule shadows, naming the first such.
func warnShadowed(rs []*Rule) {
	for j, b := range rs {
		for _, a := range rs[:j] {
			if !a.Continue && covers(&a.when, &b.when) {
				b.Warnings = append(b.Warnings, fmt.Sprintf("rule %q is never reached: rule %q (order %d) matches every ticket it matches and does not continue", b.Name, a.Name, a.Order))
				break
			}
		}
	}
}

// covers reports whether every ticket b matches, a matches.
func covers(a, b *compiledWhen) bool {
	if a.always {
		return true
	}
	return subset(a.channels, b.channels, eq) &&
		subset(a.tiers, b.tiers, strings.EqualFold) &&
		subset(a.orgs, b.orgs, eq) &&
		subset(a.priorities, b.priorities, eq) &&
		subset(a.tags, b.tags, eq) &&
		subset(a.inbound, b.inbound, strings.EqualFold) &&
		fieldsCover(a.fields, b.fields) &&
		subset(a.requesters, b.requesters, requesterCovers) &&
		subset(a.keywords, b.keywords, func(ka, kb keywordRef) bool { return ka.pattern.implies(kb.pattern) }) &&
		(a.business == nil || b.business != nil && *a.business == *b.business && a.calendarKey == b.calendarKey)
}

// subset reports whether the list condition a (empty: none) holds
// whenever b holds: b is a non-empty list each of whose items implies
// one of a's.
func subset[T any](a, b []T, implies func(x, y T) bool) bool {
	if len(a) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, y := range b {
		if !slices.ContainsFunc(a, func(x T) bool { return implies(x, y) }) {
			return false
		}
	}
	return true
}

func eq[T comparable](x, y T) bool { return x == y }

func fieldsCover(a, b []fieldCondition) bool {
	for _, fa := range a {
		i := slices.IndexFunc(b, func(fb fieldCondition) bool { return fb.field == fa.field })
		if i < 0 || !subset(fa.values, b[i].values, eq) {
			return false
		}
	}
	return true
}

// requesterCovers reports whether every requester y matches, x matches.
func requesterCovers(x, y requester) bool {
	switch x.kind {
	case requesterEmail:
		return y.kind == requesterEmail && strings.EqualFold(x.value, y.value)
	case requesterDomain:
		switch y.kind {
		case requesterDomain:
			return strings.EqualFold(x.value, y.value)
		case requesterEmail:
			at := strings.LastIndexByte(y.value, '@')
			return strings.EqualFold(y.value[at+1:], x.value)
		}
		return false
	}
	return x.kind == y.kind && x.value == y.value
}
