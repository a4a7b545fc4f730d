// Package mailtemplate is the contract of spec.channels.email.templates:
// the kinds of mail a tenant's e-mail channel sends, the placeholders
// each kind's templates may use, and the one way a template is parsed and
// checked. The operator checks a HelpdeskTenant's templates with it before
// it renders the tenant's configuration, the kubedesk binary when it reads
// a HelpdeskTenant document, and the e-mail channel parses the templates
// it renders with it, so a template means the same everywhere.
//
// Templates are Go text/template (html/template for the HTML body), run
// with missingkey=error on a map holding exactly the placeholders of the
// kind: a placeholder that does not exist is an error, never an empty
// string.
package mailtemplate

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"unicode/utf8"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// Kind is a kind of mail the e-mail channel sends: a field of
// spec.channels.email.templates.
type Kind string

// The kinds of mail.
const (
	// Acknowledgement answers a new ticket that came by e-mail.
	Acknowledgement Kind = "acknowledgement"
	// Reply carries an agent's public reply.
	Reply Kind = "reply"
)

// Kinds lists every kind, in the order of EmailTemplates' fields.
func Kinds() []Kind { return []Kind{Acknowledgement, Reply} }

// Field is a part of a mail a template writes: a field of EmailTemplate.
type Field string

// The fields of a template.
const (
	Subject Field = "subject"
	Text    Field = "text"
	HTML    Field = "html"
)

// Fields lists every field, in the order of EmailTemplate's fields.
func Fields() []Field { return []Field{Subject, Text, HTML} }

// Of returns the templates of one kind in ts (nil for none).
func Of(ts *v1alpha1.EmailTemplates, k Kind) map[string]v1alpha1.EmailTemplate {
	if ts == nil {
		return nil
	}
	switch k {
	case Acknowledgement:
		return ts.Acknowledgement
	case Reply:
		return ts.Reply
	}
	return nil
}

// Source returns the source of field f of t ("" when unset).
func Source(t v1alpha1.EmailTemplate, f Field) string {
	switch f {
	case Subject:
		return t.Subject
	case Text:
		return t.Text
	case HTML:
		return t.HTML
	}
	return ""
}

// Data is what a template is executed on. Each field is a placeholder of
// the same name ({{.Number}}, {{.Subject}}, ...), and Token is derived
// from Number; Body and Agent are placeholders of Reply only.
type Data struct {
	// Number is the ticket's number in its tenant, e.g. 1042.
	Number int64
	// Subject is the ticket's subject as the customer wrote it.
	Subject string
	// Requester is the requester's name; empty when the mail gave none.
	Requester string
	// RequesterEmail is the requester's e-mail address.
	RequesterEmail string
	// Description is the text of the customer's first mail.
	Description string
	// Tenant is the tenant's displayName (its ID when it has none).
	Tenant string
	// ReplyTo is the address the customer answers to (the sender).
	ReplyTo string
	// Locale is the locale the mail is written in, e.g. zh-CN.
	Locale string
	// Body is the agent's reply (Reply only).
	Body string
	// Agent is the name of the agent who replied (Reply only).
	Agent string
}

// Placeholder is one name a template may use, with what it holds.
type Placeholder struct {
	Name    string // without the dot: Number
	Meaning string
	// Kinds lists the kinds that have it; nil for every kind.
	Kinds []Kind
}

// placeholders lists every placeholder, in the order the errors and the
// documentation give them.
var placeholders = []Placeholder{
	{Name: "Number", Meaning: "the ticket's number"},
	{Name: "Token", Meaning: "the number token that threads the customer's answer, [#number]"},
	{Name: "Subject", Meaning: "the ticket's subject"},
	{Name: "Requester", Meaning: "the requester's name; empty when the mail gave none"},
	{Name: "RequesterEmail", Meaning: "the requester's e-mail address"},
	{Name: "Description", Meaning: "the text of the customer's first mail"},
	{Name: "Tenant", Meaning: "the tenant's displayName, else its name"},
	{Name: "ReplyTo", Meaning: "the address the customer answers to (the sender's)"},
	{Name: "Locale", Meaning: "the locale the mail is written in"},
	{Name: "Body", Meaning: "the agent's reply", Kinds: []Kind{Reply}},
	{Name: "Agent", Meaning: "the name of the agent who replied", Kinds: []Kind{Reply}},
}

// Placeholders lists the placeholders of kind k.
func Placeholders(k Kind) []Placeholder {
	var out []Placeholder
	for _, p := range placeholders {
		if p.Kinds == nil || slices.Contains(p.Kinds, k) {
			out = append(out, p)
		}
	}
	return out
}

// Values is d as the templates of kind k see it: one entry per
// placeholder of k.
func (d Data) Values(k Kind) map[string]any {
	v := map[string]any{
		"Number":         d.Number,
		"Token":          Token(d.Number),
		"Subject":        d.Subject,
		"Requester":      d.Requester,
		"RequesterEmail": d.RequesterEmail,
		"Description":    d.Description,
		"Tenant":         d.Tenant,
		"ReplyTo":        d.ReplyTo,
		"Locale":         d.Locale,
	}
	if k == Reply {
		v["Body"], v["Agent"] = d.Body, d.Agent
	}
	return v
}

// Token is the number token of a ticket in a subject, [#1042]: mail whose
// subject carries it answers that ticket.
func Token(number int64) string { return "[#" + strconv.FormatInt(number, 10) + "]" }

// sample is the data templates are tried on when they are checked: every
// placeholder set, so that the branches of {{if}} and {{with}} on them
// run, and then the zero Data, so that their {{else}} branches run.
func sample() Data {
	return Data{
		Number:         1042,
		Subject:        "打印机无法连接",
		Requester:      "张伟",
		RequesterEmail: "zhang.wei@example.com",
		Description:    "三楼的打印机连不上。",
		Tenant:         "艾克米客服",
		ReplyTo:        "support@acme.example",
		Locale:         "zh-CN",
		Body:           "请重启打印机后再试。",
		Agent:          "李娜",
	}
}

// MaxOutput bounds what one template writes, in bytes: a template that
// writes more (a runaway {{range}}) fails rather than fill memory.
const MaxOutput = 4 << 20

// Template is one parsed and checked template.
type Template struct {
	kind Kind
	src  string
	text *texttemplate.Template // subject and text
	html *htmltemplate.Template // html
}

// Parse parses src as field f of a template of kind k, and checks it: it
// must parse, name only the placeholders of k, and execute on sample
// data. Errors start with "template: " and say where in src the problem
// is, e.g. `template: line 1:9: unknown field .Nubmer; accepted: .Number,
// .Token, ...`.
func Parse(k Kind, f Field, src string) (*Template, error) {
	if !slices.Contains(Kinds(), k) {
		return nil, fmt.Errorf("template: unknown kind %q; accepted: %s", k, joinKinds())
	}
	name := string(f)
	t := &Template{kind: k, src: src}
	// The static check reads the text/template tree: html/template has the
	// same syntax, and its tree is rewritten once it executes.
	tt, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, rewrite(name, k, src, err)
	}
	if err := checkFields(tt, k, src); err != nil {
		return nil, err
	}
	if f == HTML {
		ht, err := htmltemplate.New(name).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, rewrite(name, k, src, err)
		}
		t.html = ht
	} else {
		t.text = tt
	}
	for _, d := range []Data{sample(), {}} {
		if _, err := t.Execute(d); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Execute runs the template on d.
func (t *Template) Execute(d Data) (string, error) {
	var b strings.Builder
	w := &limitWriter{w: &b, left: MaxOutput}
	var err error
	name := ""
	if t.html != nil {
		name = t.html.Name()
		err = t.html.Execute(w, d.Values(t.kind))
	} else {
		name = t.text.Name()
		err = t.text.Execute(w, d.Values(t.kind))
	}
	if err != nil {
		return "", rewrite(name, t.kind, t.src, err)
	}
	return b.String(), nil
}

var errTooLong = fmt.Errorf("writes more than %d bytes", MaxOutput)

type limitWriter struct {
	w    io.Writer
	left int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, errTooLong
	}
	l.left -= len(p)
	return l.w.Write(p)
}

// Check parses and checks every template of ts, and returns one error per
// template that fails, each starting with its field path under path (e.g.
// spec.channels.email.templates.acknowledgement.zh-CN.subject), locales
// in order. A locale key must match v1alpha1.LocalePattern.
func Check(path string, ts *v1alpha1.EmailTemplates) []error {
	var errs []error
	for _, k := range Kinds() {
		byLocale := Of(ts, k)
		if n := len(byLocale); n > MaxLocales {
			errs = append(errs, fmt.Errorf("%s.%s: has %d locales; accepted: at most %d", path, k, n, MaxLocales))
		}
		for _, locale := range slices.Sorted(maps.Keys(byLocale)) {
			at := path + "." + string(k) + "." + locale
			if !localePattern.MatchString(locale) {
				errs = append(errs, fmt.Errorf("%s: %q is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en, zh-CN, zh-Hant-TW", at, locale))
				continue
			}
			for _, f := range Fields() {
				src := Source(byLocale[locale], f)
				if src == "" {
					continue
				}
				if err := checkLimits(f, src); err != nil {
					errs = append(errs, fmt.Errorf("%s.%s: %w", at, f, err))
					continue
				}
				if _, err := Parse(k, f, src); err != nil {
					errs = append(errs, fmt.Errorf("%s.%s: %w", at, f, err))
				}
			}
		}
	}
	return errs
}

// The limits of a template, as the CRD schema sets them.
const (
	MaxLocales      = 20
	MaxSubjectChars = 500
	MaxTextChars    = 16384
	MaxHTMLChars    = 32768
)

var localePattern = regexp.MustCompile(v1alpha1.LocalePattern)

func checkLimits(f Field, src string) error {
	limit := map[Field]int{Subject: MaxSubjectChars, Text: MaxTextChars, HTML: MaxHTMLChars}[f]
	if n := len([]rune(src)); n > limit {
		return fmt.Errorf("has %d characters; accepted: at most %d", n, limit)
	}
	if f == Subject && strings.ContainsAny(src, "\r\n") {
		return errors.New("spans more than one line; accepted: one line")
	}
	return nil
}

// checkFields refuses a field of the data that k has no placeholder for,
// wherever it stands, even in a branch the sample data does not take. Dot
// is the data at the top of the template, in the branches of {{if}}, and
// in the {{else}} of {{with}} and {{range}}; $ is the data everywhere in
// the main template. Elsewhere dot is a value the template chose, and the
// sample executions check what is done with it.
func checkFields(t *texttemplate.Template, k Kind, src string) error {
	tree := t.Tree
	if tree == nil || tree.Root == nil {
		return nil
	}
	accepted := map[string]bool{}
	for _, p := range Placeholders(k) {
		accepted[p.Name] = true
	}
	var bad parse.Node
	var badName string
	var walk func(n parse.Node, dotIsData bool)
	field := func(n parse.Node, name string) {
		if bad == nil && !accepted[name] {
			bad, badName = n, name
		}
	}
	walkPipe := func(p *parse.PipeNode, dotIsData bool) {
		if p != nil {
			walk(p, dotIsData)
		}
	}
	walk = func(n parse.Node, dotIsData bool) {
		if n == nil || bad != nil {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c, dotIsData)
			}
		case *parse.ActionNode:
			walkPipe(n.Pipe, dotIsData)
		case *parse.PipeNode:
			for _, c := range n.Cmds {
				walk(c, dotIsData)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a, dotIsData)
			}
		case *parse.FieldNode:
			if dotIsData {
				field(n, n.Ident[0])
			}
		case *parse.VariableNode:
			if n.Ident[0] == "$" && len(n.Ident) > 1 {
				field(n, n.Ident[1])
			}
		case *parse.ChainNode:
			walk(n.Node, dotIsData)
		case *parse.IfNode:
			walkPipe(n.Pipe, dotIsData)
			walk(n.List, dotIsData)
			walk(n.ElseList, dotIsData)
		case *parse.WithNode:
			walkPipe(n.Pipe, dotIsData)
			walk(n.List, false)
			walk(n.ElseList, dotIsData)
		case *parse.RangeNode:
			walkPipe(n.Pipe, dotIsData)
			walk(n.List, false)
			walk(n.ElseList, dotIsData)
		case *parse.TemplateNode:
			walkPipe(n.Pipe, dotIsData)
		}
	}
	walk(tree.Root, true)
	if bad == nil {
		return nil
	}
	loc, _ := tree.ErrorContext(bad)
	return fmt.Errorf("template: line %s: unknown field .%s; accepted: %s", position(src, strings.TrimPrefix(loc, t.Name()+":")), badName, acceptedList(k))
}

// position turns text/template's "3:9" (line, then byte in the line)
// into "3:9" with the column counted in characters, which is what an
// editor shows of a line in Chinese.
func position(src, pos string) string {
	ln, col, ok := strings.Cut(pos, ":")
	l, err1 := strconv.Atoi(ln)
	c, err2 := strconv.Atoi(col)
	if !ok || err1 != nil || err2 != nil || l < 1 {
		return pos
	}
	lines := strings.Split(src, "\n")
	if l > len(lines) || c > len(lines[l-1]) {
		return pos
	}
	return ln + ":" + strconv.Itoa(utf8.RuneCountInString(lines[l-1][:c]))
}

func acceptedList(k Kind) string {
	var names []string
	for _, p := range Placeholders(k) {
		names = append(names, "."+p.Name)
	}
	return strings.Join(names, ", ")
}

func joinKinds() string {
	var s []string
	for _, k := range Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

var (
	// text/template's errors: "template: name:3: msg" when parsing,
	// "template: name:3:9: executing "name" at <.X>: msg" when executing.
	execError  = regexp.MustCompile(`^template: [^:]*:(\d+(?::\d+)?): executing "[^"]*" at <(.*?)>: (.*)$`)
	parseError = regexp.MustCompile(`^template: [^:]*:(\d+(?::\d+)?): (.*)$`)
	missingKey = regexp.MustCompile(`^map has no entry for key "(.*)"$`)
)

// rewrite words text/template's and html/template's errors as Parse
// promises: "template: line 3:9: ...", without the template's name.
func rewrite(name string, k Kind, src string, err error) error {
	msg := err.Error()
	if errors.Is(err, errTooLong) {
		return fmt.Errorf("template: %w; accepted: at most %d bytes of mail", errTooLong, MaxOutput)
	}
	if m := execError.FindStringSubmatch(msg); m != nil {
		if key := missingKey.FindStringSubmatch(m[3]); key != nil {
			return fmt.Errorf("template: line %s: unknown field .%s; accepted: %s", position(src, m[1]), key[1], acceptedList(k))
		}
		return fmt.Errorf("template: line %s: at <%s>: %s", position(src, m[1]), m[2], m[3])
	}
	if m := parseError.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("template: line %s: %s", m[1], m[2])
	}
	// html/template's escaper, e.g. a {{.Subject}} left inside an
	// unclosed <script>.
	var he *htmltemplate.Error
	if errors.As(err, &he) {
		if he.Line > 0 {
			return fmt.Errorf("template: line %d: %s", he.Line, he.Description)
		}
		return fmt.Errorf("template: %s", he.Description)
	}
	return fmt.Errorf("template: %s", strings.TrimPrefix(msg, "template: "+name+": "))
}
