package mail

import (
	"regexp"
	"strconv"
)

// maxTicketNumber is the largest number SubjectToken accepts.
const maxTicketNumber = 1_000_000_000_000

var subjectTokenRe = regexp.MustCompile(`\[#([0-9]{1,20})\]`)

// SubjectToken finds the ticket number token "[#1042]" in a subject; ok is
// false when there is none. Only digits may stand between "[#" and "]"
// ("[#abc]" and "[# 12]" are not tokens), and numbers above 10^12 are
// ignored. The first valid token wins.
func SubjectToken(subject string) (number int64, ok bool) {
	for _, m := range subjectTokenRe.FindAllStringSubmatch(subject, 16) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n <= 0 || n > maxTicketNumber {
			continue
		}
		return n, true
	}
	return 0, false
}
