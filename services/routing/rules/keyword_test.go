package rules

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFold(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Reset  PASSWORD\n\tnow", "reset password now"},
		{"ＶＰＮ　断线", "vpn断线"},                  // full-width letters and space
		{"VPN 断线", "vpn断线"},                  // a space next to CJK is dropped
		{"用 VPN 连接", "用vpn连接"},               //
		{"ｒｅｓｅｔ　ｐａｓｓｗｏｒｄ", "reset password"}, // full-width phrase
		{"０１２３４", "01234"},                   // full-width digits
		{"ΣΑΣ σας", "σασ σασ"},               // final sigma folds with sigma
		{"ｶﾀｶﾅ", "カタカナ"},                     // half-width katakana
		{"\xffabc", "\uFFFDabc"},             // invalid UTF-8
		{"Ａ\u00a0Ｂ", "a b"},                  // no-break space
		{" lead and trail ", " lead and trail "},
	} {
		if got := fold(c.in); got != c.want {
			t.Errorf("fold(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestKeywordMatching(t *testing.T) {
	for _, c := range []struct {
		keyword, text string
		want          bool
	}{
		// Latin keywords match whole words, ignoring case.
		{"VPN", "my vpn is down", true},
		{"vpn", "VPN断线", true}, // CJK characters are boundaries
		{"vpn", "VPN 断线", true},
		{"vpn", "vpns are down", false},
		{"vpn", "openvpn", false},
		{"vpn", "vpn2", false},
		{"vpn", "vpn-client", true},
		{"vpn", "(vpn)", true},
		{"vpn", "ＶＰＮ　断线", true},     // full-width text
		{"ＶＰＮ", "vpn down", true},   // full-width keyword
		{"vpn", "vpn\u0301", false}, // a combining mark is part of the word
		{"café", "Café au lait", true},
		{"cafe", "café", false},
		{"reset password", "Please RESET\n\t Password now", true},
		{"reset password", "resetpassword", false},
		{"reset password", "reset passwords", false},
		{"reset password", "reset, password", false},
		{"c++", "c++11 question", true}, // an edge that is punctuation needs no boundary
		{"c++", "abc++", false},
		{".net", "asp.net core", true},
		{"error 500", "got ERROR 500!", true},
		{"error 500", "error 5000", false},
		// CJK keywords match anywhere.
		{"密码", "如何重置密码", true},
		{"重置密码", "忘记密码了", false},
		{"如何重置密码", "请问如何重置密码？", true},
		{"VPN 断线", "公司VPN断线了", true},
		{"VPN 断线", "vpn　 断线", true},
		{"VPN断线", "VPN 断线", true},
		{"断线", "openvpn断线", true},
		{"パスワード", "パスワードを忘れた", true},
		{"ﾊﾟｽﾜｰﾄﾞ", "パスワード", true}, // half-width katakana
		{"비밀번호", "비밀번호 재설정", true},
		{"vpn断线", "openvpn断线", true}, // a keyword with any CJK character is a substring
		{"ok", "", false},
	} {
		p, ok := newPattern(c.keyword)
		if !ok {
			t.Fatalf("newPattern(%q) refused", c.keyword)
		}
		m := newMatcher([]pattern{p})
		found := newBitset(1)
		m.find(fold(c.text), found)
		if got := found.has(0); got != c.want {
			t.Errorf("keyword %q in %q: matcher says %v, want %v", c.keyword, c.text, got, c.want)
		}
		if got := p.in(fold(c.text), true); got != c.want {
			t.Errorf("keyword %q in %q: pattern.in says %v, want %v", c.keyword, c.text, got, c.want)
		}
	}
}

func TestMatcherManyPatterns(t *testing.T) {
	keywords := []string{"he", "she", "his", "hers", "密码", "重置密码", "vpn", "vpn断线", "reset password", "password", "a", "ab", "abc", "bc"}
	var ps []pattern
	for _, k := range keywords {
		p, _ := newPattern(k)
		ps = append(ps, p)
	}
	m := newMatcher(ps)
	for _, text := range []string{
		"ushers", "如何重置密码", "VPN断线了", "please reset password", "abc", "x ab y", "bc", "his hers she he", "",
	} {
		found := newBitset(len(ps))
		m.find(fold(text), found)
		var got, want []string
		for i, p := range ps {
			if found.has(i) {
				got = append(got, keywords[i])
			}
			if reference(fold(text), p.text, p.left, p.right) {
				want = append(want, keywords[i])
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("in %q: found %q, want %q", text, got, want)
		}
	}
}

// reference is a slow, independent keyword finder: it compares runes at
// every position of folded text and checks the boundaries the pattern
// needs (left, right) on the runes themselves (wordRune says what a
// word character is); text edges are boundaries.
func reference(text, keyword string, left, right bool) bool {
	rt, rk := []rune(text), []rune(keyword)
	for i := 0; i+len(rk) <= len(rt); i++ {
		if !slices.Equal(rt[i:i+len(rk)], rk) {
			continue
		}
		if left && i > 0 && wordRune(rt[i-1]) {
			continue
		}
		if right && i+len(rk) < len(rt) && wordRune(rt[i+len(rk)]) {
			continue
		}
		return true
	}
	return false
}

// FuzzMatcher holds the matcher to the reference: it never panics, finds
// exactly what the slow search finds, each keyword it finds really is in
// the folded text, and pattern.implies never claims a containment a
// text disproves.
func FuzzMatcher(f *testing.F) {
	for _, seed := range [][4]string{
		{"如何重置密码", "密码", "重置密码", "password"},
		{"VPN断线了", "vpn", "VPN 断线", "断线"},
		{"ＶＰＮ　断线", "vpn", "ＶＰＮ", "vpns"},
		{"Please reset   password", "reset password", "password", "reset"},
		{"c++11 and asp.net", "c++", ".net", "net"},
		{"ushers", "she", "he", "hers"},
		{"aaaa", "aa", "a", "aaa"},
		{"\xff\xfe vpn", "\xff", "vpn", "ＡＢ"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, text, k1, k2, k3 string) {
		folded := fold(text)
		if !utf8.ValidString(folded) {
			t.Fatalf("fold(%q) = %q is not valid UTF-8", text, folded)
		}
		var ps []pattern
		for _, k := range []string{k1, k2, k3} {
			p, ok := newPattern(k)
			if !ok || slices.ContainsFunc(ps, func(q pattern) bool { return q.text == p.text }) {
				continue
			}
			ps = append(ps, p)
		}
		if len(ps) == 0 {
			return
		}
		m := newMatcher(ps)
		found := newBitset(len(ps))
		m.find(folded, found)
		for i, p := range ps {
			want := reference(folded, p.text, p.left, p.right)
			if got := found.has(i); got != want {
				t.Errorf("keyword %q in %q: matcher %v, reference %v", p.text, folded, got, want)
			}
			if got := p.in(folded, true); got != want {
				t.Errorf("keyword %q in %q: pattern.in %v, reference %v", p.text, folded, got, want)
			}
			if found.has(i) && !strings.Contains(folded, p.text) {
				t.Errorf("keyword %q found in %q, which does not contain it", p.text, folded)
			}
		}
		for _, a := range ps {
			for _, b := range ps {
				if a.implies(b) && reference(folded, b.text, b.left, b.right) && !reference(folded, a.text, a.left, a.right) {
					t.Errorf("%q implies %q, but %q holds the second and not the first", a.text, b.text, folded)
				}
			}
		}
	})
}
