package rules

import (
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Keyword matching. A ticket's subject and description and every rule's
// keywords are folded the same way (fold), and the keywords of a tenant's
// rules are found in the folded text in one pass (an Aho-Corasick
// automaton, matcher), whatever the number of rules.
//
// A keyword with a Chinese, Japanese or Korean character (Han, Hiragana,
// Katakana, Hangul, Bopomofo) matches anywhere: those scripts do not
// separate words with spaces, so a substring is the only test that works
// without a dictionary. Any other keyword matches whole words: where the
// keyword begins with a letter or digit, the character before it in the
// text must not be one, and likewise after its end. CJK characters are not
// letters for this purpose, so "vpn" is found in "VPN断线". An edge that
// is punctuation needs no boundary: ".net" is found in "asp.net" and
// "c++" in "c++11", as a reader would expect. Spaces in a keyword match
// any run of white space in the text ("reset password" is found in
// "Reset\n  Password"), and next to a CJK character any or none ("VPN
// 断线" is found in "VPN断线").

// fold returns s in the form keywords are matched in: compatibility
// normalised (NFKC: full-width letters, digits and spaces become ASCII,
// half-width katakana full-width, ligatures their letters), case folded,
// each run of white space a single space, white space next to a CJK
// character dropped (Chinese is written with or without a space between
// it and a Latin word: "VPN 断线" and "VPN断线" are the same text), and
// invalid UTF-8 replaced by U+FFFD, so the result is always valid UTF-8.
// Dropping those spaces changes no whole-word match, since a CJK
// character is a boundary as a space is.
func fold(s string) string {
	if ascii(s) {
		return foldASCII(s)
	}
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space, afterCJK := false, false
	for _, r := range s {
		if r < utf8.RuneSelf {
			if asciiSpace(byte(r)) {
				space = true
				continue
			}
			if space && !afterCJK {
				b.WriteByte(' ')
			}
			space, afterCJK = false, false
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		r = foldRune(r)
		isCJK := cjk(r)
		if space && !afterCJK && !isCJK {
			b.WriteByte(' ')
		}
		space, afterCJK = false, isCJK
		b.WriteRune(r)
	}
	if space && !afterCJK {
		b.WriteByte(' ')
	}
	return b.String()
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// foldASCII is fold for ASCII text, where NFKC changes nothing.
func foldASCII(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case asciiSpace(c):
			if !space {
				b = append(b, ' ')
			}
			space = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		space = false
		b = append(b, c)
	}
	return string(b)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldRune maps r to one member of its case class: lower case of upper
// case, so that Σ, σ and final ς fold alike.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	if uncased(r) {
		return r
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// uncased reports whether r is in a block without letter case that
// matters for speed: CJK (radicals, symbols, kana, Bopomofo, ideographs,
// Yi) and Hangul syllables, most of a Chinese ticket's text.
func uncased(r rune) bool {
	return 0x2E80 <= r && r <= 0xA4CF || 0xAC00 <= r && r <= 0xD7A3
}

// cjk reports whether r is written without spaces between words.
func cjk(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case 0x4E00 <= r && r <= 0x9FFF, 0x3040 <= r && r <= 0x30FF, 0xAC00 <= r && r <= 0xD7A3:
		return true // the common ideographs, kana and Hangul syllables, checked first for speed
	}
	// U+30FC (the prolonged sound mark of katakana) is in the Common
	// script but only appears inside Japanese words.
	return r == 0x30FC || unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo)
}

// wordRune reports whether r is part of a word for whole-word matching:
// a letter, digit or combining mark that is not CJK.
func wordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc)) && !cjk(r)
}

// pattern is a folded keyword and the boundaries it needs.
type pattern struct {
	text string // folded, never empty
	// left and right: the text must not have a word character just
	// before (after) the keyword; false for CJK keywords and for an
	// edge that is not itself a word character.
	left, right bool
}

// newPattern folds keyword; false when nothing is left of it.
func newPattern(keyword string) (pattern, bool) {
	f := strings.Trim(fold(keyword), " ")
	if f == "" {
		return pattern{}, false
	}
	if strings.ContainsFunc(f, cjk) {
		return pattern{text: f}, true
	}
	first, _ := utf8.DecodeRuneInString(f)
	last, _ := utf8.DecodeLastRuneInString(f)
	return pattern{text: f, left: wordRune(first), right: wordRune(last)}, true
}

// substring reports whether the pattern matches as a plain substring.
func (p pattern) substring() bool { return !p.left && !p.right }

// at reports whether p, found in text ending at end, is bounded as it
// must be. edges says whether the start and end of text count as
// boundaries (they do for a ticket's text).
func (p pattern) at(text string, end int, edges bool) bool {
	start := end - len(p.text)
	if p.left {
		if start == 0 {
			if !edges {
				return false
			}
		} else if r, _ := utf8.DecodeLastRuneInString(text[:start]); wordRune(r) {
			return false
		}
	}
	if p.right {
		if end == len(text) {
			if !edges {
				return false
			}
		} else if r, _ := utf8.DecodeRuneInString(text[end:]); wordRune(r) {
			return false
		}
	}
	return true
}

// in reports whether p occurs, properly bounded, in folded text. It scans
// for p alone; matcher finds many patterns at once.
func (p pattern) in(text string, edges bool) bool {
	for off := 0; ; {
		i := strings.Index(text[off:], p.text)
		if i < 0 {
			return false
		}
		end := off + i + len(p.text)
		if p.at(text, end, edges) {
			return true
		}
		// Occurrences may overlap ("aa" in "aaa"): go on from the next
		// character, not from the end of this one.
		_, size := utf8.DecodeRuneInString(text[off+i:])
		off += i + size
	}
}

// implies reports whether every text in which q matches holds p too:
// p matches inside q's own folded text, where q's edges are boundaries
// only if q needs them (a whole-word q is bounded in any text it matches
// in; a substring q may sit inside a longer word). Used to find rules
// that can never be reached.
func (p pattern) implies(q pattern) bool {
	return p.in(q.text, !q.substring())
}

// matcher finds a fixed set of patterns in folded text in one pass: an
// Aho-Corasick automaton over the UTF-8 bytes. Each pattern text is
// stored once (patterns are deduplicated by their folded text, which
// decides their boundaries too).
type matcher struct {
	patterns []pattern
	// root is the root's transitions, dense because the scan returns to
	// the root at almost every byte of text without a match in progress.
	root  [256]int32
	nodes []node
	// edges holds every other node's transitions, node by node, each
	// node's sorted by byte.
	edges []edge
}

type node struct {
	first, end int32 // the node's transitions: edges[first:end]
	fail       int32 // the longest proper suffix that is a node
	out        int32 // the pattern ending here, -1 if none
	// dict is the nearest node on the fail chain with an out; -1 if none.
	dict int32
}

type edge struct {
	b    byte
	next int32
}

// newMatcher builds the automaton of patterns, whose texts must be
// distinct and non-empty.
func newMatcher(patterns []pattern) *matcher {
	m := &matcher{patterns: patterns}
	// The trie, its transitions in one map keyed by node and byte while
	// it is built.
	next := map[uint64]int32{}
	out := []int32{-1}
	for id, p := range patterns {
		n := int32(0)
		for i := 0; i < len(p.text); i++ {
			k := uint64(n)<<8 | uint64(p.text[i])
			nx, ok := next[k]
			if !ok {
				nx = int32(len(out))
				next[k] = nx
				out = append(out, -1)
			}
			n = nx
		}
		out[n] = int32(id)
	}

	// Flattened: each node's transitions together, sorted by byte.
	keys := slices.Sorted(maps.Keys(next))
	m.edges = make([]edge, len(keys))
	m.nodes = make([]node, len(out))
	for i, k := range keys {
		m.edges[i] = edge{b: byte(k), next: next[k]}
	}
	e := 0
	for i := range m.nodes {
		m.nodes[i].out, m.nodes[i].dict = out[i], -1
		m.nodes[i].first = int32(e)
		for e < len(keys) && keys[e]>>8 == uint64(i) {
			e++
		}
		m.nodes[i].end = int32(e)
	}
	for _, e := range m.edges[m.nodes[0].first:m.nodes[0].end] {
		m.root[e.b] = e.next
	}

	// Fail and dictionary links, breadth first so a node's fail target
	// is complete before the node.
	queue := make([]int32, 0, len(m.nodes))
	for _, e := range m.edges[m.nodes[0].first:m.nodes[0].end] {
		queue = append(queue, e.next) // depth 1: fail to the root
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range m.edges[m.nodes[n].first:m.nodes[n].end] {
			child := e.next
			f := m.step(m.nodes[n].fail, e.b)
			m.nodes[child].fail = f
			if m.nodes[f].out >= 0 {
				m.nodes[child].dict = f
			} else {
				m.nodes[child].dict = m.nodes[f].dict
			}
			queue = append(queue, child)
		}
	}
	return m
}

// child is n's transition on c; 0 (the root) if none.
func (m *matcher) child(n int32, c byte) int32 {
	es := m.edges[m.nodes[n].first:m.nodes[n].end]
	if len(es) <= 8 {
		for _, e := range es {
			if e.b == c {
				return e.next
			}
		}
		return 0
	}
	i, ok := slices.BinarySearchFunc(es, c, func(e edge, c byte) int { return int(e.b) - int(c) })
	if !ok {
		return 0
	}
	return es[i].next
}

// step is the automaton's transition from state n on c.
func (m *matcher) step(n int32, c byte) int32 {
	for n != 0 {
		if nx := m.child(n, c); nx != 0 {
			return nx
		}
		n = m.nodes[n].fail
	}
	return m.root[c]
}

// find marks in found (one bit per pattern) every pattern that occurs,
// properly bounded, in folded text.
func (m *matcher) find(text string, found bitset) {
	n := int32(0)
	for i := 0; i < len(text); i++ {
		n = m.step(n, text[i])
		o := n
		if m.nodes[o].out < 0 {
			o = m.nodes[o].dict
		}
		for ; o >= 0; o = m.nodes[o].dict {
			id := m.nodes[o].out
			if found.has(int(id)) {
				continue
			}
			if p := m.patterns[id]; p.substring() || p.at(text, i+1, true) {
				found.set(int(id))
			}
		}
	}
}

// bitset is a set of small non-negative integers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
