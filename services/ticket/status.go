package ticket

import (
	"fmt"
	"slices"
	"strings"
)

// transitions lists, for each status, the statuses a ticket may move to.
// Closed is final; solved can only be reopened (to open) or closed; nothing
// returns to new.
var transitions = map[Status][]Status{
	StatusNew:     {StatusOpen, StatusPending, StatusOnHold, StatusSolved},
	StatusOpen:    {StatusPending, StatusOnHold, StatusSolved},
	StatusPending: {StatusOpen, StatusOnHold, StatusSolved},
	StatusOnHold:  {StatusOpen, StatusPending, StatusSolved},
	StatusSolved:  {StatusOpen, StatusClosed},
	StatusClosed:  nil,
}

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusSolved, StatusClosed}

// TransitionError reports a status change the lifecycle does not allow.
type TransitionError struct {
	From, To Status
}

func (e *TransitionError) Error() string {
	allowed := transitions[e.From]
	if len(allowed) == 0 {
		return fmt.Sprintf("status: cannot move a ticket from %q to %q: %q is final", e.From, e.To, e.From)
	}
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	return fmt.Sprintf("status: cannot move a ticket from %q to %q; from %q it can move to %s",
		e.From, e.To, e.From, strings.Join(names, ", "))
}

// CheckTransition returns a *TransitionError unless from -> to is allowed.
// Staying in the same status is always allowed (and changes nothing).
func CheckTransition(from, to Status) error {
	if from == to || slices.Contains(transitions[from], to) {
		return nil
	}
	return &TransitionError{From: from, To: to}
}

// ParseStatus accepts "open", "on_hold", "STATUS_OPEN", "on-hold" and such.
func ParseStatus(s string) (Status, error) {
	v := strings.ToLower(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "STATUS_"))
	v = strings.ReplaceAll(v, "-", "_")
	if slices.Contains(Statuses, Status(v)) {
		return Status(v), nil
	}
	return "", fmt.Errorf("%q is not a status; accepted: new, open, pending, on_hold, solved, closed", s)
}

// Channels lists every channel.
var Channels = []Channel{ChannelWeb, ChannelEmail, ChannelChat, ChannelWeChat, ChannelAPI, ChannelPhone}

// ParseChannel accepts "email", "CHANNEL_EMAIL" and such.
func ParseChannel(s string) (Channel, error) {
	v := Channel(strings.ToLower(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "CHANNEL_")))
	if slices.Contains(Channels, v) {
		return v, nil
	}
	return "", fmt.Errorf("%q is not a channel; accepted: web, email, chat, wechat, api, phone", s)
}
