// Package worker runs kubedesk's Temporal workers: it registers the
// workflows and activities on their task queue. Callers bring the
// Temporal client and the activities' dependencies.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/kubedesk/kubedesk/workflows/sla"
)

// SLATaskQueue is the task queue of SLAEscalationWorkflow and its
// activities.
const SLATaskQueue = "kubedesk-sla"

// StickyTimeout is how long a workflow task waits for the worker that ran
// the workflow's previous task before any worker may take it. A worker
// killed without a goodbye leaves its workflows pinned to it until then,
// so it bounds how late a timer fires after a crash; the SDK's 5 s
// default would make SLA breaches 5 s late after every crash. Workflows
// whose task moves to another worker replay their (short) history there.
const StickyTimeout = 500 * time.Millisecond

// StickyCacheSize is how many workflows a worker process keeps in memory
// between their tasks (the SDK's default is 10,000). Each SLA workflow
// sleeps for minutes or hours between tasks, so a cached one mostly costs
// memory; an evicted one replays its short history on its next task.
const StickyCacheSize = 1000

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
	worker.SetStickyWorkflowCacheSize(StickyCacheSize)
	w := worker.New(c, SLATaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize:     opts.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: opts.MaxConcurrentWorkflowTasks,
		StickyScheduleToStartTimeout:           StickyTimeout,
	})
	w.RegisterWorkflow(sla.SLAEscalationWorkflow)
	w.RegisterActivity(acts)
	return w
}
