package smtpout

import (
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// validate checks m before Compose writes anything; errors name the field.
func validate(m Mail) error {
	var errs []error
	if m.From.Email == "" {
		errs = append(errs, errors.New("mail.from: is required"))
	} else if err := checkAddress("mail.from", m.From); err != nil {
		errs = append(errs, err)
	}
	if len(m.To)+len(m.Cc) == 0 {
		errs = append(errs, errors.New("mail.to: at least one recipient (to or cc) is required"))
	}
	for name, list := range map[string][]Address{"mail.to": m.To, "mail.cc": m.Cc, "mail.reply_to": m.ReplyTo} {
		for i, a := range list {
			if err := checkAddress(fmt.Sprintf("%s[%d]", name, i), a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if m.MessageID == "" {
		errs = append(errs, errors.New("mail.message_id: is required; accepted: id-left@id-right without <>, stable across retries"))
	} else if err := checkMsgID("mail.message_id", m.MessageID); err != nil {
		errs = append(errs, err)
	}
	if m.InReplyTo != "" {
		if err := checkMsgID("mail.in_reply_to", m.InReplyTo); err != nil {
			errs = append(errs, err)
		}
	}
	for i, id := range m.References {
		if err := checkMsgID(fmt.Sprintf("mail.references[%d]", i), id); err != nil {
			errs = append(errs, err)
		}
	}
	if !utf8.ValidString(m.Subject) {
		errs = append(errs, errors.New("mail.subject: is not valid UTF-8"))
	}
	if m.Text == "" {
		errs = append(errs, errors.New("mail.text: is required"))
	} else if !utf8.ValidString(m.Text) {
		errs = append(errs, errors.New("mail.text: is not valid UTF-8"))
	}
	if !utf8.ValidString(m.HTML) {
		errs = append(errs, errors.New("mail.html: is not valid UTF-8"))
	}
	for i, a := range m.Attachments {
		errs = append(errs, checkAttachment(fmt.Sprintf("mail.attachments[%d]", i), a)...)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		if err := checkHeader(k, m.Headers[k]); err != nil {
			errs = append(errs, err)
		}
	}
	slices.SortStableFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func checkAddress(field string, a Address) error {
	if a.Email == "" {
		return fmt.Errorf("%s.email: is required", field)
	}
	if !utf8.ValidString(a.Name) {
		return fmt.Errorf("%s.name: is not valid UTF-8", field)
	}
	parsed, err := mail.ParseAddress("<" + a.Email + ">")
	if err != nil || parsed.Address != a.Email || !strings.Contains(a.Email, "@") {
		return fmt.Errorf("%s.email: %q is not an email address; accepted: local@domain", field, a.Email)
	}
	return nil
}

// checkMsgID accepts what RFC 5322 calls id-left "@" id-right, without the
// angle brackets: printable ASCII without spaces, "<" or ">".
func checkMsgID(field, id string) error {
	left, right, ok := strings.Cut(id, "@")
	valid := ok && left != "" && right != "" && !strings.Contains(right, "@")
	for i := 0; valid && i < len(id); i++ {
		c := id[i]
		valid = c > ' ' && c < 0x7f && c != '<' && c != '>' && c != '"' && c != '\\'
	}
	if !valid {
		return fmt.Errorf("%s: %q is not a message ID; accepted: id-left@id-right in printable ASCII, without <> or spaces", field, id)
	}
	return nil
}

func checkAttachment(field string, a Attachment) []error {
	var errs []error
	switch {
	case a.Filename == "":
		errs = append(errs, fmt.Errorf("%s.filename: is required", field))
	case !utf8.ValidString(a.Filename):
		errs = append(errs, fmt.Errorf("%s.filename: is not valid UTF-8", field))
	case strings.IndexFunc(a.Filename, unicode.IsControl) >= 0:
		errs = append(errs, fmt.Errorf("%s.filename: %q contains control characters; accepted: a file name on one line", field, a.Filename))
	}
	if a.ContentType != "" {
		if _, _, err := mime.ParseMediaType(a.ContentType); err != nil || !strings.Contains(a.ContentType, "/") {
			errs = append(errs, fmt.Errorf("%s.content_type: %q is not a media type; accepted: e.g. application/pdf, or empty to guess from the file name", field, a.ContentType))
		} else if strings.HasPrefix(strings.ToLower(a.ContentType), "multipart/") || strings.HasPrefix(strings.ToLower(a.ContentType), "message/") {
			errs = append(errs, fmt.Errorf("%s.content_type: %q is not accepted for an attachment; accepted: a leaf type such as application/pdf or image/png", field, a.ContentType))
		}
	}
	if a.ContentID != "" {
		valid := true
		for i := 0; i < len(a.ContentID); i++ {
			c := a.ContentID[i]
			valid = valid && c > ' ' && c < 0x7f && c != '<' && c != '>'
		}
		if !valid {
			errs = append(errs, fmt.Errorf("%s.content_id: %q is not a content ID; accepted: printable ASCII without <> or spaces (e.g. logo@kubedesk)", field, a.ContentID))
		}
	}
	return errs
}

func checkHeader(k, v string) error {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("mail.headers: %q is not a header field name; accepted: printable ASCII without spaces or ':'", k)
		}
	}
	if k == "" {
		return errors.New("mail.headers: an empty field name is not accepted")
	}
	if reservedHeaders[canonicalKey(k)] {
		return fmt.Errorf("mail.headers[%q]: is written from the Mail's own fields; accepted: other fields such as Auto-Submitted or X-Kubedesk-Ticket", k)
	}
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("mail.headers[%q]: contains a line break; accepted: a one-line value", k)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("mail.headers[%q]: is not valid UTF-8", k)
	}
	return nil
}
