package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

// The events a webhook may subscribe to.
const (
	TicketCreated = "ticket.created"
	TicketUpdated = "ticket.updated"
	CommentAdded  = "comment.added"
	// SLAChanged is every change of an SLA clock's state (a warning, a
	// breach, met, paused); a breach is delivered as SLABreached, also to
	// the webhooks of SLAChanged.
	SLAChanged  = "sla.changed"
	SLABreached = "sla.breached"
	// RoutingAssigned is a routing decision about a ticket (assigned,
	// queued, offered); event.routing holds it. Its changes to the ticket
	// come as a ticket.updated just before, with the same routing.
	RoutingAssigned = "routing.assigned"
)

// Events are the accepted event names, in the order errors list them.
var Events = []string{TicketCreated, TicketUpdated, CommentAdded, SLAChanged, SLABreached, RoutingAssigned}

// TypeOf is the name ev is delivered under; "" for an event no webhook
// receives.
func TypeOf(ev *ticketv1.Event) string {
	switch ev.GetType() {
	case ticketv1.EventType_EVENT_TYPE_TICKET_CREATED:
		return TicketCreated
	case ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED:
		return TicketUpdated
	case ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED:
		return CommentAdded
	case ticketv1.EventType_EVENT_TYPE_SLA_CHANGED:
		for _, c := range ev.GetChanges() {
			if strings.HasPrefix(c.GetField(), "sla.") && (c.GetAfter().GetStringValue() == "breached" || c.GetAfter() == nil && c.GetNewValue() == "breached") {
				return SLABreached
			}
		}
		return SLAChanged
	case ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED:
		return RoutingAssigned
	}
	return ""
}

// Subscribed reports whether a webhook of events receives an event
// delivered as typ.
func Subscribed(events []string, typ string) bool {
	return typ != "" && (slices.Contains(events, typ) || typ == SLABreached && slices.Contains(events, SLAChanged))
}

// CheckEvents checks a webhook's event names: at least one, each
// accepted, none twice. Errors name the field as field[i].
func CheckEvents(field string, events []string) error {
	accepted := "accepted: " + strings.Join(Events, ", ")
	if len(events) == 0 {
		return fmt.Errorf("%s: names no event; %s", field, accepted)
	}
	first := map[string]int{}
	for i, e := range events {
		if !slices.Contains(Events, e) {
			return fmt.Errorf("%s[%d]: %q is not an event; %s", field, i, e, accepted)
		}
		if j, dup := first[e]; dup {
			return fmt.Errorf("%s[%d]: %q repeats %s[%d]; accepted: each event once", field, i, e, field, j)
		}
		first[e] = i
	}
	return nil
}

// Sign returns the X-Kubedesk-Signature header of a delivery of body at
// t: "t=<Unix seconds>", then one "v1=<hex HMAC-SHA256 of "<t>.<body>">"
// per secret, in the order given (the current secret first, then any a
// rotation replaced that still signs).
func Sign(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		b.WriteString(",v1=" + hex.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}

// payload is a delivery's body.
type payload struct {
	// ID is the event's: its cursor in the tenant's event stream.
	ID         string `json:"id"`
	Type       string `json:"type"`
	CreateTime string `json:"createTime"`
	Tenant     string `json:"tenant"`
	WebhookID  string `json:"webhookId"`
	TicketID   string `json:"ticketId"`
	// Event is the event as GET /v1/events:watch sends it, without the
	// fields at their zero value.
	Event json.RawMessage `json:"event"`
}

// Body returns the JSON body of the delivery of ev as typ to webhook
// webhookID of tenant.
func Body(ev *ticketv1.Event, typ, tenant, webhookID string) ([]byte, error) {
	raw, err := protojson.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.GetCursor(), err)
	}
	// protojson varies its spacing from build to build on purpose; the
	// body is compact, whatever it did.
	var event bytes.Buffer
	if err := json.Compact(&event, raw); err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.GetCursor(), err)
	}
	return json.Marshal(payload{
		ID: ev.GetCursor(), Type: typ, CreateTime: ev.GetCreateTime().AsTime().UTC().Format(time.RFC3339Nano),
		Tenant: tenant, WebhookID: webhookID, TicketID: ev.GetTicketId(), Event: event.Bytes(),
	})
}
