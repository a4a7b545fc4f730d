// Package workflows holds kubedesk's Temporal workflows and what runs them:
// sla/ (SLAEscalationWorkflow and its activities), calendar/ (business
// time for the SLA clocks), worker/ (registers the workflows and
// activities on their task queue) and temporalserver/ (the embedded
// Temporal server). See docs/architecture.md for the workflows planned.
package workflows
