package store

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
)

var typeNames = map[channelv1.IdentityType]string{
	channelv1.IdentityType_IDENTITY_TYPE_EMAIL:    "email",
	channelv1.IdentityType_IDENTITY_TYPE_PHONE:    "phone",
	channelv1.IdentityType_IDENTITY_TYPE_WECHAT:   "wechat",
	channelv1.IdentityType_IDENTITY_TYPE_WEB:      "web",
	channelv1.IdentityType_IDENTITY_TYPE_EXTERNAL: "external",
}

// TypeName is the short name of an identity type ("wechat"), as filters
// and messages write it; "unspecified" for none.
func TypeName(t channelv1.IdentityType) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "unspecified"
}

// ParseTypeName reads a short type name ("phone"); false for others.
func ParseTypeName(s string) (channelv1.IdentityType, bool) {
	for t, n := range typeNames {
		if n == s {
			return t, true
		}
	}
	return 0, false
}

// TypeNames lists the short type names, for messages.
const TypeNames = "email, phone, wechat, web, external"

// NormalizeIdentity returns id in the form it is stored and compared in:
// an email trimmed, lower-cased and checked; a phone number in E.164 (+
// and 8 to 15 digits; spaces, dashes, dots and parentheses dropped); any
// other value trimmed, 1 to 128 printable characters. The error says what
// is accepted; the caller prefixes the field.
func NormalizeIdentity(id Identity) (Identity, error) {
	v := strings.TrimSpace(id.Value)
	switch id.Type {
	case channelv1.IdentityType_IDENTITY_TYPE_EMAIL:
		e, err := NormalizeEmail(v)
		if err != nil {
			return Identity{}, err
		}
		id.Value = e
	case channelv1.IdentityType_IDENTITY_TYPE_PHONE:
		p, ok := normalizePhone(v)
		if !ok {
			return Identity{}, fmt.Errorf("%q is not a phone number; accepted: E.164, e.g. +8613800000000", id.Value)
		}
		id.Value = p
	case channelv1.IdentityType_IDENTITY_TYPE_WECHAT, channelv1.IdentityType_IDENTITY_TYPE_WEB, channelv1.IdentityType_IDENTITY_TYPE_EXTERNAL:
		if n := utf8.RuneCountInString(v); n == 0 || n > 128 || !utf8.ValidString(v) || strings.IndexFunc(v, notPrintable) >= 0 {
			return Identity{}, fmt.Errorf("%q is not a %s ID; accepted: 1 to 128 printable characters", id.Value, TypeName(id.Type))
		}
		id.Value = v
	default:
		return Identity{}, fmt.Errorf("type %s is not an identity type; accepted: %s", id.Type, TypeNames)
	}
	return id, nil
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) }

// NormalizeEmail trims and lower-cases an email address and checks that
// it is one: a bare addr-spec (no display name) with a domain.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(e)
	at := strings.LastIndexByte(e, '@')
	if err != nil || a.Address != e || a.Name != "" || at <= 0 || len(e) > 254 {
		return "", fmt.Errorf("%q is not an email address; accepted: an address such as li.na@example.com", s)
	}
	if _, err := NormalizeDomain(e[at+1:]); err != nil {
		return "", fmt.Errorf("%q is not an email address; accepted: an address such as li.na@example.com", s)
	}
	return e, nil
}

func normalizePhone(s string) (string, bool) {
	if !strings.HasPrefix(s, "+") {
		return "", false
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", false
		}
	}
	out := b.String()
	if n := len(out) - 1; n < 8 || n > 15 || out[1] == '0' {
		return "", false
	}
	return out, true
}

// NormalizeDomain trims and lower-cases a DNS name and checks it: labels
// of letters, digits and hyphens (1 to 63, no hyphen at either end), at
// least two of them, 253 characters at most, a final label that is not
// all digits.
func NormalizeDomain(s string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	bad := fmt.Errorf("%q is not a domain name; accepted: a DNS name such as example.com", s)
	if len(d) == 0 || len(d) > 253 {
		return "", bad
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", bad
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", bad
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return "", bad
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", bad
	}
	return d, nil
}

// EmailDomain is the domain of a normalised email address.
func EmailDomain(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}
