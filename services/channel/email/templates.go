package email

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kubedesk/kubedesk/operator/api/mailtemplate"
	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// The built-in templates: the text of each kind of mail in Chinese (zh)
// and English (en); the reply's is the agent's text alone, whatever the
// language. Their subject is Subject's: Re: <subject> [#number].
//
//go:embed templates/*.txt
var templateFiles embed.FS

// builtins maps a kind and a built-in language (zh, en) to its text.
var builtins = func() map[mailtemplate.Kind]map[string]*mailtemplate.Template {
	out := map[mailtemplate.Kind]map[string]*mailtemplate.Template{}
	for _, k := range mailtemplate.Kinds() {
		out[k] = map[string]*mailtemplate.Template{}
		for _, lang := range []string{"zh", "en"} {
			src, err := templateFiles.ReadFile("templates/" + string(k) + "." + lang + ".txt")
			if errors.Is(err, fs.ErrNotExist) {
				src, err = templateFiles.ReadFile("templates/" + string(k) + ".txt")
			}
			if err != nil {
				panic(err)
			}
			out[k][lang] = must(mailtemplate.Parse(k, mailtemplate.Text, string(src)))
		}
	}
	return out
}()

func must(t *mailtemplate.Template, err error) *mailtemplate.Template {
	if err != nil {
		panic(fmt.Sprintf("built-in mail template: %v", err))
	}
	return t
}

// Templates are a tenant's mail templates (spec.channels.email.templates)
// over the built-in ones. The zero value, or nil, has the built-in ones
// only.
type Templates struct {
	custom map[mailtemplate.Kind][]localized
}

// localized is a tenant's template of one kind in one locale; a nil field
// is the built-in one's.
type localized struct {
	locale              string
	subject, text, html *mailtemplate.Template
}

// NewTemplates parses a tenant's templates; errors name each template's
// field path (spec.channels.email.templates.<kind>.<locale>.<field>).
func NewTemplates(ts *v1alpha1.EmailTemplates) (*Templates, error) {
	const path = "spec.channels.email.templates"
	if errs := mailtemplate.Check(path, ts); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := &Templates{custom: map[mailtemplate.Kind][]localized{}}
	for _, k := range mailtemplate.Kinds() {
		byLocale := mailtemplate.Of(ts, k)
		for _, locale := range slices.Sorted(maps.Keys(byLocale)) {
			l := localized{locale: locale}
			for _, f := range mailtemplate.Fields() {
				src := mailtemplate.Source(byLocale[locale], f)
				if src == "" {
					continue
				}
				t, err := mailtemplate.Parse(k, f, src)
				if err != nil {
					return nil, fmt.Errorf("%s.%s.%s.%s: %w", path, k, locale, f, err)
				}
				switch f {
				case mailtemplate.Subject:
					l.subject = t
				case mailtemplate.Text:
					l.text = t
				case mailtemplate.HTML:
					l.html = t
				}
			}
			out.custom[k] = append(out.custom[k], l)
		}
	}
	return out, nil
}

// Rendered is one mail's subject and bodies.
type Rendered struct {
	// Locale is the locale the mail is in: one the tenant has a template
	// for, or zh or en for the built-in ones.
	Locale        string
	Subject, Text string
	HTML          string
	// Fallbacks are the tenant's templates that failed on this mail's
	// data (e.g. {{index .Subject 20}} on a short subject): the built-in
	// template stood in for each.
	Fallbacks []error
}

// Render writes the mail of kind k in the first of the preferred locales
// (most preferred first) that the tenant has a template for, or that has
// a built-in template (zh, en), else in English.
func (ts *Templates) Render(k mailtemplate.Kind, preferred []string, d mailtemplate.Data) (Rendered, error) {
	custom, locale := ts.choose(k, preferred)
	d.Locale = locale
	lang := builtinLanguage(locale)
	if lang == "" {
		lang = "en"
	}
	r := Rendered{Locale: locale}
	run := func(field mailtemplate.Field, own, builtin *mailtemplate.Template) (string, error) {
		if own != nil {
			out, err := own.Execute(d)
			if err == nil {
				return out, nil
			}
			r.Fallbacks = append(r.Fallbacks, fmt.Errorf("spec.channels.email.templates.%s.%s.%s: %w", k, custom.locale, field, err))
		}
		if builtin == nil {
			return "", nil
		}
		return builtin.Execute(d)
	}
	var own localized
	if custom != nil {
		own = *custom
	}
	subject, err := run(mailtemplate.Subject, own.subject, nil)
	if err != nil {
		return r, err
	}
	r.Subject = threadedSubject(subject, d)
	if r.Text, err = run(mailtemplate.Text, own.text, builtins[k][lang]); err != nil {
		return r, err
	}
	if r.HTML, err = run(mailtemplate.HTML, own.html, nil); err != nil {
		return r, err
	}
	if r.HTML == "" {
		r.HTML = textToHTML(r.Text)
	}
	return r, nil
}

// threadedSubject is a rendered subject on one line with the number
// token that threads the customer's answer: appended when the template
// left it out; the built-in subject when the template wrote nothing.
func threadedSubject(s string, d mailtemplate.Data) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return builtinSubject(d.Subject, d.Number)
	}
	if token := mailtemplate.Token(d.Number); !strings.Contains(s, token) {
		s += " " + token
	}
	return s
}

// choose returns the tenant's template of kind k for the first preferred
// locale that has one, or nil and the first preferred locale with a
// built-in template; else the tenant's English one, or nil and "en".
func (ts *Templates) choose(k mailtemplate.Kind, preferred []string) (*localized, string) {
	for _, p := range preferred {
		if p == "" {
			continue
		}
		if l := ts.match(k, p); l != nil {
			return l, l.locale
		}
		if builtinLanguage(p) != "" {
			return nil, p
		}
	}
	if l := ts.match(k, "en"); l != nil {
		return l, l.locale
	}
	return nil, "en"
}

// match finds the tenant's template of kind k for locale p: the same tag
// (in any case), else the tag without its last subtags (zh-Hans-CN: then
// zh-Hans, then zh), else the first, in tag order, of the same language.
func (ts *Templates) match(k mailtemplate.Kind, p string) *localized {
	if ts == nil {
		return nil
	}
	list := ts.custom[k]
	for tag := p; tag != ""; {
		for i := range list {
			if strings.EqualFold(list[i].locale, tag) {
				return &list[i]
			}
		}
		cut := strings.LastIndexByte(tag, '-')
		if cut < 0 {
			break
		}
		tag = tag[:cut]
	}
	lang := language(p)
	for i := range list {
		if language(list[i].locale) == lang {
			return &list[i]
		}
	}
	return nil
}

// language is the language subtag of a locale, in lower case: zh of
// zh-CN.
func language(locale string) string {
	lang, _, _ := strings.Cut(locale, "-")
	lang, _, _ = strings.Cut(lang, "_")
	return strings.ToLower(lang)
}

// builtinLanguage is the language of the built-in template for locale,
// "" when there is none.
func builtinLanguage(locale string) string {
	switch l := language(locale); l {
	case "zh", "en":
		return l
	}
	return ""
}

// DetectLocale guesses the locale of a customer's text from its script:
// ja for text with kana, ko for Hangul, zh-CN for Chinese characters,
// when they are a good part of it (a name in Chinese under an English
// mail is not); "" otherwise (Latin script says little of the language).
func DetectLocale(text string) string {
	const detectSample = 4096
	var han, kana, hangul, other int
	seen := 0
	for _, r := range text {
		// The first few thousand characters tell the script as well as
		// the whole of a long mail, and it is read for every mail sent.
		if seen++; seen > detectSample {
			break
		}
		switch {
		case r < utf8.RuneSelf:
			if 'a' <= r|0x20 && r|0x20 <= 'z' {
				other++
			}
		case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
			kana++
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.IsLetter(r):
			other++
		}
	}
	// One CJK character says about as much as a short word: three letters.
	if 3*(han+kana+hangul) < other || han+kana+hangul == 0 {
		return ""
	}
	switch {
	case kana > 0:
		return "ja"
	case hangul > han:
		return "ko"
	default:
		return "zh-CN"
	}
}
