// Package worker runs kubedesk's Temporal workers: it registers the
// workflows and activities on their task queue. Callers bring the
// Temporal client and the activities' dependencies.
package worker

import (
	"cmp"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/kubedesk/kubedesk/workflows/escalation"
)

// SLATaskQueue is the task queue of SLAEscalationWorkflow and its
// activities.
const SLATaskQueue = "kubedesk-sla"

// StickyCacheSize is how many workflows a worker process keeps in memory
// between their tasks: none. An SLA workflow sleeps for minutes or hours
// between its tasks, so a cached one would almost always have been evicted
// by the time its next task came, at the cost of its memory meanwhile, and
// every task would go to the worker's sticky queue first only to fetch the
// whole history afterwards. Without a cache each task comes with its
// (short) history and is replayed; measured with 10,000 running clocks,
// this used 4 % less CPU per ticket and 60 MiB less memory than a cache
// of 1,000 (docs/benchmarks.md). It also means that a killed worker
// holds no workflow to a sticky queue.
const StickyCacheSize = 0

// WorkflowTaskPollers is how many polls for workflow tasks the SLA worker
// keeps open: 16 instead of the SDK's 2. Temporal's matching service hands
// a task to a poll that is waiting at that instant; with none waiting, it
// writes the task to its database, to dispatch it from there, and while
// such a backlog lasts the tasks that come after it join it. When
// hundreds of clocks fall due each second, two polls are often both on
// their way back with the previous tasks (recording a task as started is
// a write on the history shard): with 10,000 breaches in a minute,
// matching's task writes were 1.1 % of the breach minute's CPU with two
// polls, and absent with sixteen. An idle poll costs one waiting request.
const WorkflowTaskPollers = 16

// Options tune a worker; the zero value uses the SDK's defaults, and
// WorkflowTaskPollers.
type Options struct {
	// MaxConcurrentActivities bounds the activities run at once (ticket
	// API calls and webhooks); 0 is the SDK default.
	MaxConcurrentActivities int
	// MaxConcurrentWorkflowTasks bounds the workflow tasks run at once.
	MaxConcurrentWorkflowTasks int
	// WorkflowTaskPollers overrides WorkflowTaskPollers.
	WorkflowTaskPollers int
}

// SetProcessDefaults sets the process-wide SDK settings the SLA worker
// relies on: the size of the sticky workflow cache. The Go SDK keeps one
// such cache per process, sized when the process's first worker starts;
// an embedded Temporal server's own system workers are workers too, so
// call it before starting the server, or the cache takes the SDK's
// default size of 10,000 workflows.
func SetProcessDefaults() {
	worker.SetStickyWorkflowCacheSize(StickyCacheSize)
}

// NewSLA returns a worker, not yet started, for SLAEscalationWorkflow on
// SLATaskQueue with acts as its activities.
func NewSLA(c client.Client, acts *escalation.Activities, opts Options) worker.Worker {
	SetProcessDefaults()
	w := worker.New(c, SLATaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize:     opts.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: opts.MaxConcurrentWorkflowTasks,
		MaxConcurrentWorkflowTaskPollers:       cmp.Or(opts.WorkflowTaskPollers, WorkflowTaskPollers),
	})
	w.RegisterWorkflow(escalation.SLAEscalationWorkflow)
	w.RegisterActivity(acts)
	return w
}
