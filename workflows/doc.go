// Package workflows holds kubedesk's Temporal workflows and activities:
// sla/ (SLAEscalationWorkflow) and followup/ (SatisfactionFollowUpWorkflow),
// with worker/ registering them. See ../shared/DESIGN.md.
package workflows
