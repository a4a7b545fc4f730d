package ticket

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Change is one field's old and new value.
//
// Old and New hold the values typed as the field is (see FieldValue), so
// that followers of the event stream act on them without parsing text:
// string for subject, description, group and assignee; Status; int for
// impact and urgency; Priority; Channel; Requester; []string for tags;
// map[string]string for custom fields; SLAState for "sla.<clock>" (SLANone
// where the ticket has no such clock). A value recorded as text by an older
// version, which cannot be read back without doubt, is Unparsed.
type Change struct {
	Field string
	Old   any
	New   any
}

// Unparsed is a change's value as an older version of the service recorded
// it (display text), when it cannot be read back as its field's type
// without doubt: tags or custom fields that may hold a comma, a requester
// whose parts were joined with spaces.
type Unparsed string

// The field names of changes that are not update-mask paths.
const (
	// FieldPriority: impact or urgency moved the priority.
	FieldPriority = "priority"
	// FieldSLAPrefix starts the field of an SLA clock's change.
	FieldSLAPrefix = "sla."
)

// FieldValue returns the value of a field of t as a Change holds it, and
// false for a name that is no field of a ticket.
func (t Ticket) FieldValue(field string) (any, bool) {
	switch field {
	case "subject":
		return t.Subject, true
	case "description":
		return t.Description, true
	case "status":
		return t.Status, true
	case "impact":
		return t.Impact, true
	case "urgency":
		return t.Urgency, true
	case FieldPriority:
		return t.Priority, true
	case "channel":
		return t.Channel, true
	case "requester":
		return t.Requester, true
	case "group":
		return t.Group, true
	case "assignee":
		return t.Assignee, true
	case "tags":
		return t.Tags, true
	case "custom_fields":
		return t.CustomFields, true
	}
	if clock, ok := strings.CutPrefix(field, FieldSLAPrefix); ok {
		cs, _ := t.SLA.Clock(SLAClock(clock))
		return cs.State, true
	}
	return nil, false
}

// DecodeChangeValue reads a change's value of field from JSON written by
// json.Marshal of the typed value (the store's event rows).
func DecodeChangeValue(field string, data []byte) (any, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var err error
	decode := func(v any) { err = json.Unmarshal(data, v) }
	var v any
	switch field {
	case "subject", "description", "group", "assignee":
		var s string
		decode(&s)
		v = s
	case "status":
		var s Status
		decode(&s)
		v = s
	case "impact", "urgency":
		var n int
		decode(&n)
		v = n
	case FieldPriority:
		var p Priority
		decode(&p)
		v = p
	case "channel":
		var c Channel
		decode(&c)
		v = c
	case "requester":
		var r Requester
		decode(&r)
		v = r
	case "tags":
		tags := []string{}
		decode(&tags)
		v = tags
	case "custom_fields":
		fields := map[string]string{}
		decode(&fields)
		v = fields
	default:
		if strings.HasPrefix(field, FieldSLAPrefix) {
			var s SLAState
			decode(&s)
			v = s
		} else {
			decode(&v) // a field this version does not know: keep it as JSON decodes it
		}
	}
	if err != nil {
		return nil, fmt.Errorf("change of %s: %w", field, err)
	}
	return v, nil
}

// ChangeText renders a change's value as display text, the form events
// carried before changes were typed: "P2" for a priority, tags joined with
// commas, custom fields as "k1=v1,k2=v2" (keys sorted), a requester's name,
// email and identity joined with spaces.
func ChangeText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case Unparsed:
		return string(v)
	case Status:
		return string(v)
	case Channel:
		return string(v)
	case SLAState:
		return string(v)
	case int:
		return strconv.Itoa(v)
	case Priority:
		return v.String()
	case Requester:
		return formatRequester(v)
	case []string:
		return strings.Join(v, ",")
	case map[string]string:
		return formatFields(v)
	}
	return fmt.Sprint(v)
}

// ParseChangeText reads a change recorded as text by an older version of
// the service (see ChangeText), given the ticket after the change: a new
// value whose text is that of the ticket's own value is taken from the
// ticket, exactly. A value the text does not tell without doubt is
// Unparsed.
func ParseChangeText(field, oldText, newText string, after Ticket) Change {
	c := Change{Field: field, Old: parseChangeText(field, oldText)}
	if v, ok := after.FieldValue(field); ok && ChangeText(v) == newText {
		c.New = v
	} else {
		c.New = parseChangeText(field, newText)
	}
	return c
}

func parseChangeText(field, s string) any {
	switch field {
	case "subject", "description", "group", "assignee":
		return s
	case "status":
		if st := Status(s); slices.Contains(Statuses, st) {
			return st
		}
	case "impact", "urgency":
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	case FieldPriority:
		if p, err := ParsePriority(s); err == nil {
			return p
		}
	case "channel":
		if c := Channel(s); slices.Contains(Channels, c) {
			return c
		}
	case "requester":
		// Name, email and identity joined with spaces, and a name holds
		// spaces: never sure.
	case "tags":
		// A tag may hold a comma: only a text without one is sure.
		switch {
		case s == "":
			return []string{}
		case !strings.Contains(s, ","):
			return []string{s}
		}
	case "custom_fields":
		if m, ok := parseFields(s); ok {
			return m
		}
	default:
		if strings.HasPrefix(field, FieldSLAPrefix) {
			return SLAState(s)
		}
		return s
	}
	return Unparsed(s)
}

// parseFields reads custom fields as formatFields wrote them; ok is false
// when a key or value may have held a comma or an equals sign.
func parseFields(s string) (map[string]string, bool) {
	m := map[string]string{}
	if s == "" {
		return m, true
	}
	for part := range strings.SplitSeq(s, ",") {
		k, v, hasEq := strings.Cut(part, "=")
		if !hasEq || k == "" || strings.Contains(v, "=") {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = v
	}
	return m, true
}

func formatRequester(r Requester) string {
	return strings.Join(slices.DeleteFunc([]string{r.Name, r.Email, r.Identity}, func(s string) bool { return s == "" }), " ")
}

func formatFields(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
