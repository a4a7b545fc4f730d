package tenant

import (
	"net/mail"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// tenantDoc is a HelpdeskTenant document named acme with spec below it
// (indented two spaces, as under spec:).
func tenantDoc(spec string) []byte {
	return []byte("apiVersion: kubedesk.io/v1alpha1\nkind: HelpdeskTenant\nmetadata:\n  name: acme\nspec:\n" + spec)
}

func TestFromDocumentEmail(t *testing.T) {
	doc := tenantDoc(`  displayName: Acme Support
  database: {postgres: {urlSecretRef: {name: acme-db, key: url}}}
  temporal: {address: temporal:7233}
  attachments: {s3: {urlSecretRef: {name: acme-blobs, key: url}}}
  channels:
    email:
      inbound:
      - {address: support@acme.example, group: support}
      - {address: billing@acme.example}
      from: Acme Help <help@acme.example>
      relaySecretRef: {name: acme-smtp, key: url}
      autoAcknowledge: false
`)
	got, err := FromDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	f := false
	want := v1alpha1.EmailChannelSpec{
		Inbound:         []v1alpha1.EmailInbound{{Address: "support@acme.example", Group: "support"}, {Address: "billing@acme.example"}},
		From:            "Acme Help <help@acme.example>",
		RelaySecretRef:  &v1alpha1.SecretKeySelector{Name: "acme-smtp", Key: "url"},
		AutoAcknowledge: &f,
	}
	if diff := cmp.Diff(want, got.Spec.Channels.Email); diff != "" {
		t.Errorf("spec.channels.email (-want +got):\n%s", diff)
	}
	// Cluster-only: accepted, as a document kubectl applies is.
	if a := got.Spec.Attachments; a == nil || a.S3 == nil || a.S3.URLSecretRef.Name != "acme-blobs" {
		t.Errorf("spec.attachments = %+v, want the document's", a)
	}
}

func TestFromDocumentEmailTemplates(t *testing.T) {
	got, err := FromDocument(tenantDoc(`  channels:
    email:
      defaultLocale: zh-CN
      templates:
        acknowledgement:
          zh-CN: {subject: "工单 {{.Token}} 已受理：{{.Subject}}", text: "{{with .Requester}}{{.}}，{{end}}您好：我们已收到您的问题。"}
          en: {text: "Hello {{.Requester}}, we have your request {{.Token}}.", html: "<p>Hello {{.Requester}}</p>"}
        reply:
          ja: {text: "{{.Agent}}より：\n{{.Body}}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	e := got.Spec.Channels.Email
	want := &v1alpha1.EmailTemplates{
		Acknowledgement: map[string]v1alpha1.EmailTemplate{
			"zh-CN": {Subject: "工单 {{.Token}} 已受理：{{.Subject}}", Text: "{{with .Requester}}{{.}}，{{end}}您好：我们已收到您的问题。"},
			"en":    {Text: "Hello {{.Requester}}, we have your request {{.Token}}.", HTML: "<p>Hello {{.Requester}}</p>"},
		},
		Reply: map[string]v1alpha1.EmailTemplate{"ja": {Text: "{{.Agent}}より：\n{{.Body}}"}},
	}
	if diff := cmp.Diff(want, e.Templates); diff != "" || e.DefaultLocale != "zh-CN" {
		t.Errorf("defaultLocale %q, templates (-want +got):\n%s", e.DefaultLocale, diff)
	}
}

func TestFromDocumentEmailDefaults(t *testing.T) {
	got, err := FromDocument(tenantDoc("  displayName: Acme\n  channels: {email: {inbound: [{address: support@acme.example}]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Spec.Channels.Email.AutoAcknowledges() || got.Spec.Channels.Email.AutoAcknowledge == nil {
		t.Errorf("autoAcknowledge %v, want true (the schema default)", got.Spec.Channels.Email.AutoAcknowledge)
	}
	if from := got.Spec.EmailFrom(); from != `"Acme" <support@acme.example>` {
		t.Errorf("EmailFrom() = %q, want the first inbound address with the display name", from)
	}
}

func TestFromDocumentEmailBadInput(t *testing.T) {
	long := strings.Repeat("a", 250) + "@acme.example"
	for _, tt := range []struct {
		name  string
		email string // the YAML of spec.channels.email
		want  string
	}{
		{
			"upper case address",
			`{inbound: [{address: support@acme.example}, {address: Support@Acme.example}]}`,
			`spec.channels.email.inbound[1].address: "Support@Acme.example" is not a lower-case e-mail address; accepted: local-part@domain in lower case, without a name or angle brackets, e.g. support@acme.example`,
		},
		{
			"no domain",
			`{inbound: [{address: support}]}`,
			`spec.channels.email.inbound[0].address: "support" is not a lower-case e-mail address; accepted: local-part@domain in lower case, without a name or angle brackets, e.g. support@acme.example`,
		},
		{
			"name and angle brackets",
			`{inbound: [{address: "Acme <support@acme.example>"}]}`,
			`spec.channels.email.inbound[0].address: "Acme <support@acme.example>" is not a lower-case e-mail address; accepted: local-part@domain in lower case, without a name or angle brackets, e.g. support@acme.example`,
		},
		{
			"empty address",
			`{inbound: [{group: support}]}`,
			`spec.channels.email.inbound[0].address: "" is not a lower-case e-mail address; accepted: local-part@domain in lower case, without a name or angle brackets, e.g. support@acme.example`,
		},
		{
			"too long",
			`{inbound: [{address: ` + long + `}]}`,
			`spec.channels.email.inbound[0].address: has 263 characters; accepted: at most 254`,
		},
		{
			"duplicate address",
			`{inbound: [{address: support@acme.example, group: a}, {address: sales@acme.example}, {address: support@acme.example, group: b}]}`,
			`spec.channels.email.inbound[2].address: "support@acme.example" is listed twice (first at spec.channels.email.inbound[0]); accepted: each address once`,
		},
		{
			"group too long",
			`{inbound: [{address: support@acme.example, group: ` + strings.Repeat("组", 201) + `}]}`,
			`spec.channels.email.inbound[0].group: has 201 characters; accepted: at most 200`,
		},
		{
			"from without an address",
			`{from: Acme Support}`,
			`spec.channels.email.from: "Acme Support" is not an RFC 5322 address (mail: no angle-addr); accepted: one address, e.g. Acme Support <support@acme.example> or support@acme.example`,
		},
		{
			"from with two addresses",
			`{from: "a@acme.example, b@acme.example"}`,
			`spec.channels.email.from: "a@acme.example, b@acme.example" is not an RFC 5322 address (mail: expected single address, got ", b@acme.example"); accepted: one address, e.g. Acme Support <support@acme.example> or support@acme.example`,
		},
		{
			"from with a header after it",
			`{from: "Acme <support@acme.example>\r\nBcc: all@acme.example"}`,
			`spec.channels.email.from: "Acme <support@acme.example>\r\nBcc: all@acme.example" spans more than one line; accepted: one address, e.g. Acme Support <support@acme.example>`,
		},
		{
			"default locale",
			`{defaultLocale: zh_CN}`,
			`spec.channels.email.defaultLocale: "zh_CN" is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en, zh-CN, zh-Hans-CN`,
		},
		{
			"template with a misspelt placeholder",
			`{templates: {acknowledgement: {zh-CN: {subject: "已受理 {{.Nubmer}}"}}}}`,
			`spec.channels.email.templates.acknowledgement.zh-CN.subject: template: line 1:6: unknown field .Nubmer; accepted: .Number, .Token, .Subject, .Requester, .RequesterEmail, .Description, .Tenant, .ReplyTo, .Locale`,
		},
		{
			"template that does not parse",
			`{templates: {reply: {en: {text: "{{.Body", html: "<p>{{.Body}}</p>"}}}}`,
			`spec.channels.email.templates.reply.en.text: template: line 1: unclosed action`,
		},
		{
			"template locale",
			`{templates: {reply: {english: {text: "{{.Body}}"}}}}`,
			`spec.channels.email.templates.reply.english: "english" is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en, zh-CN, zh-Hant-TW`,
		},
		{
			"unknown kind of mail",
			`{templates: {survey: {en: {text: "x"}}}}`,
			`error unmarshaling JSON: while decoding JSON: json: unknown field "survey"`,
		},
		{
			"unknown field",
			`{inbound: [{address: support@acme.example, queue: support}]}`,
			`error unmarshaling JSON: while decoding JSON: json: unknown field "queue"`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromDocument(tenantDoc("  channels:\n    email: " + tt.email + "\n"))
			if err == nil {
				t.Fatal("no error")
			}
			want := "HelpdeskTenant acme: " + tt.want
			if strings.HasPrefix(tt.want, "error unmarshaling") {
				want = tt.want
			}
			if err.Error() != want {
				t.Errorf("error:\n%s\nwant:\n%s", err, want)
			}
		})
	}
}

func TestFromDocumentEmailJoinsErrors(t *testing.T) {
	inbound := strings.Repeat("{address: a@acme.example}, ", 101)
	_, err := FromDocument(tenantDoc("  channels: {email: {inbound: [" + inbound + "], from: nobody}}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	// 101 addresses: too many, then 100 duplicates, then from.
	if len(lines) != 102 {
		t.Fatalf("%d errors, want 102:\n%s", len(lines), err)
	}
	if want := "HelpdeskTenant acme: spec.channels.email.inbound: has 101 addresses; accepted: at most 100"; lines[0] != want {
		t.Errorf("first error %q, want %q", lines[0], want)
	}
	if !strings.HasPrefix(lines[101], "spec.channels.email.from: ") {
		t.Errorf("last error %q, want spec.channels.email.from", lines[101])
	}
}

// FuzzFromDocumentEmail feeds arbitrary inbound addresses and senders
// through FromDocument: it must never panic, and what it accepts the
// schema's pattern and net/mail accept.
func FuzzFromDocumentEmail(f *testing.F) {
	for _, s := range [][2]string{
		{"support@acme.example", "Acme Support <support@acme.example>"},
		{"Support@Acme.example", "=?utf-8?q?=E6=9E=81?= <a@b.example>"},
		{"a@b", "a@b, c@d"},
		{"", "\"quoted \\\" name\" <x@y.example>"},
		{"客服@acme.example", "Acme <support@acme.example>\r\nBcc: x@y"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, addr, from string) {
		errs := validateEmail(v1alpha1.EmailChannelSpec{Inbound: []v1alpha1.EmailInbound{{Address: addr}}, From: from})
		if len(errs) > 0 {
			return
		}
		if !emailAddressPattern.MatchString(addr) {
			t.Errorf("accepted inbound address %q that the schema refuses", addr)
		}
		if from != "" {
			if _, err := mail.ParseAddress(from); err != nil {
				t.Errorf("accepted from %q that net/mail refuses: %v", from, err)
			}
		}
	})
}
