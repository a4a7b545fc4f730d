package escalation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// TicketUpdater is what the activities need of the ticket API.
type TicketUpdater interface {
	// SetSLA replaces the ticket's SLA state. Writes may repeat (activity
	// retries, continue-as-new); state.UpdatedAt orders them.
	SetSLA(ctx context.Context, state Report) error
	// Escalate writes state as SetSLA does and, in the same call, applies
	// e to the ticket, each change only where still due, so that a
	// repeated call changes nothing more.
	Escalate(ctx context.Context, state Report, e Escalation) error
	Reassign(ctx context.Context, tenant, ticketID, group string) error
	// RaisePriority raises the ticket's priority one step (P3 to P2) if
	// it is still from (1..5), so that a retried call raises it once; the
	// ticket's priority-change event then comes back as a signal.
	RaisePriority(ctx context.Context, tenant, ticketID string, from int) error
	Notify(ctx context.Context, n Notification) error
}

// Escalation is what a breach does to the ticket itself: the reassign and
// raisePriority actions of its policy.
type Escalation struct {
	// Group moves the ticket to this group; "" leaves it.
	Group string `json:",omitempty"`
	// RaiseFrom raises the ticket's priority one step if it is still at
	// this one (1..5); 0 leaves it.
	RaiseFrom int `json:",omitempty"`
}

// EscalateInput is the input of Escalate.
type EscalateInput struct {
	State      Report
	Escalation Escalation
}

// Notification tells recipients that a clock breached.
type Notification struct {
	Tenant     string
	TicketID   string
	Clock      ClockKind
	Recipients []v1alpha1.Recipient
	At         time.Time
}

// BreachInput is the input of the breach-action activities.
type BreachInput struct {
	Tenant   string
	TicketID string
	Policy   string
	Clock    ClockKind
	// At is the workflow time of the breach.
	At     time.Time
	Action v1alpha1.BreachAction
	// Priority is the ticket's priority (1..5) when it breached.
	Priority int `json:",omitempty"`
}

// WebhookPayload is the JSON body a webhook action posts.
type WebhookPayload struct {
	Event    string    `json:"event"` // "sla.breached"
	Tenant   string    `json:"tenant"`
	TicketID string    `json:"ticketId"`
	Policy   string    `json:"policy"`
	Clock    ClockKind `json:"clock"`
	At       time.Time `json:"at"`
}

// Activities carries out the workflow's side effects.
type Activities struct {
	Tickets TicketUpdater
	// HTTP posts webhooks; nil means http.DefaultClient.
	HTTP *http.Client
	// HTTPFor, when set, is the client of a tenant's webhooks, in place
	// of HTTP: the binary's guards the addresses a tenant may reach.
	HTTPFor func(tenant string) *http.Client
}

// permanent is an error no retry cures, such as an address the client's
// guard refuses.
type permanent interface {
	error
	Permanent() bool
}

// WriteSLA writes the SLA state back to the ticket.
func (a *Activities) WriteSLA(ctx context.Context, state Report) error {
	if err := a.Tickets.SetSLA(ctx, state); err != nil {
		return fmt.Errorf("ticket %s/%s: set SLA: %w", state.Tenant, state.TicketID, err)
	}
	return nil
}

// Escalate writes the SLA state that records a breach together with the
// breach's escalation.
func (a *Activities) Escalate(ctx context.Context, in EscalateInput) error {
	if err := a.Tickets.Escalate(ctx, in.State, in.Escalation); err != nil {
		return fmt.Errorf("ticket %s/%s: set SLA and escalate %+v: %w", in.State.Tenant, in.State.TicketID, in.Escalation, err)
	}
	return nil
}

// Notify runs a notify action.
func (a *Activities) Notify(ctx context.Context, in BreachInput) error {
	n := Notification{Tenant: in.Tenant, TicketID: in.TicketID, Clock: in.Clock, Recipients: in.Action.Recipients, At: in.At}
	if err := a.Tickets.Notify(ctx, n); err != nil {
		return fmt.Errorf("ticket %s/%s: notify %v: %w", in.Tenant, in.TicketID, in.Action.Recipients, err)
	}
	return nil
}

// Reassign runs a reassign action.
func (a *Activities) Reassign(ctx context.Context, in BreachInput) error {
	if err := a.Tickets.Reassign(ctx, in.Tenant, in.TicketID, in.Action.Group); err != nil {
		return fmt.Errorf("ticket %s/%s: reassign to %s: %w", in.Tenant, in.TicketID, in.Action.Group, err)
	}
	return nil
}

// RaisePriority runs a raisePriority action.
func (a *Activities) RaisePriority(ctx context.Context, in BreachInput) error {
	if err := a.Tickets.RaisePriority(ctx, in.Tenant, in.TicketID, in.Priority); err != nil {
		return fmt.Errorf("ticket %s/%s: raise priority: %w", in.Tenant, in.TicketID, err)
	}
	return nil
}

// ErrTypeWebhookRejected is the error type of a webhook answered with a
// 4xx status other than 408 and 429: retrying cannot help.
const ErrTypeWebhookRejected = "WebhookRejected"

// CallWebhook posts the breach to the action's URL. A 2xx answer succeeds;
// 408, 429, 5xx and transport errors are retried; other statuses are not.
func (a *Activities) CallWebhook(ctx context.Context, in BreachInput) error {
	body, err := json.Marshal(WebhookPayload{
		Event: "sla.breached", Tenant: in.Tenant, TicketID: in.TicketID,
		Policy: in.Policy, Clock: in.Clock, At: in.At,
	})
	if err != nil {
		return temporal.NewNonRetryableApplicationError("encode webhook payload", "WebhookPayload", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.Action.URL, bytes.NewReader(body))
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook %q: %v", in.Action.URL, err), ErrTypeWebhookRejected, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := a.HTTP
	if a.HTTPFor != nil {
		hc = a.HTTPFor(in.Tenant)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if p, ok := errors.AsType[permanent](err); ok && p.Permanent() {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook %s: %v", in.Action.URL, err), ErrTypeWebhookRejected, err)
	}
	if err != nil {
		return fmt.Errorf("webhook %s: %w", in.Action.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook %s: %s", in.Action.URL, resp.Status), ErrTypeWebhookRejected, nil)
	default:
		return fmt.Errorf("webhook %s: %s", in.Action.URL, resp.Status)
	}
}
