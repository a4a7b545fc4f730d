// Package workflows holds kubedesk's Temporal workflows and activities:
// sla/ (SLAEscalationWorkflow) and followup/ (SatisfactionFollowUpWorkflow),
// with worker/ registering them. policy/ (SLAPolicy compilation) and
// calendar/ (business hours) are plain Go without Temporal, so the operator
// imports them too. See ../shared/DESIGN.md.
package workflows
