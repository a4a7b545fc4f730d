package mail

import (
	"sort"
	"strconv"
	"strings"
)

// maxParamSegments bounds RFC 2231 continuations of one parameter.
const maxParamSegments = 64

// parseParams reads a Content-Type or Content-Disposition value leniently:
// the lower-cased value before the first ";" and its parameters with keys
// lower-cased. RFC 2231 extended values and continuations ("name*=",
// "name*0*=") are joined and decoded in their charset; plain values are
// RFC 2047 decoded, since many clients (Chinese ones especially) put encoded
// words in quoted file names. s must already be UTF-8 (see guessText).
func parseParams(s string, warn func(string)) (string, map[string]string) {
	value, rest, _ := strings.Cut(s, ";")
	value = strings.ToLower(strings.TrimSpace(value))
	raw := map[string]string{}
	for rest != "" {
		var key, val string
		rest = strings.TrimLeft(rest, " \t\r\n;")
		eq := strings.IndexAny(rest, "=;")
		if eq < 0 {
			break
		}
		if rest[eq] == ';' {
			rest = rest[eq:]
			continue
		}
		key = strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t\r\n")
		if strings.HasPrefix(rest, `"`) {
			val, rest = readQuoted(rest[1:])
		} else {
			end := strings.IndexByte(rest, ';')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		if key == "" {
			continue
		}
		if _, dup := raw[key]; !dup {
			raw[key] = val
		}
	}
	return value, joinParams(raw, warn)
}

// readQuoted reads a quoted string body (after the opening quote) and
// returns its unescaped text and what follows the closing quote. An
// unterminated string runs to the end.
func readQuoted(s string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

type segment struct {
	n        int
	extended bool
	value    string
}

// joinParams assembles RFC 2231 parameters from raw key/values.
func joinParams(raw map[string]string, warn func(string)) map[string]string {
	out := make(map[string]string, len(raw))
	segs := map[string][]segment{}
	for k, v := range raw {
		star := strings.IndexByte(k, '*')
		if star < 0 {
			out[k] = v
			continue
		}
		name, suffix := k[:star], k[star+1:]
		ext := strings.HasSuffix(suffix, "*") || suffix == ""
		suffix = strings.TrimSuffix(suffix, "*")
		n := 0
		if suffix != "" {
			var err error
			n, err = strconv.Atoi(suffix)
			if err != nil || n < 0 || n >= maxParamSegments {
				continue
			}
		}
		segs[name] = append(segs[name], segment{n: n, extended: ext, value: v})
	}
	for name, ss := range segs {
		sort.Slice(ss, func(i, j int) bool { return ss[i].n < ss[j].n })
		cs := ""
		var data []byte
		for i, sg := range ss {
			if i > 0 && sg.n == ss[i-1].n {
				continue // duplicate segment number
			}
			v := sg.value
			if !sg.extended {
				data = append(data, v...)
				continue
			}
			if i == 0 {
				// charset'language'value
				if p := strings.IndexByte(v, '\''); p >= 0 {
					if q := strings.IndexByte(v[p+1:], '\''); q >= 0 {
						cs = v[:p]
						v = v[p+1+q+1:]
					}
				}
			}
			data = append(data, percentDecode(v)...)
		}
		text, w := decodeCharset(cs, data)
		if w != "" && warn != nil {
			warn(w)
		}
		out[name] = text // an extended value wins over a plain one
	}
	for k, v := range out {
		if _, extended := segs[k]; !extended {
			out[k] = decodeWords(v, warn)
		}
	}
	return out
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}
