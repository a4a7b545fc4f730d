package mail

import (
	"regexp"
	"strings"
)

var (
	// separatorRe matches "-----Original Message-----", Foxmail/QQ's
	// "------------------ 原始邮件 ------------------" and their kin.
	separatorRe = regexp.MustCompile(`(?i)^[\s\x{00A0}\x{3000}]*-{2,}[\s\x{00A0}\x{3000}]*(original message|原始邮件|原始郵件|reply message|回复的原邮件|回覆的原郵件|message d'origine|ursprüngliche nachricht)[\s\x{00A0}\x{3000}]*-{2,}[\s\x{00A0}\x{3000}]*$`)
	// fromLineRe and sentLineRe match the Outlook header block of a quoted
	// message, in English and Chinese.
	fromLineRe = regexp.MustCompile(`(?i)^[\s\x{00A0}]*\*?(from|发件人|寄件者|寄件人)\*?[\s\x{00A0}]*[:：]`)
	sentLineRe = regexp.MustCompile(`(?i)^[\s\x{00A0}]*\*?(sent|发送时间|傳送時間|寄件日期)\*?[\s\x{00A0}]*[:：]`)
	dateLineRe = regexp.MustCompile(`(?i)^[\s\x{00A0}]*\*?(sent|date|发送时间|傳送時間|寄件日期|时间|日期)\*?[\s\x{00A0}]*[:：]`)
	toLineRe   = regexp.MustCompile(`(?i)^[\s\x{00A0}]*\*?(to|subject|cc|收件人|主题|主旨|抄送|副本)\*?[\s\x{00A0}]*[:：]`)
	// forwardRe marks a forwarded message, which stays visible.
	forwardRe = regexp.MustCompile(`(?i)forwarded message|转发的邮件|轉寄的郵件|begin forwarded message`)
	// underscoresRe is the rule Outlook draws above its header block.
	underscoresRe = regexp.MustCompile(`^[\s\x{00A0}]*_{10,}[\s\x{00A0}]*$`)
)

// maxAttributionBytes bounds an attribution line; a longer line is prose.
const maxAttributionBytes = 400

// SplitQuoted splits a plain-text body into what a reader needs (visible)
// and the quoted history and signature (folded); visible+folded == text.
//
// Folded starts at the earliest of: a "-- " signature line; a separator
// ("-----Original Message-----", "------------------ 原始邮件
// ------------------"); an Outlook header block ("From: ... Sent: ...",
// "发件人: ... 发送时间: ...") not under a forwarding line; the trailing
// block of ">" lines, with the attribution line above it ("On ... wrote:",
// "在 ... 写道："); an attribution line followed only by ">" lines. Quotes
// answered inline (text after the quote) stay visible. When nothing but
// the quote would remain, visible is the whole text: a message is never
// shown empty.
func SplitQuoted(text string) (visible, folded string) {
	lines := strings.SplitAfter(text, "\n")
	cut := len(lines)
	for i := range lines {
		if isSignature(lines[i]) || separatorRe.MatchString(trimEOL(lines[i])) || isOutlookBlock(lines, i) {
			cut = i
			break
		}
	}
	// The trailing ">" block before cut, then the attribution above it.
	j := cut
	quoted := false
	for j > 0 {
		l := trimEOL(lines[j-1])
		if isQuotedLine(l) {
			quoted = true
		} else if strings.TrimSpace(l) != "" {
			break
		}
		j--
	}
	if quoted {
		cut = j
		// Skip back over blank lines to an attribution, if any.
		k := j
		for k > 0 && strings.TrimSpace(lines[k-1]) == "" {
			k--
		}
		if n := attributionAbove(lines, k); n > 0 {
			cut = k - n
		}
	} else if cut == len(lines) {
		// An attribution with nothing after it (the quote was cut off).
		for i := range lines {
			if n := attributionAt(lines, i); n > 0 && onlyBlankFrom(lines, i+n) {
				cut = i
				break
			}
		}
	}
	// Blank lines and Outlook's rule line above the cut go with it.
	for cut > 0 && cut < len(lines) && (strings.TrimSpace(lines[cut-1]) == "" || underscoresRe.MatchString(trimEOL(lines[cut-1]))) {
		cut--
	}
	visible = strings.Join(lines[:cut], "")
	folded = strings.Join(lines[cut:], "")
	if strings.TrimSpace(visible) == "" {
		return text, ""
	}
	return visible, folded
}

func trimEOL(l string) string { return strings.TrimRight(l, "\r\n") }

// isSignature reports the "-- " signature delimiter (also "--", since many
// editors strip trailing spaces).
func isSignature(l string) bool {
	l = trimEOL(l)
	return l == "-- " || l == "--"
}

func isQuotedLine(l string) bool {
	return strings.HasPrefix(strings.TrimLeft(l, " \t"), ">")
}

func onlyBlankFrom(lines []string, i int) bool {
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			return false
		}
	}
	return true
}

// isOutlookBlock reports an Outlook-style header block at line i, not
// under a "Forwarded message" line: a From line followed within two lines
// by Outlook's own "Sent:" line, or within four lines by a Date line and a
// To or Subject line.
func isOutlookBlock(lines []string, i int) bool {
	if !fromLineRe.MatchString(trimEOL(lines[i])) {
		return false
	}
	sent, date, to := false, false, false
	for k := i + 1; k < len(lines) && k <= i+4; k++ {
		l := trimEOL(lines[k])
		sent = sent || k <= i+2 && sentLineRe.MatchString(l)
		date = date || dateLineRe.MatchString(l)
		to = to || toLineRe.MatchString(l)
	}
	if !sent && (!date || !to) {
		return false
	}
	for k := i - 1; k >= 0 && k >= i-3; k-- {
		if forwardRe.MatchString(lines[k]) {
			return false
		}
	}
	return true
}

// attributionAt returns how many lines (1 or 2) the attribution starting
// at line i takes, or 0.
func attributionAt(lines []string, i int) int {
	if i < 0 || i >= len(lines) {
		return 0
	}
	l := strings.TrimSpace(trimEOL(lines[i]))
	if l == "" || len(l) > maxAttributionBytes {
		return 0
	}
	if isAttribution(l) {
		return 1
	}
	if i+1 < len(lines) && (strings.HasPrefix(l, "On ") || strings.HasPrefix(l, "在")) {
		if next := strings.TrimSpace(trimEOL(lines[i+1])); next != "" && len(l)+len(next) <= maxAttributionBytes && isAttribution(l+" "+next) {
			return 2
		}
	}
	return 0
}

// attributionAbove looks for an attribution ending just above line k and
// returns its number of lines, or 0.
func attributionAbove(lines []string, k int) int {
	if attributionAt(lines, k-1) == 1 {
		return 1
	}
	if attributionAt(lines, k-2) == 2 {
		return 2
	}
	return 0
}

// isAttribution matches Gmail's "On <date>, <name> wrote:" and the Chinese
// "在 <date>，<name> 写道：" / "<name> 于 <date> 写道：".
func isAttribution(l string) bool {
	switch {
	case strings.HasPrefix(l, "On ") && strings.HasSuffix(l, "wrote:"):
		return true
	case strings.HasSuffix(l, "写道：") || strings.HasSuffix(l, "写道:") || strings.HasSuffix(l, "寫道：") || strings.HasSuffix(l, "寫道:"):
		return true
	}
	return false
}
