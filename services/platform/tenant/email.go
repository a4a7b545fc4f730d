package tenant

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kubedesk/kubedesk/operator/api/mailtemplate"
	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// The limits of spec.channels.email, as the CRD schema sets them.
const (
	maxInbound      = 100
	maxAddressChars = 254
	maxGroupChars   = 200
	maxFromChars    = 512
)

var emailAddressPattern = regexp.MustCompile(v1alpha1.EmailAddressPattern)

// validateEmail checks spec.channels.email as the API server does (the
// schema's limits, patterns and unique addresses) and, beyond it, that
// from parses as an RFC 5322 address and that every template parses and
// names only placeholders that exist (mailtemplate.Check, as the operator
// checks them). Each error names its field path.
func validateEmail(e v1alpha1.EmailChannelSpec) []error {
	const path = "spec.channels.email"
	var errs []error
	if n := len(e.Inbound); n > maxInbound {
		errs = append(errs, fmt.Errorf("%s.inbound: has %d addresses; accepted: at most %d", path, n, maxInbound))
	}
	first := make(map[string]int, len(e.Inbound))
	for i, in := range e.Inbound {
		field := fmt.Sprintf("%s.inbound[%d]", path, i)
		if err := checkInboundAddress(in.Address); err != nil {
			errs = append(errs, fmt.Errorf("%s.address: %w", field, err))
		} else if j, dup := first[in.Address]; dup {
			errs = append(errs, fmt.Errorf("%s.address: %q is listed twice (first at %s.inbound[%d]); accepted: each address once", field, in.Address, path, j))
		} else {
			first[in.Address] = i
		}
		if n := utf8.RuneCountInString(in.Group); n > maxGroupChars {
			errs = append(errs, fmt.Errorf("%s.group: has %d characters; accepted: at most %d", field, n, maxGroupChars))
		}
	}
	if e.From != "" {
		if err := checkFrom(e.From); err != nil {
			errs = append(errs, fmt.Errorf("%s.from: %w", path, err))
		}
	}
	if e.DefaultLocale != "" && !localePattern.MatchString(e.DefaultLocale) {
		errs = append(errs, fmt.Errorf("%s.defaultLocale: %q is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en, zh-CN, zh-Hans-CN", path, e.DefaultLocale))
	}
	return append(errs, mailtemplate.Check(path+".templates", e.Templates)...)
}

// checkInboundAddress checks one inbound address against the schema.
func checkInboundAddress(addr string) error {
	if n := utf8.RuneCountInString(addr); n > maxAddressChars {
		return fmt.Errorf("has %d characters; accepted: at most %d", n, maxAddressChars)
	}
	if !emailAddressPattern.MatchString(addr) {
		return fmt.Errorf("%q is not a lower-case e-mail address; accepted: local-part@domain in lower case, without a name or angle brackets, e.g. support@acme.example", addr)
	}
	return nil
}

// checkFrom checks the sender of replies: one line, one RFC 5322 address.
func checkFrom(from string) error {
	if n := utf8.RuneCountInString(from); n > maxFromChars {
		return fmt.Errorf("has %d characters; accepted: at most %d", n, maxFromChars)
	}
	if strings.ContainsAny(from, "\r\n") {
		return fmt.Errorf("%q spans more than one line; accepted: one address, e.g. Acme Support <support@acme.example>", from)
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return fmt.Errorf("%q is not an RFC 5322 address (%w); accepted: one address, e.g. Acme Support <support@acme.example> or support@acme.example", from, err)
	}
	return nil
}
