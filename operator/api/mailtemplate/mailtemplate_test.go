package mailtemplate

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

const ackFields = ".Number, .Token, .Subject, .Requester, .RequesterEmail, .Description, .Tenant, .ReplyTo, .Locale"

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name string
		kind Kind
		f    Field
		src  string
		want string // the error; "" accepts
	}{
		{"placeholders", Acknowledgement, Text, "{{.Requester}}，您好：工单 {{.Token}}（#{{.Number}}）{{.Subject}} {{.Tenant}} {{.ReplyTo}} {{.Locale}} {{.RequesterEmail}} {{.Description}}", ""},
		{"reply placeholders", Reply, Text, "{{.Agent}}: {{.Body}}", ""},
		{"if, with, range, else", Acknowledgement, Text, "{{if .Requester}}{{.Requester}}{{else}}customer{{end}} {{with .Subject}}{{.}}{{else}}{{$.Number}}{{end}} {{range $i := len .Locale}}{{$i}}{{end}}", ""},
		{"functions", Acknowledgement, Subject, `{{printf "%05d" .Number}} {{.Subject | html}} {{len .Subject}}`, ""},
		{"misspelt field", Acknowledgement, Subject, "{{.Nubmer}}", "template: line 1:2: unknown field .Nubmer; accepted: " + ackFields},
		{"field in a branch the sample skips", Acknowledgement, Text, "{{if .Requester}}hi{{else}}{{.Customer}}{{end}}", "template: line 1:29: unknown field .Customer; accepted: " + ackFields},
		{"field through $", Acknowledgement, Text, "{{with .Subject}}{{$.Ticket}}{{end}}", "template: line 1:20: unknown field .Ticket; accepted: " + ackFields},
		{"field through a variable", Acknowledgement, Text, "{{$d := .}}{{$d.Ticket}}", "template: line 1:15: unknown field .Ticket; accepted: " + ackFields},
		{"reply field in an acknowledgement", Acknowledgement, Text, "line one\n{{.Body}}", "template: line 2:2: unknown field .Body; accepted: " + ackFields},
		{"field of a string", Acknowledgement, Text, "{{with .Subject}}{{.Length}}{{end}}", "template: line 1:19: at <.Length>: can't evaluate field Length in type string"},
		{"does not parse", Acknowledgement, Subject, "{{.Number", "template: line 1: unclosed action"},
		{"unknown function", Reply, Text, "{{upper .Body}}", `template: line 1: function "upper" not defined`},
		{"bad call", Acknowledgement, Text, "{{len .Number}}", "template: line 1:2: at <len .Number>: error calling len: len of type int64"},
		{"undefined template", Acknowledgement, Text, `{{template "footer"}}`, `template: line 1:11: at <{{template "footer"}}>: template "footer" not defined`},
		{"runaway", Acknowledgement, Text, "{{range 10000000}}{{$.Subject}}{{end}}", "template: writes more than 4194304 bytes; accepted: at most 4194304 bytes of mail"},
		{"html", Reply, HTML, `<p>{{.Agent}}</p><div style="white-space:pre-wrap">{{.Body}}</div><a href="mailto:{{.ReplyTo}}">{{.Tenant}}</a>`, ""},
		{"html misspelt", Reply, HTML, "<p>{{.Bdy}}</p>", "template: line 1:5: unknown field .Bdy; accepted: " + ackFields + ", .Body, .Agent"},
		{"html unclosed script", Acknowledgement, HTML, "<script>var s = '{{.Subject}}</script>", "template: ends in a non-text context: {stateJSSqStr delimNone urlPartNone jsCtxRegexp [] attrNone elementScript <nil>}"},
		{"unknown kind", Kind("survey"), Text, "x", `template: unknown kind "survey"; accepted: acknowledgement, reply`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.kind, tt.f, tt.src)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("accepted, want %s", tt.want)
			case tt.want != "" && err.Error() != tt.want:
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestExecute(t *testing.T) {
	d := Data{Number: 7, Subject: `<b>"VPN" & 断线</b>`, Requester: "李娜", Tenant: "Acme", Body: "line 1\nline 2", Agent: "Wang"}
	for _, tt := range []struct {
		name string
		kind Kind
		f    Field
		src  string
		want string
	}{
		{"text is not escaped", Acknowledgement, Text, "{{.Requester}}：{{.Subject}} {{.Token}}", `李娜：<b>"VPN" & 断线</b> [#7]`},
		{"html is escaped", Acknowledgement, HTML, `<p title="{{.Subject}}">{{.Subject}}</p>`, `<p title="&lt;b&gt;&#34;VPN&#34; &amp; 断线&lt;/b&gt;">&lt;b&gt;&#34;VPN&#34; &amp; 断线&lt;/b&gt;</p>`},
		{"empty requester", Reply, Text, "{{with .RequesterEmail}}{{.}}{{else}}-{{end}} {{.Agent}}: {{.Body}}", "- Wang: line 1\nline 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Parse(tt.kind, tt.f, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tm.Execute(d)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ts := &v1alpha1.EmailTemplates{
		Acknowledgement: map[string]v1alpha1.EmailTemplate{
			"zh-CN": {Subject: "已收到：{{.Nubmer}}", Text: "{{.Requester}}，您好"},
			"en":    {Subject: "Received {{.Subject}}", Text: "{{.Body}}", HTML: "<p>{{.Subject}</p>"},
			"EN_us": {Subject: "x"},
		},
		Reply: map[string]v1alpha1.EmailTemplate{
			"en": {Subject: "line\nbreak", Text: strings.Repeat("x", MaxTextChars+1)},
			"ja": {Text: "{{.Agent}}より：{{.Body}}"},
		},
	}
	const p = "spec.channels.email.templates"
	want := []string{
		p + `.acknowledgement.EN_us: "EN_us" is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en, zh-CN, zh-Hant-TW`,
		p + ".acknowledgement.en.text: template: line 1:2: unknown field .Body; accepted: " + ackFields,
		p + `.acknowledgement.en.html: template: line 1: bad character U+007D '}'`,
		p + ".acknowledgement.zh-CN.subject: template: line 1:6: unknown field .Nubmer; accepted: " + ackFields,
		p + ".reply.en.subject: spans more than one line; accepted: one line",
		p + ".reply.en.text: has 16385 characters; accepted: at most 16384",
	}
	var got []string
	for _, err := range Check(p, ts) {
		got = append(got, err.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	if errs := Check(p, nil); len(errs) != 0 {
		t.Errorf("Check(nil) = %v", errs)
	}
	many := map[string]v1alpha1.EmailTemplate{}
	for _, l := range []string{"aa", "ab", "ac", "ad", "ae", "af", "ag", "ah", "ai", "aj", "ak", "al", "am", "an", "ao", "ap", "aq", "ar", "as", "at", "au"} {
		many[l] = v1alpha1.EmailTemplate{}
	}
	errs := Check(p, &v1alpha1.EmailTemplates{Reply: many})
	if len(errs) != 1 || errs[0].Error() != p+".reply: has 21 locales; accepted: at most 20" {
		t.Errorf("Check with 21 locales = %v", errors.Join(errs...))
	}
}

// FuzzParse: whatever the source, Parse does not panic and its errors
// start with "template: "; a template it accepts does not panic on other
// data either (it may fail there, e.g. {{index .Subject 9}} on a short
// subject: the channel then sends the built-in template).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"{{.Number}}", "{{if .Requester}}{{.Requester}}{{else}}{{.Customer}}{{end}}", "<a href='{{.ReplyTo}}'>", "{{range .Subject}}{{.}}{{end}}", "{{define \"a\"}}{{.}}{{end}}{{template \"a\" .Body}}"} {
		f.Add(s, "subject", "李娜")
	}
	f.Fuzz(func(t *testing.T, src, subject, name string) {
		for _, k := range Kinds() {
			for _, fd := range Fields() {
				tm, err := Parse(k, fd, src)
				if err != nil {
					if !strings.HasPrefix(err.Error(), "template: ") {
						t.Errorf("Parse(%q) error %q does not start with template:", src, err)
					}
					continue
				}
				if _, err := tm.Execute(Data{Number: 1, Subject: subject, Requester: name}); err != nil && !strings.HasPrefix(err.Error(), "template: ") {
					t.Errorf("Execute of %q: error %q does not start with template:", src, err)
				}
			}
		}
	})
}
