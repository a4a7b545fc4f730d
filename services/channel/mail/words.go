package mail

import (
	"strings"
)

// encodedWord is one parsed RFC 2047 "=?charset?enc?text?=".
type encodedWord struct {
	charset string
	data    []byte
	end     int // index just past "?=" in the input
}

// parseEncodedWord parses the encoded word starting at s[0:] ("=?...").
func parseEncodedWord(s string) (encodedWord, bool) {
	if !strings.HasPrefix(s, "=?") {
		return encodedWord{}, false
	}
	rest := s[2:]
	q := strings.IndexByte(rest, '?')
	if q <= 0 || q > 64 || len(rest) < q+4 || rest[q+2] != '?' {
		return encodedWord{}, false
	}
	cs := rest[:q]
	if strings.ContainsAny(cs, " \t\r\n\"()<>,;") {
		return encodedWord{}, false
	}
	enc := rest[q+1]
	text := rest[q+3:]
	e := strings.Index(text, "?=")
	if e < 0 {
		return encodedWord{}, false
	}
	text = text[:e]
	end := 2 + q + 3 + e + 2
	var data []byte
	switch enc {
	case 'b', 'B':
		data, _ = decodeBase64([]byte(text))
	case 'q', 'Q':
		data = decodeQWord(text)
	default:
		return encodedWord{}, false
	}
	return encodedWord{charset: normalizeCharset(cs), data: data, end: end}, true
}

func decodeQWord(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

// wordRun reads encoded words starting at s[0:], joined by white space
// only, and returns their decoded text and the length consumed. Adjacent
// words in one charset are decoded together, since some clients split a
// multi-byte character across two words.
func wordRun(s string, warn func(string)) (string, int, bool) {
	var out strings.Builder
	var cs string
	var pending []byte
	flush := func() {
		if len(pending) == 0 && cs == "" {
			return
		}
		text, w := decodeCharset(cs, pending)
		if w != "" && warn != nil {
			warn(w)
		}
		out.WriteString(text)
		pending = pending[:0]
	}
	pos := 0
	found := false
	for {
		w, ok := parseEncodedWord(s[pos:])
		if !ok {
			break
		}
		found = true
		if w.charset != cs {
			flush()
			cs = w.charset
		}
		pending = append(pending, w.data...)
		pos += w.end
		// Look past white space for another word.
		j := pos
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n') {
			j++
		}
		if j == pos || !strings.HasPrefix(s[j:], "=?") {
			break
		}
		if _, ok := parseEncodedWord(s[j:]); !ok {
			break
		}
		pos = j
	}
	if !found {
		return "", 0, false
	}
	flush()
	return out.String(), pos, true
}

// decodeWords decodes every RFC 2047 encoded word in s; text between words
// is kept as it is.
func decodeWords(s string, warn func(string)) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			out.WriteString(s[i:])
			break
		}
		out.WriteString(s[i : i+j])
		i += j
		text, n, ok := wordRun(s[i:], warn)
		if !ok {
			out.WriteString("=?")
			i += 2
			continue
		}
		out.WriteString(text)
		i += n
	}
	return out.String()
}

// quoteWords decodes the encoded words of an address header so that
// net/mail can parse it: a word inside a quoted string becomes escaped text,
// a word outside one becomes a quoted string, so decoded commas, quotes or
// angle brackets cannot change the structure of the list.
func quoteWords(s string, warn func(string)) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var out strings.Builder
	inQuote, inComment := false, 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && (inQuote || inComment > 0) && i+1 < len(s):
			out.WriteString(s[i : i+2])
			i += 2
			continue
		case c == '"' && inComment == 0:
			inQuote = !inQuote
		case c == '(' && !inQuote:
			inComment++
		case c == ')' && !inQuote && inComment > 0:
			inComment--
		case c == '=' && strings.HasPrefix(s[i:], "=?"):
			if text, n, ok := wordRun(s[i:], warn); ok {
				esc := escapeQuoted(text)
				if inQuote || inComment > 0 {
					if inComment > 0 {
						esc = strings.NewReplacer("(", `\(`, ")", `\)`).Replace(esc)
					}
					out.WriteString(esc)
				} else {
					out.WriteString(`"` + esc + `"`)
				}
				i += n
				continue
			}
		}
		out.WriteByte(c)
		i++
	}
	return out.String()
}

func escapeQuoted(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", " ").Replace(s)
}
