// Package worker runs kubedesk's Temporal workers: it registers the
// workflows and activities on their task queue. Callers bring the
// Temporal client and the activities' dependencies.
package worker

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/kubedesk/kubedesk/workflows/sla"
)

// SLATaskQueue is the task queue of SLAEscalationWorkflow and its
// activities.
const SLATaskQueue = "kubedesk-sla"

// Options tune a worker; the zero value uses the SDK's defaults.
type Options struct {
	// MaxConcurrentActivities bounds the activities run at once (ticket
	// API calls and webhooks); 0 is the SDK default.
	MaxConcurrentActivities int
	// MaxConcurrentWorkflowTasks bounds the workflow tasks run at once.
	MaxConcurrentWorkflowTasks int
}

// NewSLA returns a worker, not yet started, for SLAEscalationWorkflow on
// SLATaskQueue with acts as its activities.
func NewSLA(c client.Client, acts *sla.Activities, opts Options) worker.Worker {
	w := worker.New(c, SLATaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize:     opts.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: opts.MaxConcurrentWorkflowTasks,
	})
	w.RegisterWorkflow(sla.SLAEscalationWorkflow)
	w.RegisterActivity(acts)
	return w
}
