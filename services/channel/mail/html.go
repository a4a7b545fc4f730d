package mail

import (
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlPolicy is bluemonday's UGC policy plus cid: image sources, so inline
// images keep pointing at their attachment. UGC allows no script, style,
// iframe, object, embed or form elements, no on* or style attributes and no
// javascript: URLs.
var htmlPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("mailto", "http", "https", "cid")
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
})

// sanitizeHTML returns the HTML with everything unsafe removed.
func sanitizeHTML(s string) string {
	return strings.TrimSpace(htmlPolicy().Sanitize(s))
}

// blockAtoms end a line in derived text.
var blockAtoms = map[atom.Atom]bool{
	atom.P: true, atom.Br: true, atom.Div: true, atom.Li: true, atom.Tr: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Blockquote: true, atom.Pre: true, atom.Hr: true, atom.Table: true, atom.Ul: true,
	atom.Ol: true, atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Section: true,
	atom.Article: true, atom.Header: true, atom.Footer: true,
}

// skipAtoms hold no readable text.
var skipAtoms = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true,
	atom.Template: true, atom.Noscript: true, atom.Object: true, atom.Iframe: true,
}

var (
	spaceRun    = regexp.MustCompile(`[ \t\r\n\f\x{00A0}]+`)
	blankLines  = regexp.MustCompile(`\n{3,}`)
	lineEndings = strings.NewReplacer("\r\n", "\n", "\r", "\n")
)

// htmlToText derives plain text from HTML: tags are stripped, <p>, <br>,
// <div>, <li> and other blocks end lines, entities are decoded, and script,
// style and head content is dropped.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip, pre := 0, 0
	newline := func() {
		str := b.String()
		if !strings.HasSuffix(str, "\n") && str != "" {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return finishText(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := string(z.Text())
			if pre == 0 {
				t = spaceRun.ReplaceAllString(t, " ")
				if strings.HasSuffix(b.String(), "\n") || b.Len() == 0 {
					t = strings.TrimLeft(t, " ")
				}
			}
			b.WriteString(t)
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipAtoms[a] {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if a == atom.Pre {
				if tt == html.StartTagToken {
					pre++
				} else if tt == html.EndTagToken && pre > 0 {
					pre--
				}
			}
			if skip > 0 {
				continue
			}
			switch {
			case a == atom.Br:
				b.WriteByte('\n')
			case blockAtoms[a]:
				newline()
			case a == atom.Td || a == atom.Th:
				if tt == html.EndTagToken {
					b.WriteByte('\t')
				}
			}
		}
	}
}

// finishText trims trailing spaces of each line and runs of blank lines.
func finishText(s string) string {
	s = lineEndings.Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = strings.Join(lines, "\n")
	s = blankLines.ReplaceAllString(s, "\n\n")
	return strings.Trim(s, "\n")
}
