package ticket

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// ParseFilter reads the ListTickets filter, a small subset of AIP-160: a
// conjunction of comparisons joined by AND, each `field = value` or
// `field = (value OR value ...)`, with `:` accepted for `=`. Values are bare
// words or double-quoted strings (`assignee = "李娜"`). Fields: status,
// priority, channel, assignee, group, requester (email or identity), tag
// and sla (the summary state of the ticket's SLA: ok, warning, breached,
// paused, met, or none for tickets without SLA clocks), contact (the
// requester's contact ID) and number (`number = 1042`, or `#1042`).
func ParseFilter(s string) (Filter, error) {
	var f Filter
	p := filterParser{in: []rune(s)}
	if p.skipSpace(); p.eof() {
		return f, nil
	}
	for {
		field, values, err := p.comparison()
		if err != nil {
			return Filter{}, err
		}
		if err := f.add(field, values); err != nil {
			return Filter{}, err
		}
		if p.skipSpace(); p.eof() {
			return f, nil
		}
		if w := p.word(); w != "AND" {
			return Filter{}, p.errorf("expected AND between comparisons, found %q", w)
		}
	}
}

func (f *Filter) add(field string, values []string) error {
	for _, v := range values {
		var err error
		switch field {
		case "status":
			var s Status
			s, err = ParseStatus(v)
			f.Statuses = append(f.Statuses, s)
		case "priority":
			var p Priority
			p, err = ParsePriority(v)
			f.Priorities = append(f.Priorities, p)
		case "channel":
			var c Channel
			c, err = ParseChannel(v)
			f.Channels = append(f.Channels, c)
		case "assignee":
			f.Assignees = append(f.Assignees, v)
		case "group":
			f.Groups = append(f.Groups, v)
		case "requester":
			f.Requesters = append(f.Requesters, v)
		case "contact":
			f.Contacts = append(f.Contacts, v)
		case "number":
			var n int64
			n, err = parseNumber(v)
			f.Numbers = append(f.Numbers, n)
		case "tag", "tags":
			f.Tags = append(f.Tags, v)
		case "sla":
			var st SLAState
			st, err = ParseSLAState(v)
			f.SLAStates = append(f.SLAStates, st)
		default:
			return fmt.Errorf("filter: unknown field %q; accepted: status, priority, channel, assignee, group, requester, contact, number, tag, sla", field)
		}
		if err != nil {
			return fmt.Errorf("filter: %s: %w", field, err)
		}
	}
	return nil
}

// IsZero reports whether the filter restricts nothing.
func (f Filter) IsZero() bool {
	return len(f.Statuses)+len(f.Priorities)+len(f.Channels)+len(f.Assignees)+
		len(f.Groups)+len(f.Requesters)+len(f.Contacts)+len(f.Numbers)+len(f.Tags)+len(f.SLAStates) == 0
}

// parseNumber reads a ticket number, "1042" or "#1042".
func parseNumber(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || n < 1 || strings.HasPrefix(s, "#+") || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a ticket number; accepted: a positive integer such as 1042 or #1042", s)
	}
	return n, nil
}

type filterParser struct {
	in  []rune
	pos int
}

func (p *filterParser) eof() bool { return p.pos >= len(p.in) }

func (p *filterParser) skipSpace() {
	for !p.eof() && unicode.IsSpace(p.in[p.pos]) {
		p.pos++
	}
}

func (p *filterParser) errorf(format string, args ...any) error {
	return fmt.Errorf("filter: at character %d: %s", p.pos+1, fmt.Sprintf(format, args...))
}

// comparison reads `field = value` or `field = (v1 OR v2 ...)`.
func (p *filterParser) comparison() (string, []string, error) {
	p.skipSpace()
	field := strings.ToLower(p.word())
	if field == "" {
		return "", nil, p.errorf("expected a field name")
	}
	p.skipSpace()
	if p.eof() || (p.in[p.pos] != '=' && p.in[p.pos] != ':') {
		return "", nil, p.errorf("expected = after %q", field)
	}
	p.pos++
	p.skipSpace()
	if p.eof() || p.in[p.pos] != '(' {
		v, err := p.value()
		return field, []string{v}, err
	}
	p.pos++
	var values []string
	for {
		v, err := p.value()
		if err != nil {
			return "", nil, err
		}
		values = append(values, v)
		p.skipSpace()
		if !p.eof() && p.in[p.pos] == ')' {
			p.pos++
			return field, values, nil
		}
		if w := p.word(); w != "OR" {
			return "", nil, p.errorf("expected OR or ) in the list of %s values, found %q", field, w)
		}
	}
}

// word reads a bare token: letters, digits and . _ - @ + / # and a colon that
// is not the comparison operator (as in "wechat:oAbC").
func (p *filterParser) word() string {
	p.skipSpace()
	start := p.pos
	for !p.eof() {
		r := p.in[p.pos]
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || strings.ContainsRune("._-@+/#", r) ||
			(r == ':' && p.pos > start && p.pos+1 < len(p.in) && !unicode.IsSpace(p.in[p.pos+1]) && p.isValueContext(start)) {
			p.pos++
			continue
		}
		break
	}
	return string(p.in[start:p.pos])
}

// isValueContext reports whether the word starting at start follows an
// operator, so a colon inside it is part of the value (requester =
// wechat:oAbC) rather than the operator (tag:vip).
func (p *filterParser) isValueContext(start int) bool {
	i := start - 1
	for i >= 0 && unicode.IsSpace(p.in[i]) {
		i--
	}
	return i >= 0 && (p.in[i] == '=' || p.in[i] == ':' || p.in[i] == '(') ||
		(i >= 1 && string(p.in[i-1:i+1]) == "OR")
}

// value reads a bare word or a double-quoted string with \" and \\ escapes.
func (p *filterParser) value() (string, error) {
	p.skipSpace()
	if p.eof() {
		return "", p.errorf("expected a value")
	}
	if p.in[p.pos] != '"' {
		if w := p.word(); w != "" {
			return w, nil
		}
		return "", p.errorf("expected a value, found %q", string(p.in[p.pos]))
	}
	p.pos++
	var b strings.Builder
	for !p.eof() {
		r := p.in[p.pos]
		p.pos++
		switch r {
		case '"':
			return b.String(), nil
		case '\\':
			if p.eof() {
				return "", p.errorf("unfinished escape in quoted value")
			}
			b.WriteRune(p.in[p.pos])
			p.pos++
		default:
			b.WriteRune(r)
		}
	}
	return "", p.errorf("quoted value is not closed")
}
