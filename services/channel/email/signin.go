package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/google/uuid"

	"github.com/kubedesk/kubedesk/services/channel/smtpout"
)

// signInTemplates holds the sign-in code mail of each language.
var signInTemplates = template.Must(template.ParseFS(templateFiles, "templates/signin-code.*.txt"))

// SignInCode is a customer's one-time sign-in code to mail.
type SignInCode struct {
	Tenant string
	// To is the address the code was asked for; Name the contact's.
	To, Name string
	// Locale chooses the language: zh* is Chinese, another is English,
	// "" is the tenant's.
	Locale string
	// Code is the secret: it goes in the mail and nowhere else.
	Code       string
	ExpireTime time.Time
}

// CodeMail mails customers' sign-in codes through a tenant's outbound
// e-mail: the From address of its e-mail channel and the relay replies go
// through. Nothing is recorded: the mail holds a secret, and a code that
// does not arrive is asked for again.
type CodeMail struct {
	Directory *Directory
	// Relay is nil when no relay is configured: no code can be sent.
	Relay Relay
	Log   *slog.Logger
}

// ErrNoMail: the tenant sends no e-mail.
var ErrNoMail = errors.New("the tenant sends no e-mail")

// CanMail reports why the tenant's codes cannot be mailed (an error
// wrapping ErrNoMail), or nil.
func (m *CodeMail) CanMail(tenantID string) error {
	if _, ok := m.Directory.Sender(tenantID); !ok {
		return fmt.Errorf("%w: tenant %q has no e-mail address to send from (spec.channels.email)", ErrNoMail, tenantID)
	}
	if m.Relay == nil {
		return fmt.Errorf("%w: no SMTP relay is configured (--smtp-relay, or spec.channels.email.relaySecretRef in a cluster)", ErrNoMail)
	}
	return nil
}

// MailSignInCode sends c, in c.Locale's language (else the tenant's).
func (m *CodeMail) MailSignInCode(ctx context.Context, c SignInCode) error {
	if err := m.CanMail(c.Tenant); err != nil {
		return err
	}
	from, _ := m.Directory.Sender(c.Tenant)
	locale := c.Locale
	if locale == "" {
		locale = from.Locale
	}
	msg, err := signInMail(from, c, locale)
	if err != nil {
		return err
	}
	raw, err := smtpout.Compose(msg)
	if err != nil {
		return fmt.Errorf("compose the sign-in code mail: %w", err)
	}
	if err := m.Relay.Send(ctx, from.From.Address, []string{c.To}, raw); err != nil {
		return fmt.Errorf("send the sign-in code mail: %w", err)
	}
	m.log().InfoContext(ctx, "sign-in code mailed", "tenant", c.Tenant, "to", c.To, "message_id", msg.MessageID)
	return nil
}

// signInMail is the mail of c from the tenant's sender.
func signInMail(from Sender, c SignInCode, locale string) (smtpout.Mail, error) {
	name, subject := "signin-code.en.txt", "Your sign-in code: "+c.Code
	if strings.HasPrefix(strings.ToLower(locale), "zh") {
		name, subject = "signin-code.zh.txt", "您的登录验证码："+c.Code
	}
	// Minutes from now, rounded up: the mail leaves right after the code
	// is made, and a reader's time zone is not known.
	minutes := max(int(math.Ceil(time.Until(c.ExpireTime).Minutes())), 1)
	var b strings.Builder
	err := signInTemplates.ExecuteTemplate(&b, name, struct {
		Name, Team, Code string
		Minutes          int
	}{c.Name, from.Name, c.Code, minutes})
	if err != nil {
		return smtpout.Mail{}, err
	}
	return smtpout.Mail{
		From:      smtpout.Address{Name: from.From.Name, Email: from.From.Address},
		To:        []smtpout.Address{{Name: c.Name, Email: c.To}},
		Subject:   subject,
		MessageID: "signin." + uuid.Must(uuid.NewV7()).String() + "@" + domainOf(from.From.Address),
		Text:      b.String(),
		// RFC 3834: no autoresponder answers it.
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}, nil
}

func (m *CodeMail) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}
