package mail

import (
	"strings"

	"github.com/emersion/go-message/textproto"
)

// classify says whether a message was sent by a machine. A bounce is the
// most specific signal, then an auto-reply, then bulk mail.
func classify(h textproto.Header, topType string, from Address) (Kind, string) {
	if topType == "multipart/report" {
		return KindBounce, "multipart/report"
	}
	local, _, _ := strings.Cut(strings.ToLower(from.Email), "@")
	switch local {
	case "mailer-daemon", "postmaster":
		return KindBounce, "sender " + local
	}
	if v := headerToken(h.Get("Auto-Submitted")); v != "" && v != "no" {
		return KindAutoReply, "Auto-Submitted: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond"} {
		if h.Has(k) {
			return KindAutoReply, k + " present"
		}
	}
	switch v := headerToken(h.Get("Precedence")); v {
	case "bulk", "junk", "list":
		return KindBulk, "Precedence: " + v
	case "auto_reply", "auto-reply":
		return KindAutoReply, "Precedence: " + v
	}
	for _, k := range []string{"List-Id", "List-Unsubscribe"} {
		if h.Has(k) {
			return KindBulk, k + " present"
		}
	}
	return KindNormal, ""
}

// headerToken is the lower-cased first token of a header value
// ("auto-replied; owner-email=..." -> "auto-replied").
func headerToken(v string) string {
	v, _, _ = strings.Cut(v, ";")
	v, _, _ = strings.Cut(v, "(")
	return strings.ToLower(strings.TrimSpace(v))
}
