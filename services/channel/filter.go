package channel

import (
	"fmt"
	"strings"
	"unicode"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
)

// comparison is one `field op value` of a filter.
type comparison struct {
	field, op, value string
}

// parseFilter reads a small subset of AIP-160: comparisons `field = value`
// or `field : value` joined by AND. Values are bare words (anything up to
// the next space) or double-quoted strings with \" and \\ escapes. Each
// field may appear once.
func parseFilter(s string) ([]comparison, error) {
	in := []rune(s)
	pos := 0
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("filter: at character %d: %s", pos+1, fmt.Sprintf(format, args...))
	}
	skip := func() {
		for pos < len(in) && unicode.IsSpace(in[pos]) {
			pos++
		}
	}
	word := func(ok func(rune) bool) string {
		start := pos
		for pos < len(in) && ok(in[pos]) {
			pos++
		}
		return string(in[start:pos])
	}
	var out []comparison
	seen := map[string]bool{}
	for {
		skip()
		if pos >= len(in) {
			if len(out) > 0 {
				return nil, errorf("expected a comparison after AND")
			}
			return nil, nil
		}
		field := strings.ToLower(word(func(r rune) bool { return r < unicode.MaxASCII && (unicode.IsLetter(r) || r == '_') }))
		if field == "" {
			return nil, errorf("expected a field name, found %q", string(in[pos]))
		}
		skip()
		if pos >= len(in) || (in[pos] != '=' && in[pos] != ':') {
			return nil, errorf("expected = or : after %q", field)
		}
		op := string(in[pos])
		pos++
		skip()
		if pos >= len(in) {
			return nil, errorf("expected a value after %s %s", field, op)
		}
		var value string
		if in[pos] == '"' {
			pos++
			var b strings.Builder
			closed := false
			for pos < len(in) && !closed {
				r := in[pos]
				pos++
				switch r {
				case '"':
					closed = true
				case '\\':
					if pos >= len(in) {
						return nil, errorf("unfinished escape in quoted value")
					}
					b.WriteRune(in[pos])
					pos++
				default:
					b.WriteRune(r)
				}
			}
			if !closed {
				return nil, errorf("quoted value is not closed")
			}
			value = b.String()
		} else {
			value = word(func(r rune) bool { return !unicode.IsSpace(r) })
		}
		if seen[field] {
			return nil, fmt.Errorf("filter: %s is compared twice; accepted: each field once", field)
		}
		seen[field] = true
		out = append(out, comparison{field: field, op: op, value: value})
		skip()
		if pos >= len(in) {
			return out, nil
		}
		at := pos
		if w := word(func(r rune) bool { return !unicode.IsSpace(r) }); w != "AND" {
			pos = at
			return nil, errorf("expected AND between comparisons, found %q", w)
		}
	}
}

const contactFilterFields = "email, identity, organization, tier, name, merged"

// contactQuery reads ListContacts' filter into a store query.
func contactQuery(filter string) (store.ContactQuery, error) {
	cs, err := parseFilter(filter)
	if err != nil {
		return store.ContactQuery{}, err
	}
	var q store.ContactQuery
	for _, c := range cs {
		switch c.field {
		case "email":
			id, err := store.NormalizeIdentity(store.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_EMAIL, Value: c.value})
			if err != nil {
				return q, fmt.Errorf("filter: email: %w", err)
			}
			q.Identity = &id
		case "identity":
			typ, value, ok := strings.Cut(c.value, ":")
			t, known := store.ParseTypeName(strings.ToLower(typ))
			if !ok || !known {
				return q, fmt.Errorf("filter: identity: %q names no identity type; accepted: TYPE:VALUE with TYPE one of %s, e.g. wechat:oAbC123", c.value, store.TypeNames)
			}
			id, err := store.NormalizeIdentity(store.Identity{Type: t, Value: value})
			if err != nil {
				return q, fmt.Errorf("filter: identity: %w", err)
			}
			q.Identity = &id
		case "organization":
			q.OrganizationID = c.value
		case "tier":
			q.Tier = c.value
		case "name":
			q.NameContains = c.value
		case "merged":
			switch strings.ToLower(c.value) {
			case "true":
				q.Merged = new(bool)
				*q.Merged = true
			case "false":
				q.Merged = new(bool)
			default:
				return q, fmt.Errorf("filter: merged: %q is not true or false; accepted: merged = true, merged = false", c.value)
			}
		default:
			return q, fmt.Errorf("filter: unknown field %q; accepted: %s", c.field, contactFilterFields)
		}
	}
	if seenBoth(cs, "email", "identity") {
		return q, fmt.Errorf("filter: email and identity both name an identity; accepted: one of them")
	}
	return q, nil
}

func seenBoth(cs []comparison, a, b string) bool {
	var x, y bool
	for _, c := range cs {
		x, y = x || c.field == a, y || c.field == b
	}
	return x && y
}

// orgQuery reads ListOrganizations' filter.
func orgQuery(filter string) (store.OrganizationQuery, error) {
	cs, err := parseFilter(filter)
	if err != nil {
		return store.OrganizationQuery{}, err
	}
	var q store.OrganizationQuery
	for _, c := range cs {
		switch c.field {
		case "name":
			q.NameContains = c.value
		case "domain":
			q.Domain = strings.ToLower(strings.TrimSpace(c.value))
		case "tier":
			q.Tier = c.value
		default:
			return q, fmt.Errorf("filter: unknown field %q; accepted: name, domain, tier", c.field)
		}
	}
	return q, nil
}
