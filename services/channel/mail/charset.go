package mail

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/transform"
)

// chineseCharsets maps labels that real mail uses loosely to the encoding
// that reads them best: GB2312 and GBK mail often holds characters only
// GBK or GB18030 have, and GB18030 is a superset of both.
var chineseCharsets = map[string]encoding.Encoding{
	"gb2312":      simplifiedchinese.GB18030,
	"csgb2312":    simplifiedchinese.GB18030,
	"euc-cn":      simplifiedchinese.GB18030,
	"x-euc-cn":    simplifiedchinese.GB18030,
	"gbk":         simplifiedchinese.GB18030,
	"x-gbk":       simplifiedchinese.GB18030,
	"cp936":       simplifiedchinese.GB18030,
	"windows-936": simplifiedchinese.GB18030,
	"ms936":       simplifiedchinese.GB18030,
	"gb18030":     simplifiedchinese.GB18030,
	"big5":        traditionalchinese.Big5,
	"x-big5":      traditionalchinese.Big5,
	"big5-hkscs":  traditionalchinese.Big5,
	"cp950":       traditionalchinese.Big5,
	"windows-950": traditionalchinese.Big5,
	"csbig5":      traditionalchinese.Big5,
}

// normalizeCharset lower-cases and trims a charset label, dropping an RFC
// 2231 language suffix ("utf-8*en").
func normalizeCharset(label string) string {
	label = strings.ToLower(strings.TrimSpace(label))
	label = strings.Trim(label, `"'`)
	if i := strings.IndexByte(label, '*'); i >= 0 {
		label = label[:i]
	}
	return label
}

// decodeCharset converts b from the named charset to UTF-8. It never fails:
// an unknown charset turns every non-ASCII byte into U+FFFD, and the second
// result is then a warning to report. An empty or ASCII/UTF-8 label goes
// through guessText, which also reads mislabelled GB18030.
func decodeCharset(label string, b []byte) (string, string) {
	label = normalizeCharset(label)
	switch label {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8", "x-unknown-8bit", "unknown-8bit", "8bit":
		s, ok := guessText(b)
		if !ok {
			return s, "text is neither UTF-8 nor GB18030: invalid bytes replaced with U+FFFD"
		}
		return s, ""
	}
	if enc := chineseCharsets[label]; enc != nil {
		return decodeWith(enc, b), ""
	}
	r, err := charset.Reader(label, bytes.NewReader(b))
	if err == nil {
		out, err := io.ReadAll(r)
		if err == nil {
			return strings.ToValidUTF8(string(out), "\uFFFD"), ""
		}
	}
	return replaceNonASCII(b), fmt.Sprintf("charset %q is not supported: decoded with replacement characters", label)
}

func decodeWith(enc encoding.Encoding, b []byte) string {
	out, _, err := transform.Bytes(enc.NewDecoder(), b)
	if err != nil {
		return replaceNonASCII(b)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// guessText reads bytes whose charset is not declared: UTF-8 when valid
// (ASCII included), else GB18030 when that decodes cleanly, else UTF-8 with
// U+FFFD for the invalid bytes. ok is false only in the last case.
func guessText(b []byte) (s string, ok bool) {
	if utf8.Valid(b) {
		return string(b), true
	}
	if out, _, err := transform.Bytes(simplifiedchinese.GB18030.NewDecoder(), b); err == nil && !bytes.ContainsRune(out, utf8.RuneError) {
		return string(out), true
	}
	return replaceInvalid(b), false
}

// replaceInvalid keeps valid UTF-8 and turns every other byte into U+FFFD.
func replaceInvalid(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			sb.WriteRune(utf8.RuneError)
			b = b[1:]
			continue
		}
		sb.Write(b[:n])
		b = b[n:]
	}
	return sb.String()
}

// replaceNonASCII keeps ASCII bytes and turns every other byte into U+FFFD.
func replaceNonASCII(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(utf8.RuneError)
		}
	}
	return sb.String()
}
