package email

import (
	"strings"
	"testing"

	"github.com/kubedesk/kubedesk/operator/api/mailtemplate"
	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// customTemplates are a tenant's own acknowledgement in Chinese and
// English, a reply wrapper in English, and a Japanese subject alone.
func customTemplates(t *testing.T) *Templates {
	t.Helper()
	ts, err := NewTemplates(&v1alpha1.EmailTemplates{
		Acknowledgement: map[string]v1alpha1.EmailTemplate{
			"zh-CN": {Subject: "【{{.Tenant}}】工单 {{.Token}} 已受理：{{.Subject}}", Text: "{{with .Requester}}{{.}}，{{end}}您好！工单 #{{.Number}} 已创建，回复请发至 {{.ReplyTo}}。"},
			"en":    {Subject: "We got it: {{.Subject}}", Text: "Hi {{or .Requester \"there\"}}, ticket #{{.Number}} is open ({{.Locale}}).", HTML: "<p>Hi {{.Requester}}, ticket <b>#{{.Number}}</b>: {{.Subject}}</p>"},
			"ja":    {Subject: "受付しました {{.Token}}"},
		},
		Reply: map[string]v1alpha1.EmailTemplate{
			"en": {Text: "{{.Body}}\n\n-- {{.Agent}}, {{.Tenant}}"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestRender(t *testing.T) {
	custom := customTemplates(t)
	data := mailtemplate.Data{Number: 1042, Subject: "打印机无法连接", Requester: "张伟", RequesterEmail: "zhang.wei@example.com", Tenant: "艾克米", ReplyTo: "support@acme.example", Body: "请重启打印机。", Agent: "李娜"}
	for _, tt := range []struct {
		name      string
		templates *Templates
		kind      mailtemplate.Kind
		preferred []string
		edit      func(*mailtemplate.Data)
		locale    string
		subject   string
		text      []string // in the text, in order
		html      string   // in the HTML
	}{
		{
			name: "custom zh-CN", templates: custom, kind: mailtemplate.Acknowledgement, preferred: []string{"zh-CN"},
			locale: "zh-CN", subject: "【艾克米】工单 [#1042] 已受理：打印机无法连接",
			text: []string{"张伟，您好！工单 #1042 已创建，回复请发至 support@acme.example。"},
			html: "张伟，您好！工单 #1042 已创建",
		},
		{
			name: "custom zh-CN for zh-Hans-CN", templates: custom, kind: mailtemplate.Acknowledgement, preferred: []string{"zh-Hans-CN"},
			locale: "zh-CN", subject: "【艾克米】工单 [#1042] 已受理：打印机无法连接", text: []string{"工单 #1042 已创建"},
		},
		{
			name: "custom en for en-US, the token appended, html escaped", templates: custom, kind: mailtemplate.Acknowledgement, preferred: []string{"", "en-US"},
			edit:   func(d *mailtemplate.Data) { d.Subject, d.Requester = "<VPN> down", "" },
			locale: "en", subject: "We got it: <VPN> down [#1042]",
			text: []string{"Hi there, ticket #1042 is open (en)."},
			html: "<p>Hi , ticket <b>#1042</b>: &lt;VPN&gt; down</p>",
		},
		{
			name: "a locale without a template gives way to the next", templates: custom, kind: mailtemplate.Acknowledgement, preferred: []string{"fr-FR", "", "zh-CN", "en"},
			locale: "zh-CN", subject: "【艾克米】工单 [#1042] 已受理：打印机无法连接",
		},
		{
			name: "English last", templates: custom, kind: mailtemplate.Acknowledgement, preferred: []string{"fr", "de"},
			locale: "en", subject: "We got it: 打印机无法连接 [#1042]",
		},
		{
			name: "ja: own subject, built-in English text", templates: custom, kind: mailtemplate.Acknowledgement, preferred: []string{"ja-JP"},
			locale: "ja", subject: "受付しました [#1042]",
			text: []string{"Hello 张伟,", "opened ticket #1042:", "keep [#1042] in the subject.", "艾克米"},
		},
		{
			name: "reply in Chinese: nothing of the tenant's, built-in", templates: custom, kind: mailtemplate.Reply, preferred: []string{"zh-CN"},
			locale: "zh-CN", subject: "Re: 打印机无法连接 [#1042]", text: []string{"请重启打印机。"}, html: "请重启打印机。",
		},
		{
			name: "reply in English: the tenant's text, built-in subject", templates: custom, kind: mailtemplate.Reply, preferred: []string{"en-GB"},
			locale: "en", subject: "Re: 打印机无法连接 [#1042]", text: []string{"请重启打印机。\n\n-- 李娜, 艾克米"},
		},
		{
			name: "built-in zh", kind: mailtemplate.Acknowledgement, preferred: []string{"zh-TW"},
			locale: "zh-TW", subject: "Re: 打印机无法连接 [#1042]",
			text: []string{"张伟，您好：", "工单编号 #1042", "并保留主题中的 [#1042]。", "艾克米"},
		},
		{
			name: "built-in en, an answer's subject keeps one Re:", kind: mailtemplate.Acknowledgement, preferred: nil,
			edit:   func(d *mailtemplate.Data) { d.Subject = "Re: 回复：invoice" },
			locale: "en", subject: "Re: 回复：invoice [#1042]", text: []string{"We have received your request and opened ticket #1042:"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := data
			if tt.edit != nil {
				tt.edit(&d)
			}
			r, err := tt.templates.Render(tt.kind, tt.preferred, d)
			if err != nil {
				t.Fatal(err)
			}
			if r.Locale != tt.locale || r.Subject != tt.subject {
				t.Errorf("locale %q subject %q, want %q %q", r.Locale, r.Subject, tt.locale, tt.subject)
			}
			rest := r.Text
			for _, want := range tt.text {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Errorf("text %q lacks %q (in order)", r.Text, want)
					break
				}
				rest = rest[i+len(want):]
			}
			if !strings.Contains(r.HTML, tt.html) {
				t.Errorf("html %q lacks %q", r.HTML, tt.html)
			}
			if len(r.Fallbacks) > 0 {
				t.Errorf("fallbacks %v", r.Fallbacks)
			}
		})
	}
}

// TestRenderFallsBack: a tenant's template that fails on a mail's data
// (it passed the check on the sample data) gives way to the built-in one,
// and says so.
func TestRenderFallsBack(t *testing.T) {
	ts, err := NewTemplates(&v1alpha1.EmailTemplates{Acknowledgement: map[string]v1alpha1.EmailTemplate{
		"en": {Subject: "{{if .Subject}}{{slice .Subject 0 3}}…{{end}}", Text: "Dear {{if .Requester}}{{index .Requester 5 | printf \"%c\"}}{{end}}."},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ts.Render(mailtemplate.Acknowledgement, []string{"en"}, mailtemplate.Data{Number: 7, Subject: "VPN down", Requester: "Li", Tenant: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "VPN… [#7]" {
		t.Errorf("subject %q", r.Subject)
	}
	if !strings.HasPrefix(r.Text, "Hello Li,\n\nWe have received your request") {
		t.Errorf("text %q, want the built-in one", r.Text)
	}
	if len(r.Fallbacks) != 1 || !strings.Contains(r.Fallbacks[0].Error(), "spec.channels.email.templates.acknowledgement.en.text: template: line 1:24: at <index .Requester 5>: error calling index: index out of range: 5") {
		t.Errorf("fallbacks %v", r.Fallbacks)
	}
}

func TestThreadedSubject(t *testing.T) {
	d := mailtemplate.Data{Number: 5, Subject: "Printer"}
	for in, want := range map[string]string{
		"Ticket [#5]: Printer":    "Ticket [#5]: Printer",
		"Printer":                 "Printer [#5]",
		"Printer [#50]":           "Printer [#50] [#5]",
		"  two\tspaced \n lines ": "two spaced lines [#5]",
		" ":                       "Re: Printer [#5]",
	} {
		if got := threadedSubject(in, d); got != want {
			t.Errorf("threadedSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewTemplatesErrors(t *testing.T) {
	_, err := NewTemplates(&v1alpha1.EmailTemplates{Reply: map[string]v1alpha1.EmailTemplate{"en": {HTML: "<p>{{.Bdoy}}</p>"}}})
	const want = "spec.channels.email.templates.reply.en.html: template: line 1:5: unknown field .Bdoy; accepted: .Number, .Token, .Subject, .Requester, .RequesterEmail, .Description, .Tenant, .ReplyTo, .Locale, .Body, .Agent"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestDetectLocale(t *testing.T) {
	for text, want := range map[string]string{
		"三楼的打印机连不上。":                                          "zh-CN",
		"HP LaserJet 打印机坏了":                                   "zh-CN",
		"プリンターが動きません":                                         "ja",
		"印刷できません。プリンターの電源は入っています":                             "ja",
		"프린터가 작동하지 않습니다":                                      "ko",
		"The printer on the third floor is offline.\n\n-- 张伟": "",
		"Bonjour, l'imprimante ne marche pas":                 "",
		"":                                                    "",
		"1234 !!!":                                            "",
	} {
		if got := DetectLocale(text); got != want {
			t.Errorf("DetectLocale(%q) = %q, want %q", text, got, want)
		}
	}
}
