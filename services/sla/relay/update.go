package relay

import (
	"context"
	"fmt"
	"reflect"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/kubedesk/kubedesk/workflows/sla"
)

// ChangedForRunning returns the policies of next that apply their changes
// to running clocks (applyToRunning) and differ from the policy of the
// same name in prev.
func ChangedForRunning(prev, next *sla.Set) []*sla.Policy {
	old := map[string]*sla.Policy{}
	for _, p := range prev.Policies() {
		old[p.Name] = p
	}
	var out []*sla.Policy
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

// UpdateRunning sends p to every running SLA workflow of its tenant; the
// workflows timed by another policy ignore it. It returns how many
// workflows it signalled.
func UpdateRunning(ctx context.Context, c client.Client, p *sla.Policy) (int, error) {
	query := fmt.Sprintf("WorkflowType = 'SLAEscalationWorkflow' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '%s'",
		sla.WorkflowID(p.Tenant, ""))
	var token []byte
	n := 0
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return n, fmt.Errorf("list running SLA workflows of %s: %w", p.Tenant, err)
		}
		for _, w := range resp.GetExecutions() {
			e := w.GetExecution()
			if err := c.SignalWorkflow(ctx, e.GetWorkflowId(), e.GetRunId(), sla.SignalPolicyUpdate, p.Spec); err != nil {
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
