package relay

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/workflows/escalation"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// ChangedForRunning returns the policies of next that apply their changes
// to running clocks (applyToRunning) and differ from the policy of the
// same name in prev.
func ChangedForRunning(prev, next *policy.Set) []*policy.Policy {
	old := map[string]*policy.Policy{}
	for _, p := range prev.Policies() {
		old[p.Name] = p
	}
	var out []*policy.Policy
	for _, p := range next.Policies() {
		if !p.ApplyToRunning {
			continue
		}
		if o, ok := old[p.Name]; !ok || !reflect.DeepEqual(o.Spec, p.Spec) {
			out = append(out, p)
		}
	}
	return out
}

// Running reaches the running SLA workflows, to apply policy changes.
type Running struct {
	Temporal client.Client
	// Tickets reads a ticket whose workflow is to be woken (see Update).
	Tickets   ticketv1.TicketServiceClient
	TaskQueue string
}

// Update sends p to every running SLA workflow of its tenant; the
// workflows timed by another policy ignore it. It returns how many
// workflows it signalled.
//
// A workflow whose first task is still delayed (see Relay.States) is
// woken by a signal-with-start, for the new policy may move its first
// deadline before the instant it sleeps until. That call carries a start
// input, made from the ticket, which the running workflow never uses.
func (r Running) Update(ctx context.Context, p *policy.Policy) (int, error) {
	c := r.Temporal
	prefix := escalation.WorkflowID(p.Tenant, "")
	query := fmt.Sprintf("WorkflowType = 'SLAEscalationWorkflow' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '%s'", prefix)
	var token []byte
	n := 0
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return n, fmt.Errorf("list running SLA workflows of %s: %w", p.Tenant, err)
		}
		for _, w := range resp.GetExecutions() {
			e := w.GetExecution()
			var err error
			if w.GetExecutionTime().AsTime().After(time.Now()) {
				err = r.wake(ctx, p, strings.TrimPrefix(e.GetWorkflowId(), prefix))
			} else {
				err = c.SignalWorkflow(ctx, e.GetWorkflowId(), e.GetRunId(), escalation.SignalPolicyUpdate, p.Spec)
			}
			if err != nil {
				if ignoreGone(err) != nil {
					return n, fmt.Errorf("signal %s: %w", e.GetWorkflowId(), err)
				}
				continue
			}
			n++
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return n, nil
		}
	}
}

// wake sends p to the delayed workflow of a ticket with a signal-with-start.
func (r Running) wake(ctx context.Context, p *policy.Policy, ticketID string) error {
	resp, err := r.Tickets.GetTicket(tenant.Outgoing(ctx, p.Tenant), &ticketv1.GetTicketRequest{Id: ticketID})
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get ticket %s: %w", ticketID, err)
	}
	t := resp.GetTicket()
	id := escalation.WorkflowID(p.Tenant, ticketID)
	_, err = r.Temporal.SignalWithStartWorkflow(ctx, id, escalation.SignalPolicyUpdate, p.Spec, startOptions(id, r.TaskQueue),
		escalation.SLAEscalationWorkflow, startInput(p.Tenant, t, p, t.GetVersion()))
	return ignoreStarted(err)
}
