package mail

import (
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// headerDecoder turns raw header values into UTF-8 text and collects the
// warnings that come up on the way.
type headerDecoder struct {
	warn func(string)
}

// text decodes a raw header value: raw 8-bit bytes (UTF-8, else GB18030,
// else U+FFFD) and then RFC 2047 encoded words.
func (d headerDecoder) text(field, raw string) string {
	return decodeWords(d.utf8(field, raw), d.warnf(field))
}

// utf8 converts the raw bytes of a header value to UTF-8.
func (d headerDecoder) utf8(field, raw string) string {
	s, ok := guessText([]byte(raw))
	if !ok {
		d.warn(fmt.Sprintf("%s: invalid 8-bit bytes replaced with U+FFFD", field))
	}
	return s
}

func (d headerDecoder) warnf(field string) func(string) {
	return func(w string) { d.warn(field + ": " + w) }
}

// addressParser parses address lists with encoded words already quoted by
// quoteWords; its word decoder only ever sees what quoteWords left alone.
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(label string, r io.Reader) (io.Reader, error) {
		b, err := io.ReadAll(io.LimitReader(r, 1<<16))
		if err != nil {
			return nil, fmt.Errorf("read encoded word: %w", err)
		}
		s, _ := decodeCharset(label, b)
		return strings.NewReader(s), nil
	},
}}

// addresses parses an address list header. It never fails: a list net/mail
// rejects is split at commas and each item is read leniently; items that
// still cannot be read are left out with a warning.
func (d headerDecoder) addresses(field, raw string) []Address {
	s := quoteWords(d.utf8(field, raw), d.warnf(field))
	if strings.TrimSpace(s) == "" {
		return nil
	}
	if list, err := addressParser.ParseList(s); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			if addr, ok := normalizeAddress(a.Name, a.Address); ok {
				out = append(out, addr)
			}
		}
		return out
	}
	var out []Address
	for _, item := range splitAddressList(s) {
		if strings.TrimSpace(item) == "" {
			continue
		}
		if a, ok := parseOneAddress(item); ok {
			out = append(out, a)
			continue
		}
		d.warn(fmt.Sprintf("%s: cannot read address %q: left out", field, clip(strings.TrimSpace(item), 80)))
	}
	return out
}

// parseOneAddress reads one mailbox: net/mail first, then "Name <a@b>" or
// a bare "a@b" taken as they come.
func parseOneAddress(s string) (Address, bool) {
	if a, err := addressParser.Parse(s); err == nil {
		return normalizeAddress(a.Name, a.Address)
	}
	s = strings.TrimSpace(s)
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 {
		gt := strings.IndexByte(s[lt:], '>')
		if gt < 0 {
			return Address{}, false
		}
		name := strings.TrimSpace(s[:lt])
		name = strings.TrimSpace(strings.Trim(name, `"`))
		name = strings.ReplaceAll(name, `\"`, `"`)
		return normalizeAddress(name, s[lt+1:lt+gt])
	}
	if !strings.ContainsAny(s, " \t\"<>,;") {
		return normalizeAddress("", s)
	}
	return Address{}, false
}

// normalizeAddress trims the parts and lower-cases the domain; ok is false
// for an address without a local part or domain.
func normalizeAddress(name, email string) (Address, bool) {
	email = strings.TrimSpace(email)
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>,;") {
		return Address{}, false
	}
	return Address{
		Name:  strings.TrimSpace(name),
		Email: email[:at] + "@" + strings.ToLower(email[at+1:]),
	}, true
}

// splitAddressList splits at commas outside quotes, comments and <>.
func splitAddressList(s string) []string {
	var out []string
	inQuote, depth, angle, start := false, 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"' && depth == 0:
			inQuote = !inQuote
		case c == '(' && !inQuote:
			depth++
		case c == ')' && !inQuote && depth > 0:
			depth--
		case c == '<' && !inQuote && depth == 0:
			angle = true
		case c == '>' && !inQuote && depth == 0:
			angle = false
		case (c == ',' || c == ';') && !inQuote && depth == 0 && !angle:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// messageIDs returns the ids of a Message-ID, In-Reply-To or References
// header without <>, in order. Ids without brackets are taken as the
// white-space separated words that hold an "@".
func messageIDs(s string) []string {
	var out []string
	rest := s
	for {
		lt := strings.IndexByte(rest, '<')
		if lt < 0 {
			break
		}
		gt := strings.IndexByte(rest[lt:], '>')
		if gt < 0 {
			break
		}
		if id := strings.TrimSpace(rest[lt+1 : lt+gt]); id != "" && !strings.ContainsAny(id, " \t<") {
			out = append(out, id)
		}
		rest = rest[lt+gt+1:]
	}
	if len(out) > 0 {
		return out
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		f = strings.Trim(f, "<>")
		if strings.Contains(f, "@") {
			out = append(out, f)
		}
	}
	return out
}

// dateLayouts are tried after net/mail.ParseDate, for dates seen in the
// wild that it refuses.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 02 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon Jan 2 15:04:05 2006",
	time.RFC3339,
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
}

// parseDate reads a Date header; ok is false when no layout fits.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// clip shortens s to at most n bytes on a rune boundary, for messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
