package tenant

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// The bounds of spec.channels.chat.offerWait, as the CRD schema's rule
// sets them.
const (
	minChatOfferWait = 5 * time.Second
	maxChatOfferWait = 24 * time.Hour
)

// validateChat checks spec.channels.chat as the API server does.
func validateChat(c *v1alpha1.ChatChannelSpec) []error {
	if c == nil {
		return nil
	}
	const path = "spec.channels.chat"
	var errs []error
	if n := utf8.RuneCountInString(c.Group); n > maxGroupChars {
		errs = append(errs, fmt.Errorf("%s.group: has %d characters; accepted: at most %d", path, n, maxGroupChars))
	}
	if w := c.OfferWait; w != nil && (w.Duration < minChatOfferWait || w.Duration > maxChatOfferWait) {
		errs = append(errs, fmt.Errorf("%s.offerWait: %s; accepted: from %s to %s", path, w.Duration, minChatOfferWait, maxChatOfferWait))
	}
	return errs
}

// ChatSettings is how a tenant's web chats reach agents.
type ChatSettings struct {
	// Group is the group chats are offered to ("": every agent).
	Group string
	// OfferWait is how long a chat waits for an agent of its group to be
	// online before the visitor is asked for an e-mail address.
	OfferWait time.Duration
}

// Chat reads spec.channels.chat with its defaults.
func (c Config) Chat() ChatSettings {
	s := ChatSettings{OfferWait: v1alpha1.DefaultChatOfferWait}
	if chat := c.Spec.Channels.Chat; chat != nil {
		s.Group = chat.Group
		if chat.OfferWait != nil {
			s.OfferWait = chat.OfferWait.Duration
		}
	}
	return s
}
