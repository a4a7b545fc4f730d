// Package escalation runs a ticket's SLA clocks on Temporal:
// SLAEscalationWorkflow (one per ticket a policy covers, workflow ID
// sla/<tenant>/<ticket>), the first-response, next-response and resolution
// clocks it keeps on a business calendar, and the activities that write
// its Report to the ticket and carry out the breach actions (notify,
// reassign, raise priority, webhook).
//
// Recorded histories carry the workflow type SLAEscalationWorkflow, the
// "ticket-event" and "policy-update" signals, the "sla-state" query, the
// task queue (workflows/worker) and the JSON of Input and Report: those
// keep their names whatever the Go names are. testdata/ holds the
// histories of every revision, which replay_test.go replays.
package escalation
