// Package workflows holds kubedesk's Temporal workflows and what runs them:
// escalation/ (SLAEscalationWorkflow, its clocks and activities), worker/
// (registers the workflows and activities on their task queue) and
// temporalserver/ (the embedded Temporal server). policy/ (SLAPolicy
// compilation) and calendar/ (business time for the SLA clocks) are plain
// Go without Temporal, so the operator imports them too. See
// docs/architecture.md for the workflows planned.
package workflows
