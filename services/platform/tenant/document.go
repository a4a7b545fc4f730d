package tenant

import (
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/workflows/calendar"
)

// Config is a tenant as a HelpdeskTenant document of a --config file
// declares it: the custom resource a cluster takes, read by the binary so
// that what works in the cluster works on a laptop. The binary reads the
// tenant's ID, its default business calendar (for its SLA policies), its
// e-mail channel (spec.channels.email: inbound addresses, sender,
// acknowledgements, default locale and templates), its WeChat Official
// Account (spec.channels.wechat, whose secrets it reads from their values
// or environment variables: Config.WeChat) and the settings later modules
// add; displayName,
// locale and timeZone are kept for the parts that show them (the web
// desk, e-mail, reports). Cluster-only fields (image, components,
// database, temporal, channels.email.relaySecretRef: the binary reads the
// relay from KUBEDESK_SMTP_RELAY; attachments: it reads the blob store
// from --blob-url or KUBEDESK_BLOB_URL) are accepted and ignored: the
// operator reads them.
type Config struct {
	ID   string // metadata.name
	Spec v1alpha1.HelpdeskTenantSpec
}

var localePattern = regexp.MustCompile(v1alpha1.LocalePattern)

// FromDocument decodes one HelpdeskTenant document strictly, applies the
// schema's defaults and checks what the binary reads. Errors name the
// field path from the document root and join every problem found.
func FromDocument(doc []byte) (Config, error) {
	var t v1alpha1.HelpdeskTenant
	if err := yaml.UnmarshalStrict(doc, &t); err != nil {
		return Config{}, err
	}
	t.Spec.SetDefaults()
	var errs []error
	if err := Validate(t.Name); err != nil {
		errs = append(errs, fmt.Errorf("metadata.name: %w", err))
	}
	if n := utf8.RuneCountInString(t.Spec.DisplayName); n > 200 {
		errs = append(errs, fmt.Errorf("spec.displayName: has %d characters; accepted: at most 200", n))
	}
	if !localePattern.MatchString(t.Spec.Locale) {
		errs = append(errs, fmt.Errorf("spec.locale: %q is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en-US, zh-CN, zh-Hans-CN", t.Spec.Locale))
	}
	if _, err := calendar.Location(t.Spec.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("spec.timeZone: %w", err))
	}
	errs = append(errs, validateEmail(t.Spec.Channels.Email)...)
	errs = append(errs, validateWeChat(t.Spec.Channels.WeChat)...)
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("HelpdeskTenant %s: %w", t.Name, err)
	}
	return Config{ID: t.Name, Spec: t.Spec}, nil
}
