package mail

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// decodeTransfer undoes a Content-Transfer-Encoding. It never fails: bad
// input is decoded as far as it goes and the second result is a warning.
func decodeTransfer(cte string, b []byte) ([]byte, string) {
	cte = strings.ToLower(strings.TrimSpace(cte))
	if i := strings.IndexByte(cte, ';'); i >= 0 { // "base64; x" seen in the wild
		cte = strings.TrimSpace(cte[:i])
	}
	switch cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return b, ""
	case "quoted-printable":
		return decodeQP(b), ""
	case "base64":
		return decodeBase64(b)
	}
	return b, fmt.Sprintf("Content-Transfer-Encoding %q is not supported (accepted: 7bit, 8bit, binary, quoted-printable, base64): body kept undecoded", cte)
}

// decodeQP decodes quoted-printable leniently: "=XX" is a byte, "=" at the
// end of a line is a soft break, any other "=" is kept as it is, and
// trailing white space before a line end is dropped (RFC 2045 6.7).
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '=':
			if i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
				out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
				i += 2
				continue
			}
			// Soft line break: "=" then optional white space then CRLF or LF.
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if j < len(b) && b[j] == '\r' && j+1 < len(b) && b[j+1] == '\n' {
				i = j + 1
				continue
			}
			if j < len(b) && b[j] == '\n' {
				i = j
				continue
			}
			if j == len(b) {
				i = j
				continue
			}
			out = append(out, c)
		case ' ', '\t':
			j := i
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if j < len(b) && (b[j] == '\n' || b[j] == '\r') {
				i = j - 1 // drop trailing white space
				continue
			}
			out = append(out, b[i:j]...)
			i = j - 1
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// decodeBase64 decodes base64 leniently: characters outside the alphabet
// (line breaks, spaces) are skipped, "=" padding ends a chunk and decoding
// goes on after it (some clients concatenate encoded chunks), and a dangling
// last character of a chunk is dropped with a warning.
func decodeBase64(b []byte) ([]byte, string) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	// Well-formed bodies (lines of base64, CRLF between them: the standard
	// decoder skips line breaks) take the fast path; the rest are read
	// character by character below.
	if n, err := base64.StdEncoding.Decode(out, b); err == nil {
		return out[:n], ""
	}
	out = out[:0]
	chunk := make([]byte, 0, 4096)
	warn := ""
	flush := func() {
		if len(chunk)%4 == 1 {
			chunk = chunk[:len(chunk)-1]
			warn = "base64 body has a dangling character: it was dropped"
		}
		n := len(out)
		out = slices.Grow(out, base64.RawStdEncoding.DecodedLen(len(chunk)))
		out = out[:n+base64.RawStdEncoding.DecodedLen(len(chunk))]
		m, err := base64.RawStdEncoding.Decode(out[n:], chunk)
		out = out[:n+m]
		if err != nil {
			warn = "base64 body is malformed: decoded as far as it goes"
		}
		chunk = chunk[:0]
	}
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			chunk = append(chunk, c)
			if len(chunk) == cap(chunk) && len(chunk)%4 == 0 {
				flush()
			}
		case c == '=':
			if len(chunk) > 0 {
				flush()
			}
		}
	}
	flush()
	return out, warn
}
